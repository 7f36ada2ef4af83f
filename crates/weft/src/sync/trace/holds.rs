//! The holders of one resource, as `sync::trace` keeps them: see the parent's module doc
//! ("its holders: one exclusive holder kept in two atomics ... the first `INLINE_HOLDS` in
//! atomic slots ..., any more in a list behind a lock").
//!
//! Actors are packed words here (the parent packs and unpacks them; 0 is "nobody"), stamps
//! plain nanoseconds, so that this file needs nothing but `crate::loom`:
//! `tests/loom_sync_trace.rs` compiles it against loom's atomics and mutex and races holders
//! against a reader taking a snapshot. Nothing here is `const` (loom's constructors are not),
//! so the parent builds [`Holds`] from its fields in its `const fn`.
//!
//! # The shared part comes with the first shared hold
//!
//! The slots, the token counter and the overflow list ([`SharedHolds`], 136 bytes) are
//! allocated by the first shared hold, not built into every resource: a mutex or a oneshot
//! channel never has one, and with the bookkeeping off nothing is ever recorded. So a
//! resource carries two atomics and a `OnceBox` pointer (24 bytes) until then; a primitive is that
//! much smaller to build, copy into its allocation and drop (a oneshot channel's allocation
//! was 240 bytes, 120 now). A shared hold, once the part exists, pays one more load.
//!
//! # Slots
//!
//! A slot is free while its actor word is 0. A holder claims it with a compare-exchange from 0
//! to [`CLAIMED`] (Acquire), writes its count and stamp, then publishes its actor word
//! (Release); a reader loads the actor word (Acquire) and skips 0 and `CLAIMED`, so a hold it
//! reports was fully written. The holder releases with Relaxed count writes and a Release
//! store of 0. Only a hold's owner writes a claimed slot (a guard or permit, owned by one actor
//! at a time), so its count changes are a load and a store, not read-modify-writes.
//!
//! The first slot belongs to the *home* thread: the one whose hold made the shared part (a
//! semaphore used on one loop is held only there). Only that thread claims it, so it claims it
//! with a load that finds it free (Acquire, pairing with the release's store) and plain stores,
//! without the compare-exchange; the other slots are claimed by compare-exchange, by any
//! thread. A release may come from any thread (a permit moved), but it only ever writes a
//! claimed slot, which the home thread does not touch until it sees it free. Callers name their
//! thread by a word unique among the living threads (the parent passes a thread-local's
//! address; a thread that reuses a dead home thread's word inherits its slot, which no one else
//! claims).

use crate::loom::{
    AtomicU64, AtomicUsize, Mutex, MutexGuard, OnceBox,
    Ordering::{Acquire, Relaxed, Release},
};

/// Shared holds kept in atomic slots of the resource itself, before the locked list: a mutex
/// has none, a channel usually one or two senders, a semaphore a few permit holders at a time;
/// four covers the common cases in 96 bytes.
pub(crate) const INLINE_HOLDS: usize = 4;

/// The actor word of a slot being filled (its count and stamp not written yet): readers skip
/// it. No packed actor is all ones (the kind's top two bits are at most `0b10`).
pub(crate) const CLAIMED: u64 = u64::MAX;

/// One hold as a snapshot reports it: `count` units held by the packed `actor` since
/// `since_ns`, released with `token` (0 for the exclusive holder).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct RawHold {
    pub(crate) actor: u64,
    pub(crate) count: usize,
    pub(crate) since_ns: u64,
    pub(crate) token: u64,
}

/// One inline shared hold; `actor` 0 when the slot is free.
#[derive(Debug)]
pub(crate) struct HoldSlot {
    pub(crate) actor: AtomicU64,
    pub(crate) count: AtomicUsize,
    pub(crate) since_ns: AtomicU64,
}

/// Every holder of one resource; see the module doc.
#[derive(Debug)]
pub(crate) struct Holds {
    /// The exclusive holder's packed actor, 0 when none is recorded.
    pub(crate) owner: AtomicU64,
    /// When the exclusive holder took it.
    pub(crate) owner_since: AtomicU64,
    /// The shared holders, from the first one on (module doc).
    pub(crate) shared: OnceBox<SharedHolds>,
}

