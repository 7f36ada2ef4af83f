//! The channels' blocking variants: from a green thread they park only the green thread (its
//! loop serves a TCP client meanwhile); from an OS thread they park the thread; on a loop thread
//! outside a green thread they panic with the documented message.

mod common;

use common::DEADLINE;
use std::io::{Read, Write};
use std::panic::{catch_unwind, AssertUnwindSafe};
use weft::net::TcpListener;
use weft::rt::Runtime;
use weft::sync::{broadcast, mpsc, oneshot};
use weft::time::timeout;

/// What every `blocking_*` panic says after the call's name.
const ON_LOOP_THREAD: &str = "called on an event-loop thread outside a green thread";

#[test]
fn a_parked_green_thread_leaves_the_loop_serving_tcp() {
    let rt = Runtime::builder().current_thread().build().unwrap();
    let got = rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        weft::spawn(async move {
            let (conn, _) = listener.accept().await.unwrap();
            let mut buf = [0; 4];
            conn.read_exact(&mut buf).await.unwrap();
            conn.write_all(&buf).await.unwrap();
        });
        let (tx_a, mut rx_a) = mpsc::channel(1);
        let (tx_b, mut rx_b) = mpsc::unbounded_channel::<String>();
        // The green thread fills the channel, then parks on the second send: nobody receives
        // until the client below has been served by this same loop.
        let green = weft::green::spawn(move || {
            tx_a.blocking_send(1).unwrap();
            tx_a.blocking_send(2).unwrap();
            rx_b.blocking_recv()
        });
        let client = std::thread::spawn(move || {
            let mut s = std::net::TcpStream::connect(addr).unwrap();
            s.set_read_timeout(Some(DEADLINE)).unwrap();
            s.write_all(b"ping").unwrap();
            let mut buf = [0; 4];
            s.read_exact(&mut buf).unwrap();
            assert_eq!(&buf, b"ping", "served while the green thread was parked");
            assert_eq!(rx_a.blocking_recv(), Some(1));
            assert_eq!(rx_a.blocking_recv(), Some(2));
            tx_b.send("done".to_string()).unwrap();
        });
        let got = timeout(DEADLINE, green)
            .await
            .expect("the green thread finished");
        client.join().unwrap();
        got.unwrap()
    });
    assert_eq!(got.as_deref(), Some("done"));
}

#[test]
fn oneshot_blocking_recv_in_a_green_thread() {
    let rt = Runtime::builder().current_thread().build().unwrap();
    let got = rt.block_on(async {
        let (tx, rx) = oneshot::channel();
        let green = weft::green::spawn(move || rx.blocking_recv());
        weft::spawn(async move { tx.send(3).unwrap() });
        timeout(DEADLINE, green).await.expect("in time").unwrap()
    });
    assert_eq!(got, Ok(3));
}

fn panic_message(result: std::thread::Result<impl Sized>) -> String {
    let payload = match result {
        Ok(_) => panic!("expected a panic"),
        Err(p) => p,
    };
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
}

#[test]
fn blocking_calls_on_a_loop_thread_panic_with_the_reason() {
    let rt = Runtime::builder().current_thread().build().unwrap();
    rt.block_on(async {
        let (tx, mut rx) = mpsc::channel::<u8>(1);
        let msg = panic_message(catch_unwind(AssertUnwindSafe(|| rx.blocking_recv())));
        assert!(msg.contains("mpsc::Receiver::blocking_recv"), "{msg}");
        assert!(msg.contains(ON_LOOP_THREAD), "{msg}");
        let msg = panic_message(catch_unwind(AssertUnwindSafe(|| tx.blocking_send(1))));
        assert!(msg.contains("mpsc::Sender::blocking_send") && msg.contains(ON_LOOP_THREAD));

        let (_utx, mut urx) = mpsc::unbounded_channel::<u8>();
        let msg = panic_message(catch_unwind(AssertUnwindSafe(|| urx.blocking_recv())));
        assert!(
            msg.contains("mpsc::UnboundedReceiver::blocking_recv") && msg.contains(ON_LOOP_THREAD)
        );

        let (_otx, orx) = oneshot::channel::<u8>();
        let msg = panic_message(catch_unwind(AssertUnwindSafe(|| orx.blocking_recv())));
        assert!(msg.contains("oneshot::Receiver::blocking_recv") && msg.contains(ON_LOOP_THREAD));

        let (_btx, mut brx) = broadcast::channel::<u8>(1);
        let msg = panic_message(catch_unwind(AssertUnwindSafe(|| brx.blocking_recv())));
        assert!(msg.contains("broadcast::Receiver::blocking_recv") && msg.contains(ON_LOOP_THREAD));
    });
}
