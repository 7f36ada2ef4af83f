//! The response a handler returns.
//!
//! A [`Response`] is a status, an optional content type, extra header fields
//! and a [`Body`]. The common cases allocate nothing: a `&'static str` body
//! and a static content type are stored as borrowed slices, and the header
//! list is an empty `Vec` unless a handler adds fields.
//!
//! Framing headers are the server's business: `Content-Length`,
//! `Transfer-Encoding` and `Connection` cannot be set by hand (the server
//! derives them from the body and the connection state; a handler that wants
//! the connection closed says so with [`Response::close`]). Every header name
//! and value is checked when added, so a value taken from client input can
//! never split the response (no CR, LF or NUL).

use std::borrow::Cow;
use std::fmt;
use std::io;
use std::pin::Pin;

use futures_core::Stream;

use crate::StatusCode;

/// A header field name or value for a response: borrowed when static.
pub type HeaderText = Cow<'static, str>;

/// A response header that was refused, with the reason.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvalidHeader {
    name: String,
    reason: &'static str,
}

impl fmt::Display for InvalidHeader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid response header {:?}: {}",
            self.name, self.reason
        )
    }
}

impl std::error::Error for InvalidHeader {}

/// A stream of body chunks, for responses sent with chunked framing.
pub type BodyStream = Pin<Box<dyn Stream<Item = io::Result<Vec<u8>>> + Send>>;

/// A response body.
pub struct Body {
    kind: BodyKind,
}

pub(crate) enum BodyKind {
    Empty,
    Static(&'static [u8]),
    Owned(Vec<u8>),
    Stream(BodyStream),
}

impl Body {
    /// No body (`Content-Length: 0`).
    pub const fn empty() -> Body {
        Body {
            kind: BodyKind::Empty,
        }
    }

    /// A body whose chunks come from `stream`, sent with chunked framing to
    /// HTTP/1.1 clients (and delimited by closing the connection for
    /// HTTP/1.0 clients). An `Err` item aborts the response: the connection
    /// is closed without the final chunk, so the client sees it incomplete.
    pub fn from_stream<S>(stream: S) -> Body
    where
        S: Stream<Item = io::Result<Vec<u8>>> + Send + 'static,
    {
        Body {
            kind: BodyKind::Stream(Box::pin(stream)),
        }
    }

    /// The length, if known up front (everything but streams).
    pub fn len(&self) -> Option<usize> {
        match &self.kind {
            BodyKind::Empty => Some(0),
            BodyKind::Static(b) => Some(b.len()),
            BodyKind::Owned(b) => Some(b.len()),
            BodyKind::Stream(_) => None,
        }
    }

    /// Whether the body is known to be empty.
    pub fn is_empty(&self) -> bool {
        self.len() == Some(0)
    }

    /// The bytes of a fixed body; `None` for a stream.
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match &self.kind {
            BodyKind::Empty => Some(&[]),
            BodyKind::Static(b) => Some(b),
            BodyKind::Owned(b) => Some(b),
            BodyKind::Stream(_) => None,
        }
    }

    pub(crate) fn into_kind(self) -> BodyKind {
        self.kind
    }
}

impl Default for Body {
    fn default() -> Self {
        Body::empty()
    }
}

impl fmt::Debug for Body {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            BodyKind::Empty => f.write_str("Body::Empty"),
            BodyKind::Static(b) => write!(f, "Body::Static({} bytes)", b.len()),
            BodyKind::Owned(b) => write!(f, "Body::Owned({} bytes)", b.len()),
            BodyKind::Stream(_) => f.write_str("Body::Stream"),
        }
    }
}

impl From<&'static str> for Body {
    fn from(s: &'static str) -> Body {
        Body::from(s.as_bytes())
    }
}

impl From<&'static [u8]> for Body {
    fn from(b: &'static [u8]) -> Body {
        Body {
            kind: if b.is_empty() {
                BodyKind::Empty
            } else {
                BodyKind::Static(b)
            },
        }
    }
}

impl From<String> for Body {
    fn from(s: String) -> Body {
        Body::from(s.into_bytes())
    }
}

