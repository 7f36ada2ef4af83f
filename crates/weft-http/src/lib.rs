//! weft-http: an HTTP/1.1 server for the weft runtime.
//!
//! # Layers
//!
//! Imports run one way: `server` uses `proto`, both use the plain types, and
//! `proto` knows neither the server nor the [`Handler`] API.
//!
//! - **Plain types** at the top: [`Request`], [`RequestBody`], [`Response`],
//!   [`StatusCode`], [`Method`], the [`limits`], [`HttpError`], and the
//!   handler API: [`Handler`] (any `async fn(Request) -> Response`) and a
//!   [`Router`] by method and path.
//! - **[`proto`], sans-I/O** (no runtime needed, unit-tested on bytes): head
//!   parsing on `httparse` within the [`limits`], body framing
//!   (`Content-Length`, chunked), the incremental request decoder, the
//!   response encoder, and the per-second `Date`/`Server` stamp. It is the
//!   public face for drivers other than the built-in one (`weft serve
//!   --model green`).
//! - **`server`, the I/O driver**: one task per connection (keep-alive,
//!   pipelining with one write per read batch, deadlines, streamed request
//!   bodies, lingering close), the per-loop connection set, graceful
//!   [`ShutdownSignal`]-driven drain, and [`serve`] on one loop or [`Server`]
//!   on N loops with one `SO_REUSEPORT` listener each. The driver runs over
//!   any futures-io stream; with the feature `tls`, `Server::tls` puts a
//!   rustls layer between the socket and it (see `tls`).
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

mod error;
mod handler;
pub mod health;
#[cfg(feature = "hyper")]
pub mod hyper_rt;
pub mod limits;
mod method;
pub mod metrics;
pub mod proto;
mod request;
mod request_body;
mod response;
mod router;
mod server;
mod status;
#[cfg(feature = "tls")]
pub mod tls;
mod uri;

pub use error::HttpError;
pub use handler::{stream_body, Either, Handler, StreamBody};
pub use limits::{Limits, Timeouts};
pub use method::{Method, Version};
pub use proto::date::{http_date, parse_http_date, SERVER_NAME};
pub use request::Request;
pub use request_body::RequestBody;
pub use response::{
    Body, BodyStream, HeaderText, InvalidHeader, Response, APPLICATION_JSON, TEXT_PLAIN,
};
pub use router::{End, Route, RouteTable, Router};
#[cfg(feature = "tls")]
pub use server::serve_tls;
pub use server::{check_address_free, ShutdownSignal, WaitForShutdown};
pub use server::{
    serve, Running, Server, ServerConfig, ServerHandle, DEFAULT_DRAIN_TIMEOUT, LISTEN_BACKLOG,
};
pub use status::StatusCode;
pub use uri::percent_decode;