/// The shared holders of one resource.
#[derive(Debug)]
pub(crate) struct SharedHolds {
    /// The thread that claims the first slot without a compare-exchange (module doc).
    home: usize,
    /// The first shared holders (tokens `1..=INLINE_HOLDS`).
    slots: [HoldSlot; INLINE_HOLDS],
    /// Tokens handed to the shared holders of the overflow list (start after the slots').
    next_token: AtomicU64,
    /// Shared holders beyond the slots.
    overflow: Mutex<Vec<RawHold>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Holds {
    /// Moves the inline shared hold `token` to the packed `actor`: a channel end moved into
    /// another task is held by the actor that uses it. Only the end's user writes its slot (a
    /// send through a shared `&Sender` from two actors at once leaves one of them: either is
    /// a live user); a hold in the overflow list keeps its first actor.
    pub(crate) fn rehold(&self, token: u64, actor: u64) {
        let Some(slot) = self.shared.get().and_then(|more| {
            usize::try_from(token.wrapping_sub(1))
                .ok()
                .and_then(|i| more.slots.get(i))
        }) else {
            return;
        };
        let now = slot.actor.load(Relaxed);
        if now != actor && now != 0 && now != CLAIMED {
            slot.actor.store(actor, Release);
        }
    }

    /// Records `actor` as the exclusive holder since `since_ns`.
    #[inline]
    pub(crate) fn set_owner(&self, actor: u64, since_ns: u64) {
        self.owner_since.store(since_ns, Relaxed);
        self.owner.store(actor, Relaxed);
    }

    /// Clears the exclusive holder; returns who it was (0: none recorded). Only the holder
    /// releases, before the lock itself is released, so a load then a store.
    #[inline]
    pub(crate) fn take_owner(&self) -> u64 {
        let owner = self.owner.load(Relaxed);
        self.owner.store(0, Relaxed);
        owner
    }

    /// Records `count` shared units held by `actor` since `since_ns`, on the calling thread
    /// `thread` (a non-zero word unique among the living threads); returns the hold's token
    /// (never 0).
    #[inline]
    pub(crate) fn add(&self, actor: u64, count: usize, since_ns: u64, thread: usize) -> u64 {
        self.shared
            .get_or_init(|| SharedHolds::new(thread))
            .add(actor, count, since_ns, thread)
    }

    /// Forgets `count` units of the hold `token`; returns its actor when that released all
    /// of it (the hold is gone), else 0. A token of 0 or a count of 0 releases nothing (a
    /// permit dropped after `forget` or `merge`, whose token's slot may be another's by now).
    #[inline]
    pub(crate) fn remove(&self, token: u64, count: usize) -> u64 {
        // A token was handed out only once the part existed.
        match self.shared.get() {
            Some(more) => more.remove(token, count),
            None => 0,
        }
    }

    /// Every recorded hold: the exclusive one (token 0), then the shared ones.
    pub(crate) fn snapshot(&self) -> Vec<RawHold> {
        let mut all = Vec::new();
        let owner = self.owner.load(Relaxed);
        if owner != 0 {
            all.push(RawHold {
                actor: owner,
                count: 1,
                since_ns: self.owner_since.load(Relaxed),
                token: 0,
            });
        }
        if let Some(more) = self.shared.get() {
            more.snapshot(&mut all);
        }
        all
    }
}

impl SharedHolds {
    /// No holder yet; the first slot is `home`'s.
    #[cold]
    fn new(home: usize) -> Box<SharedHolds> {
        Box::new(SharedHolds {
            home,
            slots: std::array::from_fn(|_| HoldSlot {
                actor: AtomicU64::new(0),
                count: AtomicUsize::new(0),
                since_ns: AtomicU64::new(0),
            }),
            next_token: AtomicU64::new(INLINE_HOLDS as u64 + 1),
            overflow: Mutex::new(Vec::new()),
        })
    }

    #[inline]
    fn add(&self, actor: u64, count: usize, since_ns: u64, thread: usize) -> u64 {
        if thread == self.home {
            // Only this thread claims the first slot (module doc): free means ours.
            let slot = &self.slots[0];
            if slot.actor.load(Acquire) == 0 {
                slot.count.store(count, Relaxed);
                slot.since_ns.store(since_ns, Relaxed);
                slot.actor.store(actor, Release);
                return 1;
            }
        }
        for (i, slot) in self.slots.iter().enumerate().skip(1) {
            // Looked at first, so a busy slot costs no failed compare-exchange.
            if slot.actor.load(Relaxed) == 0
                && slot
                    .actor
                    .compare_exchange(0, CLAIMED, Acquire, Relaxed)
                    .is_ok()
            {
                slot.count.store(count, Relaxed);
                slot.since_ns.store(since_ns, Relaxed);
                slot.actor.store(actor, Release);
                return i as u64 + 1;
            }
        }
        self.add_overflow(actor, count, since_ns)
    }

    #[cold]
    fn add_overflow(&self, actor: u64, count: usize, since_ns: u64) -> u64 {
        let token = self.next_token.fetch_add(1, Relaxed);
        lock(&self.overflow).push(RawHold {
            actor,
            count,
            since_ns,
            token,
        });
        token
    }

    #[inline]
    fn remove(&self, token: u64, count: usize) -> u64 {
        // Token 0 (callers check it first) wraps to an index past the slots, and is refused
        // below with the overflow.
        if let Some(slot) = usize::try_from(token.wrapping_sub(1))
            .ok()
            .and_then(|i| self.slots.get(i))
        {
            if count == 0 {
                return 0;
            }
            let before = slot.count.load(Relaxed);
            if before > count {
                slot.count.store(before - count, Relaxed);
                return 0;
            }
            let actor = slot.actor.load(Relaxed);
            slot.count.store(0, Relaxed);
            slot.actor.store(0, Release);
            return actor;
        }
        if token == 0 || count == 0 {
            return 0;
        }
        self.remove_overflow(token, count)
    }

    #[cold]
    fn remove_overflow(&self, token: u64, count: usize) -> u64 {
        let mut overflow = lock(&self.overflow);
        let Some(i) = overflow.iter().position(|h| h.token == token) else {
            return 0;
        };
        overflow[i].count = overflow[i].count.saturating_sub(count);
        if overflow[i].count > 0 {
            return 0;
        }
        overflow.swap_remove(i).actor
    }

    /// Appends the shared holds to `all`.
    fn snapshot(&self, all: &mut Vec<RawHold>) {
        for (i, slot) in self.slots.iter().enumerate() {
            let actor = slot.actor.load(Acquire);
            if actor != 0 && actor != CLAIMED {
                all.push(RawHold {
                    actor,
                    count: slot.count.load(Relaxed),
                    since_ns: slot.since_ns.load(Relaxed),
                    token: i as u64 + 1,
                });
            }
        }
        all.extend(lock(&self.overflow).iter().copied());
    }
}
