//! OnceCell: the initializer runs once however many callers race; a failed or cancelled
//! initializer lets the next caller run its own; set/get/take/into_inner; const_new_with.

mod common;
mod sync_locks_support;

use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use sync_locks_support::Probe;
use weft::rt::Runtime;
use weft::sync::{Notify, OnceCell};

#[test]
fn racing_callers_on_two_loops_run_the_initializer_once() {
    let (runs, values) = common::within_deadline("once-cell race", || {
        let rt = Runtime::builder().loops(2).build().unwrap();
        let cell = Arc::new(OnceCell::new());
        let runs = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..8)
            .map(|i| {
                let (cell, runs) = (cell.clone(), runs.clone());
                rt.spawn_on(i % 2, async move {
                    *cell
                        .get_or_init(|| async {
                            runs.fetch_add(1, SeqCst);
                            weft::yield_now().await;
                            42
                        })
                        .await
                })
            })
            .collect();
        let values = rt.block_on(async {
            let mut v = Vec::new();
            for t in tasks {
                v.push(t.await.unwrap());
            }
            v
        });
        (runs.load(SeqCst), values)
    });
    assert_eq!(runs, 1);
    assert!(values.iter().all(|&v| v == 42));
}

#[test]
fn a_failed_initializer_lets_the_next_caller_try() {
    let rt = Runtime::builder().current_thread().build().unwrap();
    rt.block_on(async {
        let cell = OnceCell::new();
        let err = cell
            .get_or_try_init(|| async { Err::<u8, _>("nope") })
            .await;
        assert_eq!(err, Err("nope"));
        assert!(!cell.initialized());
        let ok = cell.get_or_try_init(|| async { Ok::<_, ()>(7) }).await;
        assert_eq!(ok, Ok(&7));
    });
}

#[test]
fn a_cancelled_initializer_hands_the_turn_to_the_next_waiter() {
    let cell = OnceCell::new();
    let gate = Notify::new();
    let mut first = Probe::new(cell.get_or_init(|| async {
        gate.notified().await;
        1
    }));
    first.pending(); // running its initializer, parked inside it
    let mut second = Probe::new(cell.get_or_init(|| async { 2 }));
    second.pending(); // queued behind the running initializer
    drop(first);
    assert_eq!(second.wakes(), 1);
    assert_eq!(*second.ready(), 2);
    assert_eq!(cell.get(), Some(&2));
}

#[test]
fn set_get_take_and_into_inner() {
    let mut cell = OnceCell::new();
    assert_eq!(cell.get(), None);
    cell.set(String::from("a")).unwrap();
    assert!(cell
        .set(String::from("b"))
        .unwrap_err()
        .is_already_init_err());
    assert_eq!(cell.get().map(String::as_str), Some("a"));
    assert_eq!(cell.take().as_deref(), Some("a"));
    assert!(!cell.initialized());
    cell.set(String::from("c")).unwrap();
    assert_eq!(cell.into_inner().as_deref(), Some("c"));
    assert_eq!(OnceCell::from(5).into_inner(), Some(5));
}

#[test]
fn set_fails_while_an_initializer_runs() {
    let cell = OnceCell::new();
    let gate = Notify::new();
    let mut init = Probe::new(cell.get_or_init(|| async {
        gate.notified().await;
        1
    }));
    init.pending();
    assert!(cell.set(9).unwrap_err().is_initializing_err());
    gate.notify_one();
    assert_eq!(*init.ready(), 1);
}

#[test]
fn the_value_is_dropped_with_the_cell() {
    let counter = Arc::new(());
    let cell = OnceCell::new();
    cell.set(counter.clone()).unwrap();
    assert_eq!(Arc::strong_count(&counter), 2);
    drop(cell);
    assert_eq!(Arc::strong_count(&counter), 1);
}

#[test]
fn const_new_with_starts_set_and_never_runs_an_initializer() {
    static CELL: OnceCell<u32> = OnceCell::const_new_with(7);
    assert!(CELL.initialized());
    assert_eq!(CELL.get(), Some(&7));
    assert!(CELL.set(8).unwrap_err().is_already_init_err());
    let got = weft::rt::Runtime::builder()
        .current_thread()
        .build()
        .unwrap()
        .block_on(async {
            *CELL
                .get_or_init(|| async { panic!("initializer ran") })
                .await
        });
    assert_eq!(got, 7);
    // A local one can be emptied and set again, like any set cell.
    let mut cell = OnceCell::const_new_with(String::from("a"));
    assert_eq!(cell.take().as_deref(), Some("a"));
    assert!(!cell.initialized());
    cell.set(String::from("b")).unwrap();
    assert_eq!(cell.into_inner().as_deref(), Some("b"));
}
