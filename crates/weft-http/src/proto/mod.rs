//! Sans-I/O HTTP/1.1: the server's request decoder and response encoder, for
//! drivers other than the built-in connection task.
//!
//! The built-in server ([`serve`](crate::serve), [`Server`](crate::Server))
//! runs these from one task per connection. Another driver feeds bytes in
//! and takes bytes out: `weft serve --model green` (a green thread per
//! connection, blocking-style reads and writes), a test harness, a server on
//! another transport. It gets the same parser, [limits](crate::limits),
//! framing rules (`Content-Length` and chunked bodies, `100-continue`,
//! keep-alive, HTTP/1.0) and response encoding as the built-in server, so the
//! two cannot drift apart. Timeouts, reading and writing are the driver's.
//!
//! Request bodies come decoded with their request, or, for handlers that
//! stream them, through [`RequestDecoder::decode_streaming`],
//! [`RequestDecoder::decode_body`] and a [`BodyFeed`] that the driver fills
//! as the handler's reader asks.
//!
//! ```
//! use weft_http::proto::{encode_response, Answering, Decoded, Encoded, RequestDecoder};
//! use weft_http::{Limits, Response};
//!
//! let mut decoder = RequestDecoder::new(Limits::default());
//! let wire = b"GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n";
//! let mut at = 0;
//! let mut out = Vec::new();
//! loop {
//!     let (used, decoded) = decoder.decode(&wire[at..]);
//!     at += used;
//!     match decoded.expect("valid requests") {
//!         Decoded::Request(request) => {
//!             let answering = Answering::of(&request);
//!             let response = Response::text(request.path().to_owned());
//!             let encoded = encode_response(&mut out, response, answering, false);
//!             assert!(matches!(encoded, Encoded::Complete { keep_alive: true }));
//!         }
//!         Decoded::Continue => {} // would send weft_http::proto::CONTINUE
//!         Decoded::NeedMore => break, // read more, then decode again
//!     }
//! }
//! let text = String::from_utf8(out).unwrap();
//! assert!(text.starts_with("HTTP/1.1 200 OK\r\n") && text.ends_with("/b"));
//! ```

use std::net::SocketAddr;

use std::sync::Arc;
use std::task::Waker;

mod body;
pub(crate) mod date;
pub(crate) mod decode;
pub(crate) mod encode;
mod head;
pub mod scan;

use crate::request_body::{Demand, Inflow};
use crate::{BodyStream, HttpError, Limits, Request, Response, StatusCode};
use decode::DecodeState;
use encode::Rest;

pub use encode::Answering;

/// The interim response to send when [`Decoded::Continue`] comes out.
pub const CONTINUE: &[u8] = encode::CONTINUE;

/// The end of a chunked body (the last, empty chunk, no trailers).
pub const LAST_CHUNK: &[u8] = encode::LAST_CHUNK;

/// Streamed body bytes a driver gathers before it writes them (64 KiB: a few
/// socket-buffer's worth, so a large body goes out in few syscalls while a
/// slow stream is not held back long). Every driver, the built-in server
/// included, batches by this, so each makes the same writes for the same body.
pub const STREAM_FLUSH_BYTES: usize = 64 * 1024;

/// What one [`RequestDecoder::decode`] call found.
#[derive(Debug)]
pub enum Decoded {
    /// The request so far is incomplete: read more, then call again with the
    /// unconsumed bytes followed by the new ones.
    NeedMore,
    /// The client waits for `100 Continue` ([`CONTINUE`]) before sending the
    /// body it announced; send it, then keep decoding.
    Continue,
    /// A complete request, its body decoded.
    Request(Request),
}

/// Incremental HTTP/1.1 request decoder for one connection: bytes in,
/// complete requests out, in order.
///
/// A request head is consumed only once it is complete (an incomplete head
/// consumes nothing: keep the bytes and call again with more); a body is
/// consumed as it is decoded. After an error the connection must be answered
/// ([`encode_error`]) and closed; the decoder is not used again.
#[derive(Debug)]
pub struct RequestDecoder {
    inner: DecodeState,
    limits: Limits,
}

impl RequestDecoder {
    /// A decoder enforcing `limits`.
    pub fn new(limits: Limits) -> RequestDecoder {
        RequestDecoder {
            inner: DecodeState::new(),
            limits,
        }
    }

