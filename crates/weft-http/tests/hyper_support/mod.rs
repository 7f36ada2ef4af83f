//! Shared by the `hyper_serve_*` tests: hyper's own client on weft sockets
//! (HTTP/1.1 or HTTP/2 with prior knowledge), one request per connection.

#![allow(dead_code)]

use std::net::SocketAddr;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use weft::net::TcpStream;
use weft_http::hyper_rt::{HyperIo, WeftExecutor, WeftTimer};

/// The protocol a request goes out on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Proto {
    Http1,
    H2c,
}

/// An answer: status, the response's HTTP version, body text.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub version: hyper::Version,
    pub content_type: Option<String>,
    pub body: String,
}

/// Sends one request on a new connection with hyper's client; `body` with a
/// JSON content type when given.
pub async fn send(
    addr: SocketAddr,
    proto: Proto,
    method: &str,
    path: &str,
    body: Option<&str>,
) -> hyper::Result<Answer> {
    let stream = TcpStream::connect(addr).await.expect("connect");
    let io = HyperIo::new(stream);
    let mut request = hyper::Request::builder()
        .method(method)
        .uri(format!("http://{addr}{path}"));
    if proto == Proto::Http1 {
        request = request.header(hyper::header::HOST, addr.to_string());
    }
    if body.is_some() {
        request = request.header(hyper::header::CONTENT_TYPE, "application/json");
    }
    let request = request
        .body(Full::new(Bytes::from(body.unwrap_or("").to_string())))
        .unwrap();
    let response = match proto {
        Proto::Http1 => {
            let (mut sender, conn) = hyper::client::conn::http1::handshake(io).await?;
            weft::spawn_local(async move {
                let _ = conn.await;
            })
            .detach();
            sender.send_request(request).await?
        }
        Proto::H2c => {
            let (mut sender, conn) = hyper::client::conn::http2::Builder::new(WeftExecutor)
                .timer(WeftTimer)
                .handshake(io)
                .await?;
            weft::spawn_local(async move {
                let _ = conn.await;
            })
            .detach();
            sender.send_request(request).await?
        }
    };
    let status = response.status().as_u16();
    let version = response.version();
    let content_type = response
        .headers()
        .get(hyper::header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap().to_string());
    let body = response.into_body().collect().await?.to_bytes();
    Ok(Answer {
        status,
        version,
        content_type,
        body: String::from_utf8(body.to_vec()).unwrap(),
    })
}

/// A running `hyper_rt::serve` of an axum app on a fresh loopback port of the
/// calling loop: its address, the signal that drains it, and its task.
pub struct Running {
    pub addr: SocketAddr,
    pub stop: weft_http::ShutdownSignal,
    pub server: weft::JoinHandle<std::io::Result<()>>,
}

/// Serves `app` on `127.0.0.1:0` with a graceful shutdown on `Running::stop`.
pub fn start(app: axum::Router) -> Running {
    use std::future::IntoFuture;
    let listener = weft::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let stop = weft_http::ShutdownSignal::new();
    let server = weft::spawn_local(
        weft_http::hyper_rt::serve(listener, app)
            .with_graceful_shutdown(stop.wait())
            .into_future(),
    );
    Running { addr, stop, server }
}
