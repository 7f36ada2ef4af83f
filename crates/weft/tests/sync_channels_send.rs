//! The channels, their futures and CancellationToken are `Send + Sync` (where the value is
//! `Send`), so they can be moved into tasks on any loop and shared by reference; checked at
//! compile time, and by moving each end to another thread.

use weft::sync::{broadcast, mpsc, oneshot, watch, CancellationToken};

fn send_sync<T: Send + Sync>(_: &T) {}
fn send<T: Send>(_: &T) {}

#[test]
fn channel_ends_and_futures_are_send_and_sync() {
    let (tx, mut rx) = mpsc::channel::<String>(1);
    send_sync(&tx);
    send_sync(&rx);
    send_sync(&tx.downgrade());
    send(&tx.send(String::new()));
    send(&tx.reserve());
    send(&tx.clone().reserve_owned());
    send(&rx.recv());
    let (utx, urx) = mpsc::unbounded_channel::<String>();
    send_sync(&utx);
    send_sync(&urx);
    let (otx, orx) = oneshot::channel::<String>();
    send_sync(&otx);
    send_sync(&orx);
    let (btx, mut brx) = broadcast::channel::<String>(1);
    send_sync(&btx);
    send_sync(&brx);
    send(&brx.recv());
    let (wtx, mut wrx) = watch::channel(String::new());
    send_sync(&wtx);
    send_sync(&wrx);
    send(&wrx.changed());
    let token = CancellationToken::new();
    send_sync(&token);
    send(&token.cancelled());
    send(&token.clone().cancelled_owned());
    send_sync(&token.clone().drop_guard());
}

#[test]
fn each_end_works_from_another_thread() {
    let (tx, mut rx) = mpsc::unbounded_channel::<u32>();
    let (otx, orx) = oneshot::channel::<u32>();
    let (btx, mut brx) = broadcast::channel::<u32>(4);
    let (wtx, wrx) = watch::channel(0u32);
    let token = CancellationToken::new();
    let t = token.clone();
    std::thread::spawn(move || {
        tx.send(1).unwrap();
        otx.send(2).unwrap();
        btx.send(3).unwrap();
        wtx.send(4).unwrap();
        t.cancel();
    })
    .join()
    .unwrap();
    assert_eq!(rx.try_recv(), Ok(1));
    assert_eq!(orx.blocking_recv(), Ok(2));
    assert_eq!(brx.try_recv(), Ok(3));
    assert_eq!(*wrx.borrow(), 4);
    assert!(token.is_cancelled());
}
