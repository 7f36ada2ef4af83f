//! tokio + hyper peer of the side-by-side server benchmark.
//!
//! The ordinary hyper 1.x hello world on tokio's current-thread runtime: one
//! thread, one task per connection, `hyper::server::conn::http1` with its
//! default settings, `service_fn` answering `GET /` and `GET /plaintext`
//! with `Hello, World!` (text/plain) and 404 otherwise. hyper adds `Date`
//! and `Content-Length` itself.
//!
//! `--pipeline-flush` turns on hyper's (experimental) `pipeline_flush`, which
//! gathers the responses to pipelined requests into fewer writes. It is off by
//! default because the benchmark compares each peer as usually deployed.
//!
//! Usage: `tokio-hyper [--host 127.0.0.1] [--port 8080] [--pipeline-flush]`.
//! It runs until killed.

use std::convert::Infallible;
use std::net::{Ipv4Addr, SocketAddr};

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpSocket;

/// Listen backlog, the same for every peer.
const BACKLOG: u32 = 4096;

struct Options {
    addr: SocketAddr,
    pipeline_flush: bool,
}

fn main() {
    let opts = match parse_args() {
        Ok(o) => o,
        Err(msg) => {
            eprintln!(
                "tokio-hyper: {msg}\nusage: tokio-hyper [--host 127.0.0.1] [--port 8080] [--pipeline-flush]"
            );
            std::process::exit(2);
        }
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .expect("tokio runtime");
    if let Err(err) = rt.block_on(serve(opts)) {
        eprintln!("tokio-hyper: {err}");
        std::process::exit(1);
    }
}

fn parse_args() -> Result<Options, String> {
    let mut host = Ipv4Addr::LOCALHOST;
    let mut port = 8080;
    let mut pipeline_flush = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--pipeline-flush" {
            pipeline_flush = true;
            continue;
        }
        let value = args.next().ok_or(format!("{arg} needs a value"))?;
        match arg.as_str() {
            "--host" => host = value.parse().map_err(|e| format!("--host {value}: {e}"))?,
            "--port" => port = value.parse().map_err(|e| format!("--port {value}: {e}"))?,
            _ => return Err(format!("unknown argument {arg}")),
        }
    }
    Ok(Options {
        addr: SocketAddr::from((host, port)),
        pipeline_flush,
    })
}

async fn serve(opts: Options) -> std::io::Result<()> {
    let socket = TcpSocket::new_v4()?;
    socket.set_reuseaddr(true)?;
    socket.bind(opts.addr)?;
    let listener = socket.listen(BACKLOG)?;
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(conn) => conn,
            Err(err) => {
                eprintln!("tokio-hyper: accept: {err}");
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let pipeline_flush = opts.pipeline_flush;
        tokio::spawn(async move {
            let io = TokioIo::new(stream);
            // Connection errors (a peer resetting mid-request) end only that task.
            let _ = http1::Builder::new()
                .pipeline_flush(pipeline_flush)
                .serve_connection(io, service_fn(hello))
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
