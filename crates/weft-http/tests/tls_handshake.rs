//! TLS both ways: weft's HTTPS server answers real rustls clients (ureq, and
//! rustls' blocking `StreamOwned`), and weft's TLS client
//! (`weft_http::tls::connect`) talks to a rustls server that is not weft's.

mod tls_support;

use std::io::{Read, Write};
use std::sync::Arc;

use futures_util::{AsyncReadExt, AsyncWriteExt};
use tls_support::{start_tls, std_rustls_exchange, ureq_agent, Certs};
use weft_http::{Request, Response, Router};

fn app() -> impl weft_http::Handler + Clone + Send {
    Router::new()
        .get("/", |_: Request| async { Response::text("hello over TLS") })
        .get("/big", |_: Request| async {
            Response::text("x".repeat(1 << 20))
        })
        .post("/echo", |mut request: Request| async move {
            Response::text(String::from_utf8_lossy(&request.take_body()).into_owned())
        })
}

#[test]
fn weft_server_answers_ureq_over_keep_alive() {
    let certs = Certs::new();
    let server = start_tls(app(), certs.server_config());
    let agent = ureq_agent(&certs.ca_der);
    let base = format!("https://localhost:{}", server.local_addr().port());
    for _ in 0..3 {
        let mut response = agent.get(&format!("{base}/")).call().unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(
            response.body_mut().read_to_string().unwrap(),
            "hello over TLS"
        );
    }
    // A body larger than the socket buffer: the driver must flush what rustls holds.
    let mut big = agent.get(&format!("{base}/big")).call().unwrap();
    let body = big
        .body_mut()
        .with_config()
        .limit(2 << 20)
        .read_to_vec()
        .unwrap();
    assert_eq!(body.len(), 1 << 20);
    assert!(body.iter().all(|&b| b == b'x'));
    let mut echoed = agent
        .post(&format!("{base}/echo"))
        .send("ping pong")
        .unwrap();
    assert_eq!(echoed.body_mut().read_to_string().unwrap(), "ping pong");
    server.shutdown().unwrap();
}

#[test]
fn weft_server_closes_with_close_notify_for_a_blocking_rustls_client() {
    let certs = Certs::new();
    let server = start_tls(app(), certs.server_config());
    // `read_to_end` on rustls' StreamOwned fails with UnexpectedEof unless the server sends
    // close_notify before its FIN: this checks the TLS close, not only the bytes.
    let answer = std_rustls_exchange(
        server.local_addr(),
        certs.client_config(),
        b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
    )
    .unwrap();
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
    assert!(answer.ends_with("hello over TLS"), "{answer}");
    server.shutdown().unwrap();
}

#[test]
fn weft_client_talks_to_a_rustls_server_that_is_not_weft() {
    let certs = Certs::new();
    let (chain, key) = certs.leaf_der();
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(chain, key)
    .unwrap();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let config = Arc::new(config);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    // A plain std thread with rustls' blocking stream: read one request head, answer it.
    let server = std::thread::spawn(move || {
        let (tcp, _) = listener.accept().unwrap();
        tcp.set_read_timeout(Some(tls_support::DEADLINE)).unwrap();
        let conn = rustls::ServerConnection::new(config).unwrap();
        let mut tls = rustls::StreamOwned::new(conn, tcp);
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            tls.read_exact(&mut byte).unwrap();
            head.push(byte[0]);
        }
        let alpn = tls.conn.alpn_protocol().map(|p| p.to_vec());
        tls.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello")
            .unwrap();
        tls.conn.send_close_notify();
        tls.flush().unwrap();
        (String::from_utf8(head).unwrap(), alpn)
    });
    let rt = weft::rt::Runtime::builder()
        .current_thread()
        .build()
        .unwrap();
    let answer = rt.block_on(async {
        let mut stream = weft_http::tls::connect(addr, "localhost", certs.client_config())
            .await
            .unwrap();
        stream
            .write_all(b"GET /hi HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        stream.flush().await.unwrap();
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).await.unwrap();
        String::from_utf8(answer).unwrap()
    });
    let (head, alpn) = server.join().unwrap();
    assert!(head.starts_with("GET /hi HTTP/1.1\r\n"), "{head}");
    assert_eq!(alpn.as_deref(), Some(&b"http/1.1"[..]));
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
    assert!(answer.ends_with("\r\n\r\nhello"), "{answer}");
}

#[test]
fn weft_client_and_weft_server_over_tls() {
    let certs = Certs::new();
    let server = start_tls(app(), certs.server_config());
    let addr = server.local_addr();
    let rt = weft::rt::Runtime::builder()
        .current_thread()
        .build()
        .unwrap();
    let answer = rt.block_on(async {
        // By IP address: the certificate names 127.0.0.1 too.
        let mut stream = weft_http::tls::connect(addr, "127.0.0.1", certs.client_config())
            .await
            .unwrap();
        assert_eq!(stream.get_ref().1.alpn_protocol(), Some(&b"http/1.1"[..]));
        stream
            .write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        stream.flush().await.unwrap();
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).await.unwrap();
        String::from_utf8(answer).unwrap()
    });
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
    assert!(answer.ends_with("hello over TLS"), "{answer}");
    server.shutdown().unwrap();
}

#[test]
fn serve_tls_on_the_current_loop_answers_and_drains() {
    let certs = Certs::new();
    let rt = weft::rt::Runtime::builder()
        .current_thread()
        .build()
        .unwrap();
    rt.block_on(async {
        let listener = weft::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let stop = weft_http::ShutdownSignal::new();
        let server = weft::spawn_local(weft_http::serve_tls(
            listener,
            certs.server_config().acceptor(),
            app(),
            weft_http::ServerConfig::default(),
            stop.clone(),
        ));
        let config = certs.client_config();
        let answer = weft::spawn_blocking(move || {
            std_rustls_exchange(
                addr,
                config,
                b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
            )
        })
        .await
        .unwrap()
        .unwrap();
        assert!(answer.ends_with("hello over TLS"), "{answer}");
        stop.trigger();
        server.await.unwrap().unwrap();
    });
}
