//! A bounded channel whose slots would take more than a ring made up front allows (64 KiB) is
//! kept in the locked queue instead; it keeps every promise the ring keeps: a full channel
//! parks the sender, waiting senders are served in FIFO order, a dropped receiver fails them,
//! and values cross loops and threads once and in order.

mod common;
mod sync_locks_support;

use common::DEADLINE;
use sync_locks_support::Probe;
use weft::rt::{Handle, Runtime};
use weft::sync::mpsc::{self, error::TrySendError};
use weft::time::timeout;

/// 32 KiB a value: two slots of these are already past the ring's limit.
#[derive(Debug, PartialEq)]
struct Big(u64, [u8; 32 * 1024]);

fn big(n: u64) -> Big {
    Big(n, [n as u8; 32 * 1024])
}

#[test]
fn a_full_channel_parks_the_sender_and_serves_waiters_in_fifo_order() {
    let (tx, mut rx) = mpsc::channel(2);
    tx.try_send(big(0)).unwrap();
    tx.try_send(big(1)).unwrap();
    assert!(matches!(tx.try_send(big(9)), Err(TrySendError::Full(_))));
    let mut a = Probe::new(tx.send(big(2)));
    let mut b = Probe::new(tx.send(big(3)));
    a.pending();
    b.pending();
    assert_eq!(rx.try_recv().unwrap().0, 0);
    assert!(
        matches!(tx.try_send(big(9)), Err(TrySendError::Full(_))),
        "the freed slot went to the first waiter, not to a newcomer"
    );
    assert_eq!((a.wakes(), b.wakes()), (1, 0));
    a.ready().unwrap();
    assert_eq!(rx.try_recv().unwrap().0, 1);
    b.ready().unwrap();
    assert_eq!(rx.try_recv().unwrap(), big(2));
    assert_eq!(rx.try_recv().unwrap(), big(3));
    assert_eq!(tx.capacity(), 2);
}

#[test]
fn a_dropped_receiver_fails_a_waiting_sender() {
    let (tx, rx) = mpsc::channel(1);
    tx.try_send(big(0)).unwrap();
    let mut send = Probe::new(tx.send(big(1)));
    send.pending();
    drop(rx);
    assert_eq!(send.wakes(), 1);
    assert_eq!(send.ready().unwrap_err().0 .0, 1, "the value comes back");
    assert!(tx.is_closed());
}

#[test]
fn values_cross_two_loops_and_a_thread_once_and_in_order() {
    const PER_SENDER: u64 = 2_000;
    let rt = Runtime::builder().loops(2).build().unwrap();
    let got = rt.block_on(async {
        let (tx, mut rx) = mpsc::channel::<(u8, u64, [u8; 16 * 1024])>(8);
        assert_eq!(tx.max_capacity(), 8);
        let receiver = Handle::current().spawn_on(1, async move {
            let mut next = [0u64; 2];
            while let Some(v) = rx.recv().await {
                let (who, n, _) = v;
                assert_eq!(n, next[who as usize], "sender {who} out of order");
                next[who as usize] += 1;
            }
            next
        });
        let tx2 = tx.clone();
        let thread = std::thread::spawn(move || {
            for i in 0..PER_SENDER {
                tx2.blocking_send((1, i, [0; 16 * 1024])).unwrap();
            }
        });
        for i in 0..PER_SENDER {
            tx.send((0, i, [0; 16 * 1024])).await.unwrap();
        }
        drop(tx);
        let got = timeout(DEADLINE, receiver)
            .await
            .expect("the receiver finished")
            .unwrap();
        thread.join().unwrap();
        got
    });
    assert_eq!(got, [PER_SENDER; 2]);
}
