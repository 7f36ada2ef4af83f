//! axum on tokio: the peer of `weft-axum` in the side-by-side benchmark.
//!
//! The ordinary axum 0.8 hello world as a tokio user deploys it: a `Router`
//! served by `axum::serve` (hyper-util's auto builder: HTTP/1.1 and h2c, one
//! task per connection) on tokio's current-thread runtime, one thread.
//! `GET /` and `GET /plaintext` answer `Hello, World!` (text/plain, as the
//! other peers), anything else 404 `Not Found`; hyper adds `Date` and
//! `Content-Length`. The listener is bound with the peers' backlog and every
//! accepted socket gets `TCP_NODELAY` (`ListenerExt::tap_io`).
//!
//! `weft-axum` is the same `Router` on `weft_http::hyper_rt::serve`: set
//! side by side, the difference is the runtime's and its serve loop's.
//!
//! Usage: `tokio-axum [--host 127.0.0.1] [--port 8080]`. It runs until killed.

use std::net::{Ipv4Addr, SocketAddr};

use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderValue, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::serve::ListenerExt;
use axum::Router;
use tokio::net::TcpSocket;

/// Listen backlog, the same for every peer.
const BACKLOG: u32 = 4096;

fn main() {
    let addr = match parse_args() {
        Ok(addr) => addr,
        Err(msg) => {
            eprintln!("tokio-axum: {msg}\nusage: tokio-axum [--host 127.0.0.1] [--port 8080]");
            std::process::exit(2);
        }
    };
    // What `#[tokio::main(flavor = "current_thread")]` builds.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    if let Err(err) = rt.block_on(serve(addr)) {
        eprintln!("tokio-axum: {err}");
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
    let socket = TcpSocket::new_v4()?;
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    let listener = socket.listen(BACKLOG)?.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(listener, app()).await
}

/// The benchmark's routes (weft-axum's `app`, the same).
fn app() -> Router {
    Router::new()
        .route("/", get(hello))
        .route("/plaintext", get(hello))
        .fallback(not_found)
}

async fn hello() -> impl IntoResponse {
    (
        [(CONTENT_TYPE, HeaderValue::from_static("text/plain"))],
        "Hello, World!",
    )
}

async fn not_found() -> impl IntoResponse {
    (
        StatusCode::NOT_FOUND,
        [(CONTENT_TYPE, HeaderValue::from_static("text/plain"))],
        "Not Found",
    )
}
