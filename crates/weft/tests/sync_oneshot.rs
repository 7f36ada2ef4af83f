//! oneshot: the value arrives (same loop, across loops, from an OS thread); a dropped sender is
//! an error; a closed or dropped receiver fails the send and wakes `closed()`; try_recv states;
//! every value is dropped exactly once whichever end goes first (the ends share one allocation
//! freed by whichever leaves last), also with the ends racing on two threads.

mod common;
mod sync_locks_support;

use common::DEADLINE;
use sync_locks_support::Probe;
use weft::rt::Runtime;
use weft::sync::oneshot::{self, error::TryRecvError};
use weft::time::timeout;

#[test]
fn the_value_arrives_and_wakes_the_receiver() {
    let (tx, rx) = oneshot::channel();
    let mut rx = Probe::new(rx);
    rx.pending();
    tx.send(7).unwrap();
    assert_eq!(rx.wakes(), 1);
    assert_eq!(rx.ready(), Ok(7));
}

#[test]
fn a_dropped_sender_is_an_error() {
    let (tx, rx) = oneshot::channel::<u32>();
    let mut rx = Probe::new(rx);
    rx.pending();
    drop(tx);
    assert_eq!(rx.wakes(), 1, "dropping the sender wakes the receiver");
    let err = rx.ready().unwrap_err();
    assert!(err.to_string().contains("sender was dropped"), "{err}");
}

#[test]
fn try_recv_reports_empty_value_then_closed() {
    let (tx, mut rx) = oneshot::channel();
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    tx.send("v").unwrap();
    assert_eq!(rx.try_recv(), Ok("v"));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
}

#[test]
fn a_closed_receiver_fails_the_send_and_wakes_closed() {
    let (mut tx, mut rx) = oneshot::channel::<String>();
    assert!(!tx.is_closed());
    let mut closed = Probe::new(async move {
        tx.closed().await;
        tx
    });
    closed.pending();
    rx.close();
    let tx = closed.ready();
    assert!(tx.is_closed());
    assert_eq!(tx.send("late".into()), Err("late".to_string()));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
}

#[test]
fn a_dropped_receiver_gives_the_value_back() {
    let (tx, rx) = oneshot::channel();
    drop(rx);
    assert_eq!(tx.send(vec![1]), Err(vec![1]));
}

#[test]
fn a_value_crosses_loops_and_threads() {
    let rt = Runtime::builder().loops(2).build().unwrap();
    let got = rt.block_on(async {
        let (tx, rx) = oneshot::channel();
        let (back_tx, back_rx) = oneshot::channel();
        // The answer comes from loop 1, through a request from an OS thread.
        let h = weft::rt::Handle::current();
        h.spawn_on(1, async move {
            let n: u64 = rx.await.unwrap();
            back_tx.send(n * 2).unwrap();
        });
        std::thread::spawn(move || tx.send(21).unwrap());
        timeout(DEADLINE, back_rx)
            .await
            .expect("the answer came back in time")
    });
    assert_eq!(got, Ok(42));
}

#[test]
fn blocking_recv_on_an_os_thread_waits_for_a_task() {
    let rt = Runtime::builder().current_thread().build().unwrap();
    let (tx, rx) = oneshot::channel();
    let waiter = std::thread::spawn(move || rx.blocking_recv());
    rt.block_on(async move {
        weft::spawn(async move { tx.send(5u8).unwrap() })
            .await
            .unwrap();
    });
    assert_eq!(waiter.join().unwrap(), Ok(5));
}

/// Counts its drops.
struct Counted(std::sync::Arc<std::sync::atomic::AtomicUsize>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }
}

#[test]
fn every_value_is_dropped_exactly_once_whichever_end_goes_first() {
    use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
    use std::sync::Arc;
    let drops = Arc::new(AtomicUsize::new(0));
    let value = || Counted(drops.clone());
    // Sent, never received: dropped with the receiver.
    let (tx, rx) = oneshot::channel();
    assert!(tx.send(value()).is_ok());
    drop(rx);
    assert_eq!(drops.load(SeqCst), 1);
    // Receiver gone first: the value comes back to the caller.
    let (tx, rx) = oneshot::channel();
    drop(rx);
    drop(tx.send(value()).unwrap_err());
    assert_eq!(drops.load(SeqCst), 2);
    // Received.
    let (tx, mut rx) = oneshot::channel();
    assert!(tx.send(value()).is_ok());
    drop(rx.try_recv().unwrap());
    assert_eq!(drops.load(SeqCst), 3);
    // The two ends racing on two threads, many times: each value dropped once, none leaked.
    const RACES: usize = 2000;
    for _ in 0..RACES {
        let (tx, rx) = oneshot::channel();
        let v = value();
        let t = std::thread::spawn(move || drop(tx.send(v)));
        drop(rx);
        t.join().unwrap();
    }
    assert_eq!(drops.load(SeqCst), 3 + RACES);
}

#[test]
fn is_empty_and_is_terminated_follow_the_value() {
    let (tx, mut rx) = oneshot::channel::<u8>();
    assert!(rx.is_empty() && !rx.is_terminated(), "nothing sent yet");
    tx.send(7).unwrap();
    assert!(!rx.is_empty(), "a value waits");
    assert!(!rx.is_terminated());
    assert_eq!(rx.try_recv(), Ok(7));
    assert!(rx.is_empty() && rx.is_terminated(), "taken");

    let (tx, mut rx) = oneshot::channel::<u8>();
    drop(tx);
    assert!(rx.is_empty(), "the sender left without sending");
    assert!(!rx.is_terminated(), "the error is not seen yet");
    assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
    assert!(rx.is_terminated());
}
