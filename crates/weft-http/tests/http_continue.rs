//! `Expect: 100-continue`: the server invites the body only when it will
//! accept it, and refuses an oversized one without reading it.

mod support;

use support::{start, RawClient};
use weft_http::{Limits, Request, Response, Router, ServerConfig};

fn app() -> impl weft_http::Handler + Clone + Send {
    Router::new().put("/upload", |req: Request| async move {
        Response::text(format!("got {}", req.body().len()))
    })
}

fn config() -> ServerConfig {
    ServerConfig {
        limits: Limits {
            max_body_bytes: 1000,
            ..Limits::default()
        },
        ..ServerConfig::default()
    }
}

#[test]
fn continue_is_sent_before_the_body() {
    let server = start(app(), config());
    let mut client = RawClient::connect(server.local_addr());
    client.send(
        "PUT /upload HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 10\r\n\r\n",
    );
    // The client sends nothing more until invited.
    let interim = client.response();
    assert_eq!(interim.status, 100);
    client.send("0123456789");
    let r = client.response();
    assert_eq!((r.status, r.text()), (200, "got 10".to_string()));
    server.shutdown().unwrap();
}

#[test]
fn continue_with_chunked_body() {
    let server = start(app(), config());
    let mut client = RawClient::connect(server.local_addr());
    client.send("PUT /upload HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nTransfer-Encoding: chunked\r\n\r\n");
    assert_eq!(client.response().status, 100);
    client.send("4\r\nabcd\r\n0\r\n\r\n");
    assert_eq!(client.response().text(), "got 4");
    server.shutdown().unwrap();
}

#[test]
fn oversized_body_is_refused_instead_of_continued() {
    let server = start(app(), config());
    let mut client = RawClient::connect(server.local_addr());
    client.send(
        "PUT /upload HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 5000\r\n\r\n",
    );
    let r = client.response();
    assert_eq!(r.status, 413);
    assert!(client.closed());
    server.shutdown().unwrap();
}

#[test]
fn no_continue_when_the_body_came_with_the_head() {
    let server = start(app(), config());
    let mut client = RawClient::connect(server.local_addr());
    client.send(
        "PUT /upload HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\nabc",
    );
    let r = client.response();
    assert_eq!((r.status, r.text()), (200, "got 3".to_string()));
    server.shutdown().unwrap();
}