    /// A decoder for the client at `remote` (its requests report it as
    /// [`Request::remote_addr`]).
    pub fn for_client(remote: SocketAddr, limits: Limits) -> RequestDecoder {
        RequestDecoder {
            inner: DecodeState::for_client(remote),
            limits,
        }
    }

    /// Decodes from the start of `input`: how many bytes were consumed (drop
    /// them) and what was found, or the refusal to answer before closing.
    pub fn decode(&mut self, input: &[u8]) -> (usize, Result<Decoded, HttpError>) {
        self.inner.decode(input, &self.limits)
    }

    /// [`decode`](Self::decode), asking `stream` at the end of each head with a
    /// body whether to stream that body (a handler's
    /// [`Handler::streams_body`](crate::Handler::streams_body)). A streamed
    /// request comes out at once, without its body: attach a [`BodyFeed`] to
    /// it and feed the body with [`decode_body`](Self::decode_body) while
    /// [`streaming_body`](Self::streaming_body) holds; `100 Continue`, if
    /// [`expects_continue`](Self::expects_continue), is then the driver's to
    /// send, when the reader first asks.
    ///
    /// ```
    /// use std::task::{Context, Poll, Waker};
    /// use weft_http::proto::{BodyFeed, Decoded, RequestDecoder};
    /// use weft_http::Limits;
    ///
    /// let mut decoder = RequestDecoder::new(Limits::default());
    /// let wire = b"POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhel";
    /// let (used, decoded) = decoder.decode_streaming(wire, &|_req| true);
    /// let Ok(Decoded::Request(mut request)) = decoded else { panic!("a request") };
    /// assert!(decoder.streaming_body());
    /// let feed = BodyFeed::attach(&mut request);
    /// let mut body = request.body_stream();
    ///
    /// // The reader asks; the driver feeds what it has read.
    /// let mut cx = Context::from_waker(Waker::noop());
    /// assert!(body.poll_chunk(&mut cx).is_pending());
    /// assert!(feed.wants_more(cx.waker()));
    /// let mut bytes = Vec::new();
    /// let (fed, ended) = decoder.decode_body(&wire[used..], &mut bytes).unwrap();
    /// assert_eq!((fed, ended), (3, false));
    /// feed.feed(bytes, ended);
    /// assert!(matches!(body.poll_chunk(&mut cx), Poll::Ready(Some(Ok(b))) if b == b"hel"));
    ///
    /// // The rest arrives: the body ends, and so does the stream.
    /// assert!(body.poll_chunk(&mut cx).is_pending());
    /// let mut bytes = Vec::new();
    /// assert_eq!(decoder.decode_body(b"lo", &mut bytes).unwrap(), (2, true));
    /// feed.feed(bytes, true);
    /// assert!(matches!(body.poll_chunk(&mut cx), Poll::Ready(Some(Ok(b))) if b == b"lo"));
    /// assert!(matches!(body.poll_chunk(&mut cx), Poll::Ready(None)));
    /// assert!(feed.ended() && !decoder.streaming_body());
    /// ```
    pub fn decode_streaming<S>(
        &mut self,
        input: &[u8],
        stream: &S,
    ) -> (usize, Result<Decoded, HttpError>)
    where
        S: Fn(&Request) -> bool,
    {
        self.inner.decode_with(input, &self.limits, stream)
    }

    /// True while the body of the last request handed out is streamed.
    pub fn streaming_body(&self) -> bool {
        self.inner.streaming()
    }

    /// Whether the client of the streamed body waits for `100 Continue`.
    pub fn expects_continue(&self) -> bool {
        self.inner.streamed_expects_continue()
    }

