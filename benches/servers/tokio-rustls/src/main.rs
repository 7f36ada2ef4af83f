//! tokio + tokio-rustls + hyper peer of the side-by-side server benchmark:
//! `tokio-hyper` over TLS, the peer of `weft-tls` (`weft serve --tls-cert
//! --tls-key`).
//!
//! One current-thread tokio runtime, one task per connection; each task does
//! its TLS handshake (`tokio_rustls::TlsAcceptor`, rustls with the `ring`
//! provider, TLS 1.2 and 1.3, ALPN `http/1.1`) and then serves
//! `hyper::server::conn::http1` with default settings: `GET /` and
//! `GET /plaintext` answer `Hello, World!` (text/plain), anything else 404.
//!
//! Usage: `tokio-rustls --cert cert.pem --key key.pem [--host 127.0.0.1] [--port 8443]`.
//! It runs until killed.

use std::convert::Infallible;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::TcpSocket;
use tokio_rustls::TlsAcceptor;

/// Listen backlog, the same for every peer.
const BACKLOG: u32 = 4096;

struct Options {
    addr: SocketAddr,
    cert: PathBuf,
    key: PathBuf,
}

fn main() {
    let opts = match parse_args() {
        Ok(o) => o,
        Err(msg) => {
            eprintln!(
                "tokio-rustls: {msg}\nusage: tokio-rustls --cert F --key F [--host 127.0.0.1] [--port 8443]"
            );
            std::process::exit(2);
        }
    };
    let acceptor = match acceptor(&opts) {
        Ok(a) => a,
        Err(msg) => {
            eprintln!("tokio-rustls: {msg}");
            std::process::exit(1);
        }
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .expect("tokio runtime");
    if let Err(err) = rt.block_on(serve(opts.addr, acceptor)) {
        eprintln!("tokio-rustls: {err}");
        std::process::exit(1);
    }
}

fn parse_args() -> Result<Options, String> {
    let mut host = Ipv4Addr::LOCALHOST;
    let mut port = 8443;
    let (mut cert, mut key) = (None, None);
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let value = args.next().ok_or(format!("{arg} needs a value"))?;
        match arg.as_str() {
            "--host" => host = value.parse().map_err(|e| format!("--host {value}: {e}"))?,
            "--port" => port = value.parse().map_err(|e| format!("--port {value}: {e}"))?,
            "--cert" => cert = Some(PathBuf::from(value)),
            "--key" => key = Some(PathBuf::from(value)),
            _ => return Err(format!("unknown argument {arg}")),
        }
    }
    Ok(Options {
        addr: SocketAddr::from((host, port)),
        cert: cert.ok_or("--cert is required")?,
        key: key.ok_or("--key is required")?,
    })
}

fn acceptor(opts: &Options) -> Result<TlsAcceptor, String> {
    let chain = CertificateDer::pem_file_iter(&opts.cert)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| format!("{}: {e}", opts.cert.display()))?;
    let key = PrivateKeyDer::from_pem_file(&opts.key).map_err(|e| format!("{}: {e}", opts.key.display()))?;
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| e.to_string())?
    .with_no_client_auth()
    .with_single_cert(chain, key)
    .map_err(|e| e.to_string())?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

async fn serve(addr: SocketAddr, acceptor: TlsAcceptor) -> std::io::Result<()> {
    let socket = TcpSocket::new_v4()?;
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    let listener = socket.listen(BACKLOG)?;
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(conn) => conn,
            Err(err) => {
                eprintln!("tokio-rustls: accept: {err}");
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let acceptor = acceptor.clone();
        tokio::spawn(async move {
            // A failed handshake or a peer resetting mid-request ends only this task.
            let Ok(tls) = acceptor.accept(stream).await else {
                return;
            };
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(tls), service_fn(hello))
                .await;
        });
    }
}

async fn hello(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let (status, body) = match req.uri().path() {
        "/" | "/plaintext" => (StatusCode::OK, Bytes::from_static(b"Hello, World!")),
        _ => (StatusCode::NOT_FOUND, Bytes::from_static(b"Not Found")),
    };
    let mut res = Response::new(Full::new(body));
    *res.status_mut() = status;
    res.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    Ok(res)
}
