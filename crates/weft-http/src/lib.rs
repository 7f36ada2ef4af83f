//! weft-http: an HTTP/1.1 server for the weft runtime.
//!
//! # Layers
//!
//! - **Sans-I/O protocol core** (no runtime needed, unit-tested on bytes):
//!   `head` parses request heads on `httparse` with the
//!   [`limits`]; `body` decodes `Content-Length` and chunked bodies
//!   incrementally; `decode` turns a byte stream into complete requests,
//!   pipelined or not; `encode` renders responses (fixed-length or chunked)
//!   with a per-second cached `Date`. [`proto`] is their public face, for
//!   drivers other than the built-in connection task.
//! - **Handler API**: [`Request`], [`Response`], [`Handler`] (any
//!   `async fn(Request) -> Response`) and a [`Router`] by method and path.
//! - **Connection driver** (`conn`): keep-alive, pipelining (a batch of
//!   requests read together is answered with one write), timeouts, lingering
//!   close, all on a `weft::net::TcpStream` without per-request allocation.
//! - **Server**: [`serve`] on one loop, [`Server`] on N loops with one
//!   `SO_REUSEPORT` listener each, graceful [`ShutdownSignal`]-driven drain.
//!
//! ```no_run
//! use weft_http::{Request, Response, Router, Server, ShutdownSignal};
//! let app = Router::new()
//!     .get("/", |_: Request| async { Response::text("Hello, World!") })
//!     .get("/json", |_: Request| async { Response::json(r#"{"message":"Hello, World!"}"#) });
//! let stop = ShutdownSignal::new();
//! Server::bind("127.0.0.1:8080".parse().unwrap())
//!     .start(app)
//!     .unwrap()
//!     .run_until(stop.wait())
//!     .unwrap();
//! ```
//!
//! Bad input is answered, never crashed on: every refusal is an
//! [`HttpError`] with a status (400, 408, 413, 414, 417, 431, 501, 505) and a
//! reason, after which the connection closes. See [`limits`] for every bound.

#![forbid(unsafe_code)]
#![warn(missing_docs, missing_debug_implementations, unreachable_pub)]

mod body;
mod conn;
mod connections;
mod date;
mod decode;
mod encode;
mod error;
mod handler;
mod head;
#[cfg(feature = "hyper")]
pub mod hyper_rt;
pub mod limits;
mod method;
pub mod proto;
mod request;
mod request_body;
mod response;
mod router;
mod server;
mod shutdown;
mod status;
mod uri;

pub use date::{http_date, parse_http_date};
pub use encode::SERVER_NAME;
pub use error::HttpError;
pub use handler::{stream_body, Handler, StreamBody};
pub use limits::{Limits, Timeouts};
pub use method::{Method, Version};
pub use request::Request;
pub use request_body::RequestBody;
pub use response::{
    Body, BodyStream, HeaderText, InvalidHeader, Response, APPLICATION_JSON, TEXT_PLAIN,
};
pub use router::{End, Route, RouteTable, Router};
pub use server::{
    serve, Running, Server, ServerConfig, ServerHandle, DEFAULT_DRAIN_TIMEOUT, LISTEN_BACKLOG,
};
pub use shutdown::{ShutdownSignal, WaitForShutdown};
pub use status::StatusCode;
pub use uri::percent_decode;