    /// Decodes streamed body bytes from `input` into `out`: the bytes consumed
    /// and whether the body ended (input after it is left alone). An error
    /// (malformed chunked framing, over
    /// [`Limits::max_streamed_body_bytes`]) ends the body; hand it to the
    /// reader ([`BodyFeed::fail`]) and close after the response.
    pub fn decode_body(
        &mut self,
        input: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(usize, bool), HttpError> {
        self.inner.decode_streamed(input, out)
    }

    /// Whether a request body is being decoded (its head was accepted): for
    /// choosing between the header-read and body-read timeouts.
    pub fn in_body(&self) -> bool {
        self.inner.phase() == decode::Phase::Body
    }

    /// The limits this decoder enforces.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }
}

/// The answer to a request whose head or buffered body did not arrive within
/// its [`Timeouts`](crate::Timeouts) limit
/// ([`header_read`](crate::Timeouts::header_read),
/// [`body_read`](crate::Timeouts::body_read)); close after writing it.
pub const REQUEST_NOT_RECEIVED: HttpError =
    HttpError::new(StatusCode::REQUEST_TIMEOUT, "request not received in time");

/// A streamed body's reader gets this when the client stalls longer than
/// [`Timeouts::body_read`](crate::Timeouts::body_read) between two reads.
pub const BODY_TIMED_OUT: HttpError = HttpError::new(
    StatusCode::REQUEST_TIMEOUT,
    "request body not received in time",
);

/// A streamed body's reader gets this when the client closes before the end.
pub const BODY_CUT_SHORT: HttpError = HttpError::new(
    StatusCode::BAD_REQUEST,
    "the client closed the connection before the end of the body",
);

/// A streamed body's reader (if it outlives the handler) gets this when the
/// response went out before the body ended; the connection then closes.
pub const BODY_NOT_READ: HttpError = HttpError::new(
    StatusCode::BAD_REQUEST,
    "the response was sent before the request body was read",
);

/// The driver's end of a streamed request body, whose other end is the
/// handler's [`RequestBody`](crate::RequestBody). Read the socket and feed
/// only when [`wants_more`](BodyFeed::wants_more) says the reader waits, so
/// that a body of any size is held one read at a time and a handler that
/// does not read holds the client back; answer the request with
/// `Connection: close` if the body had not [`ended`](BodyFeed::ended).
#[derive(Debug)]
pub struct BodyFeed(Arc<Inflow>);

impl BodyFeed {
    /// Attaches a feed to `request`, whose body is streamed
    /// ([`RequestDecoder::streaming_body`]).
    pub fn attach(request: &mut Request) -> BodyFeed {
        BodyFeed(request.attach_inflow())
    }

    /// True if the reader took everything and waits for more; otherwise
    /// `waker` is woken when it asks.
    pub fn wants_more(&self, waker: &Waker) -> bool {
        Inflow::demand(&self.0, waker) == Demand::Read
    }

    /// Hands decoded body bytes to the reader; `end` if they were the last.
    pub fn feed(&self, mut bytes: Vec<u8>, end: bool) {
        self.0.feed(&mut bytes, end);
    }

    /// Decodes streamed body bytes from the start of `input` with `decoder`
    /// ([`RequestDecoder::decode_body`]) and feeds them; returns how many
    /// bytes were consumed (drop them). A malformed body fails the reader and
    /// consumes all of `input`: answer, then close.
    pub fn feed_from(&self, decoder: &mut RequestDecoder, input: &[u8]) -> usize {
        feed_streamed(&self.0, &mut decoder.inner, input).0
    }

    /// Ends the body with an error for the reader.
    pub fn fail(&self, error: HttpError) {
        self.0.fail(error);
    }

    /// True once the last byte was fed.
    pub fn ended(&self) -> bool {
        self.0.ended()
    }
}

/// Decodes streamed body bytes from `input` with `decoder` and hands them to
/// the reader behind `inflow`: the one decode-and-feed step of every driver.
/// Returns the input consumed (all of it after a malformed body, which fails
/// the reader: the connection closes after the response) and whether the
/// reader got anything (bytes or the end).
pub(crate) fn feed_streamed(
    inflow: &Inflow,
    decoder: &mut DecodeState,
    input: &[u8],
) -> (usize, bool) {
    let mut bytes = Vec::new();
    match decoder.decode_streamed(input, &mut bytes) {
        Ok((used, end)) => {
            let delivered = !bytes.is_empty() || end;
            if delivered {
                inflow.feed(&mut bytes, end);
            }
            (used, delivered)
        }
        Err(error) => {
            inflow.fail(error);
            (input.len(), false)
        }
    }
}

/// How a response continues after [`encode_response`].
pub enum Encoded {
    /// The whole response is in the output.
    Complete {
        /// The connection may stay open for the next request.
        keep_alive: bool,
    },
    /// The head is in the output; the body comes from `body`. Encode each
    /// chunk with [`encode_chunk`] and end with [`LAST_CHUNK`] if `chunked`;
    /// otherwise (an HTTP/1.0 client) write the chunks as they are and
    /// close the connection to end the body.
    Streaming {
        /// The body's chunks.
        body: BodyStream,
        /// Chunked framing (HTTP/1.1); if false the body ends at close.
        chunked: bool,
        /// The connection may stay open after the body.
        keep_alive: bool,
    },
}

impl std::fmt::Debug for Encoded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Encoded::Complete { keep_alive } => f
                .debug_struct("Complete")
                .field("keep_alive", keep_alive)
                .finish(),
            Encoded::Streaming {
                chunked,
                keep_alive,
                ..
            } => f
                .debug_struct("Streaming")
                .field("chunked", chunked)
                .field("keep_alive", keep_alive)
                .finish_non_exhaustive(),
        }
    }
}

