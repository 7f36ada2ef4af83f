//! `JoinHandle::abort_handle`: an `AbortHandle` cancels the task from any thread, outlives the
//! join handle, reports `is_finished`, and names the task by the same `Id` as its `JoinHandle`
//! and as `weft::task::id()` inside it.

mod common;

use common::{oneshot, until, DropCounter, DEADLINE};
use std::collections::HashSet;
use std::future::pending;
use weft::rt::Runtime;
use weft::task::{AbortHandle, Id};
use weft::time::timeout;
use weft_testkit::wait_until;

fn current_thread() -> Runtime {
    Runtime::builder().current_thread().build().unwrap()
}

#[test]
fn abort_handles_are_clone_send_and_sync() {
    fn assert_traits<T: Clone + Send + Sync + 'static>() {}
    assert_traits::<AbortHandle>();
    fn assert_id<T: Copy + Eq + std::hash::Hash + std::fmt::Display + Send + Sync>() {}
    assert_id::<Id>();
}

#[test]
fn an_abort_handle_cancels_the_task_and_drops_its_future() {
    let rt = current_thread();
    let drops = DropCounter::default();
    let guard = drops.guard();
    rt.block_on(async move {
        let task = weft::spawn(async move {
            let _guard = guard;
            pending::<()>().await
        });
        let abort = task.abort_handle();
        assert!(!abort.is_finished());
        weft::yield_now().await;
        abort.abort();
        let err = timeout(DEADLINE, task).await.unwrap().unwrap_err();
        assert!(err.is_cancelled(), "{err:?}");
        assert!(abort.is_finished());
    });
    assert_eq!(drops.count(), 1);
}

#[test]
fn an_abort_handle_outlives_the_join_handle_and_aborts_from_another_thread() {
    let rt = Runtime::builder().loops(1).build().unwrap();
    let drops = DropCounter::default();
    let guard = drops.guard();
    let task = rt.spawn_on(0, async move {
        let _guard = guard;
        pending::<()>().await
    });
    let abort = task.abort_handle();
    let clone = abort.clone();
    drop(task); // detached: only the abort handles remain
    assert!(!abort.is_finished());
    std::thread::spawn(move || clone.abort()).join().unwrap();
    wait_until("the future dropped", || drops.count() == 1);
    wait_until("the abort handle to see the end", || abort.is_finished());
    abort.abort(); // aborting a finished task does nothing
}

#[test]
fn aborting_a_finished_task_keeps_its_output() {
    let rt = current_thread();
    rt.block_on(async {
        let task = weft::spawn(async { "output" });
        let abort = task.abort_handle();
        let probe = abort.clone();
        until(move || probe.is_finished()).await;
        abort.abort();
        assert_eq!(task.await.unwrap(), "output");
    });
}

#[test]
fn ids_agree_between_handles_and_the_task_itself() {
    let rt = current_thread();
    rt.block_on(async {
        assert!(
            weft::task::try_id().is_none(),
            "block_on's own future is not a task"
        );
        let (tx, rx) = oneshot::<()>();
        let task = weft::spawn(async move {
            let id = weft::task::id();
            assert_eq!(weft::task::try_id(), Some(id));
            rx.await;
            id
        });
        let abort = task.abort_handle();
        assert_eq!(task.id(), abort.id());
        assert_eq!(abort.id(), abort.clone().id());
        let id = task.id();
        tx.send(());
        assert_eq!(timeout(DEADLINE, task).await.unwrap().unwrap(), id);
        assert_eq!(id.to_string(), id.as_u64().to_string());
        assert!(format!("{abort:?}").contains(&id.to_string()));
    });
    assert!(weft::task::try_id().is_none());
}

#[test]
fn ids_are_unique() {
    let rt = current_thread();
    rt.block_on(async {
        let mut seen = HashSet::new();
        for _ in 0..1000 {
            let task = weft::spawn(async {});
            assert!(seen.insert(task.id()), "an id was handed out twice");
        }
    });
}

#[test]
#[should_panic(expected = "weft::task::id called outside a task")]
fn id_outside_a_task_panics_with_the_reason() {
    let _ = weft::task::id();
}

#[test]
fn a_join_error_names_the_task_that_failed() {
    let rt = current_thread();
    rt.block_on(async {
        let task = weft::spawn(pending::<()>());
        let id = task.id();
        task.abort();
        let err = timeout(DEADLINE, task).await.unwrap().unwrap_err();
        assert_eq!(err.id(), id);
        let panicked = weft::spawn(async { panic!("boom") });
        let id = panicked.id();
        let err = timeout(DEADLINE, panicked).await.unwrap().unwrap_err();
        assert!(err.is_panic());
        assert_eq!(err.id(), id);
    });
}
