//! `hyper_rt::serve(..).with_graceful_shutdown(signal)`: once the signal
//! fires new connections are refused, while a request already in flight
//! (HTTP/1.1 and HTTP/2) is answered in full; the server then returns.

mod hyper_support;

use std::time::{Duration, Instant};

use axum::routing::get;
use axum::Router;
use hyper_support::{send, start, Proto, Running};
use weft::net::TcpStream;
use weft_http::ShutdownSignal;

fn drain_with(proto: Proto) {
    let rt = weft::rt::Runtime::builder()
        .current_thread()
        .build()
        .unwrap();
    rt.block_on(async {
        let started = ShutdownSignal::new();
        let release = ShutdownSignal::new();
        let app = {
            let (started, release) = (started.clone(), release.clone());
            Router::new().route(
                "/slow",
                get(move || async move {
                    started.trigger();
                    release.wait().await;
                    "finished after the shutdown signal"
                }),
            )
        };
        let Running { addr, stop, server } = start(app);
        let in_flight = weft::spawn_local(send(addr, proto, "GET", "/slow", None));
        started.wait().await;
        stop.trigger();

        // The listener closes: a new connection is refused (polled with a deadline).
        let deadline = Instant::now() + weft_testkit::DEADLINE;
        loop {
            match TcpStream::connect(addr).await {
                Err(error) if error.kind() == std::io::ErrorKind::ConnectionRefused => break,
                other => {
                    drop(other);
                    assert!(
                        Instant::now() < deadline,
                        "new connections still accepted after the signal"
                    );
                    weft::time::sleep(Duration::from_millis(2)).await;
                }
            }
        }
        assert!(
            !in_flight.is_finished(),
            "the in-flight request ended before it was released"
        );
        assert!(
            !server.is_finished(),
            "the server returned with a request in flight"
        );

        release.trigger();
        let answer = in_flight
            .await
            .unwrap()
            .expect("the in-flight request is answered");
        assert_eq!(answer.status, 200);
        assert_eq!(answer.body, "finished after the shutdown signal");
        weft::time::timeout(weft_testkit::DEADLINE, server)
            .await
            .expect("the server returns once drained")
            .unwrap()
            .unwrap();
    });
}

#[test]
fn http1_request_in_flight_finishes_after_the_signal() {
    drain_with(Proto::Http1);
}

#[test]
fn h2_request_in_flight_finishes_after_the_signal() {
    drain_with(Proto::H2c);
}
