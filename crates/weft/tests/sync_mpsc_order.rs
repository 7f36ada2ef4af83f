//! mpsc order: values come out in the order they went in (one sender, several interleaved
//! senders, unbounded); recv_many takes up to its limit in order; recv returns None once every
//! sender is gone and the queue is drained; poll_recv_many and blocking_recv_many on both flavours;
//! a receiver is only the same channel as itself.

mod common;
mod sync_locks_support;

use common::DEADLINE;
use sync_locks_support::Probe;
use weft::rt::Runtime;
use weft::sync::mpsc::{self, error::TryRecvError};
use weft::time::timeout;

#[test]
fn one_sender_is_fifo_through_backpressure() {
    let rt = Runtime::builder().current_thread().build().unwrap();
    let got = rt.block_on(async {
        let (tx, mut rx) = mpsc::channel(3);
        weft::spawn(async move {
            for i in 0..1000u32 {
                tx.send(i).await.unwrap();
            }
        });
        let mut got = Vec::new();
        while let Some(v) = timeout(DEADLINE, rx.recv())
            .await
            .expect("a value or the end")
        {
            got.push(v);
        }
        got
    });
    assert_eq!(got, (0..1000).collect::<Vec<_>>());
}

#[test]
fn each_senders_values_keep_their_order() {
    let rt = Runtime::builder().current_thread().build().unwrap();
    let got = rt.block_on(async {
        let (tx, mut rx) = mpsc::channel(2);
        for s in 0..4u32 {
            let tx = tx.clone();
            weft::spawn(async move {
                for i in 0..200u32 {
                    tx.send((s, i)).await.unwrap();
                }
            });
        }
        drop(tx);
        let mut got = Vec::new();
        while let Some(v) = timeout(DEADLINE, rx.recv())
            .await
            .expect("a value or the end")
        {
            got.push(v);
        }
        got
    });
    assert_eq!(got.len(), 800);
    for s in 0..4 {
        let mine: Vec<u32> = got.iter().filter(|v| v.0 == s).map(|v| v.1).collect();
        assert_eq!(mine, (0..200).collect::<Vec<_>>(), "sender {s}");
    }
}

#[test]
fn recv_many_takes_up_to_the_limit_in_order() {
    let (tx, mut rx) = mpsc::unbounded_channel();
    for i in 0..10 {
        tx.send(i).unwrap();
    }
    let mut buf = vec![-1];
    let n = Probe::new(rx.recv_many(&mut buf, 4)).ready();
    assert_eq!(n, 4);
    assert_eq!(buf, [-1, 0, 1, 2, 3]);
    buf.clear();
    assert_eq!(Probe::new(rx.recv_many(&mut buf, 100)).ready(), 6);
    assert_eq!(buf, [4, 5, 6, 7, 8, 9]);
    {
        let mut waiting = Probe::new(rx.recv_many(&mut buf, 100));
        waiting.pending();
        tx.send(10).unwrap();
        assert_eq!(waiting.wakes(), 1);
        assert_eq!(waiting.ready(), 1);
    }
    drop(tx);
    assert_eq!(
        Probe::new(rx.recv_many(&mut buf, 100)).ready(),
        0,
        "finished"
    );
    assert_eq!(buf, [4, 5, 6, 7, 8, 9, 10]);
}

#[test]
fn recv_returns_none_after_the_last_sender_and_the_queue() {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let tx2 = tx.clone();
    assert_eq!(rx.sender_strong_count(), 2);
    tx.send(1).unwrap();
    drop(tx);
    let mut recv = Probe::new(async {
        let a = rx.recv().await;
        let b = rx.recv().await;
        (a, b)
    });
    recv.pending(); // got 1, waits for tx2
    tx2.send(2).unwrap();
    drop(tx2);
    assert_eq!(recv.ready(), (Some(1), Some(2)));
    drop(recv);
    assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
    assert!(rx.is_closed());
}

