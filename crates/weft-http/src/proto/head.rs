//! Request-head parsing: bytes in, a [`Request`] (without body) and its body
//! framing out, or the status that refuses it.
//!
//! weft's own tokenizer ([`super::scan`]) walks the head once, word at a
//! time, with no allocation and no field slots: each field goes straight to
//! the semantics below as it is found. This module adds what the grammar
//! leaves to the caller:
//!
//! - **Limits while partial.** A head still arriving is bounded: a request
//!   line longer than [`Limits::max_request_line_bytes`] is 414 before its
//!   end is seen, a head longer than [`Limits::max_head_bytes`] is 431.
//! - **Framing (RFC 9112 §6).** `Transfer-Encoding` must end in `chunked`
//!   (else 400), other codings are not decoded (501), `chunked` with
//!   `Content-Length` is refused (400, the request-smuggling shape), as is
//!   `Transfer-Encoding` in HTTP/1.0; `Content-Length` must be digits, and
//!   repeated values must agree.
//! - **Line endings.** Every line ends in CRLF: a bare LF (which httparse
//!   accepts) is 400, as is a bare CR.
//! - **Semantics.** `Host` exactly once in HTTP/1.1 (400), an absolute-form
//!   target's host equal to it (400), `Connection`
//!   tokens (`close`, `keep-alive`), `Expect: 100-continue` (other
//!   expectations are 417; HTTP/1.0 expectations are ignored, RFC 9110 §10.1.1).
//! - **Target forms.** origin (`/p?q`), absolute (`http://h/p?q`), asterisk
//!   (`*`) and authority (`CONNECT h:443`); anything else is 400.
//!
//! On success the head bytes are copied once into a recycled buffer owned by
//! the `Request` (see [`crate::request`]); fields are recorded as offsets.

use std::net::SocketAddr;

use super::scan::{scan_head, ScanError};
use crate::limits::Limits;
use crate::request::{storage, Span};
use crate::{HttpError, Method, Request, StatusCode, Version};

/// How the body of a request is delimited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Framing {
    /// No body.
    Empty,
    /// `Content-Length: n`, n > 0.
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
}

/// A complete, accepted request head.
#[derive(Debug)]
pub(crate) struct Head {
    pub(crate) request: Request,
    /// Bytes of input the head occupied (including the blank line).
    pub(crate) len: usize,
    pub(crate) framing: Framing,
    /// The client waits for `100 Continue` before sending the body.
    pub(crate) expect_continue: bool,
}

const ERR_TOO_MANY_HEADERS: HttpError = HttpError::new(
    StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
    "too many header fields",
);
const ERR_HEAD_TOO_LARGE: HttpError = HttpError::new(
    StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
    "request header block too large",
);
const ERR_LINE_TOO_LONG: HttpError =
    HttpError::new(StatusCode::URI_TOO_LONG, "request line too long");
pub(crate) const ERR_BODY_TOO_LARGE: HttpError = HttpError::new(
    StatusCode::PAYLOAD_TOO_LARGE,
    "request body exceeds the size limit",
);

