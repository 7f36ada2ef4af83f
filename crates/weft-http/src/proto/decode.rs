//! The request decoder: a byte stream in, complete requests out, in order.
//!
//! States: **Head** (waiting for a complete head; nothing consumed until it
//! is whole, so the caller keeps the partial bytes) and **Body** (a head was
//! accepted and its body is being decoded into the request; each call
//! consumes what it decodes). A request is handed out only when its body is
//! complete. Between them, [`Decoded::Continue`] tells the caller to send
//! `100 Continue`: the client announced a body, asked to be told to send it,
//! and none of it has arrived yet.
//!
//! The decoder does no I/O and never blocks; the connection driver feeds it
//! whatever each read delivered. It stops at request boundaries, so one read
//! holding several pipelined requests yields them one call at a time.
//!
//! A third state, **Streamed**, serves handlers that read bodies as they
//! arrive: asked by the caller's `stream` predicate at the end of a head with
//! a body, the decoder hands the request out at once and then decodes body
//! bytes only when called with [`decode_streamed`](DecodeState::decode_streamed),
//! until the body ends. `100 Continue` is then the connection's call.
//!
//! After an error the decoder must not be used again: the connection answers
//! the error and closes.

use std::net::SocketAddr;

use super::body::BodyDecoder;
use super::head::{parse_head, Framing, Head, ERR_BODY_TOO_LARGE};
use super::Decoded;
use crate::{HttpError, Limits, Request};

/// Which part of a request the decoder is in, for choosing timeouts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Between requests or inside a head.
    Head,
    /// A head was accepted; its body is arriving.
    Body,
}

/// What [`DecodeState::decode_next`] found. Fieldless, so that the
/// result travels in registers; the request or the error waits in the
/// decoder ([`take_request`](DecodeState::take_request),
/// [`take_error`](DecodeState::take_error)).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Found {
    /// The request so far is incomplete; feed more bytes.
    NeedMore,
    /// Send `100 Continue`, then keep feeding bytes.
    Continue,
    /// A complete request: take it.
    Request,
    /// A request whose body is streamed: take it, then feed the body with
    /// [`decode_streamed`](DecodeState::decode_streamed).
    Streamed,
    /// The input is refused: take the error, answer it and close.
    Failed,
}

/// The state of one connection's request decoding, without its limits (the
/// built-in server passes its configuration's on each call, so that an idle
/// connection stays small); [`proto::RequestDecoder`](super::RequestDecoder)
/// is this with the limits it enforces.
///
/// Between requests it holds no request: the state of a request whose body
/// is arriving is boxed, so an idle connection carries a null pointer or
/// two and the client's address.
#[derive(Debug, Default)]
pub(crate) struct DecodeState {
    body: Option<Box<(Request, BodyDecoder)>>,
    /// The client's address, recorded in every request.
    remote: Option<SocketAddr>,
    /// The request found by the last call, until taken.
    ready: Option<Request>,
    /// The error found by the last call, until taken.
    error: Option<Box<HttpError>>,
    /// The body of the last request handed out, while it is being streamed.
    streamed: Option<Box<Streamed>>,
}

/// A body streamed to the handler.
#[derive(Debug)]
struct Streamed {
    body: BodyDecoder,
    /// The most decoded bytes accepted.
    max: u64,
    /// The client waits for `100 Continue` before it sends the body.
    expect_continue: bool,
}

impl DecodeState {
    pub(crate) fn new() -> DecodeState {
        DecodeState::default()
    }

    /// A decoder for the requests of the client at `remote`.
    pub(crate) fn for_client(remote: SocketAddr) -> DecodeState {
        DecodeState {
            remote: Some(remote),
            ..DecodeState::default()
        }
    }

    /// The phase of the request in progress.
    pub(crate) fn phase(&self) -> Phase {
        if self.body.is_some() || self.streamed.is_some() {
            Phase::Body
        } else {
            Phase::Head
        }
    }

    /// Decodes from `input`: returns how many bytes were consumed (the caller
    /// drops them) and what was found. In the Head phase an incomplete head
    /// consumes nothing: call again with the same bytes plus new ones.
    pub(crate) fn decode(
        &mut self,
        input: &[u8],
        limits: &Limits,
    ) -> (usize, Result<Decoded, HttpError>) {
        self.decode_with(input, limits, &|_: &Request| false)
    }

    /// [`decode`](Self::decode) with a `stream` predicate (see
    /// [`decode_next`](Self::decode_next)); a streamed request comes out as
    /// [`Decoded::Request`] at the end of its head.
    pub(crate) fn decode_with<S>(
        &mut self,
        input: &[u8],
        limits: &Limits,
        stream: &S,
    ) -> (usize, Result<Decoded, HttpError>)
    where
        S: Fn(&Request) -> bool + ?Sized,
    {
        let (used, found) = self.decode_next(input, limits, stream);
        let decoded = match found {
            Found::NeedMore => Ok(Decoded::NeedMore),
            Found::Continue => Ok(Decoded::Continue),
            Found::Request | Found::Streamed => Ok(Decoded::Request(self.take_request())),
            Found::Failed => Err(self.take_error()),
        };
        (used, decoded)
    }

