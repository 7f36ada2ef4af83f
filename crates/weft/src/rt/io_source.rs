//! One registered descriptor's readiness word and waiter slots (the reactor's [`IoSource`]),
//! apart from epoll so that the loom model (`tests/loom_reactor_waiters.rs`) compiles this very
//! file against loom's atomics and `AtomicWaker`.
//!
//! The word holds direction bits in its low 16 bits and a *tick* above them, bumped by every
//! event ([`IoSource::set_readiness`], the home loop's). A waiting operation checks
//! ([`ready`](IoSource::ready)), stores its waker in its direction's slot
//! ([`register`](IoSource::register)) and checks again, so an event between the two checks
//! is seen by the second or wakes the stored waker; a `WouldBlock` clears the direction only
//! if the tick is unchanged ([`clear`](IoSource::clear)), so readiness from an event that
//! raced with the syscall is never thrown away. See `reactor.rs` for the rest of the protocol.

use crate::loom::{AtomicBool, AtomicUsize, AtomicWaker, Ordering::*};
use crate::sys::Readiness;
use std::task::Waker;

const READY_MASK: usize = 0xffff;
const TICK_SHIFT: u32 = 16;

/// Which side of a descriptor an operation waits for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Direction {
    Read,
    Write,
}

impl Direction {
    /// The readiness bits that let an operation in this direction proceed (closed and error
    /// states count: the syscall will report them).
    pub(crate) fn mask(self) -> usize {
        (match self {
            Direction::Read => Readiness::READABLE | Readiness::READ_CLOSED | Readiness::ERROR,
            Direction::Write => Readiness::WRITABLE | Readiness::WRITE_CLOSED | Readiness::ERROR,
        }) as usize
    }

    /// The bits a `WouldBlock` may clear (closed and error states are permanent).
    fn clearable(self) -> usize {
        (match self {
            Direction::Read => Readiness::READABLE,
            Direction::Write => Readiness::WRITABLE,
        }) as usize
    }
}

/// A readiness snapshot: which bits were seen, at which tick.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ReadyEvent {
    pub(crate) word: usize,
    pub(crate) direction: Direction,
}

/// Readiness state and waiters of one registered descriptor.
pub(crate) struct IoSource {
    pub(crate) readiness: AtomicUsize,
    reader: AtomicWaker,
    writer: AtomicWaker,
    /// True once epoll reports writability for this descriptor (set before the `EPOLL_CTL_MOD`).
    pub(crate) write_subscribed: AtomicBool,
}

impl IoSource {
    /// A source with readiness bits `ready` (and a tick of 0), subscribed to writability if
    /// `writable`.
    pub(crate) fn new(ready: usize, writable: bool) -> IoSource {
        IoSource {
            readiness: AtomicUsize::new(ready),
            reader: AtomicWaker::new(),
            writer: AtomicWaker::new(),
            write_subscribed: AtomicBool::new(writable),
        }
    }

    /// The readiness now, as seen for `dir` (ready or not).
    pub(crate) fn snapshot(&self, dir: Direction) -> ReadyEvent {
        ReadyEvent {
            word: self.readiness.load(Acquire),
            direction: dir,
        }
    }

    /// The readiness now if `dir` is ready.
    pub(crate) fn ready(&self, dir: Direction) -> Option<ReadyEvent> {
        let event = self.snapshot(dir);
        (event.word & dir.mask() != 0).then_some(event)
    }

    /// Stores `waker` in `dir`'s slot (replacing the one there): the next event for `dir` wakes
    /// it. Check [`ready`](Self::ready) again afterwards.
    pub(crate) fn register(&self, dir: Direction, waker: &Waker) {
        match dir {
            Direction::Read => self.reader.register(waker),
            Direction::Write => self.writer.register(waker),
        }
    }

    /// Forgets the readiness seen in `event`, unless an event arrived since. `plain`: the
    /// caller is on the home loop's thread, where no event can arrive between a load and a
    /// store (events are recorded between task polls), so those replace a compare-and-swap
    /// (its locked instruction is a measurable part of a request's userspace time). Another
    /// thread clearing the other direction at the same moment (a stream split across threads)
    /// can at worst see a cleared bit come back: one extra syscall that answers `WouldBlock`,
    /// never a lost event.
    pub(crate) fn clear(&self, event: ReadyEvent, plain: bool) {
        let clear = event.word & event.direction.clearable();
        if plain {
            if self.readiness.load(Acquire) == event.word {
                self.readiness.store(event.word & !clear, Release);
            }
            return;
        }
        // A failed exchange means the word changed (new tick or new bits): keep it.
        let _ = self
            .readiness
            .compare_exchange(event.word, event.word & !clear, AcqRel, Acquire);
    }

    /// Drops the waiters' wakers: the registration is going away and nobody waits on it any
    /// more. The source itself outlives its registration in the home loop's list of released
    /// sources until the loop frees it; a waker kept there can hold that very loop (a
    /// `block_on` waiter's, a task's), and once the loop has stopped nothing frees the list:
    /// loop → released source → waker → loop would be a cycle that leaks them all.
    pub(crate) fn forget_waiters(&self) {
        drop(self.reader.take());
        drop(self.writer.take());
    }

    /// Records an event and wakes the waiters it concerns. Called by the home loop.
    pub(crate) fn set_readiness(&self, ready: Readiness) {
        let bits = ready.0 as usize;
        let _ = self.readiness.fetch_update(AcqRel, Acquire, |cur| {
            let tick = (cur >> TICK_SHIFT).wrapping_add(1);
            Some((tick << TICK_SHIFT) | (cur & READY_MASK) | bits)
        });
        if bits & Direction::Read.mask() != 0 {
            self.reader.wake();
        }
        if bits & Direction::Write.mask() != 0 {
            self.writer.wake();
        }
    }
}
