//! `weft::task::JoinSet`: outputs in completion order, abort_all, detach_all, shutdown, and
//! every member aborted (its future dropped) when the set is dropped, across loops; spawn_blocking
//! members (also spawn_blocking_on a handle, from outside) and build_task (a named member).

mod common;

use common::{oneshot, until, DropCounter, DEADLINE};
use std::future::pending;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use weft::rt::Runtime;
use weft::task::JoinSet;
use weft::time::timeout;

fn current_thread() -> Runtime {
    Runtime::builder().current_thread().build().unwrap()
}

#[test]
fn join_next_yields_outputs_in_completion_order() {
    let rt = current_thread();
    rt.block_on(async {
        let mut set = JoinSet::new();
        let mut senders = Vec::new();
        let mut aborts = Vec::new();
        for i in 0..5usize {
            let (tx, rx) = oneshot::<()>();
            senders.push(Some(tx));
            aborts.push(set.spawn(async move {
                rx.await;
                i
            }));
        }
        assert_eq!(set.len(), 5);
        // Complete them all before joining any, in an order unlike the spawn order: the
        // set must hand them out as they finished, not as they were added.
        let order = [3, 0, 4, 1, 2];
        for &i in &order {
            senders[i].take().unwrap().send(());
            let abort = aborts[i].clone();
            until(move || abort.is_finished()).await;
        }
        let mut got = Vec::new();
        while let Some(done) = timeout(DEADLINE, set.join_next()).await.unwrap() {
            got.push(done.unwrap());
        }
        assert_eq!(got, order);
        assert!(set.is_empty());
    });
}

#[test]
fn join_next_waits_for_each_completion_in_turn() {
    let rt = current_thread();
    rt.block_on(async {
        let mut set = JoinSet::new();
        let mut senders = Vec::new();
        for i in 0..4u32 {
            let (tx, rx) = oneshot::<u32>();
            senders.push(Some(tx));
            set.spawn(async move { rx.await.unwrap() * 100 + i });
        }
        for &i in &[2usize, 1, 3, 0] {
            senders[i].take().unwrap().send(7);
            let out = timeout(DEADLINE, set.join_next()).await.unwrap();
            assert_eq!(out.unwrap().unwrap(), 700 + i as u32);
        }
        assert!(set.join_next().await.is_none());
    });
}

#[test]
fn an_empty_set_joins_to_none() {
    let rt = current_thread();
    rt.block_on(async {
        let mut set: JoinSet<()> = JoinSet::default();
        assert!(set.is_empty());
        assert!(set.join_next().await.is_none());
        assert!(set.try_join_next().is_none());
        assert_eq!(format!("{set:?}"), "JoinSet { len: 0 }");
    });
}

#[test]
fn try_join_next_returns_only_finished_tasks() {
    let rt = current_thread();
    rt.block_on(async {
        let mut set = JoinSet::new();
        let (tx, rx) = oneshot::<()>();
        let abort = set.spawn(async move {
            rx.await;
            5
        });
        weft::yield_now().await;
        assert!(set.try_join_next().is_none(), "nothing has finished yet");
        tx.send(());
        until(move || abort.is_finished()).await;
        assert_eq!(set.try_join_next().unwrap().unwrap(), 5);
        assert!(set.is_empty());
    });
}

#[test]
fn abort_all_cancels_every_member_and_drops_its_future() {
    let rt = current_thread();
    let drops = DropCounter::default();
    rt.block_on(async {
        let mut set = JoinSet::new();
        for _ in 0..4 {
            let guard = drops.guard();
            set.spawn(async move {
                let _guard = guard;
                pending::<()>().await
            });
        }
        // This one finishes before the abort, and keeps its output.
        let quick = set.spawn(async {});
        until(move || quick.is_finished()).await;
        set.abort_all();
        let (mut cancelled, mut ok) = (0, 0);
        while let Some(done) = timeout(DEADLINE, set.join_next()).await.unwrap() {
            match done {
                Ok(()) => ok += 1,
                Err(e) => {
                    assert!(e.is_cancelled(), "{e:?}");
                    cancelled += 1;
                }
            }
        }
        assert_eq!((cancelled, ok), (4, 1));
    });
    assert_eq!(drops.count(), 4);
}

