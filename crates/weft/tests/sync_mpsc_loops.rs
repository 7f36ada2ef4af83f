//! mpsc across two loops and OS threads: every value arrives once and in order, through
//! backpressure, with the receiver on one loop and senders on the other and on threads.

mod common;

use common::DEADLINE;
use weft::rt::{Handle, Runtime};
use weft::sync::mpsc;
use weft::time::timeout;

const PER_SENDER: u64 = 20_000;

#[test]
fn bounded_across_two_loops_and_a_thread() {
    let rt = Runtime::builder().loops(2).build().unwrap();
    let sum = rt.block_on(async {
        let (tx, mut rx) = mpsc::channel::<(u8, u64)>(8);
        let h = Handle::current();
        let receiver = h.spawn_on(1, async move {
            let mut next = [0u64; 2];
            let mut sum = 0;
            while let Some((who, v)) = rx.recv().await {
                assert_eq!(v, next[who as usize], "sender {who} out of order");
                next[who as usize] += 1;
                sum += v;
            }
            sum
        });
        let tx2 = tx.clone();
        let thread = std::thread::spawn(move || {
            for i in 0..PER_SENDER {
                tx2.blocking_send((1, i)).unwrap();
            }
        });
        for i in 0..PER_SENDER {
            tx.send((0, i)).await.unwrap();
        }
        drop(tx);
        let sum = timeout(DEADLINE, receiver)
            .await
            .expect("the receiver finished")
            .unwrap();
        thread.join().unwrap();
        sum
    });
    assert_eq!(sum, 2 * (PER_SENDER * (PER_SENDER - 1) / 2));
}

#[test]
fn unbounded_ping_pong_across_loops() {
    let rt = Runtime::builder().loops(2).build().unwrap();
    rt.block_on(async {
        let (ping_tx, mut ping_rx) = mpsc::unbounded_channel::<u32>();
        let (pong_tx, mut pong_rx) = mpsc::unbounded_channel::<u32>();
        Handle::current().spawn_on(1, async move {
            while let Some(v) = ping_rx.recv().await {
                pong_tx.send(v + 1).unwrap();
            }
        });
        let mut v = 0;
        for _ in 0..2000 {
            ping_tx.send(v).unwrap();
            v = timeout(DEADLINE, pong_rx.recv())
                .await
                .expect("pong in time")
                .unwrap();
        }
        assert_eq!(v, 2000);
    });
}