/// Parses a request head from the start of `buf`; the request records
/// `remote` as the client's address.
///
/// `Ok(None)`: the head is incomplete and within limits; call again with more
/// bytes (the same prefix plus what arrived). `Err`: refuse the request with
/// the error's status and close.
///
/// Inlined into the decoder's hot path (see `DecodeState::decode_next`).
#[inline(always)]
pub(crate) fn parse_head(
    buf: &[u8],
    limits: &Limits,
    remote: Option<SocketAddr>,
) -> Result<Option<Head>, HttpError> {
    // The tokenizer sees only as much as the limits allow: the first `max_request_line_bytes`
    // while no line has ended in them, else the first `max_head_bytes`. So a refusal never
    // depends on how the input was split into reads: a bad byte past a limit is that limit's
    // answer (414, 431) whether it arrived in the same read or later.
    let line_limit = limits.max_request_line_bytes;
    let line_over = buf.len() > line_limit && !buf[..line_limit].contains(&b'\n');
    let window = if line_over {
        &buf[..line_limit]
    } else {
        &buf[..buf.len().min(limits.max_head_bytes)]
    };
    // Field semantics are gathered while scanning; their first refusal waits until the head
    // is complete and well-formed, so that a malformed or over-long head answers as such.
    let mut semantics = Semantics::default();
    let mut refused = None;
    let scanned = scan_head(window, limits.header_slots(), |name, value| {
        if refused.is_none() {
            if let Err(error) = semantics.observe(name, value) {
                refused = Some(error);
            }
        }
    });
    let scanned = match scanned {
        Ok(Some(scanned)) => scanned,
        Ok(None) => {
            return if line_over {
                // The request line alone is already over its limit.
                Err(ERR_LINE_TOO_LONG)
            } else if buf.len() > limits.max_head_bytes {
                Err(ERR_HEAD_TOO_LARGE)
            } else {
                Ok(None)
            };
        }
        Err(error) => return Err(scan_refusal(error, window)),
    };
    let head_len = scanned.len;
    let (method_at, method_end) = (scanned.method.start, scanned.method.end);
    let (target_at, target_end) = (scanned.target.start, scanned.target.end);
    // " HTTP/1.x\r\n" follows the target.
    if target_end + 11 - method_at > limits.max_request_line_bytes {
        return Err(ERR_LINE_TOO_LONG);
    }
    if head_len > limits.max_head_bytes {
        return Err(ERR_HEAD_TOO_LARGE);
    }
    if let Some(error) = refused {
        return Err(error);
    }
    let version = if scanned.minor_version == 0 {
        Version::Http10
    } else {
        Version::Http11
    };
    let method = Method::from_bytes(&buf[method_at..method_end]);
    let target = &buf[target_at..target_end];
    let (path, query) = split_target(method, target, target_at)?;
    let framing = semantics.framing(version)?;
    if let Some(after_scheme) = strip_scheme(target) {
        absolute_form_matches_host(after_scheme, semantics.host)?;
    }
    let keep_alive = match version {
        Version::Http11 => !semantics.close,
        Version::Http10 => semantics.keep_alive && !semantics.close,
    };
    if version == Version::Http11 && semantics.hosts != 1 {
        return Err(HttpError::bad_request(if semantics.hosts == 0 {
            "missing Host header"
        } else {
            "more than one Host header"
        }));
    }
    if semantics.unknown_expectation && version == Version::Http11 {
        return Err(HttpError::new(
            StatusCode::EXPECTATION_FAILED,
            "only the 100-continue expectation is supported",
        ));
    }

    // Written field by field into the recycled box, where the request stays
    // until it is dropped: nothing of it is copied again.
    let mut parts = storage::take();
    parts.buf.extend_from_slice(&buf[..head_len]);
    parts.method = method;
    parts.version = version;
    parts.keep_alive = keep_alive;
    parts.method_span = Span::new(method_at, method_end);
    parts.target = Span::new(target_at, target_end);
    parts.path = path;
    parts.query = query;
    parts.fields = Span::new(scanned.fields.start, scanned.fields.end);
    parts.body_start = head_len;
    parts.remote_addr = remote;
    let request = Request::from_parts(parts);
    Ok(Some(Head {
        request,
        len: head_len,
        framing,
        expect_continue: semantics.expect_continue
            && version == Version::Http11
            && framing != Framing::Empty,
    }))
}

/// The answer to a head the tokenizer refused.
#[cold]
fn scan_refusal(error: ScanError, window: &[u8]) -> HttpError {
    match error {
        ScanError::TooManyFields => ERR_TOO_MANY_HEADERS,
        ScanError::Version if names_other_http_version(window) => HttpError::new(
            StatusCode::HTTP_VERSION_NOT_SUPPORTED,
            "only HTTP/1.0 and HTTP/1.1 are supported",
        ),
        ScanError::FieldName => HttpError::bad_request("invalid header name"),
        ScanError::FieldValue => HttpError::bad_request("invalid header value"),
        ScanError::NewLine => HttpError::bad_request("invalid line ending"),
        // RFC 9112 §2.2 lets a recipient accept a bare LF; weft does not: a proxy in front
        // that splits lines differently would see other fields (or another request) than
        // weft does.
        ScanError::BareLf => {
            HttpError::bad_request("bare LF line ending in the head (CRLF required)")
        }
        ScanError::Method | ScanError::Target | ScanError::Version => {
            HttpError::bad_request("malformed request line")
        }
    }
}

