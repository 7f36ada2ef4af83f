//! Waiters are served in FIFO order (Mutex and Semaphore), and a newcomer does not barge past
//! a queued waiter; also with real tasks on a loop.

mod sync_locks_support;

use std::sync::{Arc, Mutex as StdMutex};
use sync_locks_support::Probe;
use weft::rt::Runtime;
use weft::sync::{Mutex, Semaphore};

#[test]
fn mutex_waiters_get_the_lock_in_the_order_they_queued() {
    let m = Mutex::new(Vec::new());
    let first = m.try_lock().unwrap();
    let mut waiters: Vec<_> = (0..5).map(|_| Probe::new(m.lock())).collect();
    for w in &mut waiters {
        w.pending();
    }
    drop(first);
    // Poll in reverse: only the oldest may have the lock at each step.
    for i in 0..5 {
        for later in waiters[i + 1..].iter_mut().rev() {
            later.pending();
        }
        assert_eq!(
            waiters[i].wakes(),
            1,
            "waiter {i} is woken when its turn comes"
        );
        let mut g = waiters[i].ready();
        g.push(i);
        assert!(m.try_lock().is_err(), "no barging past queued waiters");
    }
    assert_eq!(m.try_lock().unwrap().as_slice(), &[0, 1, 2, 3, 4]);
}

#[test]
fn a_big_semaphore_request_is_not_starved_by_small_ones() {
    let sem = Semaphore::new(1);
    let held = sem.try_acquire().unwrap();
    let mut big = Probe::new(sem.acquire_many(3));
    big.pending();
    let mut small = Probe::new(sem.acquire());
    small.pending();
    drop(held);
    sem.add_permits(1);
    // 2 permits free, but the big request is first: the small one must not take them.
    small.pending();
    assert!(
        sem.try_acquire().is_err(),
        "try_acquire does not overtake the queue"
    );
    sem.add_permits(1);
    let big_permit = big.ready().unwrap();
    assert_eq!(big_permit.num_permits(), 3);
    small.pending();
    drop(big_permit);
    let _s = small.ready();
    assert_eq!(sem.available_permits(), 2);
}

#[test]
fn tasks_on_a_loop_take_the_lock_in_spawn_order() {
    let rt = Runtime::builder().current_thread().build().unwrap();
    let order = rt.block_on(async {
        let m = Arc::new(Mutex::new(()));
        let order = Arc::new(StdMutex::new(Vec::new()));
        let held = m.clone().lock_owned().await;
        let tasks: Vec<_> = (0..8)
            .map(|i| {
                let (m, order) = (m.clone(), order.clone());
                weft::spawn_local(async move {
                    let _g = m.lock().await;
                    order.lock().unwrap().push(i);
                    // Let the others run while holding: they must stay queued.
                    weft::yield_now().await;
                })
            })
            .collect();
        // Each task runs once on this loop (queues on the lock) before we get back here.
        weft::yield_now().await;
        drop(held);
        for t in tasks {
            t.await.unwrap();
        }
        let v = order.lock().unwrap().clone();
        v
    });
    assert_eq!(order, (0..8).collect::<Vec<_>>());
}
