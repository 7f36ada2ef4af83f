//! Sleeping without losing a wake-up: the handshake between a loop about to block in
//! `epoll_wait` and the threads that give it work.
//!
//! # The hazard
//!
//! A loop checks "is there work?", finds none and blocks. If a message arrives between the
//! check and the block, and its poster assumed the loop was awake, nobody writes the eventfd:
//! the message waits until some unrelated event wakes the loop, perhaps forever.
//!
//! # The handshake
//!
//! Two flags, each written by one side and read by the other, with a sequentially consistent
//! fence between each side's write and its read (the store-buffering, or Dekker, pattern):
//!
//! ```text
//! loop                              poster
//! sleeping = true                   pending = true     (or its own flag: stop, woken)
//! fence(SeqCst)                     fence(SeqCst)
//! if pending: don't block           if sleeping: swap it to false, and if it was true,
//!                                       write the eventfd
//! ```
//!
//! The two fences are totally ordered. If the loop's comes first, the poster's read of
//! `sleeping` sees `true` and it notifies; if the poster's comes first, the loop's read of
//! `pending` sees `true` and it does not block. Either way the message is seen. The `swap`
//! makes one poster per sleep pay for the syscall; a poster that finds the loop awake pays a
//! fence and a load.
//!
//! Fences rather than `SeqCst` loads and stores because the two are equivalent here, and the
//! loom model checker understands fences (it treats `SeqCst` accesses as merely acquire/release
//! and would report this correct code as racy). `tests/loom_sleep_gate.rs` checks the handshake
//! over every interleaving.

use crate::loom::{fence, AtomicBool, Ordering::*};

/// The two flags of the handshake, for one loop.
#[derive(Debug, Default)]
pub(crate) struct SleepGate {
    /// True while the inbox may hold messages (a hint; the messages are under a lock).
    pending: AtomicBool,
    /// True while the loop is (about to be) blocked in `epoll_wait`.
    sleeping: AtomicBool,
}

impl SleepGate {
    /// Both flags clear: nothing pending, the loop awake.
    pub(crate) fn new() -> SleepGate {
        SleepGate {
            pending: AtomicBool::new(false),
            sleeping: AtomicBool::new(false),
        }
    }

    /// Poster: a message was queued. Call [`unpark`](SleepGate::unpark) next.
    pub(crate) fn set_pending(&self) {
        self.pending.store(true, Relaxed);
    }

    /// Loop: the messages were taken (under the inbox lock).
    pub(crate) fn clear_pending(&self) {
        self.pending.store(false, Relaxed);
    }

    /// True if messages may be waiting.
    pub(crate) fn has_pending(&self) -> bool {
        self.pending.load(Acquire)
    }

    /// Poster, after making its reason to wake the loop visible (`set_pending`, or a flag of
    /// its own the loop checks after [`prepare_sleep`](SleepGate::prepare_sleep)): true if the
    /// loop is blocked or about to block, and this caller must notify it. At most one caller
    /// gets true per sleep.
    pub(crate) fn unpark(&self) -> bool {
        fence(SeqCst);
        self.sleeping.load(Relaxed) && self.sleeping.swap(false, AcqRel)
    }

    /// Loop: announces that it is going to block. False if it must not, because a message
    /// arrived meanwhile. When true, the caller checks its other flags next (they are ordered
    /// after the fence too) and then blocks, or calls [`end_sleep`](SleepGate::end_sleep).
    pub(crate) fn prepare_sleep(&self) -> bool {
        self.sleeping.store(true, Relaxed);
        fence(SeqCst);
        if self.pending.load(Relaxed) {
            self.sleeping.store(false, Relaxed);
            return false;
        }
        true
    }

    /// Loop: awake again.
    pub(crate) fn end_sleep(&self) {
        self.sleeping.store(false, Relaxed);
    }
}
