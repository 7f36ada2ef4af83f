//! Notify: a permit stored by notify_one before the wait is not lost; notify_one wakes waiters
//! FIFO; notify_waiters wakes everyone waiting (even unpolled futures created before it); a
//! cancelled waiter passes its notification on; ping-pong across two loops loses no wake-up.

mod common;
mod sync_locks_support;

use std::pin::pin;
use std::sync::Arc;
use sync_locks_support::Probe;
use weft::rt::Runtime;
use weft::sync::Notify;

#[test]
fn notify_one_before_the_wait_is_kept_as_one_permit() {
    let n = Notify::new();
    n.notify_one();
    n.notify_one(); // still one permit
    Probe::new(n.notified()).ready();
    Probe::new(n.notified()).pending();
}

#[test]
fn notify_one_wakes_waiters_in_fifo_order() {
    let n = Notify::new();
    let mut a = Probe::new(n.notified());
    let mut b = Probe::new(n.notified());
    a.pending();
    b.pending();
    n.notify_one();
    assert_eq!((a.wakes(), b.wakes()), (1, 0));
    b.pending();
    a.ready();
    n.notify_one();
    b.ready();
}

#[test]
fn enable_queues_the_future_before_it_is_polled() {
    let n = Notify::new();
    let mut first = pin!(n.notified());
    assert!(!first.as_mut().enable());
    let mut later = Probe::new(n.notified());
    later.pending();
    n.notify_one();
    assert!(
        first.as_mut().enable(),
        "the enabled future was first in line"
    );
    later.pending();
}

#[test]
fn notify_waiters_wakes_every_waiter_and_stores_nothing() {
    let n = Notify::new();
    let mut waiters: Vec<_> = (0..4).map(|_| Probe::new(n.notified())).collect();
    for w in &mut waiters[..3] {
        w.pending();
    }
    // waiters[3] was created before the call but never polled: it completes too.
    n.notify_waiters();
    for w in &mut waiters {
        w.ready();
    }
    Probe::new(n.notified()).pending();
}

#[test]
fn a_cancelled_waiter_passes_its_notification_on() {
    let n = Notify::new();
    let mut a = Probe::new(n.notified());
    let mut b = Probe::new(n.notified());
    a.pending();
    b.pending();
    n.notify_one();
    drop(a); // notified, never polled
    assert_eq!(b.wakes(), 1);
    b.ready();
    // And with no one left to take it, a passed-on notification becomes the stored permit.
    let mut c = Probe::new(n.notified());
    c.pending();
    n.notify_one();
    drop(c);
    Probe::new(n.notified()).ready();
}

#[test]
fn ping_pong_across_two_loops_loses_no_wake_up() {
    const ROUNDS: u32 = 2_000;
    let rounds = common::within_deadline("notify ping-pong", || {
        let rt = Runtime::builder().loops(2).build().unwrap();
        let ping = Arc::new(Notify::new());
        let pong = Arc::new(Notify::new());
        let a = rt.spawn_on(0, {
            let (ping, pong) = (ping.clone(), pong.clone());
            async move {
                for _ in 0..ROUNDS {
                    ping.notify_one();
                    pong.notified().await;
                }
            }
        });
        let b = rt.spawn_on(1, async move {
            let mut n = 0;
            for _ in 0..ROUNDS {
                ping.notified().await;
                n += 1;
                pong.notify_one();
            }
            n
        });
        rt.block_on(async move {
            a.await.unwrap();
            b.await.unwrap()
        })
    });
    assert_eq!(rounds, ROUNDS);
}

#[test]
fn notify_last_wakes_the_newest_waiter_and_otherwise_stores_a_permit() {
    let n = Notify::new();
    let mut a = Probe::new(n.notified());
    let mut b = Probe::new(n.notified());
    a.pending();
    b.pending();
    n.notify_last();
    assert_eq!((a.wakes(), b.wakes()), (0, 1), "the newest is woken");
    b.ready();
    a.pending();
    // A woken newest waiter that gives up passes the wake-up on.
    let mut c = Probe::new(n.notified());
    c.pending();
    n.notify_last();
    assert_eq!(c.wakes(), 1);
    drop(c);
    assert_eq!(a.wakes(), 1, "passed on to the one left");
    a.ready();
    // With nobody waiting, it stores one permit like notify_one.
    n.notify_last();
    Probe::new(n.notified()).ready();
    Probe::new(n.notified()).pending();
}

#[test]
fn notified_owned_is_static_and_takes_its_turn() {
    let n = Arc::new(Notify::new());
    let mut a = Probe::new(n.clone().notified_owned());
    let mut b = Probe::new(n.clone().notified_owned());
    a.pending();
    b.pending();
    n.notify_one();
    assert_eq!((a.wakes(), b.wakes()), (1, 0), "FIFO, as notified()");
    drop(a);
    assert_eq!(b.wakes(), 1, "a dropped, notified waiter passes it on");
    b.ready();
    let rt = Runtime::builder().current_thread().build().unwrap();
    rt.block_on(async {
        let waiter = weft::spawn(n.clone().notified_owned());
        weft::yield_now().await;
        n.notify_waiters();
        weft::time::timeout(common::DEADLINE, waiter)
            .await
            .expect("woken by notify_waiters")
            .unwrap();
    });
}
