//! The loop-local variants: local::mpsc (FIFO through backpressure, recv_many, dropped receiver
//! fails the sender, cancelled sender passes its slot), local::oneshot (value; dropped sender is
//! an error), local::Mutex (exclusion between tasks of one loop, FIFO hand-off, cancelled
//! waiter passes the lock on) — with `Rc` values, which the `Send` versions cannot carry.

mod common;
mod sync_locks_support;

use common::DEADLINE;
use std::rc::Rc;
use sync_locks_support::Probe;
use weft::rt::Runtime;
use weft::sync::local;
use weft::sync::mpsc::error::TrySendError;
use weft::time::timeout;

#[test]
fn local_mpsc_is_fifo_through_backpressure_with_rc_values() {
    let rt = Runtime::builder().current_thread().build().unwrap();
    let got = rt.block_on(async {
        let (tx, mut rx) = local::mpsc::channel(2);
        for s in 0..3u32 {
            let tx = tx.clone();
            weft::spawn_local(async move {
                for i in 0..100u32 {
                    tx.send(Rc::new((s, i))).await.unwrap();
                }
            });
        }
        drop(tx);
        let mut got = Vec::new();
        while let Some(v) = timeout(DEADLINE, rx.recv()).await.expect("value or end") {
            got.push(*v);
        }
        got
    });
    assert_eq!(got.len(), 300);
    for s in 0..3 {
        let mine: Vec<u32> = got.iter().filter(|v| v.0 == s).map(|v| v.1).collect();
        assert_eq!(mine, (0..100).collect::<Vec<_>>());
    }
}

#[test]
fn local_mpsc_backpressure_close_and_cancel() {
    let (tx, mut rx) = local::mpsc::channel(1);
    tx.try_send(0).unwrap();
    assert!(matches!(tx.try_send(9), Err(TrySendError::Full(9))));
    let mut a = Probe::new(tx.send(1));
    let mut b = Probe::new(tx.send(2));
    a.pending();
    b.pending();
    assert_eq!(rx.try_recv(), Ok(0));
    drop(a); // granted, then cancelled: the slot passes to b
    assert_eq!(b.wakes(), 1);
    b.ready().unwrap();
    let mut c = Probe::new(tx.send(3));
    c.pending();
    drop(rx);
    assert_eq!(
        c.ready().unwrap_err().0,
        3,
        "a dropped receiver fails the waiting sender"
    );
    assert!(tx.is_closed());
}

#[test]
fn local_unbounded_recv_many() {
    let (tx, mut rx) = local::mpsc::unbounded_channel();
    for i in 0..5 {
        tx.send(i).unwrap();
    }
    let mut buf = Vec::new();
    assert_eq!(Probe::new(rx.recv_many(&mut buf, 3)).ready(), 3);
    assert_eq!(Probe::new(rx.recv_many(&mut buf, 9)).ready(), 5);
    assert_eq!(buf, [0, 1, 2, 3, 4]);
    drop(tx);
    assert_eq!(Probe::new(rx.recv()).ready(), None);
}

#[test]
fn local_oneshot_value_and_dropped_sender() {
    let (tx, rx) = local::oneshot::channel();
    let mut rx = Probe::new(rx);
    rx.pending();
    tx.send(Rc::new(5)).unwrap();
    assert_eq!(rx.wakes(), 1);
    assert_eq!(*rx.ready().unwrap(), 5);

    let (tx, rx) = local::oneshot::channel::<u8>();
    let mut rx = Probe::new(rx);
    rx.pending();
    drop(tx);
    assert!(rx.ready().is_err());

    let (tx, rx) = local::oneshot::channel();
    drop(rx);
    assert_eq!(tx.send(1), Err(1));
}

#[test]
fn local_mutex_excludes_and_hands_off_fifo() {
    let m = local::Mutex::new(Vec::new());
    let g = m.try_lock().unwrap();
    let mut a = Probe::new(async { m.lock().await.push('a') });
    let mut b = Probe::new(async { m.lock().await.push('b') });
    let mut c = Probe::new(async { m.lock().await.push('c') });
    a.pending();
    b.pending();
    c.pending();
    assert!(m.try_lock().is_err());
    drop(g); // handed to a
    assert!(m.try_lock().is_err(), "no barging past a handed-off lock");
    drop(b); // b leaves the queue
    a.ready(); // a's guard dropped: handed to c
    c.ready();
    assert_eq!(*m.try_lock().unwrap(), ['a', 'c']);
}

#[test]
fn local_mutex_counter_between_tasks() {
    let rt = Runtime::builder().current_thread().build().unwrap();
    let total = rt.block_on(async {
        let m = Rc::new(local::Mutex::new(0u64));
        let tasks: Vec<_> = (0..4)
            .map(|_| {
                let m = m.clone();
                weft::spawn_local(async move {
                    for _ in 0..1000 {
                        let mut g = m.lock().await;
                        let v = *g;
                        weft::yield_now().await; // hold the lock across a yield
                        *g = v + 1;
                    }
                })
            })
            .collect();
        for t in tasks {
            timeout(DEADLINE, t).await.expect("in time").unwrap();
        }
        let v = *m.lock().await;
        v
    });
    assert_eq!(total, 4000);
}
