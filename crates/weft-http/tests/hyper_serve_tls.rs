//! `hyper_rt::serve(...).tls(config)`: axum over HTTPS on weft, HTTP/1.1
//! (ureq, and hyper's client) and HTTP/2 chosen by ALPN (hyper's HTTP/2
//! client over weft's TLS client); a plain request to the port gets the
//! plain-text 400 and the server keeps serving; the drain still completes.

mod tls_support;

use std::future::IntoFuture;
use std::sync::Arc;

use axum::routing::get;
use axum::Router;
use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use tls_support::{ureq_agent, Certs};
use weft_http::hyper_rt::{HyperIo, WeftExecutor, WeftTimer};

/// One GET on a fresh weft TLS connection offering `alpn`, with hyper's
/// client for the protocol agreed: (status, version, body).
async fn get_over(
    addr: std::net::SocketAddr,
    certs: &Certs,
    alpn: &[u8],
    path: &str,
) -> (u16, hyper::Version, String) {
    let mut config = (*certs.client_config()).clone();
    config.alpn_protocols = vec![alpn.to_vec()];
    let tls = weft_http::tls::connect(addr, "localhost", Arc::new(config))
        .await
        .unwrap();
    let agreed = tls.get_ref().1.alpn_protocol().map(|p| p.to_vec());
    assert_eq!(agreed.as_deref(), Some(alpn), "ALPN");
    let io = HyperIo::new(tls);
    let request = hyper::Request::builder()
        .uri(format!("https://localhost:{}{path}", addr.port()))
        .header(hyper::header::HOST, "localhost")
        .body(Empty::<Bytes>::new())
        .unwrap();
    let response = if alpn == b"h2" {
        let (mut sender, conn) = hyper::client::conn::http2::Builder::new(WeftExecutor)
            .timer(WeftTimer)
            .handshake(io)
            .await
            .unwrap();
        weft::spawn_local(async move {
            let _ = conn.await;
        })
        .detach();
        sender.send_request(request).await.unwrap()
    } else {
        let (mut sender, conn) = hyper::client::conn::http1::handshake(io).await.unwrap();
        weft::spawn_local(async move {
            let _ = conn.await;
        })
        .detach();
        sender.send_request(request).await.unwrap()
    };
    let status = response.status().as_u16();
    let version = response.version();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, version, String::from_utf8(body.to_vec()).unwrap())
}

#[test]
fn axum_over_tls_http1_and_h2_by_alpn() {
    let certs = Certs::new();
    let rt = weft::rt::Runtime::builder()
        .current_thread()
        .build()
        .unwrap();
    rt.block_on(async {
        let app = Router::new().route(
            "/hi",
            get(|version: axum::http::Version| async move { format!("hi over {version:?}") }),
        );
        let listener = weft::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let stop = weft_http::ShutdownSignal::new();
        let server = weft::spawn_local(
            weft_http::hyper_rt::serve(listener, app)
                .tls(certs.server_config())
                .with_graceful_shutdown(stop.wait())
                .into_future(),
        );

        let h2 = get_over(addr, &certs, b"h2", "/hi").await;
        assert_eq!(h2, (200, hyper::Version::HTTP_2, "hi over HTTP/2.0".into()));
        let h1 = get_over(addr, &certs, b"http/1.1", "/hi").await;
        assert_eq!(
            h1,
            (200, hyper::Version::HTTP_11, "hi over HTTP/1.1".into())
        );

        // ureq (a blocking client) on a thread of its own, while this loop serves.
        let ca = certs.ca_der.clone();
        let port = addr.port();
        let ureq = std::thread::spawn(move || {
            let agent = ureq_agent(&ca);
            let mut response = agent
                .get(&format!("https://localhost:{port}/hi"))
                .call()
                .unwrap();
            (
                response.status().as_u16(),
                response.body_mut().read_to_string().unwrap(),
            )
        });
        let plain = std::thread::spawn(move || {
            use std::io::{Read, Write};
            let mut tcp = std::net::TcpStream::connect(addr).unwrap();
            tcp.set_read_timeout(Some(tls_support::DEADLINE)).unwrap();
            tcp.write_all(b"GET /hi HTTP/1.1\r\nHost: x\r\n\r\n")
                .unwrap();
            let mut answer = String::new();
            tcp.read_to_string(&mut answer).unwrap();
            answer
        });
        let joined = weft::spawn_blocking(move || (ureq.join().unwrap(), plain.join().unwrap()))
            .await
            .unwrap();
        let ((status, body), plain) = joined;
        assert_eq!((status, body.as_str()), (200, "hi over HTTP/1.1"));
        assert!(plain.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{plain}");

        // Still serving after the plain-text client.
        let again = get_over(addr, &certs, b"h2", "/hi").await;
        assert_eq!(again.0, 200);

        stop.trigger();
        server.await.unwrap().unwrap();
    });
}
