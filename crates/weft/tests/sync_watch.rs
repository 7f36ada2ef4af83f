//! watch: a receiver always sees the latest value (many sends between two looks are one change);
//! changed() wakes on a send, errors once the sender is gone and nothing is unseen; send fails
//! without receivers while send_modify/send_replace still store; Sender::closed waits for the
//! last receiver; the latest value crosses loops; cloned senders (Sender::new, sender_count) close it when the last goes.

mod common;
mod sync_locks_support;

use common::DEADLINE;
use sync_locks_support::Probe;
use weft::rt::{Handle, Runtime};
use weft::sync::watch;
use weft::time::timeout;

#[test]
fn a_receiver_sees_the_latest_value_only() {
    let (tx, mut rx) = watch::channel(0);
    assert!(!rx.has_changed().unwrap());
    for v in 1..=5 {
        tx.send(v).unwrap();
    }
    assert!(rx.has_changed().unwrap());
    Probe::new(rx.changed()).ready().unwrap();
    assert_eq!(*rx.borrow(), 5);
    // All five sends were one change.
    Probe::new(rx.changed()).pending();
}

#[test]
fn changed_wakes_on_send_and_borrow_and_update_marks_seen() {
    let (tx, mut rx) = watch::channel("a");
    {
        let mut changed = Probe::new(rx.changed());
        changed.pending();
        tx.send("b").unwrap();
        assert_eq!(changed.wakes(), 1);
        changed.ready().unwrap();
    }
    tx.send("c").unwrap();
    let r = rx.borrow_and_update();
    assert!(r.has_changed());
    assert_eq!(*r, "c");
    drop(r);
    assert!(!rx.has_changed().unwrap());
    rx.mark_changed();
    Probe::new(rx.changed()).ready().unwrap();
    tx.send("d").unwrap();
    rx.mark_unchanged();
    Probe::new(rx.changed()).pending();
}

#[test]
fn changed_errors_once_the_sender_is_gone() {
    let (tx, mut rx) = watch::channel(1);
    tx.send(2).unwrap();
    let mut changed = Probe::new(async {
        let first = rx.changed().await;
        let second = rx.changed().await;
        (first, second)
    });
    drop(tx);
    let (first, second) = changed.ready();
    assert!(
        first.is_ok(),
        "the last value is still reported as a change"
    );
    assert!(second.is_err());
    drop(changed);
    assert_eq!(*rx.borrow(), 2);
}

#[test]
fn send_needs_a_receiver_but_modify_and_replace_store() {
    let (tx, rx) = watch::channel(vec![1]);
    let rx2 = rx.clone();
    assert_eq!(tx.receiver_count(), 2);
    drop(rx);
    drop(rx2);
    assert!(tx.is_closed());
    assert_eq!(tx.send(vec![2]).unwrap_err().0, vec![2]);
    tx.send_modify(|v| v.push(3));
    assert_eq!(tx.send_replace(vec![4]), vec![1, 3]);
    let rx = tx.subscribe();
    assert_eq!(*rx.borrow(), vec![4]);
    assert!(
        !rx.has_changed().unwrap(),
        "a new receiver has seen the current value"
    );
}

#[test]
fn sender_closed_waits_for_the_last_receiver() {
    let (tx, rx) = watch::channel(());
    let rx2 = rx.clone();
    let mut closed = Probe::new(tx.closed());
    closed.pending();
    drop(rx);
    closed.pending();
    drop(rx2);
    assert_eq!(closed.wakes(), 1);
    closed.ready();
}

#[test]
fn the_latest_value_crosses_loops() {
    let rt = Runtime::builder().loops(2).build().unwrap();
    rt.block_on(async {
        let (tx, mut rx) = watch::channel(0u32);
        let watcher = Handle::current().spawn_on(1, async move {
            let mut last = 0;
            while rx.changed().await.is_ok() {
                let v = *rx.borrow_and_update();
                assert!(v > last, "values only move forward: {v} after {last}");
                last = v;
            }
            last
        });
        for v in 1..=1000 {
            tx.send(v).unwrap();
            if v % 50 == 0 {
                weft::yield_now().await;
            }
        }
        drop(tx);
        let last = timeout(DEADLINE, watcher)
            .await
            .expect("watcher done")
            .unwrap();
        assert_eq!(last, 1000, "the final value is always seen");
    });
}

