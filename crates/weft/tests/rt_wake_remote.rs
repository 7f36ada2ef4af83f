//! Waking a sleeping loop from another thread.

mod common;

use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::Arc;
use std::time::Duration;
use weft::rt::Runtime;

/// The caller loop blocks in epoll with no timer armed; only the eventfd written by the waker's
/// thread can bring it back.
#[test]
fn a_waker_on_another_thread_wakes_a_sleeping_caller_loop() {
    let got = common::within_deadline("remote wake", || {
        let rt = Runtime::builder().current_thread().build().unwrap();
        let (tx, rx) = common::oneshot();
        let sender = std::thread::spawn(move || {
            // Give the loop time to go to sleep; correctness does not depend on it.
            std::thread::sleep(Duration::from_millis(20));
            tx.send(99);
        });
        let got = rt.block_on(rx);
        sender.join().unwrap();
        got
    });
    assert_eq!(got, Some(99));
}

/// A task on a loop thread waits for a value sent by a plain thread; the wake posts the task to
/// its loop's inbox and the task resumes on its own loop thread.
#[test]
fn a_task_woken_from_another_thread_resumes_on_its_own_loop() {
    let rt = Runtime::builder().loops(2).build().unwrap();
    let (tx, rx) = common::oneshot();
    let parked = Arc::new(AtomicBool::new(false));
    let task = rt.spawn_on(1, {
        let parked = parked.clone();
        async move {
            let before = std::thread::current().name().map(str::to_owned);
            parked.store(true, SeqCst);
            let v = rx.await.unwrap();
            let after = std::thread::current().name().map(str::to_owned);
            (v, before, after)
        }
    });
    weft_testkit::wait_until("the task to park", || parked.load(SeqCst));
    std::thread::spawn(move || tx.send("hello")).join().unwrap();
    let (v, before, after) = rt.block_on(task).unwrap();
    assert_eq!(v, "hello");
    assert_eq!(before.as_deref(), Some("weft-loop-1"));
    assert_eq!(after, before);
}

/// Many wakes from several threads while the loop alternates between sleeping and running:
/// none is lost (a lost one would leave `block_on` waiting forever).
#[test]
fn concurrent_remote_wakes_are_never_lost() {
    let sum = common::within_deadline("200 remote wakes", || {
        let rt = Runtime::builder().loops(1).build().unwrap();
        let mut handles = Vec::new();
        let mut groups: Vec<Vec<(u32, common::Sender<u32>)>> = (0..4).map(|_| Vec::new()).collect();
        for i in 0..200u32 {
            let (tx, rx) = common::oneshot::<u32>();
            groups[i as usize % 4].push((i, tx));
            handles.push(rt.spawn_on(0, async move { rx.await.unwrap() }));
        }
        let threads: Vec<_> = groups
            .into_iter()
            .map(|group| {
                std::thread::spawn(move || {
                    for (i, tx) in group {
                        tx.send(i);
                        std::thread::yield_now();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        rt.block_on(async move {
            let mut sum = 0;
            for h in handles {
                sum += h.await.unwrap();
            }
            sum
        })
    });
    assert_eq!(sum, (0..200).sum::<u32>());
}
