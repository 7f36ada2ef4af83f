//! A cancelled waiter passes its permit on: `lock()` and `acquire()` futures dropped before
//! their first poll, while queued, and after being served but before being polled again.

mod common;
mod sync_locks_support;

use sync_locks_support::Probe;
use weft::sync::{Mutex, Semaphore};

#[test]
fn a_lock_future_dropped_before_its_first_poll_changes_nothing() {
    let m = Mutex::new(0);
    drop(m.lock());
    let g = m.try_lock().unwrap();
    drop(m.lock());
    drop(g);
    assert!(m.try_lock().is_ok());
}

#[test]
fn a_queued_lock_future_dropped_leaves_the_queue_and_the_next_gets_the_lock() {
    let m = Mutex::new(0);
    let g = m.try_lock().unwrap();
    let mut a = Probe::new(m.lock());
    let mut b = Probe::new(m.lock());
    a.pending();
    b.pending();
    drop(a);
    drop(g);
    assert_eq!(b.wakes(), 1, "the next waiter is woken");
    let gb = b.ready();
    drop(gb);
    assert!(m.try_lock().is_ok(), "the lock is free again: nothing lost");
}

#[test]
fn a_lock_future_served_but_not_polled_hands_the_lock_on_when_dropped() {
    let m = Mutex::new(0);
    let g = m.try_lock().unwrap();
    let mut a = Probe::new(m.lock());
    let mut b = Probe::new(m.lock());
    a.pending();
    b.pending();
    drop(g);
    assert_eq!(a.wakes(), 1, "a was handed the lock");
    assert_eq!(b.wakes(), 0);
    drop(a); // served, never polled again
    assert_eq!(b.wakes(), 1, "the lock passes on to b");
    *b.ready() += 1;
    assert_eq!(*m.try_lock().unwrap(), 1);
}

#[test]
fn the_last_queued_waiter_cancelled_reopens_the_fast_path() {
    let m = Mutex::new(0);
    let g = m.try_lock().unwrap();
    let mut a = Probe::new(m.lock());
    a.pending();
    drop(a);
    drop(g);
    // With no waiter left, try_lock must not see a stale "someone waits".
    assert!(m.try_lock().is_ok());
}

#[test]
fn a_partly_served_acquire_many_gives_its_permits_to_the_next_when_dropped() {
    let sem = Semaphore::new(0);
    let mut big = Probe::new(sem.acquire_many(3));
    let mut small = Probe::new(sem.acquire());
    big.pending();
    small.pending();
    sem.add_permits(2); // assigned to `big`, which still needs one more
    assert_eq!(sem.available_permits(), 0);
    small.pending();
    drop(big);
    assert_eq!(small.wakes(), 1);
    let p = small.ready();
    assert_eq!(
        sem.available_permits(),
        1,
        "the other collected permit is free again"
    );
    drop(p);
    assert_eq!(sem.available_permits(), 2);
}

#[test]
fn a_served_acquire_dropped_unpolled_passes_its_permit_on() {
    let sem = Semaphore::new(1);
    let p = sem.try_acquire().unwrap();
    let mut a = Probe::new(sem.acquire());
    let mut b = Probe::new(sem.acquire());
    let mut c = Probe::new(sem.acquire());
    a.pending();
    b.pending();
    c.pending();
    drop(p);
    drop(a);
    assert_eq!(b.wakes(), 1);
    drop(b);
    assert_eq!(c.wakes(), 1);
    drop(c.ready());
    assert_eq!(sem.available_permits(), 1);
}

/// Tasks on two loops mix full `lock().await`s with lock futures polled once and dropped (so
/// some are cancelled while queued, some just after being handed the lock by the other loop).
/// Every full await must finish (no hand-over lost to a cancelled waiter), every increment
/// made under the lock must count, and the lock must be free at the end.
#[test]
fn a_storm_of_cancelled_lock_futures_across_two_loops_loses_no_hand_over() {
    use std::future::{poll_fn, Future};
    use std::pin::pin;
    use std::sync::Arc;
    use std::task::Poll;

    const ROUNDS: u64 = 3_000;
    const TASKS_PER_LOOP: u64 = 3;
    let (total, expected) = common::within_deadline("cancel storm", || {
        let rt = weft::rt::Runtime::builder().loops(2).build().unwrap();
        let m = Arc::new(Mutex::new(0u64));
        let mut tasks = Vec::new();
        for lp in 0..2 {
            for t in 0..TASKS_PER_LOOP {
                let m = m.clone();
                tasks.push(rt.spawn_on(lp, async move {
                    let mut mine = 0;
                    for i in 0..ROUNDS {
                        if (i + t) % 3 == 0 {
                            *m.lock().await += 1;
                            mine += 1;
                        } else {
                            let mut fut = pin!(m.lock());
                            let got = poll_fn(|cx| Poll::Ready(fut.as_mut().poll(cx))).await;
                            if let Poll::Ready(mut g) = got {
                                *g += 1;
                                mine += 1;
                            }
                            // Otherwise `fut` is dropped here, queued or just served.
                        }
                        if i % 5 == 0 {
                            weft::yield_now().await;
                        }
                    }
                    mine
                }));
            }
        }
        let expected = rt.block_on(async {
            let mut sum = 0;
            for t in tasks {
                sum += t.await.unwrap();
            }
            sum
        });
        let total = *m.try_lock().expect("the lock is free at the end");
        (total, expected)
    });
    assert_eq!(total, expected);
}
