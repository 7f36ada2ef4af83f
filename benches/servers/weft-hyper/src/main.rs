//! hyper on weft: the tokio-hyper peer of the side-by-side benchmark with
//! only the runtime changed.
//!
//! The same hyper 1.x hello world as `tokio-hyper` (`http1` with default
//! settings, the same `service_fn`), served on weft's current-thread runtime
//! through `weft_http::hyper_rt::HyperIo`: one loop on one thread, one task
//! per connection. Set beside `tokio-hyper`, the difference between the two
//! is the runtime's; set beside `weft`, it is the HTTP layer's.
//!
//! Usage: `weft-hyper [--host 127.0.0.1] [--port 8080]`. It runs until killed.

use std::convert::Infallible;
use std::net::{Ipv4Addr, SocketAddr};

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use weft::net::{ListenOptions, TcpListener};
use weft_http::hyper_rt::HyperIo;

/// Listen backlog, the same for every peer.
const BACKLOG: i32 = 4096;

fn main() {
    let addr = match parse_args() {
        Ok(addr) => addr,
        Err(msg) => {
            eprintln!("weft-hyper: {msg}\nusage: weft-hyper [--host 127.0.0.1] [--port 8080]");
            std::process::exit(2);
        }
    };
    let rt = weft::rt::Runtime::builder()
        .current_thread()
        .build()
        .expect("weft runtime");
    if let Err(err) = rt.block_on(serve(addr)) {
        eprintln!("weft-hyper: {err}");
        std::process::exit(1);
    }
}

fn parse_args() -> Result<SocketAddr, String> {
    let mut host = Ipv4Addr::LOCALHOST;
    let mut port = 8080;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let value = args.next().ok_or(format!("{arg} needs a value"))?;
        match arg.as_str() {
            "--host" => host = value.parse().map_err(|e| format!("--host {value}: {e}"))?,
            "--port" => port = value.parse().map_err(|e| format!("--port {value}: {e}"))?,
            _ => return Err(format!("unknown argument {arg}")),
        }
    }
    Ok(SocketAddr::from((host, port)))
}

async fn serve(addr: SocketAddr) -> std::io::Result<()> {
    let listener = TcpListener::bind_with(addr, &ListenOptions::default().backlog(BACKLOG))?;
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(conn) => conn,
            Err(err) => {
                eprintln!("weft-hyper: accept: {err}");
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        weft::spawn_local(async move {
            // Connection errors (a peer resetting mid-request) end only that task.
            let _ = http1::Builder::new()
                .serve_connection(HyperIo::new(stream), service_fn(hello))
                .await;
        })
        .detach();
    }
}

/// The tokio-hyper peer's service, unchanged.
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
