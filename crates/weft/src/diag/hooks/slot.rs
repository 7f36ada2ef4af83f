//! Each task's diagnostics slot and the word in its header that leads to it (see the
//! parent's module doc, "The per-task slot"): the last wait reason, the self-wake count, what
//! was reported, and the pending join wait's key, kept in the word itself until a slot exists.

use super::WaitReason;
use crate::loom::{
    AtomicU64, AtomicUsize,
    Ordering::{AcqRel, Acquire, Relaxed},
};
use std::cell::{Cell, UnsafeCell};
use std::time::Instant;

/// A task's diagnostics slot; see the module doc.
#[derive(Default)]
pub(crate) struct TaskSlot {
    /// The last wait reason and when it was set; home thread only.
    wait: UnsafeCell<Option<(WaitReason, Instant)>>,
    /// Whether a reason was set during the current poll; home thread only.
    set_this_poll: Cell<bool>,
    /// Self-wakes in a row without progress (any thread).
    pub(crate) self_wakes: AtomicU64,
    /// `REPORTED_*` bits.
    pub(crate) reported: AtomicUsize,
    /// The wait key of the pending await on this task's `JoinHandle` (0: none); kept here
    /// rather than in the handle so that a handle is one word (see `diag::joins`).
    pub(crate) join_wait: AtomicU64,
}

// SAFETY: `wait` and `set_this_poll` are touched only on the task's home loop thread (its poll
// and dumps, which run as closures on that loop); the rest are atomics.
unsafe impl Sync for TaskSlot {}

/// A livelock was reported for this task.
pub(crate) const REPORTED_LIVELOCK: usize = 1 << 0;
/// A lost wake-up was reported for this task.
pub(crate) const REPORTED_LOST_WAKE: usize = 1 << 1;

/// Where a task's [`TaskSlot`] lives: a pointer, null until the hooks first touch the task
/// while they are on (so a task spawned with diagnostics off pays one word), whose low bit
/// holds `MOVABLE` (set whether or not the hooks are on). The slot is freed with the task.
///
/// Until the slot exists, the word can hold the one thing most tasks ever need from it: the
/// key of the pending join wait on the task's `JoinHandle` (`diag::joins`), shifted past two
/// flag bits with `INLINE_KEY` set. So awaiting a short-lived task with deadlock detection on
/// allocates no slot (a `malloc` and a `free` per task: a third of what detection added to
/// spawning a task and awaiting it); the slot, once made, takes the key over.
#[derive(Debug, Default)]
pub(crate) struct DiagSlot {
    /// `*mut TaskSlot` (from `Box::into_raw`, aligned so bits 0 and 1 are free) | `MOVABLE`,
    /// or `key << 2 | INLINE_KEY | MOVABLE`.
    bits: AtomicUsize,
}

/// Spawned without a fixed loop: may start on another loop while its own is stalled.
const MOVABLE: usize = 1;

/// The word holds a join wait's key, not a slot pointer (see [`DiagSlot`]).
const INLINE_KEY: usize = 2;

/// The flag bits of [`DiagSlot::bits`].
const FLAGS: usize = MOVABLE | INLINE_KEY;

impl DiagSlot {
    /// Marks the task as spawned without a fixed loop (before it is scheduled).
    pub(crate) fn set_movable(&self) {
        self.bits.fetch_or(MOVABLE, Relaxed);
    }

    /// True if the task was spawned without a fixed loop.
    pub(crate) fn movable(&self) -> bool {
        self.bits.load(Relaxed) & MOVABLE != 0
    }

    /// The slot, if the hooks have made one for this task.
    pub(crate) fn get(&self) -> Option<&TaskSlot> {
        self.slot_of(self.bits.load(Acquire))
    }

    /// The slot that `bits`, a value this word held, points to, if it points to one.
    fn slot_of(&self, bits: usize) -> Option<&TaskSlot> {
        if bits & INLINE_KEY != 0 {
            return None;
        }
        let ptr = (bits & !FLAGS) as *const TaskSlot;
        // SAFETY: a non-null pointer in this word came from `Box::into_raw` in `get_or_init`
        // and, once published, stays until `drop`, which `&self` excludes.
        unsafe { ptr.as_ref() }
    }

