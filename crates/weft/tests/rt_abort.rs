//! Aborting tasks: idle, queued, running, finished.

mod common;

use common::{oneshot, DropCounter};
use std::future::pending;
use weft::rt::Runtime;

#[test]
fn aborting_an_idle_task_drops_its_future_and_reports_cancelled() {
    let rt = Runtime::builder().current_thread().build().unwrap();
    let drops = DropCounter::default();
    let guard = drops.guard();
    let err = rt.block_on(async move {
        let task = weft::spawn(async move {
            let _guard = guard;
            pending::<()>().await
        });
        weft::yield_now().await; // let it run and go idle
        task.abort();
        task.await.unwrap_err()
    });
    assert!(err.is_cancelled(), "{err:?}");
    assert_eq!(drops.count(), 1);
}

#[test]
fn aborting_before_the_first_poll_never_runs_the_future() {
    let rt = Runtime::builder().current_thread().build().unwrap();
    let drops = DropCounter::default();
    let guard = drops.guard();
    let (ran, err) = rt.block_on(async move {
        let ran = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = ran.clone();
        let task = weft::spawn(async move {
            let _guard = guard;
            flag.store(true, std::sync::atomic::Ordering::SeqCst);
        });
        task.abort();
        let err = task.await.unwrap_err();
        (ran.load(std::sync::atomic::Ordering::SeqCst), err)
    });
    assert!(!ran);
    assert!(err.is_cancelled());
    assert_eq!(drops.count(), 1);
}

#[test]
fn aborting_a_running_task_stops_it_at_its_next_await() {
    use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
    use std::sync::Arc;
    let rt = Runtime::builder().loops(1).build().unwrap();
    let started = Arc::new(AtomicBool::new(false));
    let aborted = Arc::new(AtomicBool::new(false));
    let polled_again = Arc::new(AtomicBool::new(false));
    let task = rt.spawn({
        let (started, aborted, polled_again) =
            (started.clone(), aborted.clone(), polled_again.clone());
        async move {
            started.store(true, SeqCst);
            // Stay inside this poll until the abort has been requested.
            while !aborted.load(SeqCst) {
                std::hint::spin_loop();
            }
            weft::yield_now().await;
            polled_again.store(true, SeqCst);
        }
    });
    weft_testkit::wait_until("the task to start", || started.load(SeqCst));
    task.abort();
    aborted.store(true, SeqCst);
    let err = rt.block_on(task).unwrap_err();
    assert!(err.is_cancelled());
    assert!(
        !polled_again.load(SeqCst),
        "an aborted task was polled again"
    );
}

#[test]
fn abort_after_completion_keeps_the_output() {
    let rt = Runtime::builder().current_thread().build().unwrap();
    let out = rt.block_on(async {
        let task = weft::spawn(async { 5 });
        while !task.is_finished() {
            weft::yield_now().await;
        }
        task.abort();
        task.await
    });
    assert_eq!(out.unwrap(), 5);
}

#[test]
fn abort_from_another_thread_cancels_a_task_on_a_loop_thread() {
    let rt = Runtime::builder().loops(1).build().unwrap();
    let drops = DropCounter::default();
    let guard = drops.guard();
    let (started_tx, started_rx) = oneshot();
    let task = rt.spawn(async move {
        let _guard = guard;
        started_tx.send(());
        pending::<()>().await
    });
    rt.block_on(started_rx).unwrap();
    let task = std::thread::spawn(move || {
        task.abort();
        task
    })
    .join()
    .unwrap();
    let err = rt.block_on(task).unwrap_err();
    assert!(err.is_cancelled());
    assert_eq!(drops.count(), 1);
}
