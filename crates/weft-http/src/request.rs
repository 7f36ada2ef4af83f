//! The request a handler receives.
//!
//! A [`Request`] owns one byte buffer holding a copy of the request head
//! followed by the decoded body, plus spans (offsets) into it for the method,
//! target, path and query. Accessors slice that buffer; no string is
//! allocated per field. Header fields are not indexed: the parser validated
//! the head, so a lookup walks its lines (a few hundred bytes) when asked.
//! Most handlers look at no header or one, and indexing every field of every
//! request cost more than the lookups it would save.
//!
//! The fields live in a box ([`Parts`]), so a request moves as one pointer:
//! between the decoder and the handler's future it is handed on several
//! times, and copying a struct that was just written field by field stalls
//! the CPU's store forwarding (that was a tenth of `weft serve`'s CPU time
//! with pipelining). The box, with its buffer, comes from a per-thread spare
//! ([`storage`]) and goes back to it when the request is dropped. A
//! connection answers its requests one after another, so in steady state a
//! request costs no allocation: the head copy is a `memcpy` into a buffer that
//! already has the capacity. The copy is what lets the handler's future be
//! `'static` while the connection reuses its read buffer.

use std::fmt;
use std::mem::ManuallyDrop;
use std::net::SocketAddr;
use std::sync::Arc;

use crate::request_body::{Inflow, RequestBody};
use crate::{Method, Version};

/// A byte range in a request's buffer. `u32` keeps a request's index small;
/// heads are limited far below 4 GiB.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Span {
    pub(crate) start: u32,
    pub(crate) end: u32,
}

impl Span {
    pub(crate) fn new(start: usize, end: usize) -> Span {
        Span {
            start: start as u32,
            end: end as u32,
        }
    }

    fn range(self) -> std::ops::Range<usize> {
        self.start as usize..self.end as usize
    }
}

/// The per-thread spare request.
///
/// Invariant: the spare's buffer is empty (length 0) and has at most
/// `MAX_SPARE_CAPACITY` bytes of capacity. One spare is enough
/// for the common case (each request is dropped before the next one of the
/// batch is decoded); requests that live longer, behind a handler that waits,
/// simply allocate their own.
pub(crate) mod storage {
    use std::cell::Cell;

    use super::Parts;

    /// Largest buffer kept: a typical head plus a small body. Buffers that
    /// grew for a large upload are freed instead of pinning that memory.
    const MAX_SPARE_CAPACITY: usize = 4096;

    /// Initial capacity of a fresh buffer: fits a typical browser request head.
    const INITIAL_CAPACITY: usize = 1024;

    thread_local! {
        static SPARE: Cell<Option<Box<Parts>>> = const { Cell::new(None) };
    }

    /// Request parts with an empty buffer: this thread's spare if there is one.
    /// Every field but the buffer is stale; the caller sets them all.
    pub(crate) fn take() -> Box<Parts> {
        SPARE
            .try_with(Cell::take)
            .ok()
            .flatten()
            .unwrap_or_else(|| {
                Box::new(Parts {
                    method: crate::Method::Get,
                    version: crate::Version::Http11,
                    keep_alive: true,
                    method_span: Default::default(),
                    target: Default::default(),
                    path: Default::default(),
                    query: None,
                    buf: Vec::with_capacity(INITIAL_CAPACITY),
                    fields: Default::default(),
                    body_start: 0,
                    remote_addr: None,
                    inflow: None,
                })
            })
    }

    /// Keeps `parts` as this thread's spare (or frees them). The usual path
    /// (recycle, no spare yet) is a few stores; freeing, the rare path, is
    /// called out of line so that this stays small enough to inline.
    pub(crate) fn give(mut parts: Box<Parts>) {
        if parts.buf.capacity() == 0
            || parts.buf.capacity() > MAX_SPARE_CAPACITY
            || parts.inflow.is_some()
        {
            return free(parts);
        }
        parts.buf.clear();
        // `try_with`: during thread teardown the spare may already be gone.
        let _ = SPARE.try_with(|spare| spare.set(Some(parts)));
    }

    /// Frees parts that are not recycled.
    #[cold]
    #[inline(never)]
    fn free(parts: Box<Parts>) {
        drop(parts);
    }
}