/// An absolute-form target (`http://a/p`) whose authority is not the `Host` field's value is
/// refused: RFC 9112 §3.2.2 has the server use the target's host, so a proxy that routed by
/// `Host` and weft would disagree about where the request goes.
fn absolute_form_matches_host(after_scheme: &[u8], host: Option<&[u8]>) -> Result<(), HttpError> {
    let authority_len = after_scheme
        .iter()
        .position(|&b| b == b'/' || b == b'?')
        .unwrap_or(after_scheme.len());
    let authority = &after_scheme[..authority_len];
    match host {
        Some(host) if !trim(host).eq_ignore_ascii_case(authority) => Err(HttpError::bad_request(
            "the absolute-form target's host differs from the Host header",
        )),
        _ => Ok(()),
    }
}

/// Whether the first line carries an `HTTP/` version that is not 1.0/1.1
/// (505), as opposed to garbage (400).
///
/// Decided on the version token alone (what follows the second space of the request line),
/// so that the answer does not depend on how the line was split into reads: httparse stops at
/// the first byte that is not `HTTP/1.0` or `HTTP/1.1`, and the bytes up to it decide.
fn names_other_http_version(buf: &[u8]) -> bool {
    let start = buf
        .iter()
        .position(|&b| b != b'\r' && b != b'\n')
        .unwrap_or(buf.len());
    let line = &buf[start..];
    let line = &line[..line
        .iter()
        .position(|&b| b == b'\r' || b == b'\n')
        .unwrap_or(line.len())];
    let mut parts = line.splitn(3, |&b| b == b' ');
    let (Some(_method), Some(_target), Some(version)) = (parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    version.len() > 5 && version.starts_with(b"HTTP/") && version[5].is_ascii_digit()
}

/// Splits the target into path and query spans by its form. Inlined: its
/// result would otherwise travel through memory just after being written.
#[inline(always)]
fn split_target(
    method: Method,
    bytes: &[u8],
    at: usize,
) -> Result<(Span, Option<Span>), HttpError> {
    let path_from = if bytes.first() == Some(&b'/') {
        0
    } else if bytes == b"*" {
        return Ok((Span::new(at, at + 1), None));
    } else if method == Method::Connect {
        return Ok((Span::new(at, at + bytes.len()), None));
    } else if let Some(after_scheme) = strip_scheme(bytes) {
        let authority_from = bytes.len() - after_scheme.len();
        let authority_len = after_scheme
            .iter()
            .position(|&b| b == b'/' || b == b'?')
            .unwrap_or(after_scheme.len());
        if authority_len == 0 {
            return Err(HttpError::bad_request(
                "absolute request target without a host",
            ));
        }
        authority_from + authority_len
    } else {
        return Err(HttpError::bad_request("invalid request target"));
    };
    let rest = &bytes[path_from..];
    Ok(match rest.iter().position(|&b| b == b'?') {
        Some(q) => (
            Span::new(at + path_from, at + path_from + q),
            Some(Span::new(at + path_from + q + 1, at + bytes.len())),
        ),
        None => (Span::new(at + path_from, at + bytes.len()), None),
    })
}

/// The bytes after `http://` or `https://` (scheme case-insensitive).
fn strip_scheme(target: &[u8]) -> Option<&[u8]> {
    for scheme in [&b"http://"[..], &b"https://"[..]] {
        if target.len() >= scheme.len() && target[..scheme.len()].eq_ignore_ascii_case(scheme) {
            return Some(&target[scheme.len()..]);
        }
    }
    None
}

/// What the header fields say about framing and connection handling.
#[derive(Default)]
struct Semantics<'a> {
    /// The first `Host` field's value.
    host: Option<&'a [u8]>,
    content_length: Option<u64>,
    transfer_encoding: bool,
    chunked_count: u32,
    /// Last transfer coding seen was `chunked`.
    chunked_last: bool,
    other_coding: bool,
    close: bool,
    keep_alive: bool,
    expect_continue: bool,
    unknown_expectation: bool,
    hosts: u32,
}

