//! Response encoding: a [`Response`] into HTTP/1.1 bytes appended to an
//! output buffer.
//!
//! The connection encodes every response of one read batch into the same
//! buffer and writes it once. Encoding is a handful of copies: pre-rendered
//! status line, `Server`, the per-second cached `Date`, content type, extra
//! fields, the framing field and the body. No formatting machinery runs.
//!
//! Framing is decided here, never by the handler:
//! - fixed bodies get `Content-Length` (also on `HEAD`, where the body is
//!   omitted; never on 1xx/204, RFC 9112 §6.3);
//! - streamed bodies get `Transfer-Encoding: chunked` for HTTP/1.1 clients,
//!   and for HTTP/1.0 clients (which do not know chunked) the body is
//!   delimited by closing the connection;
//! - `Connection: close` is sent whenever the connection will close after
//!   this response; `Connection: keep-alive` answers an HTTP/1.0 client that
//!   asked for it.

use std::borrow::Cow;

use super::date::{Stamp, SERVER_NAME};
use crate::response::{BodyKind, BodyStream, ResponseHead};
use crate::{HttpError, Method, Response, StatusCode, Version};

/// The interim response sent when a client expects `100-continue`.
pub(crate) const CONTINUE: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n";

/// The last chunk of a chunked body (no trailers).
pub(crate) const LAST_CHUNK: &[u8] = b"0\r\n\r\n";

/// What a response needs to know about the request it answers: its version
/// (HTTP/1.0 clients get no chunked framing), whether it was `HEAD` (no
/// body), and whether it allows the connection to stay open.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Answering {
    pub(crate) version: Version,
    /// `HEAD`: headers only.
    pub(crate) head: bool,
    /// The request allows the connection to stay open.
    pub(crate) keep_alive: bool,
}

impl Answering {
    /// The answering of `request`.
    pub fn of(request: &crate::Request) -> Answering {
        Answering {
            version: request.version(),
            head: request.method() == Method::Head,
            keep_alive: request.keep_alive(),
        }
    }

    /// The answering for an error answered before (or instead of) a request:
    /// always closes.
    pub(crate) fn failed() -> Answering {
        Answering {
            version: Version::Http11,
            head: false,
            keep_alive: false,
        }
    }
}

/// How the body continues after [`encode`] returned.
pub(crate) enum Rest {
    /// The whole response is in the buffer.
    Done,
    /// The head is in the buffer; the body comes from this stream, with
    /// chunked framing if `chunked`, else delimited by closing.
    Stream { body: BodyStream, chunked: bool },
}

/// Appends `response` (answering `answering`) to `out`. `close` forces
/// `Connection: close` (e.g. while the server drains). Returns how the body
/// continues and whether the connection stays open afterwards.
pub(crate) fn encode(
    out: &mut Vec<u8>,
    mut response: Response,
    answering: Answering,
    stamp: &Stamp,
    close: bool,
) -> (Rest, bool) {
    encode_in_place(out, &mut response, answering, stamp, close)
}