impl From<Vec<u8>> for Body {
    fn from(b: Vec<u8>) -> Body {
        Body {
            kind: BodyKind::Owned(b),
        }
    }
}

/// An HTTP response.
///
/// ```
/// use weft_http::{Response, StatusCode};
/// let r = Response::text("Hello, World!");
/// assert_eq!(r.status(), StatusCode::OK);
/// let r = Response::new(StatusCode::CREATED)
///     .with_header("Location", "/items/7")
///     .unwrap();
/// assert_eq!(r.header("location"), Some("/items/7"));
/// ```
#[derive(Debug)]
pub struct Response {
    status: StatusCode,
    content_type: Option<HeaderText>,
    headers: Vec<(HeaderText, HeaderText)>,
    body: Body,
    close: bool,
}

/// `Content-Type` of [`Response::text`].
pub const TEXT_PLAIN: &str = "text/plain; charset=utf-8";
/// `Content-Type` of [`Response::json`].
pub const APPLICATION_JSON: &str = "application/json";

impl Response {
    /// A response with `status` and an empty body.
    pub fn new(status: StatusCode) -> Response {
        Response {
            status,
            content_type: None,
            headers: Vec::new(),
            body: Body::empty(),
            close: false,
        }
    }

    /// `200 OK` with a `text/plain; charset=utf-8` body.
    pub fn text(body: impl Into<Body>) -> Response {
        Response::new(StatusCode::OK)
            .with_content_type(TEXT_PLAIN)
            .with_body(body)
    }

    /// `200 OK` with an `application/json` body (already serialized).
    pub fn json(body: impl Into<Body>) -> Response {
        Response::new(StatusCode::OK)
            .with_content_type(APPLICATION_JSON)
            .with_body(body)
    }

    /// A plain-text answer with `status` and a short message (plus newline),
    /// e.g. for errors.
    pub fn error(status: StatusCode, message: &str) -> Response {
        let mut body = String::with_capacity(message.len() + 1);
        body.push_str(message);
        body.push('\n');
        Response::new(status)
            .with_content_type(TEXT_PLAIN)
            .with_body(body)
    }

    /// The status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// Sets the status.
    pub fn with_status(self, status: StatusCode) -> Response {
        Response { status, ..self }
    }

    /// Sets the body.
    pub fn with_body(self, body: impl Into<Body>) -> Response {
        // The builders rebuild the response field by field (`..self`)
        // rather than assigning into `self` and returning it: moving a struct
        // that was just written piecemeal as one block stalls the CPU's store
        // forwarding, and a chain of builders did that at every step.
        Response {
            body: body.into(),
            ..self
        }
    }

    /// The body.
    pub fn body(&self) -> &Body {
        &self.body
    }

    /// Sets `Content-Type` to a static value (checked like any header value).
    ///
    /// # Panics
    /// In debug builds, if `value` contains a control character: static
    /// values are the program's own text, so this is a bug, not bad input
    /// (release builds skip the check; it would cost on every response).
    pub fn with_content_type(self, value: &'static str) -> Response {
        debug_assert!(valid_value(value), "invalid static Content-Type {value:?}");
        Response {
            content_type: Some(Cow::Borrowed(value)),
            ..self
        }
    }

    /// The content type, if set.
    pub fn content_type(&self) -> Option<&str> {
        self.content_type.as_deref()
    }

    /// Adds a header field (several fields may share a name). Setting
    /// `Content-Type` replaces the content type. Refused: names that are not
    /// tokens, values with control characters, and the framing fields
    /// `Content-Length`, `Transfer-Encoding` and `Connection`.
    pub fn insert_header(
        &mut self,
        name: impl Into<HeaderText>,
        value: impl Into<HeaderText>,
    ) -> Result<(), InvalidHeader> {
        let name = name.into();
        let value = value.into();
        let refuse = |reason| {
            Err(InvalidHeader {
                name: name.to_string(),
                reason,
            })
        };
        if name.is_empty() || !name.bytes().all(is_token_byte) {
            return refuse("name is not an HTTP token");
        }
        if !valid_value(&value) {
            return refuse("value contains a control character");
        }
        for framing in ["content-length", "transfer-encoding", "connection"] {
            if name.eq_ignore_ascii_case(framing) {
                return refuse("framing headers are set by the server");
            }
        }
        if name.eq_ignore_ascii_case("content-type") {
            self.content_type = Some(value);
        } else {
            self.headers.push((name, value));
        }
        Ok(())
    }