/// Appends `response`, answering `answering`, to `out`: status line,
/// `Server`, `Date`, the handler's fields, framing, and the body if it is
/// fixed. `close` forces `Connection: close` (a draining server, say).
#[inline]
pub fn encode_response(
    out: &mut Vec<u8>,
    mut response: Response,
    answering: Answering,
    close: bool,
) -> Encoded {
    let stamp = date::stamp(weft::time::now());
    // In place: the response is not moved again (see `Response::take_parts`).
    match encode::encode_in_place(out, &mut response, answering, &stamp, close) {
        (Rest::Done, keep_alive) => Encoded::Complete { keep_alive },
        (Rest::Stream { body, chunked }, keep_alive) => Encoded::Streaming {
            body,
            chunked,
            keep_alive,
        },
    }
}

/// Appends the answer to a refused request (`error`'s status, its reason as
/// the body, `Connection: close`). Close the connection after writing it.
pub fn encode_error(out: &mut Vec<u8>, error: HttpError) {
    let stamp = date::stamp(weft::time::now());
    encode::encode_error(out, error, &stamp);
}

/// The next chunk of a streamed body ([`Encoded::Streaming`]), `None` at
/// its end.
///
/// # Cancel safety
///
/// As the stream's `poll_next`: the response bodies weft-http builds keep their place, so a
/// dropped call loses no chunk.
pub async fn next_chunk(body: &mut BodyStream) -> Option<std::io::Result<Vec<u8>>> {
    std::future::poll_fn(|cx| futures_core::Stream::poll_next(body.as_mut(), cx)).await
}

/// Appends one chunk of a chunked body; empty data appends nothing (an
/// empty chunk would end the body).
pub fn encode_chunk(out: &mut Vec<u8>, data: &[u8]) {
    encode::encode_chunk(out, data);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::StatusCode;

    #[test]
    fn requests_bodies_and_refusals_come_out_as_the_server_sees_them() {
        let mut decoder = RequestDecoder::new(Limits {
            max_body_bytes: 8,
            ..Limits::default()
        });
        let wire = b"POST /p HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n\
3\r\nabc\r\n0\r\n\r\nPUT /u HTTP/1.1\r\nHost: x\r\nContent-Length: 9\r\n\r\n";
        let (used, first) = decoder.decode(wire);
        let Ok(Decoded::Request(request)) = first else {
            panic!("{first:?}")
        };
        assert_eq!((request.path(), request.body()), ("/p", &b"abc"[..]));
        assert!(!decoder.in_body());
        let (_, second) = decoder.decode(&wire[used..]);
        let error = second.expect_err("body over the limit");
        assert_eq!(error.status(), StatusCode::PAYLOAD_TOO_LARGE);
        let mut out = Vec::new();
        encode_error(&mut out, error);
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with("HTTP/1.1 413 "), "{text}");
        assert!(text.contains("Connection: close\r\n"), "{text}");
    }

    #[test]
    fn continue_then_body_and_a_head_answer() {
        let mut decoder = RequestDecoder::new(Limits::default());
        let head =
            b"PUT /u HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n";
        let (used, found) = decoder.decode(head);
        assert_eq!(used, head.len());
        assert!(matches!(found, Ok(Decoded::Continue)));
        assert!(decoder.in_body());
        let (_, found) = decoder.decode(b"ok");
        let Ok(Decoded::Request(request)) = found else {
            panic!("{found:?}")
        };
        assert_eq!(request.body(), b"ok");

        let (_, found) = decoder.decode(b"HEAD / HTTP/1.0\r\n\r\n");
        let Ok(Decoded::Request(head_request)) = found else {
            panic!("{found:?}")
        };
        let mut out = Vec::new();
        let encoded = encode_response(
            &mut out,
            Response::text("body"),
            Answering::of(&head_request),
            false,
        );
        assert!(matches!(encoded, Encoded::Complete { keep_alive: false }));
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("Content-Length: 4\r\n"), "{text}");
        assert!(text.ends_with("\r\n\r\n"), "HEAD: no body: {text}");
    }
}