/// [`encode`] from a response left where it was written (it is emptied).
pub(crate) fn encode_in_place(
    out: &mut Vec<u8>,
    response: &mut Response,
    answering: Answering,
    stamp: &Stamp,
    close: bool,
) -> (Rest, bool) {
    let (head, body) = response.take_parts();
    let ResponseHead {
        status,
        content_type,
        headers,
        close: handler_close,
    } = head;
    let mut keep_alive = answering.keep_alive && !handler_close && !close;
    let with_body = status.allows_body();

    let body = body.into_kind();

    // The common shape (no extra field, a static or no content type, a fixed
    // body): the head up to the length digits comes pre-rendered.
    let static_type = match &content_type {
        None => Some(None),
        Some(Cow::Borrowed(value)) => Some(Some(*value)),
        Some(Cow::Owned(_)) => None,
    };
    let common = headers.is_empty() && with_body && !matches!(body, BodyKind::Stream(_));
    if let (true, Some(content_type)) = (common, static_type) {
        // Small static bodies on keep-alive HTTP/1.1 (hello-world, health checks, canned
        // answers): the whole response comes pre-rendered, one copy.
        if let BodyKind::Static(bytes) = body {
            let plain_end = keep_alive && answering.version == Version::Http11 && !answering.head;
            if plain_end && bytes.len() <= prefix::WHOLE_BODY_MAX {
                prefix::append(out, status, content_type, Some(bytes), stamp);
                return (Rest::Done, true);
            }
        }
    }

    // One reservation for the whole head (and a fixed body) so the appends
    // below never reallocate; the bound is generous, not exact.
    let fixed_len = fixed_bytes(&body).len();
    out.reserve(HEAD_RESERVE + content_type.as_ref().map_or(0, |c| c.len()) + fixed_len);

    if let (true, Some(content_type)) = (common, static_type) {
        prefix::append(out, status, content_type, None, stamp);
        let bytes = fixed_bytes(&body);
        put_decimal(out, bytes.len() as u64);
        out.extend_from_slice(b"\r\n");
        end_head(out, keep_alive, answering.version);
        if !answering.head {
            out.extend_from_slice(bytes);
        }
        return (Rest::Done, keep_alive);
    }

    put_status_line(out, status);
    if headers.is_empty() {
        out.extend_from_slice(&stamp.fields);
    } else {
        let (mut server, mut dated) = (true, true);
        for (name, _) in &headers {
            server &= !name.eq_ignore_ascii_case("server");
            dated &= !name.eq_ignore_ascii_case("date");
        }
        if server {
            out.extend_from_slice(b"Server: ");
            out.extend_from_slice(SERVER_NAME.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        if dated {
            out.extend_from_slice(b"Date: ");
            out.extend_from_slice(&stamp.date);
            out.extend_from_slice(b"\r\n");
        }
    }
    if let Some(content_type) = &content_type {
        put_field(out, "Content-Type", content_type);
    }
    for (name, value) in &headers {
        put_field(out, name, value);
    }

    match body {
        BodyKind::Stream(stream) => {
            if with_body && answering.version == Version::Http11 {
                out.extend_from_slice(b"Transfer-Encoding: chunked\r\n");
            }
            let rest = if with_body && !answering.head {
                let chunked = answering.version == Version::Http11;
                keep_alive &= chunked;
                Rest::Stream {
                    body: stream,
                    chunked,
                }
            } else {
                Rest::Done
            };
            end_head(out, keep_alive, answering.version);
            (rest, keep_alive)
        }
        fixed => {
            let bytes = fixed_bytes(&fixed);
            if with_body {
                out.extend_from_slice(b"Content-Length: ");
                put_decimal(out, bytes.len() as u64);
                out.extend_from_slice(b"\r\n");
            }
            end_head(out, keep_alive, answering.version);
            if with_body && !answering.head {
                out.extend_from_slice(bytes);
            }
            (Rest::Done, keep_alive)
        }
    }
}

/// Room reserved for a head beyond its content type and body: the longest
/// status line, `Server`/`Date`, the framing and connection fields. Extra
/// header fields may make the buffer grow once more; that is all.
const HEAD_RESERVE: usize = 256;

/// The status line of `status` (with its reason phrase if it has one).
fn put_status_line(out: &mut Vec<u8>, status: StatusCode) {
    match status.status_line() {
        Some(line) => out.extend_from_slice(line.as_bytes()),
        None => {
            out.extend_from_slice(b"HTTP/1.1 ");
            put_decimal(out, u64::from(status.as_u16()));
            out.extend_from_slice(b" \r\n");
        }
    }
}

/// Pre-rendered response heads, per thread (per loop).
///
/// Most responses have a status, a static content type (or none), a fixed
/// body and no other field. Within one second their heads are identical up
/// to the length digits: status line, `Server`, `Date`, `Content-Type` and
/// `Content-Length: `. That prefix is rendered once and then copied whole,
/// one `memcpy` instead of a dozen small appends.
///
/// An entry is keyed by the status, the content type's address and length
/// (a `&'static str` never changes, so equal keys mean equal text; the same
/// text at another address just gets its own entry) and the date it was
/// rendered with. A handful of entries covers a server's response shapes;
/// when they are all taken, the oldest is replaced.
mod prefix {
    use std::cell::RefCell;

    use super::{put_decimal, put_field, put_status_line};
    use crate::proto::date::Stamp;
    use crate::StatusCode;

    /// Entries kept per thread.
    const ENTRIES: usize = 8;

    /// Largest static body rendered into a whole response. Above it the copy of the body
    /// dominates anyway, and a cached copy per thread would double its memory.
    pub(super) const WHOLE_BODY_MAX: usize = 1024;

    struct Entry {
        status: StatusCode,
        /// Address and length of the content type; (0, 0) for none.
        content_type: (usize, usize),
        /// Address and length of the static body rendered in; (0, 0) for a head prefix. A
        /// `&'static [u8]` never changes, so its address and length name its bytes.
        body: (usize, usize),
        /// The second ([`Stamp::secs`]) whose date `bytes` carry.
        secs: u64,
        bytes: Vec<u8>,
    }

    struct Cache {
        entries: Vec<Entry>,
        /// The entry replaced next once all are taken.
        next: usize,
    }

    thread_local! {
        static CACHE: RefCell<Cache> = const {
            RefCell::new(Cache { entries: Vec::new(), next: 0 })
        };
    }

    /// Appends the head of a fixed-body response of `status` and `content_type`, from its
    /// status line to `Content-Length: ` inclusive; or, given a static `body`, the whole
    /// response to a keep-alive HTTP/1.1 request (the length, the blank line and the body).
    pub(super) fn append(
        out: &mut Vec<u8>,
        status: StatusCode,
        content_type: Option<&'static str>,
        body: Option<&'static [u8]>,
        stamp: &Stamp,
    ) {
        let key = content_type.map_or((0, 0), |t| (t.as_ptr() as usize, t.len()));
        let body_key = body.map_or((0, 0), |b| (b.as_ptr() as usize, b.len()));
        let cached = CACHE.try_with(|cache| {
            let Ok(mut cache) = cache.try_borrow_mut() else {
                return false;
            };
            let at = match cache
                .entries
                .iter()
                .position(|e| e.status == status && e.content_type == key && e.body == body_key)
            {
                Some(at) => at,
                None => {
                    let entry = Entry {
                        status,
                        content_type: key,
                        body: body_key,
                        secs: 0,
                        bytes: Vec::new(),
                    };
                    if cache.entries.len() < ENTRIES {
                        cache.entries.push(entry);
                        cache.entries.len() - 1
                    } else {
                        let at = cache.next;
                        cache.next = (at + 1) % ENTRIES;
                        cache.entries[at] = entry;
                        at
                    }
                }
            };
            let entry = &mut cache.entries[at];
            if entry.bytes.is_empty() || entry.secs != stamp.secs {
                entry.bytes.clear();
                render(&mut entry.bytes, status, content_type, body, stamp);
                entry.secs = stamp.secs;
            }
            out.extend_from_slice(&entry.bytes);
            true
        });
        if cached != Ok(true) {
            // Thread teardown or re-entry: render in place.
            render(out, status, content_type, body, stamp);
        }
    }

    fn render(
        out: &mut Vec<u8>,
        status: StatusCode,
        content_type: Option<&str>,
        body: Option<&[u8]>,
        stamp: &Stamp,
    ) {
        put_status_line(out, status);
        out.extend_from_slice(&stamp.fields);
        if let Some(content_type) = content_type {
            put_field(out, "Content-Type", content_type);
        }
        out.extend_from_slice(b"Content-Length: ");
        if let Some(body) = body {
            put_decimal(out, body.len() as u64);
            out.extend_from_slice(b"\r\n\r\n");
            out.extend_from_slice(body);
        }
    }
}

/// The bytes of a fixed body (nothing for a stream).
fn fixed_bytes(kind: &BodyKind) -> &[u8] {
    match kind {
        BodyKind::Empty | BodyKind::Stream(_) => &[],
        BodyKind::Static(bytes) => bytes,
        BodyKind::Owned(bytes) => bytes,
    }
}

/// The connection field (if any) and the blank line that ends a head.
fn end_head(out: &mut Vec<u8>, keep_alive: bool, version: Version) {
    if !keep_alive {
        out.extend_from_slice(b"Connection: close\r\n");
    } else if version == Version::Http10 {
        out.extend_from_slice(b"Connection: keep-alive\r\n");
    }
    out.extend_from_slice(b"\r\n");
}

/// Appends the answer to a refused request: the error's status, its reason
/// as a plain-text body, `Connection: close`.
pub(crate) fn encode_error(out: &mut Vec<u8>, error: HttpError, stamp: &Stamp) {
    let response = Response::error(error.status(), error.reason());
    encode(out, response, Answering::failed(), stamp, true);
}

/// Appends one chunk of a chunked body (`len-in-hex CRLF data CRLF`).
/// Empty data is skipped: a zero-size chunk would end the body.
pub(crate) fn encode_chunk(out: &mut Vec<u8>, data: &[u8]) {
    if data.is_empty() {
        return;
    }
    let mut digits = [0u8; 16];
    let mut at = digits.len();
    let mut n = data.len();
    loop {
        at -= 1;
        digits[at] = b"0123456789abcdef"[n & 0xf];
        n >>= 4;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[at..]);
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(data);
    out.extend_from_slice(b"\r\n");
}

fn put_field(out: &mut Vec<u8>, name: &str, value: &str) {
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b": ");
    out.extend_from_slice(value.as_bytes());
    out.extend_from_slice(b"\r\n");
}

fn put_decimal(out: &mut Vec<u8>, n: u64) {
    // Short numbers (most lengths) as fixed-size appends, which compile to a
    // store or two; longer ones through a digit buffer.
    if n < 10 {
        out.push(b'0' + n as u8);
    } else if n < 100 {
        out.extend_from_slice(&[b'0' + (n / 10) as u8, b'0' + (n % 10) as u8]);
    } else if n < 1000 {
        out.extend_from_slice(&[
            b'0' + (n / 100) as u8,
            b'0' + (n / 10 % 10) as u8,
            b'0' + (n % 10) as u8,
        ]);
    } else {
        let mut digits = [0u8; 20];
        let mut at = digits.len();
        let mut n = n;
        loop {
            at -= 1;
            digits[at] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        out.extend_from_slice(&digits[at..]);
    }
}

/// `status` is sent with a reason phrase if it has one; for tests.
#[cfg(test)]
fn status_text(status: crate::StatusCode) -> String {
    format!("{} {}", status.as_u16(), status.reason())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Body, StatusCode};

    fn stamp() -> Stamp {
        Stamp::at(784_111_777) // Sun, 06 Nov 1994 08:49:37 GMT
    }

    fn ex(version: Version, head: bool, keep_alive: bool) -> Answering {
        Answering {
            version,
            head,
            keep_alive,
        }
    }

    fn encoded(response: Response, answering: Answering) -> (String, bool) {
        let mut out = Vec::new();
        let (rest, keep) = encode(&mut out, response, answering, &stamp(), false);
        assert!(matches!(rest, Rest::Done));
        (String::from_utf8(out).unwrap(), keep)
    }

    #[test]
    fn plaintext() {
        let (text, keep) = encoded(
            Response::text("Hello, World!"),
            ex(Version::Http11, false, true),
        );
        assert_eq!(
            text,
            "HTTP/1.1 200 OK\r\nServer: weft\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\n\
Content-Type: text/plain; charset=utf-8\r\nContent-Length: 13\r\n\r\nHello, World!"
        );
        assert!(keep);
    }

    #[test]
    fn head_keeps_length_drops_body() {
        let (text, _) = encoded(Response::text("Hello"), ex(Version::Http11, true, true));
        assert!(text.contains("Content-Length: 5\r\n"), "{text}");
        assert!(text.ends_with("\r\n\r\n"), "{text}");
    }

    #[test]
    fn connection_headers() {
        let (text, keep) = encoded(Response::text("a"), ex(Version::Http10, false, true));
        assert!(
            text.contains("Connection: keep-alive\r\n") && keep,
            "{text}"
        );
        let (text, keep) = encoded(Response::text("a"), ex(Version::Http10, false, false));
        assert!(text.contains("Connection: close\r\n") && !keep, "{text}");
        let (text, keep) = encoded(
            Response::text("a").close(),
            ex(Version::Http11, false, true),
        );
        assert!(text.contains("Connection: close\r\n") && !keep, "{text}");
        let (text, keep) = encoded(Response::text("a"), ex(Version::Http11, false, true));
        assert!(!text.contains("Connection") && keep, "{text}");
    }

    #[test]
    fn no_content_has_no_length() {
        let (text, _) = encoded(
            Response::new(StatusCode::NO_CONTENT),
            ex(Version::Http11, false, true),
        );
        assert!(!text.contains("Content-Length"), "{text}");
        let (text, _) = encoded(
            Response::new(StatusCode::from_u16(299).unwrap()).with_body("x"),
            ex(Version::Http11, false, true),
        );
        assert!(
            text.starts_with("HTTP/1.1 299 \r\n") && text.ends_with("Content-Length: 1\r\n\r\nx"),
            "{text}"
        );
    }

    #[test]
    fn user_headers_and_server_override() {
        let r = Response::new(StatusCode::OK)
            .with_header("Server", "custom")
            .unwrap()
            .with_header("X-A", "1")
            .unwrap();
        let (text, _) = encoded(r, ex(Version::Http11, false, true));
        assert!(
            text.contains("Server: custom\r\nDate: ") || text.contains("Server: custom\r\n"),
            "{text}"
        );
        assert!(!text.contains("Server: weft"), "{text}");
        assert!(text.contains("X-A: 1\r\n"), "{text}");
    }

    #[test]
    fn streams_are_chunked_for_11_and_close_delimited_for_10() {
        let stream = || Body::from_stream(EmptyStream);
        let mut out = Vec::new();
        let (rest, keep) = encode(
            &mut out,
            Response::new(StatusCode::OK).with_body(stream()),
            ex(Version::Http11, false, true),
            &stamp(),
            false,
        );
        let text = String::from_utf8(out).unwrap();
        assert!(matches!(rest, Rest::Stream { chunked: true, .. }) && keep);
        assert!(
            text.contains("Transfer-Encoding: chunked\r\n") && !text.contains("Content-Length"),
            "{text}"
        );

        let mut out = Vec::new();
        let (rest, keep) = encode(
            &mut out,
            Response::new(StatusCode::OK).with_body(stream()),
            ex(Version::Http10, false, true),
            &stamp(),
            false,
        );
        let text = String::from_utf8(out).unwrap();
        assert!(matches!(rest, Rest::Stream { chunked: false, .. }) && !keep);
        assert!(
            text.contains("Connection: close") && !text.contains("Transfer-Encoding"),
            "{text}"
        );

        // HEAD: head only, nothing streamed.
        let mut out = Vec::new();
        let (rest, _) = encode(
            &mut out,
            Response::new(StatusCode::OK).with_body(stream()),
            ex(Version::Http11, true, true),
            &stamp(),
            false,
        );
        assert!(matches!(rest, Rest::Done));
        let text = String::from_utf8(out).unwrap();
        assert!(!text.contains("Content-Length"), "{text}");
    }

    #[test]
    fn prerendered_heads_follow_the_date_status_and_content_type() {
        let expected = |status: &str, date: &str, content_type: &str, body: &str| {
            format!(
                "HTTP/1.1 {status}\r\nServer: weft\r\nDate: {date}\r\n{content_type}\
Content-Length: {}\r\n\r\n{body}",
                body.len()
            )
        };
        let first = Stamp::at(784_111_777); // Sun, 06 Nov 1994 08:49:37 GMT
        let second = Stamp::at(784_111_778);
        let answering = ex(Version::Http11, false, true);
        for stamp in [first, first, second, first] {
            let date = std::str::from_utf8(&stamp.date).unwrap();
            // More shapes than the cache has entries, twice over: every one
            // is rendered, evicted and rendered again, always right.
            for round in 0..2 {
                for (i, code) in (400..412).enumerate() {
                    let status = StatusCode::from_u16(code).unwrap();
                    let body = "x".repeat(i + round);
                    let mut out = Vec::new();
                    let response = Response::new(status)
                        .with_content_type(["a/b", "c/d"][i % 2])
                        .with_body(body.clone());
                    encode(&mut out, response, answering, &stamp, false);
                    let line = format!("{code} {}", status.reason());
                    let content_type = format!("Content-Type: {}\r\n", ["a/b", "c/d"][i % 2]);
                    assert_eq!(
                        String::from_utf8(out).unwrap(),
                        expected(&line, date, &content_type, &body)
                    );
                }
            }
            let mut out = Vec::new();
            let untyped = Response::new(StatusCode::OK).with_body("hi");
            encode(&mut out, untyped, answering, &stamp, false);
            assert_eq!(
                String::from_utf8(out).unwrap(),
                expected("200 OK", date, "", "hi")
            );
        }
    }

    #[test]
    fn whole_prerendered_responses_only_where_they_are_the_same_bytes() {
        static SMALL: &str = "Hello, World!";
        static OTHER: &str = "Hello, World?";
        let large: &'static str = "y".repeat(prefix::WHOLE_BODY_MAX + 1).leak();
        let first = Stamp::at(784_111_777); // Sun, 06 Nov 1994 08:49:37 GMT
        let second = Stamp::at(784_111_778);
        for stamp in [first, first, second, first] {
            let date = std::str::from_utf8(&stamp.date).unwrap();
            for body in [SMALL, OTHER, large, SMALL] {
                for (answering, close) in [
                    (ex(Version::Http11, false, true), false),
                    (ex(Version::Http11, true, true), false),
                    (ex(Version::Http10, false, true), false),
                    (ex(Version::Http11, false, false), false),
                    (ex(Version::Http11, false, true), true),
                ] {
                    let mut out = Vec::new();
                    let (_, keep) =
                        encode(&mut out, Response::text(body), answering, &stamp, close);
                    let connection = match (keep, answering.version) {
                        (false, _) => "Connection: close\r\n",
                        (true, Version::Http10) => "Connection: keep-alive\r\n",
                        (true, _) => "",
                    };
                    let sent = if answering.head { "" } else { body };
                    assert_eq!(
                        String::from_utf8(out).unwrap(),
                        format!(
                            "HTTP/1.1 200 OK\r\nServer: weft\r\nDate: {date}\r\n\
Content-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\n{connection}\r\n{sent}",
                            body.len()
                        ),
                        "{answering:?}, close {close}, body of {}",
                        body.len()
                    );
                }
            }
        }
    }

    #[test]
    fn decimals_at_every_width_boundary() {
        for n in [0, 9, 10, 99, 100, 999, 1000, 65_535, u64::MAX] {
            let mut out = b"x".to_vec();
            put_decimal(&mut out, n);
            assert_eq!(out, format!("x{n}").into_bytes());
        }
    }

    #[test]
    fn chunks() {
        let mut out = Vec::new();
        encode_chunk(&mut out, b"hello world, this is 26 b!");
        encode_chunk(&mut out, b"");
        out.extend_from_slice(LAST_CHUNK);
        assert_eq!(out, b"1a\r\nhello world, this is 26 b!\r\n0\r\n\r\n");
    }

    #[test]
    fn errors_close() {
        let mut out = Vec::new();
        encode_error(
            &mut out,
            HttpError::new(StatusCode::URI_TOO_LONG, "request line too long"),
            &stamp(),
        );
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.starts_with(&format!(
                "HTTP/1.1 {}\r\n",
                status_text(StatusCode::URI_TOO_LONG)
            )),
            "{text}"
        );
        assert!(text.contains("Connection: close\r\n"), "{text}");
        assert!(text.ends_with("\r\n\r\nrequest line too long\n"), "{text}");
    }

    struct EmptyStream;
    impl futures_core::Stream for EmptyStream {
        type Item = std::io::Result<Vec<u8>>;
        fn poll_next(
            self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<Option<Self::Item>> {
            std::task::Poll::Ready(None)
        }
    }
}