/// The header fields of a head, walked line by line: `(name, value)` with
/// the value's surrounding whitespace trimmed. `lines` must be the field
/// lines of a head the parser accepted (each `name: value`, ending in LF or
/// CRLF, without the blank line that ends the head).
fn field_lines(lines: &[u8]) -> impl Iterator<Item = (&[u8], &[u8])> {
    lines.split(|&b| b == b'\n').filter_map(|line| {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let colon = line.iter().position(|&b| b == b':')?;
        Some((&line[..colon], trim_ows(&line[colon + 1..])))
    })
}

/// `value` without leading and trailing spaces and tabs.
fn trim_ows(value: &[u8]) -> &[u8] {
    let is_ows = |b: &u8| *b == b' ' || *b == b'\t';
    let start = value.iter().position(|b| !is_ows(b)).unwrap_or(value.len());
    let end = value
        .iter()
        .rposition(|b| !is_ows(b))
        .map_or(start, |i| i + 1);
    &value[start..end]
}

/// An HTTP request: head fields and the complete (already decoded) body.
///
/// Built by the server's connection; handlers read it through accessors.
/// Header lookups are case-insensitive and return the raw value bytes
/// (RFC 9110 allows non-UTF-8 `obs-text`); [`header_str`](Request::header_str)
/// gives them as `&str` when they are valid UTF-8.
pub struct Request {
    /// Always `Some` until the request is dropped (then the parts are recycled).
    /// `ManuallyDrop`: `Request::drop` disposes of the parts itself, so the
    /// request has no drop glue of its own beyond that inlined call.
    parts: ManuallyDrop<Option<Box<Parts>>>,
}

/// What a [`Request`] holds; see the [module docs](self) for why it is boxed.
pub(crate) struct Parts {
    pub(crate) method: Method,
    pub(crate) version: Version,
    /// `Connection` semantics after this request: false means close.
    pub(crate) keep_alive: bool,
    pub(crate) method_span: Span,
    pub(crate) target: Span,
    pub(crate) path: Span,
    pub(crate) query: Option<Span>,
    /// Head copy (`..body_start`), then body bytes.
    pub(crate) buf: Vec<u8>,
    /// The header field lines: after the request line, before the blank line.
    pub(crate) fields: Span,
    pub(crate) body_start: usize,
    pub(crate) remote_addr: Option<SocketAddr>,
    /// The feed of a streamed body, until the handler takes it.
    pub(crate) inflow: Option<Arc<Inflow>>,
}

impl Request {
    pub(crate) fn from_parts(parts: Box<Parts>) -> Request {
        Request {
            parts: ManuallyDrop::new(Some(parts)),
        }
    }

    fn parts(&self) -> &Parts {
        self.parts.as_deref().expect("a live request has its parts")
    }

    /// Makes this request's body a streamed one and returns the state its
    /// feed (the driver) shares with its reader ([`Request::body_stream`]).
    pub(crate) fn attach_inflow(&mut self) -> Arc<Inflow> {
        let inflow = Inflow::new();
        self.parts_mut().inflow = Some(inflow.clone());
        inflow
    }

    pub(crate) fn parts_mut(&mut self) -> &mut Parts {
        self.parts
            .as_deref_mut()
            .expect("a live request has its parts")
    }

    /// The method.
    pub fn method(&self) -> Method {
        self.parts().method
    }

    /// The method token as sent (useful for [`Method::Other`]).
    pub fn method_str(&self) -> &str {
        self.str_at(self.parts().method_span)
    }

    /// The protocol version of the request.
    pub fn version(&self) -> Version {
        self.parts().version
    }

    /// The request target as sent: `/path?query`, an absolute URI, `*`, or an
    /// authority for `CONNECT`.
    pub fn target(&self) -> &str {
        self.str_at(self.parts().target)
    }

    /// The path of the target, not percent-decoded (`/a%20b`). For an
    /// absolute-form target this is the path part (`/` if it has none); it is
    /// `*` for `OPTIONS *` and the authority for `CONNECT`.
    pub fn path(&self) -> &str {
        match self.str_at(self.parts().path) {
            "" => "/",
            path => path,
        }
    }

