//! Chunked transfer coding: request bodies are decoded, streamed response
//! bodies are sent chunked to HTTP/1.1 clients and close-delimited to
//! HTTP/1.0 clients.

mod support;

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use support::{start, RawClient};
use weft_http::{Body, Request, Response, Router, ServerConfig, StatusCode};

/// A body stream yielding `count` chunks, waiting one loop turn between them.
struct Counting {
    next: usize,
    count: usize,
    yield_next: bool,
}

impl futures_core::Stream for Counting {
    type Item = io::Result<Vec<u8>>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.next == self.count {
            return Poll::Ready(None);
        }
        // Alternate ready and pending to exercise both paths.
        self.yield_next = !self.yield_next;
        if self.yield_next {
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        self.next += 1;
        Poll::Ready(Some(Ok(format!("chunk {};", self.next - 1).into_bytes())))
    }
}

fn app() -> impl weft_http::Handler + Clone + Send {
    Router::new()
        .post("/echo", |req: Request| async move {
            Response::text(req.body().to_vec())
        })
        .get("/stream", |req: Request| async move {
            let count = req
                .query_param("n")
                .and_then(|n| n.parse().ok())
                .unwrap_or(3);
            Response::new(StatusCode::OK).with_body(Body::from_stream(Counting {
                next: 0,
                count,
                yield_next: false,
            }))
        })
        .get("/broken", |_: Request| async {
            let items = vec![Ok(b"partial".to_vec()), Err(io::Error::other("disk gone"))];
            Response::new(StatusCode::OK).with_body(Body::from_stream(Iter(items.into_iter())))
        })
}

struct Iter(std::vec::IntoIter<io::Result<Vec<u8>>>);
impl futures_core::Stream for Iter {
    type Item = io::Result<Vec<u8>>;
    fn poll_next(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        Poll::Ready(self.0.next())
    }
}

#[test]
fn chunked_request_body_is_decoded() {
    let server = start(app(), ServerConfig::default());
    let mut client = RawClient::connect(server.local_addr());
    client.send(
        "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n\
         5;name=value\r\nhello\r\n1\r\n \r\n5\r\nworld\r\n0\r\nTrailer: x\r\n\r\n",
    );
    let r = client.response();
    assert_eq!((r.status, r.text()), (200, "hello world".to_string()));
    // Chunks sent across several writes, then the connection is reused.
    client.send("POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nab");
    client.send("c\r\n");
    client.send("0\r\n\r\n");
    assert_eq!(client.response().text(), "abc");
    server.shutdown().unwrap();
}

#[test]
fn streamed_response_is_chunked_for_http11() {
    let server = start(app(), ServerConfig::default());
    let mut client = RawClient::connect(server.local_addr());
    client.send(
        "GET /stream?n=4 HTTP/1.1\r\nHost: t\r\n\r\nGET /stream?n=0 HTTP/1.1\r\nHost: t\r\n\r\n",
    );
    let r = client.response();
    assert_eq!(r.header("transfer-encoding"), Some("chunked"));
    assert_eq!(r.header("content-length"), None);
    assert_eq!(r.text(), "chunk 0;chunk 1;chunk 2;chunk 3;");
    // The pipelined request behind the stream is answered after it.
    let r = client.response();
    assert_eq!((r.status, r.text()), (200, String::new()));
    server.shutdown().unwrap();
}

#[test]
fn large_stream_is_flushed_in_pieces() {
    let server = start(app(), ServerConfig::default());
    let mut client = RawClient::connect(server.local_addr());
    client.send("GET /stream?n=20000 HTTP/1.1\r\nHost: t\r\n\r\n");
    let r = client.response();
    let expected: String = (0..20000).map(|i| format!("chunk {i};")).collect();
    assert_eq!(r.text(), expected);
    server.shutdown().unwrap();
}

#[test]
fn streamed_response_is_close_delimited_for_http10() {
    let server = start(app(), ServerConfig::default());
    let mut client = RawClient::connect(server.local_addr());
    client.send("GET /stream?n=2 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    let r = client.response();
    assert_eq!(r.header("transfer-encoding"), None);
    assert_eq!(r.header("connection"), Some("close"));
    assert_eq!(r.text(), "chunk 0;chunk 1;");
    server.shutdown().unwrap();
}

#[test]
fn failing_stream_truncates_the_response() {
    let server = start(app(), ServerConfig::default());
    let mut client = RawClient::connect(server.local_addr());
    client.send("GET /broken HTTP/1.1\r\nHost: t\r\n\r\n");
    let mut all = Vec::new();
    std::io::Read::read_to_end(&mut client.stream, &mut all).unwrap();
    let text = String::from_utf8_lossy(&all);
    assert!(text.contains("7\r\npartial\r\n"), "{text}");
    assert!(
        !text.ends_with("0\r\n\r\n"),
        "no final chunk after an error: {text}"
    );
    server.shutdown().unwrap();
}