#[test]
fn wait_for_checks_the_current_value_first() {
    let (tx, mut rx) = watch::channel(3);
    {
        let r = Probe::new(rx.wait_for(|v| *v == 3)).ready().unwrap();
        assert_eq!(*r, 3);
        assert!(!r.has_changed(), "the initial value was already seen");
    }
    tx.send(4).unwrap();
    let r = Probe::new(rx.wait_for(|v| *v % 2 == 0)).ready().unwrap();
    assert_eq!(*r, 4);
    assert!(r.has_changed());
    drop(r);
    assert!(!rx.has_changed().unwrap(), "wait_for marks the value seen");
}

#[test]
fn wait_for_waits_until_the_predicate_holds() {
    let (tx, mut rx) = watch::channel(0);
    let mut seen_by_pred = Vec::new();
    {
        let mut wait = Probe::new(rx.wait_for(|v| {
            seen_by_pred.push(*v);
            *v >= 10
        }));
        wait.pending();
        tx.send(5).unwrap();
        assert_eq!(wait.wakes(), 1);
        wait.pending();
        tx.send(7).unwrap();
        tx.send(12).unwrap();
        assert_eq!(*wait.ready().unwrap(), 12);
    }
    // 7 was overwritten before the waiter looked again: only the latest values are seen.
    assert_eq!(seen_by_pred, vec![0, 5, 12]);
}

#[test]
fn wait_for_errors_once_the_sender_is_gone_without_a_match() {
    let (tx, mut rx) = watch::channel(1);
    let mut wait = Probe::new(rx.wait_for(|v| *v == 2));
    wait.pending();
    drop(tx);
    assert!(wait.ready().is_err());
    drop(wait);

    // The last value sent before the sender left still counts.
    let (tx, mut rx) = watch::channel(1);
    tx.send(2).unwrap();
    drop(tx);
    assert_eq!(*Probe::new(rx.wait_for(|v| *v == 2)).ready().unwrap(), 2);
}

#[test]
fn wait_for_a_value_sent_from_another_loop() {
    let rt = Runtime::builder().loops(2).build().unwrap();
    rt.block_on(async {
        let (tx, mut rx) = watch::channel(0u32);
        let sender = Handle::current().spawn_on(1, async move {
            for v in 1..=100 {
                tx.send(v).unwrap();
                weft::yield_now().await;
            }
            tx
        });
        let got = *timeout(DEADLINE, rx.wait_for(|v| *v >= 100))
            .await
            .expect("the value reaches 100")
            .unwrap();
        assert_eq!(got, 100);
        drop(sender.await.unwrap());
    });
}

#[test]
fn cloned_senders_keep_the_channel_open_until_the_last_one_goes() {
    let tx = watch::Sender::new(0);
    assert_eq!(tx.receiver_count(), 0);
    assert!(tx.send(1).is_err(), "Sender::new has no receiver yet");
    let mut rx = tx.subscribe();
    let tx2 = tx.clone();
    assert!(tx.same_channel(&tx2));
    assert_eq!((tx.sender_count(), tx2.sender_count()), (2, 2));
    let mut changed = Probe::new(rx.changed());
    drop(tx);
    // One sender is still alive: not closed, nothing sent.
    changed.pending();
    assert_eq!(tx2.sender_count(), 1);
    tx2.send(5).unwrap();
    assert!(changed.ready().is_ok());
    drop(changed);
    assert_eq!(*rx.borrow_and_update(), 5);
    let mut changed = Probe::new(rx.changed());
    changed.pending();
    drop(tx2);
    assert!(changed.ready().is_err(), "the last sender closed it");
}
