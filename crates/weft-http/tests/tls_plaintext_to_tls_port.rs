//! Plain text to a TLS port: a plain HTTP request is answered `400` in
//! plain text and the connection closes cleanly (no reset); other bytes
//! that are not TLS are closed on without a word; a client that says
//! nothing is closed at the handshake timeout. The server keeps serving
//! TLS clients throughout.

mod tls_support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use tls_support::{start_tls, ureq_agent, Certs, DEADLINE};
use weft_http::{Request, Response};

fn hello(_: Request) -> std::future::Ready<Response> {
    std::future::ready(Response::text("hello"))
}

/// Sends `bytes` on a plain TCP connection and reads until the server closes.
fn plain_exchange(addr: std::net::SocketAddr, bytes: &[u8]) -> std::io::Result<String> {
    let mut tcp = TcpStream::connect(addr)?;
    tcp.set_read_timeout(Some(DEADLINE))?;
    tcp.write_all(bytes)?;
    let mut answer = Vec::new();
    tcp.read_to_end(&mut answer)?;
    Ok(String::from_utf8_lossy(&answer).into_owned())
}

fn assert_tls_still_served(certs: &Certs, port: u16) {
    let mut response = ureq_agent(&certs.ca_der)
        .get(&format!("https://localhost:{port}/"))
        .call()
        .unwrap();
    assert_eq!(response.body_mut().read_to_string().unwrap(), "hello");
}

#[test]
fn plain_http_request_is_answered_400_and_closed_cleanly() {
    let certs = Certs::new();
    let server = start_tls(hello, certs.server_config());
    let addr = server.local_addr();
    // More than the answer's worth of request, so a close without draining would reset it.
    let request = format!(
        "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 20000\r\n\r\n{}",
        "a".repeat(20000)
    );
    for _ in 0..3 {
        let answer = plain_exchange(addr, request.as_bytes()).expect("a clean close, not a reset");
        assert!(
            answer.starts_with("HTTP/1.1 400 Bad Request\r\n"),
            "{answer}"
        );
        assert!(answer.contains("Connection: close\r\n"), "{answer}");
        assert!(
            answer.ends_with("This port speaks HTTPS: a plain HTTP request was sent.\r\n"),
            "{answer}"
        );
        assert_tls_still_served(&certs, addr.port());
    }
    server.shutdown().unwrap();
}

#[test]
fn bytes_that_are_not_tls_nor_http_are_closed_on_without_an_answer() {
    let certs = Certs::new();
    let server = start_tls(hello, certs.server_config());
    let addr = server.local_addr();
    let answer = plain_exchange(addr, b"\x00\x01\x02 not a TLS record\r\n").unwrap();
    assert_eq!(answer, "");
    // A TLS record type with garbage behind it: rustls refuses it; the connection ends.
    let mut tcp = TcpStream::connect(addr).unwrap();
    tcp.set_read_timeout(Some(DEADLINE)).unwrap();
    tcp.write_all(b"\x16\x03\x01\x00\x05hello").unwrap();
    let mut sink = Vec::new();
    // rustls answers with an alert, then the server closes: the read ends (Ok or a reset).
    let _ = tcp.read_to_end(&mut sink);
    assert!(sink.len() < 64, "at most an alert: {sink:?}");
    assert_tls_still_served(&certs, addr.port());
    server.shutdown().unwrap();
}

#[test]
fn silent_client_is_closed_at_the_handshake_timeout() {
    let certs = Certs::new();
    let tls = certs
        .server_config()
        .handshake_timeout(Duration::from_millis(200));
    // The request-head limit is an hour: only the handshake limit can close these.
    let timeouts = weft_http::Timeouts {
        header_read: Duration::from_secs(3600),
        ..Default::default()
    };
    let server = weft_http::Server::bind("127.0.0.1:0".parse().unwrap())
        .loops(1)
        .timeouts(timeouts)
        .tls(tls)
        .spawn(hello)
        .unwrap();
    let addr = server.local_addr();
    let mut silent = TcpStream::connect(addr).unwrap();
    silent.set_read_timeout(Some(DEADLINE)).unwrap();
    // Half a ClientHello: the handshake starts and then stalls.
    let mut stalled = TcpStream::connect(addr).unwrap();
    stalled.set_read_timeout(Some(DEADLINE)).unwrap();
    stalled.write_all(b"\x16\x03\x01").unwrap();
    // The guard read returns at EOF (the server closed); a hang would be a WouldBlock error.
    let mut byte = [0u8; 1];
    assert_eq!(silent.read(&mut byte).expect("closed, not timed out"), 0);
    let mut sink = Vec::new();
    let _ = stalled
        .read_to_end(&mut sink)
        .expect("closed, not timed out");
    assert_tls_still_served(&certs, addr.port());
    server.shutdown().unwrap();
}
