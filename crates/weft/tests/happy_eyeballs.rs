//! `TcpStream::connect` over several addresses, RFC 8305 style: a black-holed first address
//! (a listener whose backlog is full, so the kernel drops our SYNs and a plain connect hangs)
//! does not stall the connect; the second address's listener wins. Also: the last failure's
//! error when all fail, and the per-address timeout on a paused clock.

use std::net::SocketAddr;
use std::time::{Duration, Instant};
use weft::net::{
    TcpListener, TcpSocket, TcpStream, CONNECT_ATTEMPT_DELAY, CONNECT_ATTEMPT_TIMEOUT,
};
use weft::rt::Runtime;
use weft_testkit::within_deadline;

/// A listener with `listen(0)` whose accept queue is filled with connections that are never
/// accepted: further SYNs are dropped, so a connect to it hangs. Returns the listener and the
/// connections that filled it (both must stay alive).
async fn black_hole() -> (TcpListener, Vec<TcpStream>) {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let listener = socket.listen(0).unwrap();
    let addr = listener.local_addr().unwrap();
    let mut filled = Vec::new();
    for _ in 0..64 {
        let attempt = TcpSocket::new_v4().unwrap().connect(addr);
        match weft::time::timeout(Duration::from_millis(300), attempt).await {
            Ok(Ok(stream)) => filled.push(stream),
            Ok(Err(err)) => panic!("filling the backlog of {addr}: {err}"),
            // This connect hung: the queue is full and SYNs are dropped.
            Err(_elapsed) => return (listener, filled),
        }
    }
    panic!("{addr}'s backlog never filled after 64 connections");
}

#[test]
fn a_black_holed_first_address_does_not_stall_the_connect() {
    within_deadline("happy eyeballs", || {
        let rt = Runtime::builder().current_thread().build().unwrap();
        rt.block_on(async {
            let (hole, _filled) = black_hole().await;
            let hole_addr = hole.local_addr().unwrap();
            // Without happy eyeballs a connect to it hangs (checked again, one address alone
            // through a plain socket).
            let plain = TcpSocket::new_v4().unwrap().connect(hole_addr);
            assert!(
                weft::time::timeout(Duration::from_secs(1), plain)
                    .await
                    .is_err(),
                "a connect to the full backlog of {hole_addr} did not hang"
            );

            let good = TcpListener::bind("127.0.0.1:0").unwrap();
            let good_addr = good.local_addr().unwrap();
            let addrs: Vec<SocketAddr> = vec![hole_addr, good_addr];
            let started = Instant::now();
            // It must win well before the first attempt's own timeout would have let a
            // one-by-one connect move on (half of it: no race with that timeout).
            let bound = CONNECT_ATTEMPT_TIMEOUT / 2;
            let stream = weft::time::timeout(bound, TcpStream::connect(addrs))
                .await
                .expect("connect waited for the black-holed address")
                .unwrap();
            let took = started.elapsed();
            assert_eq!(stream.peer_addr().unwrap(), good_addr);
            let (accepted, peer) = good.accept().await.unwrap();
            assert_eq!(peer, stream.local_addr().unwrap());
            stream.write_all(b"ok").await.unwrap();
            let mut buf = [0u8; 2];
            accepted.read_exact(&mut buf).await.unwrap();
            assert_eq!(&buf, b"ok");
            eprintln!(
                "happy eyeballs: connected to the second address after {took:?} \
                 (attempt delay {CONNECT_ATTEMPT_DELAY:?})"
            );
        });
    });
}

#[test]
fn when_every_address_fails_the_last_failure_is_returned() {
    within_deadline("all addresses refused", || {
        let rt = Runtime::builder().current_thread().build().unwrap();
        rt.block_on(async {
            // Two ports nobody listens on (bound, then closed).
            let closed = || {
                let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
                l.local_addr().unwrap()
            };
            let (a, b) = (closed(), closed());
            let err = TcpStream::connect(vec![a, b]).await.unwrap_err();
            assert_eq!(err.kind(), std::io::ErrorKind::ConnectionRefused, "{err}");
            assert!(
                err.to_string().contains(&b.to_string()),
                "not the last address: {err}"
            );
        });
    });
}

#[test]
fn a_lone_black_holed_address_times_out_instead_of_hanging() {
    within_deadline("per-address timeout", || {
        let rt = Runtime::builder().current_thread().build().unwrap();
        rt.block_on(async {
            let (hole, _filled) = black_hole().await;
            let hole_addr = hole.local_addr().unwrap();
            // On a paused clock the loop jumps to the attempt's timeout once nothing else
            // can happen.
            weft::time::pause();
            let err = TcpStream::connect(hole_addr).await.unwrap_err();
            assert_eq!(err.kind(), std::io::ErrorKind::TimedOut, "{err}");
            assert!(err.to_string().contains(&hole_addr.to_string()), "{err}");
        });
    });
}

#[test]
fn a_host_name_offers_every_address_it_resolves_to() {
    within_deadline("localhost connect", || {
        let rt = Runtime::builder().current_thread().build().unwrap();
        rt.block_on(async {
            // Listening on IPv4 only: if localhost resolves to ::1 first, that attempt is
            // refused and the IPv4 one wins.
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            let port = listener.local_addr().unwrap().port();
            let stream = TcpStream::connect(("localhost", port)).await.unwrap();
            assert_eq!(stream.peer_addr().unwrap(), listener.local_addr().unwrap());
        });
    });
}
