//! Keep-alive and pipelining: several requests on one connection, sent
//! together, are answered in order.

mod support;

use support::{start, RawClient};
use weft_http::{Request, Response, Router, ServerConfig};

fn app() -> impl weft_http::Handler + Clone + Send {
    Router::new()
        .get("/plaintext", |_: Request| async {
            Response::text("Hello, World!")
        })
        .get("/echo/*", |req: Request| async move {
            Response::text(req.path()["/echo/".len()..].to_owned())
        })
        .post("/len", |req: Request| async move {
            Response::text(req.body().len().to_string())
        })
        .get("/sleep", |req: Request| async move {
            let ms: u64 = req
                .query_param("ms")
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            weft::time::sleep(std::time::Duration::from_millis(ms)).await;
            Response::text(format!("slept {ms}"))
        })
}

#[test]
fn pipelined_requests_are_answered_in_order() {
    let server = start(app(), ServerConfig::default());
    let mut client = RawClient::connect(server.local_addr());
    let mut batch = String::new();
    for i in 0..16 {
        batch.push_str(&format!("GET /echo/{i} HTTP/1.1\r\nHost: t\r\n\r\n"));
    }
    client.send(batch);
    for i in 0..16 {
        let r = client.response();
        assert_eq!((r.status, r.text()), (200, i.to_string()));
    }
    // The connection is still usable.
    client.send("GET /plaintext HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(client.response().text(), "Hello, World!");
    server.shutdown().unwrap();
}

#[test]
fn pipelined_requests_wait_behind_a_slow_handler_and_keep_order() {
    let server = start(app(), ServerConfig::default());
    let mut client = RawClient::connect(server.local_addr());
    client.send(
        "GET /sleep?ms=50 HTTP/1.1\r\nHost: t\r\n\r\n\
         POST /len HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello\
         GET /sleep?ms=1 HTTP/1.1\r\nHost: t\r\n\r\n\
         GET /echo/last HTTP/1.1\r\nHost: t\r\n\r\n",
    );
    let answers: Vec<String> = (0..4).map(|_| client.response().text()).collect();
    assert_eq!(answers, ["slept 50", "5", "slept 1", "last"]);
    server.shutdown().unwrap();
}

#[test]
fn requests_split_across_writes_are_reassembled() {
    let server = start(app(), ServerConfig::default());
    let mut client = RawClient::connect(server.local_addr());
    let wire = b"POST /len HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\n0123456789GET /echo/x HTTP/1.1\r\nHost: t\r\n\r\n";
    for piece in wire.chunks(7) {
        client.send(piece);
        std::thread::yield_now();
    }
    assert_eq!(client.response().text(), "10");
    assert_eq!(client.response().text(), "x");
    server.shutdown().unwrap();
}

#[test]
fn many_keep_alive_requests_on_one_connection() {
    let server = start(app(), ServerConfig::default());
    let mut client = RawClient::connect(server.local_addr());
    for _ in 0..200 {
        client.send("GET /plaintext HTTP/1.1\r\nHost: t\r\n\r\n");
        let r = client.response();
        assert_eq!(r.status, 200);
        assert_eq!(r.header("content-length"), Some("13"));
        assert!(r.header("date").is_some_and(|d| d.ends_with(" GMT")));
    }
    server.shutdown().unwrap();
}
