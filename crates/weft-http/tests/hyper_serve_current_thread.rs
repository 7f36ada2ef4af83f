//! `hyper_rt::serve` given an address on a current-thread runtime (no loop
//! threads, as `#[weft::main(current_thread)]` builds): the caller loop binds
//! and serves it, HTTP/1.1 and h2c, and a graceful shutdown ends it. (It used
//! to bind on no loop at all and wait forever.)

mod hyper_support;

use std::future::IntoFuture;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::routing::get;
use axum::Router;
use hyper_support::{send, Proto};
use weft_http::hyper_rt::serve;
use weft_http::ShutdownSignal;

/// How long the server may take to bind before the test fails.
const BIND_DEADLINE: Duration = Duration::from_secs(10);

/// A loopback port nobody listens on right now.
fn free_port() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

/// Waits until `addr` accepts (connection refused until the server binds), failing at the deadline.
async fn wait_listening(addr: SocketAddr) {
    let deadline = Instant::now() + BIND_DEADLINE;
    while weft::net::TcpStream::connect(addr).await.is_err() {
        assert!(
            Instant::now() < deadline,
            "serve({addr}) did not listen within {BIND_DEADLINE:?} on a current-thread runtime"
        );
        weft::time::sleep(Duration::from_millis(10)).await;
    }
}

#[test]
fn serve_by_address_on_a_current_thread_runtime() {
    let rt = weft::rt::Runtime::builder()
        .current_thread()
        .build()
        .unwrap();
    rt.block_on(async {
        let addr = free_port();
        let app = Router::new().route("/", get(|| async { "current thread" }));
        let stop = ShutdownSignal::new();
        let server = weft::spawn_local(
            serve(addr, app)
                .with_graceful_shutdown(stop.wait())
                .into_future(),
        );
        wait_listening(addr).await;
        let first = send(addr, Proto::Http1, "GET", "/", None).await.unwrap();
        assert_eq!((first.status, first.body.as_str()), (200, "current thread"));
        let h2 = send(addr, Proto::H2c, "GET", "/", None).await.unwrap();
        assert_eq!(
            (h2.status, h2.version, h2.body.as_str()),
            (200, hyper::Version::HTTP_2, "current thread")
        );
        stop.trigger();
        server.await.unwrap().unwrap();
        // Drained and closed: the port refuses new connections.
        assert!(weft::net::TcpStream::connect(addr).await.is_err());
    });
}
