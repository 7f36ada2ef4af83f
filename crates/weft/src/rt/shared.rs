//! The part of an event loop that other threads may touch.
//!
//! A loop thread owns its run queue, timers and task list outright (see
//! [`event_loop`](super::event_loop)); the only doors into it from elsewhere are here:
//!
//! - the **inbox**, a mutex-guarded queue of [`Message`]s (tasks woken or spawned from another
//!   thread, and closures to run on the loop);
//! - the **poller**, where any thread may register a descriptor (epoll_ctl is thread-safe);
//! - the **notifier** (an eventfd in the poller) that wakes the loop when it sleeps;
//! - the **release list** of I/O sources deregistered by other threads, freed by the loop once
//!   no event batch can still name them.
//!
//! Sleeping without losing a wake-up is the [`SleepGate`]'s handshake: a poster marks the inbox
//! pending and then looks for a sleeping loop; the loop announces its sleep and then looks for
//! pending messages.

use crate::loom::{AtomicBool, AtomicUsize, Mutex, Ordering::*};
use crate::rt::reactor::IoSource;
use crate::rt::sleep_gate::SleepGate;
use crate::sys::{Notifier, Poller};
use crate::task::raw::Notified;
use std::io;
use std::ptr::NonNull;

/// The token of the notifier in the poller; I/O sources use their address, never this value.
pub(crate) const NOTIFIER_TOKEN: u64 = u64::MAX;

static NEXT_LOOP_ID: AtomicUsize = AtomicUsize::new(1);

/// Something for a loop to do, sent from another thread.
pub(crate) enum Message {
    /// Poll this task (it was woken or spawned from another thread).
    Run(Notified),
    /// Run this closure on the loop thread.
    Call(Box<dyn FnOnce() + Send>),
}

/// An I/O source pointer waiting to be freed by its loop.
struct Released(NonNull<IoSource>);

// SAFETY: the pointer is an `Arc<IoSource>` turned into a raw pointer; `IoSource` is Send+Sync.
unsafe impl Send for Released {}

/// The cross-thread face of one event loop.
pub(crate) struct LoopShared {
    /// Unique in the process; tells "am I on this loop?" apart without comparing pointers.
    pub(crate) id: usize,
    /// Index among its runtime's loop threads, `None` for the caller loop driven by `block_on`.
    pub(crate) index: Option<usize>,
    inbox: Mutex<Inbox>,
    /// Whether the inbox may hold messages and whether the loop sleeps.
    gate: SleepGate,
    /// Set by the runtime to make a loop thread leave its run loop and shut down.
    pub(crate) stop: AtomicBool,
    notifier: Notifier,
    pub(crate) poller: Poller,
    released: Mutex<Vec<Released>>,
    released_pending: AtomicBool,
}

struct Inbox {
    messages: Vec<Message>,
    /// Once closed (the loop is shutting down) the inbox refuses messages.
    closed: bool,
}

impl std::fmt::Debug for LoopShared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoopShared")
            .field("id", &self.id)
            .field("index", &self.index)
            .finish()
    }
}

impl LoopShared {
    /// Creates the poller and notifier of a new loop.
    pub(crate) fn new(index: Option<usize>) -> io::Result<LoopShared> {
        let poller = Poller::new()?;
        let notifier = Notifier::new()?;
        poller.register(notifier.as_raw_fd(), NOTIFIER_TOKEN, false)?;
        Ok(LoopShared {
            id: NEXT_LOOP_ID.fetch_add(1, Relaxed),
            index,
            inbox: Mutex::new(Inbox {
                messages: Vec::new(),
                closed: false,
            }),
            gate: SleepGate::new(),
            stop: AtomicBool::new(false),
            notifier,
            poller,
            released: Mutex::new(Vec::new()),
            released_pending: AtomicBool::new(false),
        })
    }

    /// Queues a message for the loop and wakes it if it sleeps. Gives the message back if the
    /// loop has shut down.
    pub(crate) fn post(&self, message: Message) -> Result<(), Message> {
        {
            let mut inbox = self.inbox.lock().unwrap_or_else(|e| e.into_inner());
            if inbox.closed {
                return Err(message);
            }
            inbox.messages.push(message);
            self.gate.set_pending();
        }
        self.unpark();
        Ok(())
    }

    /// Wakes the loop if it is blocked in (or about to enter) `epoll_wait`. Call it after
    /// making the reason visible: a message, or a flag the loop checks before it sleeps.
    pub(crate) fn unpark(&self) {
        if self.gate.unpark() {
            self.notifier.notify();
        }
    }

    /// True if messages may be waiting.
    pub(crate) fn has_pending(&self) -> bool {
        self.gate.has_pending()
    }

    /// Moves all waiting messages into `into` (which should be empty).
    pub(crate) fn take_messages(&self, into: &mut Vec<Message>) {
        if !self.gate.has_pending() {
            return;
        }
        let mut inbox = self.inbox.lock().unwrap_or_else(|e| e.into_inner());
        self.gate.clear_pending();
        std::mem::swap(&mut inbox.messages, into);
    }

    /// Refuses all further messages and returns those still queued.
    pub(crate) fn close(&self) -> Vec<Message> {
        let mut inbox = self.inbox.lock().unwrap_or_else(|e| e.into_inner());
        inbox.closed = true;
        self.gate.clear_pending();
        std::mem::take(&mut inbox.messages)
    }

    /// Announces that the loop is going to block; returns false if it should not, because a
    /// message arrived meanwhile.
    pub(crate) fn prepare_sleep(&self) -> bool {
        self.gate.prepare_sleep()
    }

    /// Announces that the loop is awake again.
    pub(crate) fn end_sleep(&self) {
        self.gate.end_sleep();
    }

    /// Resets the notifier after it woke the loop.
    pub(crate) fn drain_notifier(&self) {
        self.notifier.drain();
    }

    /// Hands a deregistered source to the loop to free after its current event batch.
    pub(crate) fn release(&self, source: NonNull<IoSource>) {
        self.released
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(Released(source));
        self.released_pending.store(true, Release);
    }

    /// Frees the sources released so far. Called by the loop between event batches (and by the
    /// last owner at drop), when no event in hand can name them.
    pub(crate) fn free_released(&self) {
        if !self.released_pending.swap(false, AcqRel) {
            return;
        }
        let released =
            std::mem::take(&mut *self.released.lock().unwrap_or_else(|e| e.into_inner()));
        for Released(ptr) in released {
            // SAFETY: `ptr` came from `Arc::into_raw` at registration and this is the one place
            // that gives that reference back, once.
            drop(unsafe { crate::loom::Arc::from_raw(ptr.as_ptr() as *const IoSource) });
        }
    }
}

impl Drop for LoopShared {
    fn drop(&mut self) {
        self.released_pending.store(true, Relaxed);
        self.free_released();
    }
}
