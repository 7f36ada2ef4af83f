//! `Barrier`'s core: the round under one lock, an arrival, a parked party's poll and its
//! withdrawal.
//!
//! Kept free of everything but `crate::loom` and [`super::waiters`], so that
//! `tests/loom_sync_barrier.rs` compiles this very file against loom's types.
//!
//! State under one lock: how many arrived in this round, the round's number, and the FIFO list
//! of parked parties. The last to arrive starts the next round (bumps the number) and wakes the
//! list; a parked party is done once the number moved past its round. A party that gives up
//! before that withdraws its arrival under the same lock, so the last arrival and a withdrawal
//! are ordered: either the round completed with it (the withdrawal changes nothing) or it
//! needs one more party.

use super::waiters::{WaitList, WaiterKey, WakeBatch};
use crate::loom::{Mutex, MutexGuard};
use std::task::{Poll, Waker};

#[derive(Debug)]
struct Round {
    arrived: usize,
    number: u64,
    parked: WaitList<()>,
}

/// The barrier's state machine; see the module doc.
#[derive(Debug)]
pub(super) struct Rounds {
    parties: usize,
    state: Mutex<Round>,
}

/// What an arrival found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Arrival {
    /// This arrival completed the round: the leader, which does not wait.
    Leader,
    /// The round needs more parties: wait for round `n` to complete.
    Wait(u64),
}

impl Rounds {
    /// Rounds of `parties` parties (0 is treated as 1).
    pub(super) fn new(parties: usize) -> Rounds {
        Rounds {
            parties: parties.max(1),
            state: Mutex::new(Round {
                arrived: 0,
                number: 0,
                parked: WaitList::new(),
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Round> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Parties a round needs.
    pub(super) fn parties(&self) -> usize {
        self.parties
    }

    /// Parties arrived in the current round.
    pub(super) fn arrived(&self) -> usize {
        self.lock().arrived
    }

    /// Counts one arrival; the last one starts the next round and wakes every parked party.
    pub(super) fn arrive(&self) -> Arrival {
        let mut st = self.lock();
        st.arrived += 1;
        if st.arrived < self.parties {
            return Arrival::Wait(st.number);
        }
        st.arrived = 0;
        st.number += 1;
        let mut wakes = WakeBatch::new();
        while let Some((_, waker)) = st.parked.pop_front() {
            wakes.push(waker);
        }
        drop(st);
        wakes.wake_all();
        Arrival::Leader
    }

    /// One poll of a party waiting for `round`: ready once it completed, else parked (or
    /// re-armed) with `waker`, its slot in `key`.
    pub(super) fn poll_parked(
        &self,
        round: u64,
        key: &mut Option<WaiterKey>,
        waker: &Waker,
    ) -> Poll<()> {
        let mut st = self.lock();
        if st.number != round {
            if let Some(k) = key.take() {
                st.parked.remove(k);
            }
            return Poll::Ready(());
        }
        match *key {
            Some(k) => st.parked.set_waker(k, waker),
            None => *key = Some(st.parked.push_back((), waker)),
        }
        Poll::Pending
    }

    /// A party waiting for `round` gives up: frees its slot and, if the round has not completed,
    /// withdraws its arrival. True if it did (the round still needs one more party).
    pub(super) fn withdraw(&self, round: u64, key: &mut Option<WaiterKey>) -> bool {
        let mut st = self.lock();
        if let Some(k) = key.take() {
            st.parked.remove(k);
        }
        let pending = st.number == round;
        if pending {
            st.arrived -= 1;
        }
        pending
    }
}