/// The acceptance check of the issue: dropping the set aborts every member, on whichever loop
/// it runs, and each member's future is dropped.
#[test]
fn dropping_the_set_aborts_members_on_two_loops() {
    let rt = Runtime::builder().loops(2).build().unwrap();
    let drops = DropCounter::default();
    let started = Arc::new(AtomicUsize::new(0));
    rt.block_on(async {
        let mut set = JoinSet::new();
        for i in 0..6 {
            let guard = drops.guard();
            let started = started.clone();
            set.spawn_on(i % 2, async move {
                let _guard = guard;
                started.fetch_add(1, SeqCst);
                pending::<()>().await
            });
        }
        let seen = started.clone();
        until(move || seen.load(SeqCst) == 6).await;
        assert_eq!(drops.count(), 0);
        drop(set);
        let dropped = drops.clone();
        until(move || dropped.count() == 6).await;
    });
    assert_eq!(drops.count(), 6);
}

#[test]
fn shutdown_returns_once_every_member_is_gone() {
    let rt = Runtime::builder().loops(2).build().unwrap();
    let drops = DropCounter::default();
    rt.block_on(async {
        let mut set = JoinSet::new();
        for i in 0..4 {
            let guard = drops.guard();
            set.spawn_on(i % 2, async move {
                let _guard = guard;
                pending::<()>().await
            });
        }
        timeout(DEADLINE, set.shutdown()).await.unwrap();
        assert!(set.is_empty());
        // shutdown waited for each task to finish, so its future was already dropped.
        assert_eq!(drops.count(), 4);
    });
}

#[test]
fn detach_all_lets_the_tasks_run_on() {
    let rt = current_thread();
    rt.block_on(async {
        let mut set = JoinSet::new();
        let finished = Arc::new(AtomicBool::new(false));
        let (tx, rx) = oneshot::<()>();
        let flag = finished.clone();
        set.spawn(async move {
            rx.await;
            flag.store(true, SeqCst);
        });
        weft::yield_now().await;
        set.detach_all();
        assert!(set.is_empty());
        drop(set);
        tx.send(());
        let flag = finished.clone();
        until(move || flag.load(SeqCst)).await;
    });
}

#[test]
fn join_all_returns_every_output_and_spawn_local_takes_non_send_futures() {
    let rt = current_thread();
    let outputs = rt.block_on(async {
        let mut set = JoinSet::new();
        let shared = Rc::new(10);
        for i in 0..3 {
            let shared = shared.clone();
            set.spawn_local(async move { *shared + i });
        }
        timeout(DEADLINE, set.join_all()).await.unwrap()
    });
    let mut outputs = outputs;
    outputs.sort();
    assert_eq!(outputs, [10, 11, 12]);
}

#[test]
fn a_panicking_member_is_a_join_error_and_the_rest_carry_on() {
    let rt = current_thread();
    rt.block_on(async {
        let mut set = JoinSet::new();
        set.spawn(async { panic!("member failed") });
        set.spawn(async { 1 });
        let mut results = Vec::new();
        while let Some(done) = timeout(DEADLINE, set.join_next()).await.unwrap() {
            results.push(done);
        }
        assert_eq!(results.len(), 2);
        assert!(results.iter().any(|r| matches!(r, Ok(1))));
        let err = results.into_iter().find_map(Result::err).unwrap();
        assert!(err.is_panic());
        assert!(err.to_string().contains("member failed"), "{err}");
    });
}

#[test]
fn a_cancelled_join_next_loses_no_output() {
    let rt = current_thread();
    rt.block_on(async {
        let mut set = JoinSet::new();
        let (tx, rx) = oneshot::<()>();
        set.spawn(async move {
            rx.await;
            "kept"
        });
        // A join_next raced against a short timeout, dropped while pending.
        let raced = timeout(std::time::Duration::from_millis(1), set.join_next()).await;
        assert!(raced.is_err(), "nothing could finish yet");
        tx.send(());
        let out = timeout(DEADLINE, set.join_next()).await.unwrap();
        assert_eq!(out.unwrap().unwrap(), "kept");
    });
}

#[test]
fn members_spawned_from_outside_the_runtime_join_through_a_handle() {
    let rt = Runtime::builder().loops(2).build().unwrap();
    let handle = rt.handle();
    let mut set = JoinSet::new();
    for i in 0..4u32 {
        set.spawn_on_handle(async move { i }, &handle);
    }
    let mut got = rt.block_on(async move { timeout(DEADLINE, set.join_all()).await.unwrap() });
    got.sort();
    assert_eq!(got, [0, 1, 2, 3]);
}

