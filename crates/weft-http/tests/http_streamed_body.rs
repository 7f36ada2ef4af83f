//! Streamed request bodies: a handler that asks for them (`stream_body`) reads
//! the body as it arrives, one read at a time, whatever its size; the client
//! is held back by TCP while the handler does not read; `100 Continue` goes
//! out only when the handler reads; every way the body can fail reaches the
//! handler's reader as an error with its status.

mod support;

use std::io::{ErrorKind, Write};
use std::net::Shutdown;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use support::{start, RawClient};
use weft_http::{
    stream_body, Limits, Request, Response, Router, ServerConfig, StatusCode, Timeouts,
};

/// Bytes in the loop's read buffer: the most one chunk handed to a reader can hold.
const READ_BUFFER: usize = 64 * 1024;

/// Reads the whole body, answering `bytes N chunks C largest L`, or the
/// reader's error with its own status.
async fn count(mut req: Request) -> Response {
    assert!(req.is_body_streamed());
    assert!(req.body().is_empty());
    let mut body = req.body_stream();
    let (mut bytes, mut chunks, mut largest) = (0usize, 0usize, 0usize);
    while let Some(chunk) = body.chunk().await {
        match chunk {
            Ok(chunk) => {
                bytes += chunk.len();
                chunks += 1;
                largest = largest.max(chunk.len());
            }
            Err(error) => return Response::error(error.status(), error.reason()),
        }
    }
    Response::text(format!("bytes {bytes} chunks {chunks} largest {largest}"))
}

/// The test application. `gate`: `/gated` reads nothing until it is open.
fn app(gate: Arc<AtomicBool>) -> impl weft_http::Handler + Clone + Send {
    Router::new()
        .post("/count", stream_body(count))
        .post(
            "/refuse",
            stream_body(|_req: Request| async {
                Response::error(StatusCode::UNAUTHORIZED, "no uploads for you")
            }),
        )
        .post(
            "/gated",
            stream_body(move |req: Request| {
                let gate = gate.clone();
                async move {
                    while !gate.load(Ordering::SeqCst) {
                        weft::time::sleep(Duration::from_millis(5)).await;
                    }
                    count(req).await
                }
            }),
        )
        .post("/buffered", |req: Request| async move {
            Response::text(format!("buffered {}", req.body().len()))
        })
        .get("/hello", |_req: Request| async { Response::text("hello") })
}

fn config() -> ServerConfig {
    ServerConfig {
        limits: Limits {
            // Buffered bodies are small; streamed ones are not bound by this.
            max_body_bytes: 1000,
            ..Limits::default()
        },
        ..ServerConfig::default()
    }
}

fn counted(text: &str) -> (usize, usize, usize) {
    let n: Vec<usize> = text.split(' ').filter_map(|w| w.parse().ok()).collect();
    assert_eq!(n.len(), 3, "unexpected answer {text:?}");
    (n[0], n[1], n[2])
}

/// Sends `head` then `len` body bytes from another thread (the server answers
/// only once it has read them all, so the test reads while this writes).
fn upload(client: &RawClient, head: String, len: usize) -> std::thread::JoinHandle<()> {
    let mut writer = client.stream.try_clone().unwrap();
    std::thread::spawn(move || {
        writer.write_all(head.as_bytes()).unwrap();
        let block = vec![b'x'; READ_BUFFER];
        let mut left = len;
        while left > 0 {
            let n = left.min(block.len());
            writer.write_all(&block[..n]).unwrap();
            left -= n;
        }
    })
}