    /// [`path`](Request::path) as bytes (no UTF-8 check: the router's hot path).
    pub(crate) fn path_bytes(&self) -> &[u8] {
        match self.bytes_at(self.parts().path) {
            b"" => b"/",
            path => path,
        }
    }

    /// The query string without `?`, not decoded, if the target has one.
    pub fn query(&self) -> Option<&str> {
        self.parts().query.map(|s| self.str_at(s))
    }

    /// The first value of query parameter `name` (raw, not percent-decoded);
    /// `Some("")` for a bare `name` or `name=`.
    pub fn query_param(&self, name: &str) -> Option<&str> {
        self.query()?.split('&').find_map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (key == name).then_some(value)
        })
    }

    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        self.fields_raw()
            .find(|(field, _)| field.eq_ignore_ascii_case(name.as_bytes()))
            .map(|(_, value)| value)
    }

    /// The first value of header `name`, if it is valid UTF-8.
    pub fn header_str(&self, name: &str) -> Option<&str> {
        self.header(name).and_then(|v| std::str::from_utf8(v).ok())
    }

    /// All header fields in arrival order, as (name, value).
    pub fn headers(&self) -> impl Iterator<Item = (&str, &[u8])> + '_ {
        // Names are tokens (ASCII), checked by the parser.
        self.fields_raw()
            .map(|(name, value)| (std::str::from_utf8(name).unwrap_or(""), value))
    }

    fn fields_raw(&self) -> impl Iterator<Item = (&[u8], &[u8])> + '_ {
        field_lines(self.bytes_at(self.parts().fields))
    }

    /// The request body, decoded (chunked framing removed); empty if none, and empty if the
    /// body is streamed ([`is_body_streamed`](Request::is_body_streamed)).
    pub fn body(&self) -> &[u8] {
        &self.parts().buf[self.parts().body_start..]
    }

    /// Takes the body out of the request (one copy of the body bytes, so
    /// the request's buffer can still be recycled).
    pub fn take_body(&mut self) -> Vec<u8> {
        let parts = self.parts_mut();
        let body = parts.buf[parts.body_start..].to_vec();
        parts.buf.truncate(parts.body_start);
        body
    }

    /// The body as it arrives, for a handler that streams bodies
    /// ([`Handler::streams_body`](crate::Handler::streams_body)); for a buffered body, the
    /// whole body as one chunk. Takes the body out of the request: a second call yields
    /// nothing.
    pub fn body_stream(&mut self) -> RequestBody {
        match self.parts_mut().inflow.take() {
            Some(inflow) => RequestBody::streamed(inflow),
            None => RequestBody::buffered(self.take_body()),
        }
    }

    /// Whether the body is streamed: then [`body`](Request::body) is empty and the bytes come
    /// from [`body_stream`](Request::body_stream).
    pub fn is_body_streamed(&self) -> bool {
        self.parts().inflow.is_some()
    }

    /// Whether the connection stays open after the response (HTTP/1.1 without
    /// `Connection: close`, or HTTP/1.0 with `Connection: keep-alive`).
    pub fn keep_alive(&self) -> bool {
        self.parts().keep_alive
    }

    /// The client's address, when the request came from a socket.
    pub fn remote_addr(&self) -> Option<SocketAddr> {
        self.parts().remote_addr
    }

    fn bytes_at(&self, span: Span) -> &[u8] {
        &self.parts().buf[span.range()]
    }

    /// Spans given to `str_at` were validated as ASCII (method, target,
    /// header names) by the parser; a failure here is a bug, so it degrades
    /// to `""` rather than panicking.
    fn str_at(&self, span: Span) -> &str {
        std::str::from_utf8(self.bytes_at(span)).unwrap_or("")
    }
}

impl Drop for Request {
    #[inline(always)]
    fn drop(&mut self) {
        if let Some(parts) = self.parts.take() {
            storage::give(parts);
        }
    }
}

impl fmt::Debug for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Request")
            .field("method", &self.method_str())
            .field("target", &self.target())
            .field("version", &self.parts().version)
            .field("headers", &self.fields_raw().count())
            .field("body_len", &self.body().len())
            .finish()
    }
}
