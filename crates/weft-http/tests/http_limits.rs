//! Every request limit is answered with its status code over a real socket,
//! the connection is closed, and the server keeps serving other clients.

mod support;

use support::{start, RawClient};
use weft_http::{Limits, Request, Response, Router, ServerConfig};

fn app() -> impl weft_http::Handler + Clone + Send {
    Router::new()
        .get("/", |_: Request| async { Response::text("ok") })
        .post("/upload", |req: Request| async move {
            Response::text(req.body().len().to_string())
        })
}

fn config() -> ServerConfig {
    ServerConfig {
        limits: Limits {
            max_request_line_bytes: 1024,
            max_head_bytes: 4096,
            max_headers: 20,
            max_body_bytes: 64 * 1024,
            ..Limits::default()
        },
        ..ServerConfig::default()
    }
}

/// Sends `raw`, expects `status` and a closed connection; then checks that a
/// fresh client is still served.
fn refused(raw: &[u8], status: u16) {
    let server = start(app(), config());
    let mut client = RawClient::connect(server.local_addr());
    client.send_lossy(raw);
    let r = client.response();
    assert_eq!(
        r.status,
        status,
        "answer {:?} to {:?}",
        r.text(),
        String::from_utf8_lossy(&raw[..raw.len().min(120)])
    );
    assert_eq!(r.header("connection"), Some("close"));
    assert!(!r.body.is_empty(), "an error answer says what was wrong");
    assert!(client.closed());

    let mut other = RawClient::connect(server.local_addr());
    other.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(other.response().text(), "ok");
    server.shutdown().unwrap();
}

#[test]
fn long_request_line_is_414() {
    refused(
        format!("GET /{} HTTP/1.1\r\nHost: t\r\n\r\n", "a".repeat(2000)).as_bytes(),
        414,
    );
}

#[test]
fn long_request_line_is_414_before_it_ends() {
    // No CRLF ever arrives: the limit is enforced on the partial line.
    refused(format!("GET /{}", "a".repeat(1500)).as_bytes(), 414);
}

#[test]
fn large_header_block_is_431() {
    refused(
        format!(
            "GET / HTTP/1.1\r\nHost: t\r\nX-Big: {}\r\n\r\n",
            "b".repeat(5000)
        )
        .as_bytes(),
        431,
    );
}

#[test]
fn too_many_headers_is_431() {
    let mut raw = String::from("GET / HTTP/1.1\r\nHost: t\r\n");
    for i in 0..30 {
        raw.push_str(&format!("X-H{i}: v\r\n"));
    }
    raw.push_str("\r\n");
    refused(raw.as_bytes(), 431);
}

#[test]
fn declared_body_over_the_limit_is_413() {
    refused(
        b"POST /upload HTTP/1.1\r\nHost: t\r\nContent-Length: 1000000\r\n\r\n",
        413,
    );
}

#[test]
fn chunked_body_over_the_limit_is_413() {
    let mut raw =
        b"POST /upload HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    for _ in 0..20 {
        raw.extend_from_slice(b"1000\r\n");
        raw.extend_from_slice(&[b'x'; 0x1000]);
        raw.extend_from_slice(b"\r\n");
    }
    refused(&raw, 413);
}

#[test]
fn body_at_the_limit_is_accepted() {
    let server = start(app(), config());
    let mut client = RawClient::connect(server.local_addr());
    client.send(format!(
        "POST /upload HTTP/1.1\r\nHost: t\r\nContent-Length: {}\r\n\r\n",
        64 * 1024
    ));
    client.send(vec![b'z'; 64 * 1024]);
    assert_eq!(client.response().text(), (64 * 1024).to_string());
    server.shutdown().unwrap();
}

#[test]
fn malformed_requests_are_400() {
    let cases: &[&[u8]] = &[
        b"GET / HTTP/1.1\r\nBad Header\r\n\r\n",
        b"GET / HTTP/1.1\r\n\r\n",
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
        b"POST /upload HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabc",
        b"POST /upload HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
        b"POST /upload HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    ];
    for raw in cases {
        refused(raw, 400);
    }
}

#[test]
fn unsupported_version_is_505_and_unknown_expectation_417() {
    refused(b"GET / HTTP/2.0\r\nHost: t\r\n\r\n", 505);
    refused(b"GET / HTTP/1.1\r\nHost: t\r\nExpect: magic\r\n\r\n", 417);
    refused(
        b"POST /upload HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
        501,
    );
}

#[test]
fn a_bad_request_after_good_ones_is_answered_in_order() {
    let server = start(app(), config());
    let mut client = RawClient::connect(server.local_addr());
    client.send("GET / HTTP/1.1\r\nHost: t\r\n\r\nGET / HTTP/1.1\r\nHost: t\r\n\r\nGET / HTTP/1.1\r\nBroken\r\n\r\n");
    assert_eq!(client.response().status, 200);
    assert_eq!(client.response().status, 200);
    assert_eq!(client.response().status, 400);
    assert!(client.closed());
    server.shutdown().unwrap();
}
