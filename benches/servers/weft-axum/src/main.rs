//! axum on weft: the peer of `tokio-axum` in the side-by-side benchmark.
//!
//! `tokio-axum`'s `Router`, unchanged, served by `weft_http::hyper_rt::serve`
//! (axum::serve's equal: hyper-util's auto builder, HTTP/1.1 and h2c, one
//! local task per connection, hyper's timers on weft's) on weft's
//! current-thread runtime: one loop, one thread, its own `SO_REUSEPORT`
//! listener with the peers' backlog; `serve` sets `TCP_NODELAY` on every
//! accepted socket. `GET /` and `GET /plaintext` answer `Hello, World!`
//! (text/plain), anything else 404 `Not Found`.
//!
//! Usage: `weft-axum [--host 127.0.0.1] [--port 8080]`. It runs until killed.

use std::net::{Ipv4Addr, SocketAddr};

use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderValue, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;

fn main() {
    let addr = match parse_args() {
        Ok(addr) => addr,
        Err(msg) => {
            eprintln!("weft-axum: {msg}\nusage: weft-axum [--host 127.0.0.1] [--port 8080]");
            std::process::exit(2);
        }
    };
    // What `#[weft::main(current_thread)]` builds.
    let rt = weft::rt::Runtime::builder()
        .current_thread()
        .build()
        .expect("weft runtime");
    // The listener's backlog is hyper_rt::SERVE_BACKLOG, the peers' 4096.
    if let Err(err) = rt.block_on(async { weft_http::hyper_rt::serve(addr, app()).await }) {
        eprintln!("weft-axum: {err}");
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

/// The benchmark's routes (tokio-axum's `app`, unchanged).
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
