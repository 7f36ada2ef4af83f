//! Mutex: mutual exclusion under contention from tasks on two loops, green threads and OS
//! threads at once; the plain API (try_lock, owned and mapped guards, get_mut, into_inner).

mod common;

use std::sync::Arc;
use weft::rt::Runtime;
use weft::sync::Mutex;

/// Increments per async task; 4 tasks on each of 2 loops.
const TASK_INCREMENTS: u64 = 10_000;
const TASKS_PER_LOOP: u64 = 4;
/// Increments per green thread; one green thread on each loop.
const GREEN_INCREMENTS: u64 = 5_000;
/// Increments per OS thread; two OS threads.
const THREAD_INCREMENTS: u64 = 5_000;
/// 80,000 + 10,000 + 10,000.
const TOTAL: u64 =
    2 * TASKS_PER_LOOP * TASK_INCREMENTS + 2 * GREEN_INCREMENTS + 2 * THREAD_INCREMENTS;

/// A plain (non-atomic) counter: each increment reads, lets others run while holding the lock,
/// and writes back. Without mutual exclusion, increments would be lost.
struct Counter {
    value: u64,
}

#[test]
fn tasks_on_two_loops_green_threads_and_threads_never_lose_an_increment() {
    let total = common::within_deadline("100,000 contended increments", || {
        let rt = Runtime::builder().loops(2).build().unwrap();
        let counter = Arc::new(Mutex::new(Counter { value: 0 }));
        let mut tasks = Vec::new();
        for lp in 0..2 {
            for _ in 0..TASKS_PER_LOOP {
                let counter = counter.clone();
                tasks.push(rt.spawn_on(lp, async move {
                    for i in 0..TASK_INCREMENTS {
                        let mut g = counter.lock().await;
                        let v = g.value;
                        if i % 7 == 0 {
                            weft::yield_now().await;
                        }
                        g.value = v + 1;
                    }
                }));
            }
            let counter = counter.clone();
            tasks.push(rt.spawn_on(lp, async move {
                weft::green::spawn(move || {
                    for i in 0..GREEN_INCREMENTS {
                        let mut g = counter.blocking_lock();
                        let v = g.value;
                        if i % 5 == 0 {
                            weft::green::yield_now();
                        }
                        g.value = v + 1;
                    }
                })
                .await
                .unwrap();
            }));
        }
        let threads: Vec<_> = (0..2)
            .map(|_| {
                let counter = counter.clone();
                std::thread::spawn(move || {
                    for i in 0..THREAD_INCREMENTS {
                        let mut g = counter.blocking_lock();
                        let v = g.value;
                        if i % 5 == 0 {
                            std::thread::yield_now();
                        }
                        g.value = v + 1;
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
        let v = counter.try_lock().unwrap().value;
        v
    });
    assert_eq!(total, TOTAL);
}

#[test]
fn try_lock_fails_while_held_and_succeeds_after() {
    let m = Mutex::new(5);
    let g = m.try_lock().unwrap();
    assert!(m.try_lock().is_err());
    assert_eq!(format!("{m:?}"), "Mutex { data: <locked> }");
    drop(g);
    assert_eq!(*m.try_lock().unwrap(), 5);
    assert_eq!(format!("{m:?}"), "Mutex { data: 5 }");
}

#[test]
fn owned_and_mapped_guards_hold_the_lock_until_dropped() {
    let rt = Runtime::builder().current_thread().build().unwrap();
    rt.block_on(async {
        let m = Arc::new(Mutex::new((1, String::from("a"))));
        let owned = m.clone().lock_owned().await;
        assert!(m.try_lock().is_err());
        assert_eq!(owned.0, 1);
        drop(owned);
        let g = m.lock().await;
        let mut s = weft::sync::MutexGuard::map(g, |v| &mut v.1);
        s.push('b');
        assert!(m.try_lock().is_err(), "the mapped guard keeps the lock");
        drop(s);
        assert_eq!(m.try_lock().unwrap().1, "ab");
        let mut owned =
            weft::sync::OwnedMutexGuard::map(m.clone().lock_owned().await, |v| &mut v.0);
        *owned += 1;
        assert!(
            m.try_lock().is_err(),
            "the owned mapped guard keeps the lock"
        );
        drop(owned);
        assert_eq!(m.try_lock().unwrap().0, 2);
        let mut plain = Mutex::from(3);
        *plain.get_mut() += 1;
        assert_eq!(plain.into_inner(), 4);
        assert_eq!(Mutex::<u8>::default().into_inner(), 0);
    });
}

#[test]
fn try_map_narrows_the_guard_or_gives_it_back_locked() {
    use weft::sync::{MutexGuard, OwnedMutexGuard};
    let m = Arc::new(Mutex::new(vec![1, 2]));
    let g = m.try_lock().unwrap();
    let g = MutexGuard::try_map(g, |v| v.get_mut(5)).expect_err("no element 5");
    assert!(m.try_lock().is_err(), "the guard came back, still locked");
    let mut first = MutexGuard::try_map(g, |v| v.first_mut()).ok().unwrap();
    *first += 10;
    assert!(m.try_lock().is_err(), "the mapped guard keeps the lock");
    drop(first);
    let owned = m.clone().try_lock_owned().unwrap();
    let owned = OwnedMutexGuard::try_map(owned, |v| v.get_mut(9)).expect_err("no element 9");
    let mut last = OwnedMutexGuard::try_map(owned, |v| v.last_mut())
        .ok()
        .unwrap();
    *last += 20;
    drop(last);
    assert_eq!(*m.try_lock().unwrap(), vec![11, 22]);
}
