//! `Barrier`: `n` parties wait until all have arrived, then all go on; one is the leader.
//!
//! State under one lock: how many arrived in this round, the round's number, and the FIFO list
//! of parked parties. The last to arrive starts the next round and wakes the list.

use super::park;
use super::trace::{Resource, ResourceKind, WaitGuard};
use super::waiters::{WaitList, WaiterKey, WakeBatch};
use crate::loom::{Mutex, MutexGuard};
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
    parties: usize,
    state: Mutex<Round>,
    res: Resource,
}

#[derive(Debug)]
struct Round {
    arrived: usize,
    number: u64,
    parked: WaitList<()>,
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
            parties: n.max(1),
            state: Mutex::new(Round {
                arrived: 0,
                number: 0,
                parked: WaitList::new(),
            }),
            res: Resource::new(ResourceKind::Barrier, Location::caller()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Round> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
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
            let round = {
                let mut st = self.lock();
                st.arrived += 1;
                if st.arrived < self.parties {
                    st.number
                } else {
                    st.arrived = 0;
                    st.number += 1;
                    let mut wakes = WakeBatch::new();
                    while let Some((_, waker)) = st.parked.pop_front() {
                        wakes.push(waker);
                    }
                    drop(st);
                    wakes.wake_all();
                    return BarrierWaitResult(true);
                }
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
        let st = self.lock();
        f.debug_struct("Barrier")
            .field("parties", &self.parties)
            .field("arrived", &st.arrived)
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
        let mut st = this.barrier.lock();
        if st.number != this.round {
            if let Some(key) = this.key.take() {
                st.parked.remove(key);
            }
            drop(st);
            this.wait = None;
            return Poll::Ready(());
        }
        match this.key {
            Some(key) => st.parked.set_waker(key, cx.waker()),
            None => this.key = Some(st.parked.push_back((), cx.waker())),
        }
        drop(st);
        if this.wait.is_none() {
            this.wait = Some(this.barrier.res.wait(this.site));
        }
        Poll::Pending
    }
}

impl Drop for Parked<'_> {
    fn drop(&mut self) {
        let mut st = self.barrier.lock();
        if let Some(key) = self.key.take() {
            st.parked.remove(key);
        }
        if st.number == self.round {
            st.arrived -= 1;
        }
    }
}