    /// [`decode`](Self::decode) for the connection's hot loop: what was found
    /// comes back as a plain code, the request stays in the decoder. A
    /// request with a body for which `stream` says true is handed out at the
    /// end of its head; its body then comes from
    /// [`decode_streamed`](Self::decode_streamed). Not to be called while a
    /// body is streamed.
    ///
    /// Inlined into its caller, with the head parser, and returning nothing
    /// larger than two words: a request handed up through several returned
    /// values (or one large result merged from several paths) is copied at
    /// each level, and those copies of freshly written memory stall the CPU's
    /// store forwarding (they were a tenth of `weft serve`'s CPU time with
    /// pipelining). Bodies take the outlined path.
    #[inline(always)]
    pub(crate) fn decode_next<S>(
        &mut self,
        input: &[u8],
        limits: &Limits,
        stream: &S,
    ) -> (usize, Found)
    where
        S: Fn(&Request) -> bool + ?Sized,
    {
        debug_assert!(
            self.streamed.is_none(),
            "decode_next while a body is streamed"
        );
        if self.body.is_some() {
            return self.decode_body(input, limits);
        }
        if input.is_empty() {
            // The usual end of a batch: every request in the read was decoded.
            return (0, Found::NeedMore);
        }
        match parse_head(input, limits, self.remote) {
            Err(e) => self.fail(e),
            Ok(None) => (0, Found::NeedMore),
            Ok(Some(head)) if head.framing == Framing::Empty => {
                self.ready = Some(head.request);
                (head.len, Found::Request)
            }
            Ok(Some(head)) => self.start_body(head, input, limits, stream),
        }
    }

    /// True while the body of the last request handed out is being streamed.
    pub(crate) fn streaming(&self) -> bool {
        self.streamed.is_some()
    }

    /// Whether the client of the streamed body waits for `100 Continue`.
    pub(crate) fn streamed_expects_continue(&self) -> bool {
        self.streamed.as_ref().is_some_and(|s| s.expect_continue)
    }

