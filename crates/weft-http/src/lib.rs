//! weft-http: an HTTP/1.1 server for the weft runtime.
//!
//! # Layers
//!
//! - **Sans-I/O protocol core** (no runtime needed, unit-tested on bytes):
//!   [`head`](crate::head) parses request heads on `httparse` with the
//!   [`limits`]; `body` decodes `Content-Length` and chunked bodies
//!   incrementally; `decode` turns a byte stream into complete requests,
//!   pipelined or not; `encode` renders responses (fixed-length or chunked)
//!   with a per-second cached `Date`.
//! - **Handler API**: [`Request`], [`Response`], [`Handler`] (any
//!   `async fn(Request) -> Response`) and a [`Router`] by method and path.
//!
//! Bad input is answered, never crashed on: every refusal is an
//! [`HttpError`] with a status (400, 408, 413, 414, 417, 431, 501, 505) and a
//! reason, after which the connection closes. See [`limits`] for every bound.

#![forbid(unsafe_code)]
#![warn(missing_docs, missing_debug_implementations, unreachable_pub)]

mod body;
mod date;
mod decode;
mod encode;
mod error;
mod handler;
mod head;
pub mod limits;
mod method;
mod request;
mod response;
mod router;
mod status;

pub use encode::SERVER_NAME;
pub use error::HttpError;
pub use handler::Handler;
pub use limits::{Limits, Timeouts};
pub use method::{Method, Version};
pub use request::Request;
pub use response::{
    Body, BodyStream, HeaderText, InvalidHeader, Response, APPLICATION_JSON, TEXT_PLAIN,
};
pub use router::{End, Route, RouteTable, Router};
pub use status::StatusCode;