    /// [`insert_header`](Response::insert_header), chained.
    pub fn with_header(
        mut self,
        name: impl Into<HeaderText>,
        value: impl Into<HeaderText>,
    ) -> Result<Response, InvalidHeader> {
        self.insert_header(name, value)?;
        Ok(self)
    }

    /// The first value of header `name` (case-insensitive), content type included.
    pub fn header(&self, name: &str) -> Option<&str> {
        if name.eq_ignore_ascii_case("content-type") {
            return self.content_type();
        }
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_ref())
    }

    /// The extra header fields (content type not included), in order.
    pub fn headers(&self) -> impl Iterator<Item = (&str, &str)> {
        self.headers.iter().map(|(n, v)| (n.as_ref(), v.as_ref()))
    }

    /// Asks the server to close the connection after this response
    /// (`Connection: close`).
    pub fn close(self) -> Response {
        Response {
            close: true,
            ..self
        }
    }

    /// Whether [`close`](Response::close) was requested.
    pub fn closes(&self) -> bool {
        self.close
    }

    /// Moves the parts out, field by field, leaving an empty response. The
    /// connection encodes a response where the handler's future wrote it:
    /// reading it field by field, rather than moving the freshly written
    /// struct whole, keeps the CPU's store forwarding working.
    pub(crate) fn take_parts(&mut self) -> (ResponseHead, Body) {
        (
            ResponseHead {
                status: self.status,
                content_type: self.content_type.take(),
                headers: std::mem::take(&mut self.headers),
                close: self.close,
            },
            std::mem::take(&mut self.body),
        )
    }
}

/// A response without its body, as the encoder consumes it.
pub(crate) struct ResponseHead {
    pub(crate) status: StatusCode,
    pub(crate) content_type: Option<HeaderText>,
    pub(crate) headers: Vec<(HeaderText, HeaderText)>,
    pub(crate) close: bool,
}

/// `tchar` of RFC 9110 §5.6.2.
pub(crate) fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Field values: visible ASCII, space, tab and obs-text; no CR, LF, NUL or
/// other controls.
fn valid_value(value: &str) -> bool {
    value
        .bytes()
        .all(|b| b == b'\t' || (b >= 0x20 && b != 0x7f))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_injection_is_refused() {
        let mut r = Response::new(StatusCode::OK);
        assert!(r.insert_header("X-A", "ok\r\nSet-Cookie: evil").is_err());
        assert!(r.insert_header("X A", "v").is_err());
        assert!(r.insert_header("", "v").is_err());
        assert!(r.insert_header("Content-Length", "5").is_err());
        assert!(r.insert_header("transfer-encoding", "chunked").is_err());
        assert!(r.insert_header("X-Ok", "tab\tand obs-text é").is_ok());
        assert_eq!(r.headers().count(), 1);
        let err = r.insert_header("X-A", "a\nb").unwrap_err();
        assert!(err.to_string().contains("X-A"), "{err}");
    }

    #[test]
    fn content_type_is_a_field() {
        let r = Response::text("x")
            .with_header("content-type", "text/html")
            .unwrap();
        assert_eq!(r.content_type(), Some("text/html"));
        assert_eq!(r.header("Content-Type"), Some("text/html"));
        assert_eq!(r.headers().count(), 0);
    }

    #[test]
    fn bodies() {
        assert_eq!(Response::text("abc").body().len(), Some(3));
        assert!(Body::from("").is_empty());
        assert_eq!(Body::from(vec![1, 2]).as_bytes(), Some(&[1u8, 2][..]));
        assert_eq!(
            Response::error(StatusCode::NOT_FOUND, "no")
                .body()
                .as_bytes(),
            Some(&b"no\n"[..])
        );
    }
}
