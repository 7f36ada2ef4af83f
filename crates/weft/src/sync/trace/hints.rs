//! The parts of a [`Resource`] that `weft::diag`'s hints use beyond holders and waits: the
//! grant count and attempts of the starvation hints (`diag::starvation`), and channel ends'
//! holds that follow their user (`rehold`).

use super::{current_actor, enabled, pack, Actor, HoldToken, Resource};
use crate::loom::Ordering::Relaxed;
use std::panic::Location;

impl Resource {
    /// Acquisitions counted while starvation hints were on.
    pub(crate) fn grants(&self) -> u64 {
        self.grants.load(Relaxed)
    }

    /// The starvation hook of every acquisition (off: one relaxed load and a branch).
    #[inline]
    pub(super) fn granted(&self, actor: Actor) {
        if crate::diag::starvation_on() {
            self.grants.fetch_add(1, Relaxed);
            if self.watchers.load(Relaxed) != 0 {
                crate::diag::starvation_granted(self, actor);
            }
        }
    }

    /// Records a failed `try_*` of the current actor at `site` (a starvation hint's attempt).
    #[inline]
    pub(crate) fn attempt_failed(&self, site: &'static Location<'static>) {
        if enabled() && crate::diag::starvation_on() {
            crate::diag::starvation_attempted(self, current_actor(), site, false);
        }
    }

    /// The shared hold `token` now belongs to the current actor: a channel end moved into
    /// another task is held by the actor that uses it (sends, receives), not by the one that
    /// created it. Only a hold in an inline slot moves (a relaxed load, and a store when the
    /// actor changed); one in the overflow list keeps its first actor.
    #[inline]
    pub(crate) fn rehold(&self, token: HoldToken) {
        if token == 0 || !enabled() {
            return;
        }
        self.holds.rehold(token, pack(current_actor()));
    }
}

impl Drop for Resource {
    fn drop(&mut self) {
        if *self.watchers.get_mut() != 0 {
            crate::diag::starvation_forget(self);
        }
    }
}
