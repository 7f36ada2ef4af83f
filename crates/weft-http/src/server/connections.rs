//! The set of live connections of one server on one event loop.
//!
//! Loop-local (`Rc`, `Cell`): every connection of a server on a loop, and
//! that loop's accept task, share one [`ConnectionSet`]. It exists for
//! shutdown: it counts live connections, remembers each parked connection's
//! waker, and can wake them all.
//!
//! # Shutdown
//!
//! 1. [`begin_drain`](ConnectionSet::begin_drain): every connection is woken.
//!    Ones with a request in progress finish it, answer with
//!    `Connection: close`, and close. Ones whose next request has not begun to
//!    arrive, and idle keep-alive ones, get a quiet period of
//!    [`DRAIN_HEAD_GRACE`] from the start of the drain: a request that arrives
//!    in it is answered (with `Connection: close`) and the connection closes;
//!    a connection still silent at its end closes without a word. A head
//!    partly received is a request arriving (a slow client's): it keeps its
//!    header deadline (answered, or 408), within the drain timeout; closing it
//!    at the quiet period's end failed every slowloris-paced request in flight
//!    at each reload of the soak (`benches/soak/run.sh`).
//!
//!    Why not close idle connections at once: a keep-alive client sends its
//!    next request as soon as it has read an answer, so an "idle" connection
//!    very often has a request on the wire already; closing it then resets
//!    that request (a failed request for the client: the 14 socket errors
//!    `wrk` saw through a reload). Why a quiet period and not the whole drain
//!    timeout: a request already sent arrives within a round trip, so after
//!    a second of silence none is racing the close (HTTP/1.1 has no way to
//!    rule out one sent at that very instant; clients retry those), and a stop
//!    is not held up by idle browsers for the whole drain timeout. Whichever
//!    comes first, the quiet period's end or the drain timeout, closes them.
//! 2. The accept task waits for [`drained`](ConnectionSet::drained) (no live
//!    connection) up to the drain timeout.
//! 3. If time runs out, [`abort_all`](ConnectionSet::abort_all): every
//!    connection is woken and closes without answering.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::future::poll_fn;
use std::task::{Poll, Waker};
use std::time::{Duration, Instant};

use super::ServerConfig;

/// The drain's quiet period: how long a connection whose next request head has not begun to arrive,
/// or an idle keep-alive connection, may still deliver a request once a drain began: 1 s, far
/// more than a request already on the wire (or a client between connecting and sending) needs
/// to arrive, short enough that a silent connection (a browser's speculative pre-connect, an
/// idle keep-alive) barely delays a stop.
pub(crate) const DRAIN_HEAD_GRACE: Duration = Duration::from_secs(1);

/// Live connections of one server on one loop. See the [module docs](self).
pub(crate) struct ConnectionSet {
    pub(crate) config: ServerConfig,
    draining: Cell<bool>,
    /// When the drain began, plus [`DRAIN_HEAD_GRACE`].
    drain_grace_end: Cell<Option<Instant>>,
    aborted: Cell<bool>,
    /// Waker of each live connection (None until it first parks), by id.
    parked: RefCell<Vec<Option<Waker>>>,
    /// Ids free for reuse.
    free: RefCell<Vec<usize>>,
    live: Cell<usize>,
    /// The task waiting in `drained`.
    drain_waiter: RefCell<Option<Waker>>,
}

impl fmt::Debug for ConnectionSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectionSet")
            .field("live", &self.live.get())
            .field("draining", &self.draining.get())
            .finish()
    }
}

impl ConnectionSet {
    pub(crate) fn new(config: ServerConfig) -> ConnectionSet {
        ConnectionSet {
            config,
            draining: Cell::new(false),
            drain_grace_end: Cell::new(None),
            aborted: Cell::new(false),
            parked: RefCell::new(Vec::new()),
            free: RefCell::new(Vec::new()),
            live: Cell::new(0),
            drain_waiter: RefCell::new(None),
        }
    }

    /// Registers a new connection; returns its id.
    pub(crate) fn join(&self) -> usize {
        self.live.set(self.live.get() + 1);
        crate::metrics::connection_opened();
        if let Some(id) = self.free.borrow_mut().pop() {
            return id;
        }
        let mut parked = self.parked.borrow_mut();
        parked.push(None);
        parked.len() - 1
    }

    /// Unregisters connection `id` (when it is dropped).
    pub(crate) fn leave(&self, id: usize) {
        if let Some(slot) = self.parked.borrow_mut().get_mut(id) {
            *slot = None;
        }
        self.free.borrow_mut().push(id);
        self.live.set(self.live.get() - 1);
        crate::metrics::connection_closed();
        if self.live.get() == 0 {
            if let Some(waker) = self.drain_waiter.borrow_mut().take() {
                waker.wake();
            }
        }
    }

    /// Records the waker of a connection about to return `Pending`
    /// (a no-op when it is the same task as last time, the usual case).
    pub(crate) fn park(&self, id: usize, waker: &Waker) {
        if let Some(slot) = self.parked.borrow_mut().get_mut(id) {
            match slot {
                Some(known) if known.will_wake(waker) => {}
                _ => *slot = Some(waker.clone()),
            }
        }
    }

    /// Whether the server is shutting down.
    pub(crate) fn draining(&self) -> bool {
        self.draining.get()
    }

    /// While draining: the deadline for requests whose head has not arrived yet.
    pub(crate) fn drain_grace_end(&self) -> Option<Instant> {
        self.drain_grace_end.get()
    }

    /// Whether connections must close now, without answering.
    pub(crate) fn aborted(&self) -> bool {
        self.aborted.get()
    }

    /// Number of live connections.
    pub(crate) fn live(&self) -> usize {
        self.live.get()
    }

    /// Step 1 of shutdown: mark draining and wake everyone.
    pub(crate) fn begin_drain(&self) {
        self.draining.set(true);
        self.drain_grace_end
            .set(Some(Instant::now() + DRAIN_HEAD_GRACE));
        self.wake_all();
    }

    /// Step 3 of shutdown: close everything now.
    pub(crate) fn abort_all(&self) {
        self.aborted.set(true);
        self.wake_all();
    }

    fn wake_all(&self) {
        // Collect first: a woken waker never re-enters this set synchronously
        // (waking only schedules), but keeping the borrow short is cheap insurance.
        let wakers: Vec<Waker> = self.parked.borrow().iter().flatten().cloned().collect();
        for waker in wakers {
            waker.wake();
        }
    }

    /// Completes when no connection is live.
    pub(crate) async fn drained(&self) {
        poll_fn(|cx| {
            if self.live.get() == 0 {
                return Poll::Ready(());
            }
            *self.drain_waiter.borrow_mut() = Some(cx.waker().clone());
            Poll::Pending
        })
        .await
    }
}