    /// The slot, allocated now if this is the hooks' first touch of the task (any thread).
    /// A join key held in the word moves into it.
    pub(crate) fn get_or_init(&self) -> &TaskSlot {
        if let Some(slot) = self.get() {
            return slot;
        }
        let fresh = Box::into_raw(Box::<TaskSlot>::default());
        let mut bits = self.bits.load(Acquire);
        loop {
            if let Some(slot) = self.slot_of(bits) {
                // Another thread won the race: keep its slot.
                // SAFETY: `fresh` came from `Box::into_raw` above and was never shared.
                drop(unsafe { Box::from_raw(fresh) });
                return slot;
            }
            let key = if bits & INLINE_KEY != 0 { bits >> 2 } else { 0 };
            // SAFETY: `fresh` is not shared yet.
            unsafe { &*fresh }.join_wait.store(key as u64, Relaxed);
            let published = fresh as usize | (bits & MOVABLE);
            match self
                .bits
                .compare_exchange_weak(bits, published, AcqRel, Acquire)
            {
                // SAFETY: published just now; freed only by `drop`.
                Ok(_) => return unsafe { &*fresh },
                Err(now) => bits = now,
            }
        }
    }

    /// Takes the pending join wait's key (0 if none), in the word or in the slot.
    #[inline]
    pub(crate) fn take_join_wait(&self) -> u64 {
        let mut bits = self.bits.load(Acquire);
        loop {
            if bits & INLINE_KEY == 0 {
                return self
                    .slot_of(bits)
                    .map_or(0, |slot| slot.join_wait.swap(0, Relaxed));
            }
            match self
                .bits
                .compare_exchange_weak(bits, bits & MOVABLE, AcqRel, Acquire)
            {
                Ok(_) => return (bits >> 2) as u64,
                Err(now) => bits = now,
            }
        }
    }

    /// Records `key` as the pending join wait: in the slot if there is one, else in the word.
    #[inline]
    pub(crate) fn set_join_wait(&self, key: u64) {
        debug_assert!(
            key < 1 << 62,
            "wait keys come from a counter far below 2^62"
        );
        let mut bits = self.bits.load(Acquire);
        loop {
            if let Some(slot) = self.slot_of(bits) {
                slot.join_wait.store(key, Relaxed);
                return;
            }
            let inline = (key as usize) << 2 | INLINE_KEY | (bits & MOVABLE);
            match self
                .bits
                .compare_exchange_weak(bits, inline, AcqRel, Acquire)
            {
                Ok(_) => return,
                Err(now) => bits = now,
            }
        }
    }
}

impl Drop for DiagSlot {
    fn drop(&mut self) {
        let bits = *self.bits.get_mut();
        let ptr = if bits & INLINE_KEY != 0 {
            std::ptr::null_mut()
        } else {
            (bits & !FLAGS) as *mut TaskSlot
        };
        if !ptr.is_null() {
            // SAFETY: from `Box::into_raw` in `get_or_init`; `&mut self` means no reader is left.
            drop(unsafe { Box::from_raw(ptr) });
        }
    }
}

impl TaskSlot {
    /// The last wait reason and how long ago it was set. Call on the task's home thread.
    pub(crate) fn wait(&self) -> Option<(WaitReason, Instant)> {
        // SAFETY: home thread only, see the type's Sync argument; no write runs meanwhile.
        unsafe { (*self.wait.get()).clone() }
    }

    pub(super) fn set_wait(&self, reason: WaitReason) {
        // SAFETY: home thread only (called during the task's own poll).
        let slot = unsafe { &mut *self.wait.get() };
        match slot {
            // Parked again on the same thing (a spurious wake): the wait started earlier.
            Some((old, _)) if *old == reason => {}
            _ => *slot = Some((reason, Instant::now())),
        }
        self.set_this_poll.set(true);
    }

    pub(super) fn clear_unless_set(&self) {
        if !self.set_this_poll.replace(false) {
            // SAFETY: home thread only.
            unsafe { *self.wait.get() = None };
        }
    }
}

impl std::fmt::Debug for TaskSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TaskSlot")
            .field("self_wakes", &self.self_wakes.load(Relaxed))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_join_key_lives_in_the_word_until_a_slot_takes_it_over() {
        let word = DiagSlot::default();
        assert_eq!(word.take_join_wait(), 0, "nothing recorded yet");
        word.set_movable();
        word.set_join_wait(41);
        assert!(word.get().is_none(), "an inline key is not a slot");
        assert!(word.movable(), "the key keeps the MOVABLE bit");
        assert_eq!(word.take_join_wait(), 41);
        assert_eq!(word.take_join_wait(), 0, "taken once");
        word.set_join_wait(42);
        let slot = word.get_or_init();
        assert_eq!(
            slot.join_wait.load(Relaxed),
            42,
            "the slot took the key over"
        );
        assert!(word.movable());
        word.set_join_wait(43);
        assert_eq!(word.get().unwrap().join_wait.load(Relaxed), 43);
        assert_eq!(word.take_join_wait(), 43);
        assert_eq!(word.take_join_wait(), 0);
    }

    #[test]
    fn a_large_key_round_trips() {
        let word = DiagSlot::default();
        let key = (1u64 << 61) + 7;
        word.set_join_wait(key);
        assert_eq!(word.take_join_wait(), key);
    }
}
