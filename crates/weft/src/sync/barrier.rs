//! `Barrier`: `n` parties wait until all have arrived, then all go on; one is the leader.
//!
//! State under one lock: how many arrived in this round, the round's number, and the FIFO list
//! of parked parties. The last to arrive starts the next round and wakes the list. That state
//! machine lives in `barrier_round` (loom-checked by `tests/loom_sync_barrier.rs`); this file
//! adds the futures, the blocking call and the holder/waiter bookkeeping.

use super::barrier_round::{Arrival, Rounds};
use super::park;
use super::trace::{Resource, ResourceKind, WaitGuard};
use super::waiters::WaiterKey;
use std::fmt;
use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Lets `n` tasks, green threads or OS threads meet: each `wait()` returns once `n` have called
/// it; the barrier then starts over for the next `n`.
///
/// # Fairness
///
/// Rounds do not mix: a party that arrives after a round completed counts toward the next one.
/// The party whose arrival completes a round is its leader ([`BarrierWaitResult::is_leader`]);
/// it does not wait at all. The others are woken together, in arrival order.
///
/// ```
/// # let rt = weft::rt::Runtime::builder().current_thread().build().unwrap();
/// # rt.block_on(async {
/// use std::sync::Arc;
/// let barrier = Arc::new(weft::sync::Barrier::new(3));
/// let tasks: Vec<_> = (0..3)
///     .map(|_| {
///         let b = barrier.clone();
///         weft::spawn(async move { b.wait().await.is_leader() })
///     })
///     .collect();
/// let mut leaders = 0;
/// for t in tasks {
///     leaders += t.await.unwrap() as usize;
/// }
/// assert_eq!(leaders, 1);
/// # });
/// ```
pub struct Barrier {
    rounds: Rounds,
    res: Resource,
}

/// What [`Barrier::wait`] returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BarrierWaitResult(bool);

impl BarrierWaitResult {
    /// True for exactly one party per round: the one whose arrival completed it.
    pub fn is_leader(&self) -> bool {
        self.0
    }
}

impl Barrier {
    /// A barrier for `n` parties (0 is treated as 1: every `wait` returns at once, as leader).
    #[track_caller]
    pub fn new(n: usize) -> Barrier {
        Barrier {
            rounds: Rounds::new(n),
            res: Resource::new(ResourceKind::Barrier, Location::caller()),
        }
    }

    /// Arrives and waits until `n` parties have arrived in this round.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: a future dropped before the round completes withdraws its arrival (the
    /// round then needs one more party); dropped after, it changes nothing. A future dropped
    /// before its first poll never arrived.
    #[track_caller]
    pub fn wait(&self) -> impl Future<Output = BarrierWaitResult> + '_ {
        let site = Location::caller();
        async move {
            let round = match self.rounds.arrive() {
                Arrival::Leader => return BarrierWaitResult(true),
                Arrival::Wait(round) => round,
            };
            Parked {
                barrier: self,
                round,
                key: None,
                site,
                wait: None,
            }
            .await;
            BarrierWaitResult(false)
        }
    }

    /// [`Barrier::wait`] from code that is not async: parks the green thread (its loop runs on)
    /// or the OS thread.
    ///
    /// # Panics
    ///
    /// On an event-loop thread outside a green thread.
    #[track_caller]
    pub fn blocking_wait(&self) -> BarrierWaitResult {
        park::block_on("Barrier::blocking_wait", self.wait())
    }
}

impl fmt::Debug for Barrier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Barrier")
            .field("parties", &self.rounds.parties())
            .field("arrived", &self.rounds.arrived())
            .finish()
    }
}

/// A party that arrived and waits for round `round` to complete.
struct Parked<'a> {
    barrier: &'a Barrier,
    round: u64,
    key: Option<WaiterKey>,
    site: &'static Location<'static>,
    wait: Option<WaitGuard>,
}

impl Future for Parked<'_> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = &mut *self;
        let rounds = &this.barrier.rounds;
        if rounds
            .poll_parked(this.round, &mut this.key, cx.waker())
            .is_ready()
        {
            this.wait = None;
            return Poll::Ready(());
        }
        if this.wait.is_none() {
            this.wait = Some(this.barrier.res.wait(this.site));
        }
        Poll::Pending
    }
}

impl Drop for Parked<'_> {
    fn drop(&mut self) {
        let _ = self.barrier.rounds.withdraw(self.round, &mut self.key);
    }
}