impl<'a> Semantics<'a> {
    /// Records one header field. Dispatches on length first: most fields
    /// are none of these and cost one comparison.
    fn observe(&mut self, name: &[u8], value: &'a [u8]) -> Result<(), HttpError> {
        match name.len() {
            4 if is_field(name, b"host") => {
                self.hosts += 1;
                self.host.get_or_insert(value);
            }
            6 if is_field(name, b"expect") => {
                if trim(value).eq_ignore_ascii_case(b"100-continue") {
                    self.expect_continue = true;
                } else {
                    self.unknown_expectation = true;
                }
            }
            10 if is_field(name, b"connection") => {
                for token in list_elements(value) {
                    if token.eq_ignore_ascii_case(b"close") {
                        self.close = true;
                    } else if token.eq_ignore_ascii_case(b"keep-alive") {
                        self.keep_alive = true;
                    }
                }
            }
            14 if is_field(name, b"content-length") => {
                let length = parse_content_length(value)?;
                if self.content_length.is_some_and(|seen| seen != length) {
                    return Err(HttpError::bad_request("conflicting Content-Length headers"));
                }
                self.content_length = Some(length);
            }
            17 if is_field(name, b"transfer-encoding") => {
                self.transfer_encoding = true;
                for coding in list_elements(value) {
                    if coding.eq_ignore_ascii_case(b"chunked") {
                        self.chunked_count += 1;
                        self.chunked_last = true;
                    } else {
                        self.other_coding = true;
                        self.chunked_last = false;
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn framing(&self, version: Version) -> Result<Framing, HttpError> {
        if self.transfer_encoding {
            if version == Version::Http10 {
                return Err(HttpError::bad_request(
                    "Transfer-Encoding in an HTTP/1.0 request",
                ));
            }
            if self.content_length.is_some() {
                return Err(HttpError::bad_request(
                    "both Transfer-Encoding and Content-Length",
                ));
            }
            if !self.chunked_last {
                return Err(HttpError::bad_request(
                    "chunked must be the final transfer coding",
                ));
            }
            if self.chunked_count > 1 {
                return Err(HttpError::bad_request("chunked applied more than once"));
            }
            if self.other_coding {
                return Err(HttpError::new(
                    StatusCode::NOT_IMPLEMENTED,
                    "only the chunked transfer coding is supported",
                ));
            }
            return Ok(Framing::Chunked);
        }
        match self.content_length {
            None | Some(0) => Ok(Framing::Empty),
            Some(n) => Ok(Framing::Length(n)),
        }
    }
}

/// Whether the field name `name` is `lower` in any ASCII case. `lower` is
/// lowercase letters and `-`; `name` is a token the tokenizer accepted (letters,
/// digits and the symbols RFC 9110 allows in a token). Among token bytes,
/// `b | 0x20` equals a lowercase letter only for that letter in either case,
/// and equals `-` only for `-` (the other byte it maps there, CR, is not a
/// token byte), so the comparison needs no per-byte branch: it folds into a
/// few word compares.
#[inline(always)]
fn is_field<const N: usize>(name: &[u8], lower: &[u8; N]) -> bool {
    debug_assert!(lower.iter().all(|&b| b.is_ascii_lowercase() || b == b'-'));
    let Ok(name) = <&[u8; N]>::try_from(name) else {
        return false;
    };
    let mut diff = 0;
    for (&b, &l) in name.iter().zip(lower) {
        diff |= (b | 0x20) ^ l;
    }
    diff == 0
}

/// `Content-Length = 1*DIGIT`; anything else (sign, space inside, list,
/// overflow) is 400.
fn parse_content_length(value: &[u8]) -> Result<u64, HttpError> {
    let digits = trim(value);
    if digits.is_empty() || digits.len() > 19 || !digits.iter().all(u8::is_ascii_digit) {
        return Err(HttpError::bad_request("invalid Content-Length"));
    }
    Ok(digits
        .iter()
        .fold(0u64, |n, d| n * 10 + u64::from(d - b'0')))
}

/// The non-empty elements of a comma-separated list, whitespace-trimmed.
fn list_elements(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    value
        .split(|&b| b == b',')
        .map(trim)
        .filter(|t| !t.is_empty())
}

fn trim(value: &[u8]) -> &[u8] {
    let start = value
        .iter()
        .position(|b| !matches!(b, b' ' | b'\t'))
        .unwrap_or(value.len());
    let end = value
        .iter()
        .rposition(|b| !matches!(b, b' ' | b'\t'))
        .map_or(start, |e| e + 1);
    &value[start..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bytes RFC 9110 allows in a token (a field name).
    fn token_bytes() -> impl Iterator<Item = u8> {
        (0u8..=255).filter(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(b))
    }

    #[test]
    fn field_names_match_like_eq_ignore_ascii_case_for_every_token_byte() {
        fn check<const N: usize>(lower: &[u8; N]) {
            let upper = lower.to_ascii_uppercase();
            assert!(is_field(lower, lower) && is_field(&upper, lower));
            assert!(
                !is_field(&lower[1..], lower),
                "a shorter name never matches"
            );
            for at in 0..N {
                for b in token_bytes() {
                    let mut name = *lower;
                    name[at] = b;
                    assert_eq!(
                        is_field(&name, lower),
                        name.eq_ignore_ascii_case(lower),
                        "{:?} against {:?}",
                        String::from_utf8_lossy(&name),
                        String::from_utf8_lossy(lower),
                    );
                }
            }
        }
        check(b"host");
        check(b"expect");
        check(b"connection");
        check(b"content-length");
        check(b"transfer-encoding");
    }

    fn parse(raw: &str) -> Result<Option<Head>, HttpError> {
        parse_head(raw.as_bytes(), &Limits::default(), None)
    }

    fn status_of(raw: &str) -> u16 {
        parse(raw)
            .expect_err("request should be refused")
            .status()
            .as_u16()
    }

    fn head(raw: &str) -> Head {
        parse(raw).expect("valid").expect("complete")
    }

    #[test]
    fn simple_get() {
        let h = head("GET /hello?x=1&y HTTP/1.1\r\nHost: a\r\nUser-Agent: t\r\n\r\nrest");
        assert_eq!(
            h.len,
            "GET /hello?x=1&y HTTP/1.1\r\nHost: a\r\nUser-Agent: t\r\n\r\n".len()
        );
        let r = &h.request;
        assert_eq!(r.method(), Method::Get);
        assert_eq!(r.method_str(), "GET");
        assert_eq!(r.path(), "/hello");
        assert_eq!(r.query(), Some("x=1&y"));
        assert_eq!(r.query_param("x"), Some("1"));
        assert_eq!(r.query_param("y"), Some(""));
        assert_eq!(r.query_param("z"), None);
        assert_eq!(r.header("user-agent"), Some(&b"t"[..]));
        assert_eq!(r.header_str("HOST"), Some("a"));
        assert_eq!(r.headers().count(), 2);
        assert!(r.keep_alive());
        assert_eq!(r.body(), b"");
        assert_eq!(h.framing, Framing::Empty);
    }

    #[test]
    fn header_lookup_walks_the_lines_of_every_line_ending() {
        for raw in [
            "GET / HTTP/1.1\r\nHost: a\r\nX-A:  one \t\r\nx-b:\r\nX-A: two\r\n\r\n",
            "\r\nGET / HTTP/1.1\r\nHost: a\r\nX-A:  one \t\r\nx-b:\r\nX-A: two\r\n\r\n",
        ] {
            let r = head(raw).request;
            let all: Vec<_> = r.headers().collect();
            assert_eq!(
                all,
                [
                    ("Host", &b"a"[..]),
                    ("X-A", b"one"),
                    ("x-b", b""),
                    ("X-A", b"two")
                ],
                "{raw:?}"
            );
            assert_eq!(r.header("x-a"), Some(&b"one"[..]), "{raw:?}");
            assert_eq!(r.header("X-B"), Some(&b""[..]), "{raw:?}");
            assert_eq!(r.header("missing"), None, "{raw:?}");
        }
        let bare = head("GET / HTTP/1.0\r\n\r\n").request;
        assert_eq!(bare.headers().count(), 0);
        let obs_text = head("GET / HTTP/1.1\r\nHost: a\r\nX-T: café\r\n\r\n").request;
        assert_eq!(obs_text.header_str("x-t"), Some("caf\u{e9}"));
    }

    #[test]
    fn bare_lf_anywhere_in_the_head_is_refused() {
        for raw in [
            "GET / HTTP/1.1\nHost: a\n\n",
            "GET / HTTP/1.1\r\nHost: a\nX-A: b\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: a\r\n\n",
            "\nGET / HTTP/1.1\r\nHost: a\r\n\r\n",
        ] {
            assert_eq!(status_of(raw), 400, "{raw:?}");
        }
    }

    #[test]
    fn absolute_form_host_must_match_the_host_header() {
        assert_eq!(status_of("GET http://a/x HTTP/1.1\r\nHost: b\r\n\r\n"), 400);
        assert_eq!(
            head("GET HTTP://A:80/x?q HTTP/1.1\r\nHost: a:80\r\n\r\n")
                .request
                .path(),
            "/x"
        );
    }

    #[test]
    fn the_version_answer_does_not_depend_on_the_split() {
        // Found by the decoder_splits fuzz target: " HTTP/" later in the line made the whole
        // line a 505, while a read that ended before it gave 400.
        let wire = "GET / HTTP\u{7}1 x GET / HTTP/1.1\r\nHost: t\r\n\r\n";
        assert_eq!(status_of(wire), 400);
        assert_eq!(status_of("GET / HTTP\u{7}"), 400);
        assert_eq!(status_of("GET / HTTP/2.0\r\nHost: t\r\n\r\n"), 505);
        assert_eq!(status_of("GET / HTTP/1.7\r\n"), 505);
        assert_eq!(status_of("\r\nGET / HTTP/3\r\n\r\n"), 505);
        assert_eq!(status_of("GET / HTTP/x\r\n\r\n"), 400);
    }

    #[test]
    fn a_bad_byte_past_a_limit_is_that_limit_whatever_the_split() {
        // Found by the chunked fuzz target: whole, httparse reached a bad byte past the
        // request-line limit (400); byte by byte, the limit was hit first (414).
        let limits = Limits {
            max_request_line_bytes: 32,
            max_head_bytes: 64,
            ..Limits::default()
        };
        let status = |raw: &[u8]| {
            parse_head(raw, &limits, None)
                .map(|h| h.is_some())
                .map_err(|e| e.status().as_u16())
        };
        let mut long_line = b"GET /".to_vec();
        long_line.extend([b'a'; 40]);
        long_line.extend(b"\0 HTTP/1.1\r\n\r\n");
        assert_eq!(status(&long_line), Err(414));
        assert_eq!(status(&long_line[..33]), Err(414));
        let mut long_head = b"GET / HTTP/1.1\r\nX: ".to_vec();
        long_head.extend([b'a'; 60]);
        long_head.extend(b"\0\r\n\r\n");
        assert_eq!(status(&long_head), Err(431));
        assert_eq!(status(&long_head[..65]), Err(431));
    }

    #[test]
    fn leading_blank_lines_are_skipped() {
        let h = head("\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n");
        assert_eq!(h.request.method_str(), "GET");
        assert_eq!(h.request.path(), "/");
    }

    #[test]
    fn partial_heads_need_more() {
        let full = "POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\n";
        for cut in 0..full.len() {
            assert!(parse(&full[..cut]).unwrap().is_none(), "cut at {cut}");
        }
        assert_eq!(head(full).framing, Framing::Length(3));
    }

    #[test]
    fn http10_keep_alive_rules() {
        assert!(!head("GET / HTTP/1.0\r\n\r\n").request.keep_alive());
        assert!(head("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n")
            .request
            .keep_alive());
        assert!(
            !head("GET / HTTP/1.1\r\nHost: a\r\nConnection: foo, close\r\n\r\n")
                .request
                .keep_alive()
        );
        assert_eq!(
            head("GET / HTTP/1.0\r\n\r\n").request.version(),
            Version::Http10
        );
    }

    #[test]
    fn request_line_limit_applies_while_partial() {
        let limits = Limits {
            max_request_line_bytes: 64,
            ..Limits::default()
        };
        let long = format!("GET /{} HTTP/1.1", "a".repeat(100));
        let err = parse_head(long.as_bytes(), &limits, None).unwrap_err();
        assert_eq!(err.status(), StatusCode::URI_TOO_LONG);
        // And when complete in one piece.
        let complete = format!("{long}\r\nHost: a\r\n\r\n");
        assert_eq!(
            parse_head(complete.as_bytes(), &limits, None)
                .unwrap_err()
                .status()
                .as_u16(),
            414
        );
        // Just under the limit passes.
        let ok = format!("GET /{} HTTP/1.1\r\nHost: a\r\n\r\n", "a".repeat(64 - 16));
        assert!(parse_head(ok.as_bytes(), &limits, None).unwrap().is_some());
    }

    #[test]
    fn head_size_limit() {
        let limits = Limits {
            max_head_bytes: 256,
            ..Limits::default()
        };
        let big = format!(
            "GET / HTTP/1.1\r\nHost: a\r\nX-Big: {}\r\n",
            "v".repeat(300)
        );
        assert_eq!(
            parse_head(big.as_bytes(), &limits, None)
                .unwrap_err()
                .status()
                .as_u16(),
            431
        );
        let complete = format!("{big}\r\n");
        assert_eq!(
            parse_head(complete.as_bytes(), &limits, None)
                .unwrap_err()
                .status()
                .as_u16(),
            431
        );
    }

    #[test]
    fn header_count_limit() {
        let limits = Limits {
            max_headers: 4,
            ..Limits::default()
        };
        let mut raw = String::from("GET / HTTP/1.1\r\nHost: a\r\n");
        for i in 0..4 {
            raw.push_str(&format!("X-{i}: v\r\n"));
        }
        raw.push_str("\r\n");
        assert_eq!(
            parse_head(raw.as_bytes(), &limits, None)
                .unwrap_err()
                .status()
                .as_u16(),
            431
        );
    }

    #[test]
    fn many_headers_within_the_limit_are_accepted() {
        let mut raw = String::from("GET / HTTP/1.1\r\nHost: a\r\n");
        for i in 0..60 {
            raw.push_str(&format!("X-{i}: v{i}\r\n"));
        }
        raw.push_str("\r\n");
        let h = head(&raw);
        assert_eq!(h.request.headers().count(), 61);
        assert_eq!(h.request.header_str("x-59"), Some("v59"));
        let limits = Limits {
            max_headers: 50,
            ..Limits::default()
        };
        assert_eq!(
            parse_head(raw.as_bytes(), &limits, None)
                .unwrap_err()
                .status()
                .as_u16(),
            431
        );
    }

    #[test]
    fn framing_rules() {
        assert_eq!(
            head("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n").framing,
            Framing::Chunked
        );
        assert_eq!(
            head("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n").framing,
            Framing::Empty
        );
        assert_eq!(
            head("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n")
                .framing,
            Framing::Length(5)
        );
        let bad = [
            "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
            "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -5\r\n\r\n",
            "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 5\r\n\r\n",
            "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999\r\n\r\n",
            "POST / HTTP/1.1\r\nHost: a\r\nContent-Length:\r\n\r\n",
            "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n",
            "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
            "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
            "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",
        ];
        for raw in bad {
            assert_eq!(status_of(raw), 400, "{raw:?}");
        }
        assert_eq!(
            status_of("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"),
            501
        );
        // The size is judged by the decoder, whose limit depends on whether
        // the handler streams the body.
        assert_eq!(
            head("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2000000\r\n\r\n").framing,
            Framing::Length(2_000_000)
        );
    }

    #[test]
    fn host_rules() {
        assert_eq!(status_of("GET / HTTP/1.1\r\n\r\n"), 400);
        assert_eq!(
            status_of("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"),
            400
        );
        assert!(parse("GET / HTTP/1.0\r\n\r\n").unwrap().is_some());
    }

    #[test]
    fn expectations() {
        let h =
            head("PUT / HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\nContent-Length: 4\r\n\r\n");
        assert!(h.expect_continue);
        // No body: nothing to continue.
        assert!(!head("GET / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n\r\n").expect_continue);
        // HTTP/1.0 expectations are ignored.
        assert!(
            !head("PUT / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n")
                .expect_continue
        );
        assert_eq!(
            status_of("GET / HTTP/1.1\r\nHost: a\r\nExpect: teapot\r\n\r\n"),
            417
        );
    }

    #[test]
    fn target_forms() {
        let h = head("GET http://example.com/a/b?c=d HTTP/1.1\r\nHost: example.com\r\n\r\n");
        assert_eq!(h.request.path(), "/a/b");
        assert_eq!(h.request.query(), Some("c=d"));
        assert_eq!(h.request.target(), "http://example.com/a/b?c=d");
        let h = head("GET HTTPS://example.com HTTP/1.1\r\nHost: example.com\r\n\r\n");
        assert_eq!(h.request.path(), "/");
        let h = head("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n");
        assert_eq!(h.request.path(), "*");
        let h = head("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com\r\n\r\n");
        assert_eq!(h.request.path(), "example.com:443");
        assert_eq!(status_of("GET foo HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
        assert_eq!(status_of("GET http:///x HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
    }

    #[test]
    fn malformed_and_versions() {
        assert_eq!(status_of("GET / HTTP/2.0\r\n\r\n"), 505);
        assert_eq!(status_of("GET / FTP/1.1\r\n\r\n"), 400);
        assert_eq!(status_of("G(T / HTTP/1.1\r\n\r\n"), 400);
        assert_eq!(status_of("GET / HTTP/1.1\r\nBad Name: x\r\n\r\n"), 400);
        assert_eq!(status_of("GET / HTTP/1.1\r\nHost: a\x01b\r\n\r\n"), 400);
        assert_eq!(
            status_of("GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n"),
            400
        );
    }
}
