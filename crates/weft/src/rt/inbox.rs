//! A loop's inbox: the mutex-guarded queue other threads post messages to, with the
//! [`SleepGate`] that says whether it may hold messages and whether its loop sleeps.
//!
//! Generic over the message so the loom model (`tests/loom_loop_inbox.rs`) compiles this very
//! file with its own messages; `LoopShared` owns one of `Message`s and the eventfd that
//! [`post`](Inbox::post) and [`unpark`](Inbox::unpark) ask it to write.
//!
//! # The protocol
//!
//! - A poster pushes its message and marks the gate pending *under the lock*, then (outside it)
//!   asks the gate whether the loop sleeps; if so the caller writes the eventfd.
//! - The loop takes the messages only when the gate says pending, and clears the flag under the
//!   lock as it swaps the queue out, so a message pushed after the swap keeps the flag set.
//! - Before blocking the loop calls [`prepare_sleep`](Inbox::prepare_sleep), which fails if a
//!   message arrived since it last looked; the gate's handshake makes sure that either the loop
//!   sees the message or the poster sees the loop asleep.
//! - Once [`close`](Inbox::close)d, posts are refused (the message is given back): nothing is
//!   queued to a loop that no longer runs.

use super::sleep_gate::SleepGate;
use crate::loom::Mutex;

struct Queue<M> {
    messages: Vec<M>,
    /// Once closed (the loop is shutting down) the inbox refuses messages.
    closed: bool,
}

/// See the [module docs](self).
pub(crate) struct Inbox<M> {
    queue: Mutex<Queue<M>>,
    gate: SleepGate,
}

impl<M> Inbox<M> {
    /// An open, empty inbox.
    pub(crate) fn new() -> Inbox<M> {
        Inbox {
            queue: Mutex::new(Queue {
                messages: Vec::new(),
                closed: false,
            }),
            gate: SleepGate::new(),
        }
    }

    /// Queues `message`; `Ok(true)` if the loop sleeps and the caller must write its eventfd.
    /// Gives the message back if the inbox is closed.
    pub(crate) fn post(&self, message: M) -> Result<bool, M> {
        {
            let mut queue = self.queue.lock().unwrap_or_else(|e| e.into_inner());
            if queue.closed {
                return Err(message);
            }
            queue.messages.push(message);
            self.gate.set_pending();
        }
        Ok(self.gate.unpark())
    }

    /// After making a reason to run visible (a flag the loop checks before it sleeps): true if
    /// the loop sleeps and the caller must write its eventfd.
    pub(crate) fn unpark(&self) -> bool {
        self.gate.unpark()
    }

    /// True if messages may be waiting.
    pub(crate) fn has_pending(&self) -> bool {
        self.gate.has_pending()
    }

    /// Moves all waiting messages into `into` (which should be empty).
    pub(crate) fn take_messages(&self, into: &mut Vec<M>) {
        if !self.gate.has_pending() {
            return;
        }
        let mut queue = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        self.gate.clear_pending();
        std::mem::swap(&mut queue.messages, into);
    }

    /// Calls `f` with the queued messages under the lock (to take some out in place).
    pub(crate) fn with_messages<R>(&self, f: impl FnOnce(&mut Vec<M>) -> R) -> R {
        let mut queue = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut queue.messages)
    }

    /// Refuses all further messages and returns those still queued.
    pub(crate) fn close(&self) -> Vec<M> {
        let mut queue = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        queue.closed = true;
        self.gate.clear_pending();
        std::mem::take(&mut queue.messages)
    }

    /// Announces that the loop is going to block; false if it should not (a message arrived).
    pub(crate) fn prepare_sleep(&self) -> bool {
        self.gate.prepare_sleep()
    }

    /// Announces that the loop is awake again.
    pub(crate) fn end_sleep(&self) {
        self.gate.end_sleep();
    }
}
