//! Join handles of tasks whose runtime shut down.

mod common;

use weft::rt::Runtime;

#[test]
fn join_handles_of_shut_down_tasks_report_cancelled() {
    let rt = Runtime::builder().loops(1).build().unwrap();
    let (started_tx, started_rx) = common::oneshot();
    let handle = rt.spawn_on(0, async move {
        started_tx.send(());
        std::future::pending::<u8>().await
    });
    rt.block_on(started_rx).unwrap();
    drop(rt);
    // Await the handle on a fresh runtime: the task's loop is gone.
    let rt2 = Runtime::builder().current_thread().build().unwrap();
    let err = rt2.block_on(handle).unwrap_err();
    assert!(err.is_cancelled());
}

#[test]
fn spawning_onto_a_shut_down_runtime_yields_a_cancelled_handle() {
    let rt = Runtime::builder().loops(1).build().unwrap();
    let handle = rt.handle();
    drop(rt);
    let h = handle.spawn(async { 1 });
    let rt2 = Runtime::builder().current_thread().build().unwrap();
    assert!(rt2.block_on(h).unwrap_err().is_cancelled());
}

#[test]
fn a_runtime_can_be_built_and_dropped_inside_another_runtimes_task() {
    let outer = Runtime::builder().current_thread().build().unwrap();
    let out = outer.block_on(async {
        let inner = Runtime::builder().loops(1).build().unwrap();
        let v = inner.spawn(async { 3 });
        drop(inner);
        // The inner runtime is gone; the outer loop still works.
        let w = weft::spawn(async { 4 }).await.unwrap();
        (v.is_finished(), w)
    });
    // Dropping the inner runtime finished its task one way or the other (ran or cancelled).
    assert!(out.0, "the inner runtime's task outlived its shutdown");
    assert_eq!(out.1, 4);
}
