//! Time limits: a slow client gets 408 and is closed while other clients are
//! served; idle keep-alive connections are closed; a trickle of bytes does
//! not extend a deadline.

mod support;

use std::time::{Duration, Instant};

use support::{start, RawClient};
use weft_http::{Request, Response, Router, ServerConfig, Timeouts};

fn app() -> impl weft_http::Handler + Clone + Send {
    Router::new()
        .get("/", |_: Request| async { Response::text("ok") })
        .post("/upload", |req: Request| async move {
            Response::text(req.body().len().to_string())
        })
}

fn config(header_read: Duration, body_read: Duration, idle: Duration) -> ServerConfig {
    ServerConfig {
        timeouts: Timeouts {
            header_read,
            body_read,
            idle,
            ..Timeouts::default()
        },
        ..ServerConfig::default()
    }
}

const SHORT: Duration = Duration::from_millis(300);
const LONG: Duration = Duration::from_secs(60);

#[test]
fn slow_head_gets_408_while_others_are_served() {
    let server = start(app(), config(SHORT, LONG, LONG));
    let mut slow = RawClient::connect(server.local_addr());
    slow.send("GET / HTTP/1.1\r\nHost: t\r\nX-Partial: ");

    // The single loop keeps serving another client meanwhile.
    let mut fast = RawClient::connect(server.local_addr());
    for _ in 0..20 {
        fast.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n");
        assert_eq!(fast.response().text(), "ok");
    }

    let r = slow.response();
    assert_eq!(r.status, 408);
    assert_eq!(r.header("connection"), Some("close"));
    assert!(slow.closed());

    // The fast client, active all along, is unaffected.
    fast.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(fast.response().text(), "ok");
    server.shutdown().unwrap();
}

#[test]
fn trickling_bytes_do_not_extend_the_head_deadline() {
    let server = start(app(), config(SHORT, LONG, LONG));
    let mut slow = RawClient::connect(server.local_addr());
    slow.send("GET / HTTP/1.1\r\nHost: t\r\n");
    slow.stream.set_nonblocking(true).unwrap();
    // Keep sending a header byte at a time; the 408 must still come.
    let mut received = Vec::new();
    let started = Instant::now();
    loop {
        use std::io::{Read, Write};
        let _ = slow.stream.write_all(b"X");
        let mut chunk = [0u8; 1024];
        match slow.stream.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => received.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(_) => break,
        }
        assert!(
            started.elapsed() < support::IO_GUARD,
            "no 408 while trickling"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let text = String::from_utf8_lossy(&received);
    assert!(text.starts_with("HTTP/1.1 408 "), "{text}");
    server.shutdown().unwrap();
}

#[test]
fn silent_connection_is_closed_without_an_answer() {
    let server = start(app(), config(SHORT, LONG, LONG));
    let mut silent = RawClient::connect(server.local_addr());
    assert!(silent.closed());
    assert!(silent.unread().is_empty());
    server.shutdown().unwrap();
}

#[test]
fn slow_body_gets_408() {
    let server = start(app(), config(LONG, SHORT, LONG));
    let mut slow = RawClient::connect(server.local_addr());
    slow.send("POST /upload HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\nonly part");
    let r = slow.response();
    assert_eq!(r.status, 408);
    assert!(slow.closed());
    server.shutdown().unwrap();
}

#[test]
fn idle_keep_alive_connection_is_closed() {
    let server = start(app(), config(LONG, LONG, SHORT));
    let mut client = RawClient::connect(server.local_addr());
    client.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(client.response().text(), "ok");
    // Nothing more is sent: the server closes without answering.
    assert!(client.closed());
    assert!(client.unread().is_empty());
    server.shutdown().unwrap();
}
