//! Connection semantics: HTTP/1.0, `Connection: close`, HEAD, absolute-form
//! targets, handler panics, 404/405.

mod support;

use support::{start, RawClient};
use weft_http::{Request, Response, Router, ServerConfig};

fn app() -> impl weft_http::Handler + Clone + Send {
    Router::new()
        .get("/", |_: Request| async { Response::text("hello") })
        .get("/peer", |req: Request| async move {
            Response::text(
                req.remote_addr()
                    .map(|a| a.ip().to_string())
                    .unwrap_or_default(),
            )
        })
        .get("/bye", |_: Request| async { Response::text("bye").close() })
        .get("/panic", |_: Request| async {
            if std::hint::black_box(true) {
                panic!("handler bug (expected by the test)");
            }
            Response::text("unreachable")
        })
}

#[test]
fn http10_closes_by_default_and_keeps_alive_on_request() {
    let server = start(app(), ServerConfig::default());
    let mut client = RawClient::connect(server.local_addr());
    client.send("GET / HTTP/1.0\r\n\r\n");
    let r = client.response();
    assert_eq!((r.status, r.text()), (200, "hello".to_string()));
    assert_eq!(r.header("connection"), Some("close"));
    assert!(client.closed());

    let mut client = RawClient::connect(server.local_addr());
    for _ in 0..3 {
        client.send("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
        let r = client.response();
        assert_eq!(r.header("connection"), Some("keep-alive"));
        assert_eq!(r.text(), "hello");
    }
    server.shutdown().unwrap();
}

#[test]
fn connection_close_is_honoured_and_later_requests_ignored() {
    let server = start(app(), ServerConfig::default());
    let mut client = RawClient::connect(server.local_addr());
    client.send(
        "GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\nGET / HTTP/1.1\r\nHost: t\r\n\r\n",
    );
    let r = client.response();
    assert_eq!(r.header("connection"), Some("close"));
    assert!(client.closed());

    let mut client = RawClient::connect(server.local_addr());
    client.send("GET /bye HTTP/1.1\r\nHost: t\r\n\r\n");
    let r = client.response();
    assert_eq!(
        (r.text().as_str(), r.header("connection")),
        ("bye", Some("close"))
    );
    assert!(client.closed());
    server.shutdown().unwrap();
}

#[test]
fn head_has_length_but_no_body() {
    let server = start(app(), ServerConfig::default());
    let mut client = RawClient::connect(server.local_addr());
    client.send("HEAD / HTTP/1.1\r\nHost: t\r\n\r\nGET / HTTP/1.1\r\nHost: t\r\n\r\n");
    let r = client.read_response(true);
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-length"), Some("5"));
    // Had a body been sent, it would be read as the next response's head.
    let r = client.response();
    assert_eq!(r.text(), "hello");
    server.shutdown().unwrap();
}

#[test]
fn absolute_form_and_remote_address() {
    let server = start(app(), ServerConfig::default());
    let mut client = RawClient::connect(server.local_addr());
    client.send("GET http://example.com/ HTTP/1.1\r\nHost: example.com\r\n\r\n");
    assert_eq!(client.response().text(), "hello");
    client.send("GET /peer HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(client.response().text(), "127.0.0.1");
    server.shutdown().unwrap();
}

#[test]
fn not_found_and_method_not_allowed() {
    let server = start(app(), ServerConfig::default());
    let mut client = RawClient::connect(server.local_addr());
    client.send("GET /nope HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(client.response().status, 404);
    client.send("DELETE / HTTP/1.1\r\nHost: t\r\n\r\n");
    let r = client.response();
    assert_eq!((r.status, r.header("allow")), (405, Some("GET, HEAD")));
    server.shutdown().unwrap();
}

#[test]
fn panicking_handler_is_500_and_others_carry_on() {
    let server = start(app(), ServerConfig::default());
    let mut client = RawClient::connect(server.local_addr());
    client.send("GET /panic HTTP/1.1\r\nHost: t\r\n\r\n");
    let r = client.response();
    assert_eq!(r.status, 500);
    assert!(client.closed());
    let mut other = RawClient::connect(server.local_addr());
    other.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(other.response().text(), "hello");

    // In a pipelined batch: the answer before the panic goes out, the panic
    // is a 500, and the request after it is not answered (the connection
    // closes).
    let mut pipelined = RawClient::connect(server.local_addr());
    pipelined.send(
        "GET / HTTP/1.1\r\nHost: t\r\n\r\n\
         GET /panic HTTP/1.1\r\nHost: t\r\n\r\n\
         GET / HTTP/1.1\r\nHost: t\r\n\r\n",
    );
    let first = pipelined.response();
    assert_eq!((first.status, first.text()), (200, "hello".to_string()));
    let second = pipelined.response();
    assert_eq!(second.status, 500);
    assert_eq!(second.header("connection"), Some("close"));
    assert!(pipelined.closed());
    server.shutdown().unwrap();
}

#[test]
fn client_half_close_still_gets_its_answers() {
    let server = start(app(), ServerConfig::default());
    let mut client = RawClient::connect(server.local_addr());
    client.send("GET / HTTP/1.1\r\nHost: t\r\n\r\nGET / HTTP/1.1\r\nHost: t\r\n\r\n");
    client.stream.shutdown(std::net::Shutdown::Write).unwrap();
    assert_eq!(client.response().text(), "hello");
    assert_eq!(client.response().text(), "hello");
    assert!(client.closed());
    server.shutdown().unwrap();
}