#[test]
fn many_members_and_slot_reuse() {
    let rt = Runtime::builder().loops(2).build().unwrap();
    rt.block_on(async {
        let mut set = JoinSet::new();
        let mut total = 0u64;
        for round in 0..4u64 {
            for i in 0..500u64 {
                set.spawn_on((i % 2) as usize, async move { round * 1000 + i });
            }
            for _ in 0..250 {
                total += timeout(DEADLINE, set.join_next())
                    .await
                    .unwrap()
                    .unwrap()
                    .unwrap();
            }
        }
        while let Some(done) = timeout(DEADLINE, set.join_next()).await.unwrap() {
            total += done.unwrap();
        }
        let expected: u64 = (0..4u64)
            .flat_map(|r| (0..500u64).map(move |i| r * 1000 + i))
            .sum();
        assert_eq!(total, expected);
    });
}

#[test]
fn join_next_with_id_names_each_task_and_errors_carry_the_id() {
    let rt = current_thread();
    rt.block_on(async {
        let mut set = JoinSet::new();
        let ok = set.spawn(async { 1 });
        let aborted = set.spawn(pending::<i32>());
        aborted.abort();
        let mut seen = Vec::new();
        while let Some(done) = timeout(DEADLINE, set.join_next_with_id()).await.unwrap() {
            match done {
                Ok((id, value)) => {
                    assert_eq!((id, value), (ok.id(), 1));
                    seen.push(id);
                }
                Err(err) => {
                    assert!(err.is_cancelled());
                    assert_eq!(err.id(), aborted.id());
                    seen.push(err.id());
                }
            }
        }
        seen.sort();
        let mut expected = vec![ok.id(), aborted.id()];
        expected.sort();
        assert_eq!(seen, expected);
    });
}

#[test]
fn a_set_collects_from_an_iterator_of_futures() {
    let rt = current_thread();
    let mut got = rt.block_on(async {
        let mut set: JoinSet<u32> = (0..3u32).map(|i| async move { i }).collect();
        set.extend((10..12u32).map(|i| async move { i }));
        assert_eq!(set.len(), 5);
        timeout(DEADLINE, set.join_all()).await.unwrap()
    });
    got.sort();
    assert_eq!(got, [0, 1, 2, 10, 11]);
}

#[test]
fn spawn_blocking_members_give_the_closure_result_or_its_panic() {
    let rt = current_thread();
    rt.block_on(async {
        let mut set = JoinSet::new();
        let main = std::thread::current().id();
        set.spawn_blocking(move || {
            assert_ne!(std::thread::current().id(), main, "runs on the pool");
            40 + 2
        });
        set.spawn_blocking(|| -> i32 { panic!("blocking boom") });
        let mut ok = Vec::new();
        let mut panics = 0;
        while let Some(done) = timeout(DEADLINE, set.join_next()).await.unwrap() {
            match done {
                Ok(v) => ok.push(v),
                Err(e) => {
                    assert!(e.is_panic(), "{e:?}");
                    panics += 1;
                }
            }
        }
        assert_eq!((ok, panics), (vec![42], 1));
    });
}

#[test]
fn build_task_names_the_member_and_adds_it_to_the_set() {
    let rt = current_thread();
    rt.block_on(async {
        let mut set = JoinSet::new();
        let line = line!() + 1;
        let abort = set.build_task().name("worker-7").spawn(async { 7 });
        assert_eq!(abort.name(), Some("worker-7"));
        assert_eq!(
            abort.spawn_site().line(),
            line,
            "the caller's line is the site"
        );
        let local = set
            .build_task()
            .name("local-8")
            .spawn_local(async { *Rc::new(8) });
        assert_eq!(local.name(), Some("local-8"));
        let blocking = set.build_task().name("blocking-9").spawn_blocking(|| 9);
        assert_eq!(blocking.name(), Some("blocking-9"));
        let mut got = timeout(DEADLINE, set.join_all()).await.unwrap();
        got.sort();
        assert_eq!(got, [7, 8, 9]);
    });
}

#[test]
fn spawn_blocking_on_a_handle_works_from_outside_the_runtime() {
    let rt = Runtime::builder().loops(2).build().unwrap();
    let handle = rt.handle();
    let mut set = JoinSet::new();
    for i in 0..3u32 {
        set.spawn_blocking_on(move || i * 2, &handle);
    }
    let mut got = rt.block_on(async { timeout(DEADLINE, set.join_all()).await.unwrap() });
    got.sort();
    assert_eq!(got, [0, 2, 4]);
}
