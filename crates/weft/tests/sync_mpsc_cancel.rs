//! mpsc cancel safety under random interleavings (seeded, reproducible): waiting sends, waiting
//! reserves and held permits are dropped at random points between receives; no slot is ever
//! lost or invented (free + queued + held permits = capacity whenever no sender waits), no slot
//! stays free while a sender is queued, and every value whose send completed is received
//! exactly once, in order.

mod sync_locks_support;

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use sync_locks_support::Probe;
use weft::sync::mpsc::{self, error::TryRecvError, Permit};

/// Sequences tried, and steps in each.
const SEEDS: u64 = 200;
const STEPS: usize = 300;
const CAPACITY: usize = 3;

/// A small deterministic generator (xorshift64*), so a failing seed can be replayed.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 33) % n
    }
}

type Pending<'a, T> = Probe<Pin<Box<dyn Future<Output = T> + 'a>>>;
/// A waiting send and the value it carries.
type WaitingSend<'a> = (u64, Pending<'a, Result<(), mpsc::error::SendError<u64>>>);
/// A waiting reserve.
type WaitingReserve<'a> = Pending<'a, Result<Permit<'a, u64>, mpsc::error::SendError<()>>>;

#[test]
fn random_cancellations_lose_no_slot_and_no_value() {
    for seed in 1..=SEEDS {
        let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15));
        let (tx, mut rx) = mpsc::channel::<u64>(CAPACITY);
        let mut next_value = 0u64;
        // Values whose send completed, in completion order: what the receiver must see.
        let mut expected: VecDeque<u64> = VecDeque::new();
        let mut sends: Vec<WaitingSend<'_>> = Vec::new();
        let mut reserves: Vec<WaitingReserve<'_>> = Vec::new();
        let mut permits: Vec<Permit<'_, u64>> = Vec::new();
        for step in 0..STEPS {
            let ctx = format!("seed {seed} step {step}");
            let op = rng.below(7);
            match op {
                0 => {
                    let v = next_value;
                    next_value += 1;
                    let mut p: Pending<'_, _> = Probe::new(Box::pin(tx.send(v)));
                    match p.poll() {
                        std::task::Poll::Ready(r) => {
                            r.unwrap();
                            expected.push_back(v);
                        }
                        std::task::Poll::Pending => sends.push((v, p)),
                    }
                }
                1 => {
                    let mut p: Pending<'_, _> = Probe::new(Box::pin(tx.reserve()));
                    match p.poll() {
                        std::task::Poll::Ready(r) => permits.push(r.unwrap()),
                        std::task::Poll::Pending => reserves.push(p),
                    }
                }
                2 if !sends.is_empty() => {
                    let i = rng.below(sends.len() as u64) as usize;
                    drop(sends.swap_remove(i)); // cancelled: its value is not sent
                }
                3 if !reserves.is_empty() => {
                    let i = rng.below(reserves.len() as u64) as usize;
                    drop(reserves.swap_remove(i));
                }
                4 if !permits.is_empty() => {
                    let i = rng.below(permits.len() as u64) as usize;
                    let permit = permits.swap_remove(i);
                    if rng.below(2) == 0 {
                        let v = next_value;
                        next_value += 1;
                        permit.send(v);
                        expected.push_back(v);
                    } // else dropped unused: the slot comes back
                }
                _ => match rx.try_recv() {
                    Ok(v) => assert_eq!(Some(v), expected.pop_front(), "{ctx}"),
                    Err(TryRecvError::Empty) => {}
                    Err(e) => panic!("{ctx}: {e}"),
                },
            }
            // Poll some of the waiting ones (a grant may have come); the others stay granted but
            // unpolled, where a cancel must pass the slot on.
            let mut i = 0;
            while i < sends.len() {
                if rng.below(2) == 0 {
                    i += 1;
                    continue;
                }
                if let std::task::Poll::Ready(r) = sends[i].1.poll() {
                    r.unwrap();
                    expected.push_back(sends[i].0);
                    sends.swap_remove(i);
                } else {
                    i += 1;
                }
            }
            let mut i = 0;
            while i < reserves.len() {
                if rng.below(2) == 0 {
                    i += 1;
                    continue;
                }
                if let std::task::Poll::Ready(r) = reserves[i].poll() {
                    permits.push(r.unwrap());
                    reserves.swap_remove(i);
                } else {
                    i += 1;
                }
            }
            // A waiter not yet woken is still queued (they are woken only when granted a slot):
            // while one is, no slot may be free.
            let queued = sends.iter().filter(|s| s.1.wakes() == 0).count()
                + reserves.iter().filter(|r| r.wakes() == 0).count();
            if queued > 0 {
                assert_eq!(
                    tx.capacity(),
                    0,
                    "{ctx}: a free slot while {queued} senders wait"
                );
            }
            if sends.is_empty() && reserves.is_empty() {
                assert_eq!(
                    tx.capacity() + rx.len() + permits.len(),
                    CAPACITY,
                    "{ctx}: slots lost or invented"
                );
            }
        }
        drop((sends, reserves, permits));
        while let Ok(v) = rx.try_recv() {
            assert_eq!(Some(v), expected.pop_front(), "seed {seed}: drain");
        }
        assert!(
            expected.is_empty(),
            "seed {seed}: values lost: {expected:?}"
        );
        assert_eq!(
            tx.capacity(),
            CAPACITY,
            "seed {seed}: every slot free at the end"
        );
    }
}