#[test]
fn a_dropped_recv_loses_no_value() {
    let (tx, mut rx) = mpsc::channel(4);
    {
        let mut recv = Probe::new(rx.recv());
        recv.pending();
        tx.try_send(1).unwrap();
        assert_eq!(recv.wakes(), 1);
        // dropped without being polled again
    }
    assert_eq!(rx.try_recv(), Ok(1));
    assert_eq!(rx.len(), 0);
}

#[test]
fn a_weak_sender_does_not_keep_the_channel_open() {
    let (tx, mut rx) = mpsc::channel(4);
    let weak = tx.downgrade();
    let tx2 = weak.upgrade().expect("a sender lives");
    assert_eq!(rx.sender_strong_count(), 2);
    tx2.try_send(1).unwrap();
    drop((tx, tx2));
    assert!(weak.upgrade().is_none(), "every sender is gone");
    assert_eq!(rx.try_recv(), Ok(1));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));

    let (utx, _urx) = mpsc::unbounded_channel::<u8>();
    let uweak = utx.downgrade();
    assert!(uweak.upgrade().is_some());
    drop(utx);
    assert!(uweak.upgrade().is_none());
}

#[test]
fn senders_count_strong_and_weak_senders() {
    let (tx, rx) = mpsc::channel::<u8>(4);
    let tx2 = tx.clone();
    let weak = tx.downgrade();
    assert_eq!((tx.strong_count(), tx.weak_count()), (2, 1));
    assert_eq!(rx.sender_weak_count(), 1);
    drop(tx2);
    assert_eq!(tx.strong_count(), 1);
    drop(weak);
    assert_eq!(tx.weak_count(), 0);

    let (utx, urx) = mpsc::unbounded_channel::<u8>();
    let uweak = utx.downgrade();
    let utx2 = uweak.upgrade().unwrap();
    assert_eq!((utx.strong_count(), utx2.weak_count()), (2, 1));
    assert_eq!(urx.sender_weak_count(), 1);
}

#[test]
fn poll_and_blocking_recv_many_take_up_to_the_limit_in_order() {
    let (tx, mut rx) = mpsc::channel(8);
    let (utx, mut urx) = mpsc::unbounded_channel();
    for i in 0..5 {
        tx.try_send(i).unwrap();
        utx.send(i).unwrap();
    }
    let mut buf = Vec::new();
    let waker = std::task::Waker::noop();
    let mut cx = std::task::Context::from_waker(waker);
    assert_eq!(
        rx.poll_recv_many(&mut cx, &mut buf, 2),
        std::task::Poll::Ready(2)
    );
    assert_eq!(
        urx.poll_recv_many(&mut cx, &mut buf, 2),
        std::task::Poll::Ready(2)
    );
    assert_eq!(buf, [0, 1, 0, 1]);
    // From a plain thread (where the blocking forms are allowed), the rest in order.
    let got = std::thread::spawn(move || {
        let (mut a, mut b) = (Vec::new(), Vec::new());
        let n = rx.blocking_recv_many(&mut a, 10);
        let m = urx.blocking_recv_many(&mut b, 10);
        (n, a, m, b)
    })
    .join()
    .unwrap();
    assert_eq!(got, (3, vec![2, 3, 4], 3, vec![2, 3, 4]));
    drop((tx, utx));
}

#[test]
fn a_receiver_is_only_its_own_channel() {
    let (_tx, rx) = mpsc::channel::<u8>(1);
    let (_tx2, rx2) = mpsc::channel::<u8>(1);
    assert!(rx.same_channel(&rx));
    assert!(!rx.same_channel(&rx2));
    let (_utx, urx) = mpsc::unbounded_channel::<u8>();
    let (_utx2, urx2) = mpsc::unbounded_channel::<u8>();
    assert!(urx.same_channel(&urx) && !urx.same_channel(&urx2));
}
