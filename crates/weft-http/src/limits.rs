//! Limits and timeouts: every bound the server puts on a client, with its
//! default and the reason for it.
//!
//! A client is never trusted to be quick, small or well-formed. Each bound
//! below is checked as bytes arrive (not after buffering an unbounded amount),
//! and each has one answer:
//!
//! | bound | answer |
//! |---|---|
//! | request line longer than [`Limits::max_request_line_bytes`] | `414 URI Too Long`, close |
//! | header block longer than [`Limits::max_head_bytes`] | `431 Request Header Fields Too Large`, close |
//! | more than [`Limits::max_headers`] header fields | `431`, close |
//! | body longer than [`Limits::max_body_bytes`] | `413 Content Too Large`, close |
//! | streamed body longer than [`Limits::max_streamed_body_bytes`] | the handler's reader gets a 413 error |
//! | head not complete within [`Timeouts::header_read`] | `408 Request Timeout`, close |
//! | body not complete within [`Timeouts::body_read`] | `408`, close |
//! | no new request within [`Timeouts::idle`] | close (nothing to answer) |
//! | response not accepted by the client within [`Timeouts::write`] | close |
//!
//! "Close" after an error answer is a lingering close: the server shuts down
//! its sending side and discards what the client still sends for up to
//! [`Timeouts::linger`] / [`LINGER_MAX_BYTES`], so the kernel does not reset
//! the connection (and destroy the answer) because unread bytes were pending.

use std::time::Duration;

/// Default for [`Limits::max_request_line_bytes`]: 8 KiB, the size of the
/// buffer nginx gives a request line before it answers 414; URIs longer than
/// this are in practice attacks or bugs.
pub const DEFAULT_MAX_REQUEST_LINE_BYTES: usize = 8 * 1024;

/// Default for [`Limits::max_head_bytes`]: 16 KiB for the request line and all
/// header fields together, Node.js's default maximum header size, which the
/// web's cookies and tokens have long been built to fit.
pub const DEFAULT_MAX_HEAD_BYTES: usize = 16 * 1024;

/// Default for [`Limits::max_headers`]: 100 fields, Apache's `LimitRequestFields`
/// and hyper's default; real clients send 5 to 30.
pub const DEFAULT_MAX_HEADERS: usize = 100;

/// Hard ceiling for [`Limits::max_headers`]: the parser's header slots live on
/// the stack (32 bytes each), so this bounds that frame at 8 KiB.
pub const MAX_HEADERS_CEILING: usize = 256;

/// Default for [`Limits::max_body_bytes`]: 1 MiB, nginx's
/// `client_max_body_size`. Request bodies are buffered whole before the
/// handler runs (unless it streams them, see [`Handler::streams_body`](crate::Handler::streams_body)),
/// so this is also the most memory one request can hold.
pub const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;

/// Default for [`Limits::max_streamed_body_bytes`]: no limit. A streamed body never sits in
/// memory (the connection reads only as fast as the handler takes it), so its size is the
/// handler's business, as with hyper; set a bound to have larger bodies refused with 413.
pub const DEFAULT_MAX_STREAMED_BODY_BYTES: u64 = u64::MAX;

/// Bytes of one chunk-size line's extensions (`;name=value`) accepted before
/// answering 400: nothing uses extensions, and an unbounded line would let a
/// client stream bytes that count against no other limit.
pub const MAX_CHUNK_EXTENSION_BYTES: usize = 1024;

/// Bytes of chunked trailer fields accepted (and discarded) before answering
/// 431: trailers are header fields, so they get a header-sized budget.
pub const MAX_TRAILER_BYTES: usize = 8 * 1024;

/// Most bytes a lingering close discards before giving up and closing
/// anyway: enough to swallow the rest of a typical rejected upload's window.
pub const LINGER_MAX_BYTES: usize = 256 * 1024;

/// Default for [`Timeouts::header_read`]: 10 s from the first byte of a request
/// (or from accept, for a connection's first request) to the end of its head.
/// Real clients send a head in one packet; this only stops slowloris-style
/// clients from holding a connection with a trickle of bytes.
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// Default for [`Timeouts::body_read`]: 30 s from the end of the head to the end
/// of the body, i.e. a 1 MiB body at no less than ~35 KB/s.
pub const DEFAULT_BODY_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// Default for [`Timeouts::idle`]: 60 s of keep-alive silence between
/// requests before the server closes the connection (nginx uses 75 s, Node
/// 5 s); idle connections cost no buffers here, so this can be generous.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// Default for [`Timeouts::write`]: 30 s without the client accepting any of a
/// pending response before the connection is dropped, so a client that never
/// reads cannot pin a response buffer forever.
pub const DEFAULT_WRITE_TIMEOUT: Duration = Duration::from_secs(30);

/// Default for [`Timeouts::linger`]: 2 s of discarding input after an error
/// answer, long enough for the answer to reach a client on a real network.
pub const DEFAULT_LINGER_TIMEOUT: Duration = Duration::from_secs(2);

/// Size limits on requests. See the [module docs](self) for the answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Longest request line (method, target, version and CRLF) -> 414.
    pub max_request_line_bytes: usize,
    /// Longest head (request line plus header fields plus the blank line) -> 431.
    pub max_head_bytes: usize,
    /// Most header fields -> 431. Capped at [`MAX_HEADERS_CEILING`].
    pub max_headers: usize,
    /// Longest request body buffered for the handler, after chunked decoding -> 413.
    pub max_body_bytes: usize,
    /// Longest body streamed to a handler that asked for it -> the reader's 413 error.
    pub max_streamed_body_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_request_line_bytes: DEFAULT_MAX_REQUEST_LINE_BYTES,
            max_head_bytes: DEFAULT_MAX_HEAD_BYTES,
            max_headers: DEFAULT_MAX_HEADERS,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            max_streamed_body_bytes: DEFAULT_MAX_STREAMED_BODY_BYTES,
        }
    }
}

impl Limits {
    /// The header-count limit actually applied (at most [`MAX_HEADERS_CEILING`]).
    pub(crate) fn header_slots(&self) -> usize {
        self.max_headers.min(MAX_HEADERS_CEILING)
    }
}

/// Time limits on clients. See the [module docs](self) for the answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timeouts {
    /// From accept or the first byte of a request to the end of its head -> 408.
    pub header_read: Duration,
    /// From the end of the head to the end of the body -> 408.
    pub body_read: Duration,
    /// Keep-alive silence between requests -> close.
    pub idle: Duration,
    /// A pending response not accepted by the client -> close.
    pub write: Duration,
    /// Discarding input after an error answer, before the final close.
    pub linger: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            header_read: DEFAULT_HEADER_READ_TIMEOUT,
            body_read: DEFAULT_BODY_READ_TIMEOUT,
            idle: DEFAULT_IDLE_TIMEOUT,
            write: DEFAULT_WRITE_TIMEOUT,
            linger: DEFAULT_LINGER_TIMEOUT,
        }
    }
}
