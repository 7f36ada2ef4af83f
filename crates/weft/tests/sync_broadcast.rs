//! broadcast: every value reaches every receiver (tasks on two loops); a receiver that falls
//! behind gets Lagged(n) with the exact count and then continues from the oldest value kept;
//! Closed once every sender is gone; send fails with no receiver; resubscribe starts at the tail; a WeakSender upgrades only while a sender lives (Sender::new, strong/weak counts).

mod common;
mod sync_locks_support;

use common::DEADLINE;
use sync_locks_support::Probe;
use weft::rt::{Handle, Runtime};
use weft::sync::broadcast::{self, error::RecvError, error::TryRecvError};
use weft::time::timeout;

const VALUES: u64 = 2000;
const RECEIVERS: usize = 6;

#[test]
fn every_value_reaches_every_receiver_across_loops() {
    let rt = Runtime::builder().loops(2).build().unwrap();
    rt.block_on(async {
        let (tx, _) = broadcast::channel::<u64>(VALUES as usize);
        let h = Handle::current();
        let mut tasks = Vec::new();
        for r in 0..RECEIVERS {
            let mut rx = tx.subscribe();
            tasks.push(h.spawn_on(r % 2, async move {
                let mut got = Vec::new();
                loop {
                    match rx.recv().await {
                        Ok(v) => got.push(v),
                        Err(RecvError::Closed) => return got,
                        Err(e) => panic!("receiver {r}: {e}"),
                    }
                }
            }));
        }
        assert_eq!(tx.receiver_count(), RECEIVERS);
        for v in 0..VALUES {
            assert_eq!(tx.send(v).unwrap(), RECEIVERS);
            if v % 100 == 0 {
                weft::yield_now().await;
            }
        }
        drop(tx);
        for t in tasks {
            let got = timeout(DEADLINE, t).await.expect("receiver done").unwrap();
            assert_eq!(got, (0..VALUES).collect::<Vec<_>>());
        }
    });
}

#[test]
fn a_slow_receiver_gets_lagged_then_continues() {
    let (tx, mut slow) = broadcast::channel(4);
    let mut fast = tx.subscribe();
    for v in 0..10 {
        tx.send(v).unwrap();
        assert_eq!(fast.try_recv(), Ok(v));
    }
    // 10 sent, 4 kept (6..10): the slow one missed 0..6.
    assert_eq!(slow.len(), 10);
    let mut recv = Probe::new(slow.recv());
    assert_eq!(recv.ready(), Err(RecvError::Lagged(6)));
    drop(recv);
    for v in 6..10 {
        assert_eq!(slow.try_recv(), Ok(v));
    }
    assert_eq!(slow.try_recv(), Err(TryRecvError::Empty));
    tx.send(10).unwrap();
    assert_eq!(Probe::new(slow.recv()).ready(), Ok(10));
    assert_eq!(fast.try_recv(), Ok(10));
}

#[test]
fn a_waiting_receiver_is_woken_and_closed_at_the_end() {
    let (tx, mut rx) = broadcast::channel::<&str>(2);
    {
        let mut recv = Probe::new(rx.recv());
        recv.pending();
        tx.send("a").unwrap();
        assert_eq!(recv.wakes(), 1);
        assert_eq!(recv.ready(), Ok("a"));
    }
    tx.send("b").unwrap();
    drop(tx);
    // What was sent before the end is still delivered, then Closed.
    assert_eq!(rx.try_recv(), Ok("b"));
    assert_eq!(Probe::new(rx.recv()).ready(), Err(RecvError::Closed));
}

#[test]
fn send_without_receivers_fails_and_resubscribe_starts_at_the_tail() {
    let (tx, rx) = broadcast::channel(8);
    tx.send(1).unwrap();
    let mut late = rx.resubscribe();
    drop(rx);
    tx.send(2).unwrap();
    assert_eq!(
        late.try_recv(),
        Ok(2),
        "a resubscribed receiver starts after what was sent"
    );
    drop(late);
    assert_eq!(tx.receiver_count(), 0);
    assert_eq!(tx.send(3).unwrap_err().0, 3);
}

#[test]
fn blocking_recv_from_an_os_thread() {
    let (tx, mut rx) = broadcast::channel(1);
    let t = std::thread::spawn(move || rx.blocking_recv());
    let rt = Runtime::builder().current_thread().build().unwrap();
    // The receiver exists from the start, so the value waits in the ring for the thread,
    // whether it is already parked or not.
    rt.block_on(async move {
        weft::spawn(async move { tx.send(7).unwrap() })
            .await
            .unwrap()
    });
    assert_eq!(t.join().unwrap(), Ok(7));
}

#[test]
fn sender_closed_waits_for_the_last_receiver() {
    let (tx, rx) = broadcast::channel::<u32>(4);
    let rx2 = tx.subscribe();
    assert!(!tx.is_closed());
    let mut closed = Probe::new(tx.closed());
    closed.pending();
    drop(rx);
    closed.pending();
    drop(rx2);
    assert_eq!(closed.wakes(), 1, "the last receiver's drop wakes closed()");
    closed.ready();
    assert!(tx.is_closed());
    // With no receiver, closed() is ready at once; a new subscriber makes it wait again.
    Probe::new(tx.closed()).ready();
    let rx3 = tx.subscribe();
    let mut again = Probe::new(tx.closed());
    again.pending();
    drop(rx3);
    again.ready();
}

#[test]
fn a_dropped_closed_future_leaves_no_waiter_behind() {
    let (tx, rx) = broadcast::channel::<u32>(4);
    {
        let mut closed = Probe::new(tx.closed());
        closed.pending();
    }
    let mut closed = Probe::new(tx.closed());
    closed.pending();
    drop(rx);
    assert_eq!(closed.wakes(), 1);
    closed.ready();
}

#[test]
fn closed_completes_when_a_receiver_on_another_loop_goes() {
    let rt = Runtime::builder().loops(2).build().unwrap();
    rt.block_on(async {
        let (tx, mut rx) = broadcast::channel::<u32>(4);
        let reader = Handle::current().spawn_on(1, async move {
            let first = rx.recv().await;
            drop(rx);
            first
        });
        tx.send(7).unwrap();
        timeout(DEADLINE, tx.closed())
            .await
            .expect("closed() completes once the remote receiver is dropped");
        assert_eq!(reader.await.unwrap(), Ok(7));
        assert!(tx.send(8).is_err());
    });
}

#[test]
fn a_weak_sender_upgrades_only_while_a_sender_lives() {
    let tx = broadcast::Sender::new(4);
    assert!(tx.send(0).is_err(), "Sender::new has no receiver yet");
    let mut rx = tx.subscribe();
    let weak = tx.downgrade();
    let weak2 = weak.clone();
    assert_eq!((tx.strong_count(), tx.weak_count()), (1, 2));
    assert_eq!((rx.sender_strong_count(), rx.sender_weak_count()), (1, 2));
    drop(weak2);
    let tx2 = weak.upgrade().expect("a sender is alive");
    assert_eq!(rx.sender_strong_count(), 2);
    drop(tx);
    tx2.send(7).unwrap();
    assert_eq!(rx.try_recv(), Ok(7));
    drop(tx2);
    // The weak sender does not keep the channel open, and cannot reopen it.
    assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
    assert!(weak.upgrade().is_none());
    assert_eq!((rx.sender_strong_count(), rx.sender_weak_count()), (0, 1));
    drop(weak);
    assert_eq!(rx.sender_weak_count(), 0);
}
