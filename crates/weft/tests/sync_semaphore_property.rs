//! Property: semaphore permits are never lost or duplicated, under random sequences of
//! acquire (one or many), poll, release, cancel (drop a waiting future), add_permits and
//! forget, driven by a seeded PRNG so a failure names its seed and replays.

mod common;
mod sync_locks_support;

use std::task::Poll;
use sync_locks_support::Probe;
use weft::sync::{Semaphore, SemaphorePermit};

/// Seeds tried; each runs `STEPS` random operations.
const SEEDS: u64 = 300;
const STEPS: usize = 400;
/// Permits at the start; requests are for 1..=MAX_REQUEST.
const START_PERMITS: usize = 4;
const MAX_REQUEST: u32 = 3;

/// xorshift64*: small, seeded, good enough to shuffle operations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn run(seed: u64) {
    let sem = Semaphore::new(START_PERMITS);
    let mut total = START_PERMITS; // permits in existence (free, held or assigned to waiters)
    let mut held: Vec<SemaphorePermit<'_>> = Vec::new();
    let mut waiting = Vec::new();
    let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    for step in 0..STEPS {
        match rng.below(7) {
            0 | 1 => {
                let n = 1 + rng.below(MAX_REQUEST as usize) as u32;
                let mut p = Probe::new(sem.acquire_many(n));
                match p.poll() {
                    Poll::Ready(permit) => held.push(permit.unwrap()),
                    Poll::Pending => waiting.push(p),
                }
            }
            2 if !waiting.is_empty() => {
                // Poll a random waiter; one woken must be ready, one not woken may be.
                let i = rng.below(waiting.len());
                if let Poll::Ready(permit) = waiting[i].poll() {
                    held.push(permit.unwrap());
                    drop(waiting.swap_remove(i));
                }
            }
            3 if !waiting.is_empty() => {
                let i = rng.below(waiting.len());
                drop(waiting.remove(i)); // cancel, possibly after being served
            }
            4 if !held.is_empty() => {
                let i = rng.below(held.len());
                drop(held.swap_remove(i));
            }
            5 => {
                let n = rng.below(3);
                sem.add_permits(n);
                total += n;
            }
            6 if !held.is_empty() => {
                let p = held.swap_remove(rng.below(held.len()));
                total -= p.num_permits();
                p.forget();
            }
            _ => {}
        }
        let in_hand: usize = held.iter().map(SemaphorePermit::num_permits).sum();
        assert!(
            in_hand + sem.available_permits() <= total,
            "seed {seed} step {step}: permits duplicated"
        );
        if waiting.is_empty() {
            assert_eq!(
                in_hand + sem.available_permits(),
                total,
                "seed {seed} step {step}: with no waiter, every permit is held or free"
            );
        }
    }
    // Give everything back and drain the waiters: all permits must come home.
    drop(held);
    loop {
        let mut progressed = false;
        let mut still = Vec::new();
        for mut w in waiting.drain(..) {
            match w.poll() {
                Poll::Ready(permit) => {
                    drop(permit.unwrap());
                    progressed = true;
                }
                Poll::Pending => still.push(w),
            }
        }
        waiting = still;
        if waiting.is_empty() {
            break;
        }
        if !progressed {
            // Whatever is left waits for more than exists; the front must need more than is
            // free, or a wake-up was lost.
            assert!(
                sem.available_permits() < MAX_REQUEST as usize,
                "seed {seed}: {} permits free, yet no waiter was served",
                sem.available_permits()
            );
            drop(waiting.drain(..));
            break;
        }
    }
    assert_eq!(sem.available_permits(), total, "seed {seed}: permits lost");
    if total > 0 {
        assert!(sem.try_acquire().is_ok(), "seed {seed}: fast path reopened");
    }
}

#[test]
fn permits_are_never_lost_under_random_acquire_release_cancel() {
    for seed in 0..SEEDS {
        run(seed);
    }
}

/// Every waiter served is woken: after the release that served it, its waker has fired.
#[test]
fn every_served_waiter_was_woken() {
    for seed in 0..SEEDS {
        let sem = Semaphore::new(0);
        let mut rng = Rng(seed | 1);
        let mut waiters: Vec<_> = (0..6)
            .map(|_| Probe::new(sem.acquire_many(1 + rng.below(2) as u32)))
            .collect();
        for w in &mut waiters {
            w.pending();
        }
        sem.add_permits(20);
        for (i, w) in waiters.iter_mut().enumerate() {
            assert_eq!(w.wakes(), 1, "seed {seed}: waiter {i} served but not woken");
            drop(w.ready().unwrap());
        }
        assert_eq!(sem.available_permits(), 20);
    }
}

/// The same property under real concurrency: tasks on two loops and plain threads acquire
/// 1..=3 permits at random, sometimes waiting, sometimes polling once and dropping the future
/// (cancel), sometimes holding across a yield. Every full wait must finish and, at the end,
/// every permit must be back.
#[test]
fn permits_survive_random_cancels_across_loops_and_threads() {
    use std::future::{poll_fn, Future};
    use std::pin::pin;
    use std::sync::Arc;

    const OPS: usize = 2_000;
    let available = common::within_deadline("semaphore stress", || {
        let rt = weft::rt::Runtime::builder().loops(2).build().unwrap();
        let sem = Arc::new(Semaphore::new(START_PERMITS));
        let tasks: Vec<_> = (0..4u64)
            .map(|seed| {
                let sem = sem.clone();
                rt.spawn_on(seed as usize % 2, async move {
                    let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
                    for _ in 0..OPS {
                        let n = 1 + rng.below(MAX_REQUEST as usize) as u32;
                        match rng.below(3) {
                            0 => {
                                let p = sem.acquire_many(n).await.unwrap();
                                weft::yield_now().await;
                                drop(p);
                            }
                            1 => {
                                let mut fut = pin!(sem.acquire_many(n));
                                let got = poll_fn(|cx| Poll::Ready(fut.as_mut().poll(cx))).await;
                                drop(got); // a permit if ready; else the future cancels
                            }
                            _ => drop(sem.try_acquire_many(n)),
                        }
                    }
                })
            })
            .collect();
        let threads: Vec<_> = (0..2u64)
            .map(|seed| {
                let sem = sem.clone();
                std::thread::spawn(move || {
                    let mut rng = Rng((seed + 100) | 1);
                    for _ in 0..OPS / 4 {
                        let n = 1 + rng.below(MAX_REQUEST as usize) as u32;
                        let p = sem.blocking_acquire_many(n).unwrap();
                        std::thread::yield_now();
                        drop(p);
                    }
                })
            })
            .collect();
        rt.block_on(async {
            for t in tasks {
                t.await.unwrap();
            }
        });
        for t in threads {
            t.join().unwrap();
        }
        sem.available_permits()
    });
    assert_eq!(available, START_PERMITS, "permits lost or duplicated");
}