#[test]
fn a_body_far_over_the_buffer_limit_streams_through_one_read_at_a_time() {
    let server = start(app(Arc::default()), config());
    let len = 8 << 20;
    let mut client = RawClient::connect(server.local_addr());
    let head = format!("POST /count HTTP/1.1\r\nHost: t\r\nContent-Length: {len}\r\n\r\n");
    let writer = upload(&client, head, len);
    let r = client.response();
    writer.join().unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
    let (bytes, chunks, largest) = counted(&r.text());
    assert_eq!(bytes, len);
    assert!(
        largest <= READ_BUFFER,
        "a chunk of {largest} bytes: the body was buffered"
    );
    assert!(chunks >= len / READ_BUFFER);
    // The same body to a buffering route is refused: the limit was real.
    let mut other = RawClient::connect(server.local_addr());
    other.send(format!(
        "POST /buffered HTTP/1.1\r\nHost: t\r\nContent-Length: {len}\r\n\r\n"
    ));
    assert_eq!(other.response().status, 413);
    // Keep-alive after a streamed body read to its end.
    client.send("GET /hello HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(client.response().text(), "hello");
    server.shutdown().unwrap();
}

#[test]
fn a_chunked_body_streams_through_decoded() {
    let server = start(app(Arc::default()), config());
    let mut client = RawClient::connect(server.local_addr());
    let mut wire =
        String::from("POST /count HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n");
    let piece = "y".repeat(3000);
    for _ in 0..100 {
        wire.push_str(&format!("{:x}\r\n{piece}\r\n", piece.len()));
    }
    wire.push_str("0\r\n\r\n");
    let writer = {
        let mut w = client.stream.try_clone().unwrap();
        std::thread::spawn(move || w.write_all(wire.as_bytes()).unwrap())
    };
    let r = client.response();
    writer.join().unwrap();
    let (bytes, _, largest) = counted(&r.text());
    assert_eq!(bytes, 300_000);
    assert!(largest <= READ_BUFFER);
    server.shutdown().unwrap();
}

/// The most a TCP connection can hold in flight on this machine: the
/// largest receive and send buffers the kernel may give it, plus 1 MiB.
fn kernel_buffers_bound() -> usize {
    let max = |path: &str| -> usize {
        std::fs::read_to_string(path)
            .ok()
            .and_then(|s| s.split_whitespace().nth(2).and_then(|v| v.parse().ok()))
            .unwrap_or(8 << 20)
    };
    max("/proc/sys/net/ipv4/tcp_rmem") + max("/proc/sys/net/ipv4/tcp_wmem") + (1 << 20)
}

#[test]
fn a_handler_that_does_not_read_holds_the_client_back() {
    let gate = Arc::new(AtomicBool::new(false));
    let server = start(app(gate.clone()), config());
    // Twice what the kernel alone could absorb, so what goes in beyond that
    // bound can only have been read by the server.
    let bound = kernel_buffers_bound();
    let len = (2 * bound).max(64 << 20) / READ_BUFFER * READ_BUFFER;
    let mut client = RawClient::connect(server.local_addr());
    client.send(format!(
        "POST /gated HTTP/1.1\r\nHost: t\r\nContent-Length: {len}\r\n\r\n"
    ));
    // Write until the socket stops taking bytes for a whole second: the
    // server reads nothing while its handler does not.
    let mut writer = client.stream.try_clone().unwrap();
    writer
        .set_write_timeout(Some(Duration::from_secs(1)))
        .unwrap();
    let block = vec![b'z'; READ_BUFFER];
    let mut written = 0;
    while written < len {
        match writer.write(&block[..block.len().min(len - written)]) {
            Ok(n) => written += n,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => break,
            Err(e) => panic!("write failed: {e}"),
        }
    }
    assert!(
        written < bound,
        "{written} of {len} bytes went in while the handler read nothing (the kernel holds at \
         most {bound}): the server buffered them"
    );
    // Now the handler reads, and the rest flows.
    gate.store(true, Ordering::SeqCst);
    writer.set_write_timeout(None).unwrap();
    let rest = len - written;
    let finish = std::thread::spawn(move || {
        let block = vec![b'z'; READ_BUFFER];
        let mut left = rest;
        while left > 0 {
            let n = left.min(block.len());
            writer.write_all(&block[..n]).unwrap();
            left -= n;
        }
    });
    let r = client.response();
    finish.join().unwrap();
    assert_eq!(counted(&r.text()).0, len);
    server.shutdown().unwrap();
}

#[test]
fn continue_is_sent_when_the_handler_reads() {
    let server = start(app(Arc::default()), config());
    let mut client = RawClient::connect(server.local_addr());
    client.send(
        "POST /count HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 10\r\n\r\n",
    );
    assert_eq!(client.response().status, 100);
    client.send("0123456789");
    let r = client.response();
    assert_eq!(counted(&r.text()).0, 10);
    server.shutdown().unwrap();
}

#[test]
fn a_handler_that_answers_without_reading_never_invites_the_body_and_closes() {
    let server = start(app(Arc::default()), config());
    let mut client = RawClient::connect(server.local_addr());
    client.send(
        "POST /refuse HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 1000000\r\n\r\n",
    );
    let r = client.response();
    assert_eq!(r.status, 401, "no 100 Continue first");
    assert_eq!(r.header("connection"), Some("close"));
    assert!(client.closed());
    // Everyone else is still served.
    let mut other = RawClient::connect(server.local_addr());
    other.send("GET /hello HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(other.response().text(), "hello");
    server.shutdown().unwrap();
}

#[test]
fn a_request_pipelined_behind_a_streamed_body_is_answered_after_it() {
    let server = start(app(Arc::default()), config());
    let mut client = RawClient::connect(server.local_addr());
    client.send(
        "POST /count HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello\
         GET /hello HTTP/1.1\r\nHost: t\r\n\r\n\
         POST /count HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n\
         GET /hello HTTP/1.1\r\nHost: t\r\n\r\n",
    );
    assert_eq!(counted(&client.response().text()).0, 5);
    assert_eq!(client.response().text(), "hello");
    assert_eq!(counted(&client.response().text()).0, 3);
    assert_eq!(client.response().text(), "hello");
    server.shutdown().unwrap();
}

#[test]
fn a_streamed_body_over_its_limit_is_refused_with_413() {
    let mut config = config();
    config.limits.max_streamed_body_bytes = 100;
    let server = start(app(Arc::default()), config);
    // A declared length over the limit: refused before the handler runs.
    let mut client = RawClient::connect(server.local_addr());
    client.send("POST /count HTTP/1.1\r\nHost: t\r\nContent-Length: 101\r\n\r\n");
    assert_eq!(client.response().status, 413);
    assert!(client.closed());
    // A chunked one that grows over it: the reader gets the 413.
    let mut client = RawClient::connect(server.local_addr());
    client.send(format!(
        "POST /count HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n40\r\n{}\r\n40\r\n{}\r\n",
        "a".repeat(64),
        "b".repeat(64)
    ));
    let r = client.response();
    assert_eq!(r.status, 413, "{}", r.text());
    assert!(client.closed());
    server.shutdown().unwrap();
}

#[test]
fn a_stalled_upload_gives_the_reader_a_408() {
    let config = ServerConfig {
        timeouts: Timeouts {
            body_read: Duration::from_millis(300),
            ..Timeouts::default()
        },
        ..config()
    };
    let server = start(app(Arc::default()), config);
    let mut client = RawClient::connect(server.local_addr());
    client.send("POST /count HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\nonly part");
    let r = client.response();
    assert_eq!(r.status, 408, "{}", r.text());
    assert!(client.closed());
    server.shutdown().unwrap();
}

#[test]
fn malformed_chunked_framing_gives_the_reader_a_400() {
    let server = start(app(Arc::default()), config());
    let mut client = RawClient::connect(server.local_addr());
    client.send(
        "POST /count HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nabcde\r\nzz\r\n",
    );
    let r = client.response();
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(client.closed());
    server.shutdown().unwrap();
}

#[test]
fn a_client_that_stops_sending_mid_body_gives_the_reader_a_400() {
    let server = start(app(Arc::default()), config());
    let mut client = RawClient::connect(server.local_addr());
    client.send("POST /count HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\nonly part");
    client.stream.shutdown(Shutdown::Write).unwrap();
    let r = client.response();
    assert_eq!(r.status, 400, "{}", r.text());
    server.shutdown().unwrap();
}
