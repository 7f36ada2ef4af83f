//! Spawning and joining tasks: on the caller loop, on loop threads, from other threads.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use weft::rt::{Handle, Runtime};

#[test]
fn spawned_task_output_reaches_the_joiner() {
    let rt = Runtime::builder().current_thread().build().unwrap();
    let out = rt.block_on(async {
        let a = weft::spawn(async { 40 });
        let b = weft::spawn(async { 2 });
        a.await.unwrap() + b.await.unwrap()
    });
    assert_eq!(out, 42);
}

#[test]
fn many_tasks_all_run_once() {
    let rt = Runtime::builder().current_thread().build().unwrap();
    let counter = Arc::new(AtomicUsize::new(0));
    let total = rt.block_on({
        let counter = counter.clone();
        async move {
            let handles: Vec<_> = (0..10_000)
                .map(|i| {
                    let counter = counter.clone();
                    weft::spawn(async move {
                        counter.fetch_add(1, Ordering::Relaxed);
                        i
                    })
                })
                .collect();
            let mut sum = 0u64;
            for h in handles {
                sum += h.await.unwrap() as u64;
            }
            sum
        }
    });
    assert_eq!(counter.load(Ordering::Relaxed), 10_000);
    assert_eq!(total, (0..10_000u64).sum::<u64>());
}

#[test]
fn detached_task_keeps_running() {
    let rt = Runtime::builder().current_thread().build().unwrap();
    let (tx, rx) = common::oneshot();
    let got = rt.block_on(async move {
        weft::spawn(async move {
            weft::yield_now().await;
            tx.send("ran");
        })
        .detach();
        rx.await
    });
    assert_eq!(got, Some("ran"));
}

#[test]
fn tasks_spawned_in_block_on_survive_until_the_next_block_on() {
    let rt = Runtime::builder().current_thread().build().unwrap();
    let (tx, rx) = common::oneshot();
    // Spawn from inside one block_on, return the handle (not awaited) out of it.
    let handle = rt.block_on(async move {
        let task = weft::spawn(async move {
            rx.await.unwrap();
            "second"
        });
        Some(task)
    });
    let handle = handle.unwrap();
    tx.send(());
    assert_eq!(rt.block_on(handle).unwrap(), "second");
}

#[test]
fn handle_spawn_from_a_plain_thread_lands_on_a_loop_thread() {
    let rt = Runtime::builder().loops(2).build().unwrap();
    let handle = rt.handle();
    let names = std::thread::spawn(move || {
        let hs: Vec<_> = (0..4)
            .map(|_| handle.spawn(async { std::thread::current().name().unwrap().to_string() }))
            .collect();
        hs
    })
    .join()
    .unwrap();
    let names = rt.block_on(async move {
        let mut out = Vec::new();
        for h in names {
            out.push(h.await.unwrap());
        }
        out
    });
    // Round-robin over both loop threads.
    assert!(names.contains(&"weft-loop-0".to_string()), "{names:?}");
    assert!(names.contains(&"weft-loop-1".to_string()), "{names:?}");
}

#[test]
fn spawn_inside_a_loop_thread_stays_on_that_loop() {
    let rt = Runtime::builder().loops(3).build().unwrap();
    let (outer, inner) = rt.block_on(async {
        Handle::current()
            .spawn_on(2, async {
                let outer = std::thread::current().id();
                let inner = weft::spawn(async { std::thread::current().id() })
                    .await
                    .unwrap();
                (outer, inner)
            })
            .await
            .unwrap()
    });
    assert_eq!(outer, inner);
}

#[test]
fn local_tasks_accept_non_send_futures() {
    use std::cell::RefCell;
    use std::rc::Rc;
    let rt = Runtime::builder().current_thread().build().unwrap();
    let log = rt.block_on(async {
        let log = Rc::new(RefCell::new(Vec::new()));
        let tasks: Vec<_> = (0..3)
            .map(|i| {
                let log = log.clone();
                weft::spawn_local(async move {
                    weft::yield_now().await;
                    log.borrow_mut().push(i);
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        Rc::try_unwrap(log).unwrap().into_inner()
    });
    assert_eq!(log, vec![0, 1, 2]);
}

#[test]
#[should_panic(expected = "inside a weft loop")]
fn spawn_outside_a_loop_panics_with_a_clear_message() {
    drop(weft::spawn(async {}));
}

#[test]
fn yield_now_lets_every_ready_task_run_first() {
    use std::cell::RefCell;
    use std::rc::Rc;
    let rt = Runtime::builder().current_thread().build().unwrap();
    let order = rt.block_on(async {
        let order = Rc::new(RefCell::new(Vec::new()));
        let a = {
            let order = order.clone();
            weft::spawn_local(async move {
                for i in 0..3 {
                    order.borrow_mut().push(("a", i));
                    weft::yield_now().await;
                }
            })
        };
        let b = {
            let order = order.clone();
            weft::spawn_local(async move {
                for i in 0..3 {
                    order.borrow_mut().push(("b", i));
                    weft::yield_now().await;
                }
            })
        };
        a.await.unwrap();
        b.await.unwrap();
        Rc::try_unwrap(order).unwrap().into_inner()
    });
    assert_eq!(
        order,
        vec![("a", 0), ("b", 0), ("a", 1), ("b", 1), ("a", 2), ("b", 2)]
    );
}