    /// Decodes streamed body bytes from `input` into `out`; returns the bytes
    /// consumed and whether the body ended (input after it is untouched). An
    /// error ends the streaming too.
    pub(crate) fn decode_streamed(
        &mut self,
        input: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(usize, bool), HttpError> {
        let Some(streamed) = &mut self.streamed else {
            return Ok((0, true));
        };
        let max = usize::try_from(streamed.max).unwrap_or(usize::MAX);
        let result = streamed.body.decode(input, out, max);
        if !matches!(result, Ok((_, false))) {
            self.streamed = None;
        }
        result
    }

    /// The request the last call found.
    ///
    /// # Panics
    /// If the last call did not return [`Found::Request`] or [`Found::Streamed`].
    pub(crate) fn take_request(&mut self) -> Request {
        self.ready.take().expect("decode_next found a request")
    }

    /// The error the last call found.
    ///
    /// # Panics
    /// If the last call did not return [`Found::Failed`].
    pub(crate) fn take_error(&mut self) -> HttpError {
        *self.error.take().expect("decode_next found an error")
    }

    #[cold]
    fn fail(&mut self, error: HttpError) -> (usize, Found) {
        self.error = Some(Box::new(error));
        (0, Found::Failed)
    }

    /// A head with a body was accepted: stream the body, or decode what of it
    /// is in `input`.
    #[inline(never)]
    fn start_body<S>(
        &mut self,
        head: Head,
        input: &[u8],
        limits: &Limits,
        stream: &S,
    ) -> (usize, Found)
    where
        S: Fn(&Request) -> bool + ?Sized,
    {
        let body = match head.framing {
            Framing::Length(n) => BodyDecoder::length(n),
            Framing::Chunked => BodyDecoder::chunked(),
            // Not reached: `decode_next` hands bodiless requests out itself.
            Framing::Empty => BodyDecoder::length(0),
        };
        let streamed = stream(&head.request);
        let max = if streamed {
            limits.max_streamed_body_bytes
        } else {
            limits.max_body_bytes as u64
        };
        if matches!(head.framing, Framing::Length(n) if n > max) {
            return self.fail(ERR_BODY_TOO_LARGE);
        }
        if streamed {
            self.streamed = Some(Box::new(Streamed {
                body,
                max,
                expect_continue: head.expect_continue,
            }));
            self.ready = Some(head.request);
            return (head.len, Found::Streamed);
        }
        let mut request = head.request;
        let rest = &input[head.len..];
        if head.expect_continue && rest.is_empty() {
            self.body = Some(Box::new((request, body)));
            return (head.len, Found::Continue);
        }
        if let Framing::Length(n) = head.framing {
            // Small bodies fit the recycled buffer; reserve exactly for large ones.
            request
                .parts_mut()
                .buf
                .reserve(n.min(limits.max_body_bytes as u64) as usize);
        }
        self.body = Some(Box::new((request, body)));
        let (used, found) = self.decode_body(rest, limits);
        (head.len + used, found)
    }

    /// Decodes body bytes of the request in progress.
    #[inline(never)]
    fn decode_body(&mut self, input: &[u8], limits: &Limits) -> (usize, Found) {
        let Some(mut state) = self.body.take() else {
            return (0, Found::NeedMore);
        };
        let (request, body) = &mut *state;
        match body.decode(input, &mut request.parts_mut().buf, limits.max_body_bytes) {
            Err(e) => self.fail(e),
            Ok((used, true)) => {
                self.ready = Some(state.0);
                (used, Found::Request)
            }
            Ok((used, false)) => {
                self.body = Some(state);
                (used, Found::NeedMore)
            }
        }
    }
}

impl Request {
    /// Parses one complete request (head and, if framed, its body) from
    /// `raw`, with default [`Limits`](crate::Limits). For tests and tools that
    /// want a `Request` without a connection; bytes after the request are
    /// ignored.
    ///
    /// ```
    /// let req = weft_http::Request::from_bytes(b"GET /a?b=1 HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    /// assert_eq!(req.path(), "/a");
    /// assert_eq!(req.query_param("b"), Some("1"));
    /// ```
    pub fn from_bytes(raw: &[u8]) -> Result<Request, HttpError> {
        let mut decoder = DecodeState::new();
        let limits = Limits::default();
        let mut at = 0;
        loop {
            let (used, step) = decoder.decode(&raw[at..], &limits);
            at += used;
            match step? {
                Decoded::Request(req) => return Ok(req),
                Decoded::Continue => {}
                Decoded::NeedMore => return Err(HttpError::bad_request("incomplete request")),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (method, path, body) of a decoded request.
    type Summary = (String, String, Vec<u8>);

    /// Decodes every request in `wire`, fed `step` bytes at a time, like a
    /// connection would; returns (method, path, body) per request.
    fn decode_all(wire: &[u8], step: usize) -> Result<(Vec<Summary>, usize), HttpError> {
        let mut decoder = DecodeState::new();
        let mut pending = Vec::new();
        let mut out = Vec::new();
        let mut continues = 0;
        for piece in wire.chunks(step) {
            pending.extend_from_slice(piece);
            loop {
                let (used, result) = decoder.decode(&pending, &Limits::default());
                pending.drain(..used);
                match result? {
                    Decoded::NeedMore => break,
                    Decoded::Continue => continues += 1,
                    Decoded::Request(r) => out.push((
                        r.method_str().to_owned(),
                        r.path().to_owned(),
                        r.body().to_vec(),
                    )),
                }
            }
        }
        assert!(pending.is_empty(), "leftover bytes: {pending:?}");
        Ok((out, continues))
    }

    #[test]
    fn pipelined_requests_in_order_for_every_split() {
        let wire = b"GET /a HTTP/1.1\r\nHost: x\r\n\r\n\
POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello\
POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n\
GET /d HTTP/1.1\r\nHost: x\r\n\r\n";
        for step in [1, 2, 3, 7, 16, 64, wire.len()] {
            let (reqs, _) = decode_all(wire, step).unwrap();
            let summary: Vec<_> = reqs
                .iter()
                .map(|(m, p, b)| (m.as_str(), p.as_str(), b.as_slice()))
                .collect();
            assert_eq!(
                summary,
                [
                    ("GET", "/a", &b""[..]),
                    ("POST", "/b", b"hello"),
                    ("POST", "/c", b"hi"),
                    ("GET", "/d", b"")
                ],
                "step {step}"
            );
        }
    }

    #[test]
    fn continue_only_when_the_body_has_not_started() {
        let head =
            b"PUT /u HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n";
        let mut decoder = DecodeState::new();
        let (used, step) = decoder.decode(head, &Limits::default());
        assert_eq!(used, head.len());
        assert!(matches!(step, Ok(Decoded::Continue)));
        assert_eq!(decoder.phase(), Phase::Body);
        let (used, step) = decoder.decode(b"abc", &Limits::default());
        assert_eq!(used, 3);
        match step {
            Ok(Decoded::Request(r)) => assert_eq!(r.body(), b"abc"),
            other => panic!("{other:?}"),
        }
        assert_eq!(decoder.phase(), Phase::Head);

        // Body already sent with the head: no 100.
        let mut wire = head.to_vec();
        wire.extend_from_slice(b"abc");
        let (reqs, continues) = decode_all(&wire, wire.len()).unwrap();
        assert_eq!((reqs.len(), continues), (1, 0));
    }

    #[test]
    fn body_limit_is_413() {
        let limits = Limits {
            max_body_bytes: 4,
            ..Limits::default()
        };
        let mut decoder = DecodeState::new();
        let (_, step) = decoder.decode(
            b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n",
            &limits,
        );
        assert_eq!(step.unwrap_err().status().as_u16(), 413);
        let mut decoder = DecodeState::new();
        let (_, step) = decoder.decode(
            b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\n",
            &limits,
        );
        assert_eq!(step.unwrap_err().status().as_u16(), 413);
    }

    #[test]
    fn from_bytes_parses_a_body() {
        let r = Request::from_bytes(b"POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nok")
            .unwrap();
        assert_eq!(r.body(), b"ok");
        assert!(
            Request::from_bytes(b"POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nok")
                .is_err()
        );
    }
}
