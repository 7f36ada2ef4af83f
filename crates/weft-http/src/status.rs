//! Response status codes.
//!
//! A [`StatusCode`] is a validated three-digit number (100..=999) with its
//! reason phrase. The encoder keeps a pre-rendered status line for the codes a
//! server sends most, so writing `HTTP/1.1 200 OK\r\n` is one copy; any other
//! code is rendered digit by digit.

use std::fmt;

/// An HTTP status code (RFC 9110 §15), always in `100..=999`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StatusCode(u16);

macro_rules! status_codes {
    ($( $(#[$doc:meta])* ($name:ident, $num:expr, $reason:expr); )*) => {
        impl StatusCode {
            $( $(#[$doc])* pub const $name: StatusCode = StatusCode($num); )*

            /// The standard reason phrase, or `""` for a code without one.
            pub const fn reason(self) -> &'static str {
                match self.0 {
                    $( $num => $reason, )*
                    _ => "",
                }
            }

            /// The full status line (`HTTP/1.1 200 OK\r\n`) for codes with a reason
            /// phrase; `None` for others, which the encoder renders digit by digit.
            pub(crate) const fn status_line(self) -> Option<&'static str> {
                match self.0 {
                    $( $num => Some(concat!("HTTP/1.1 ", stringify!($num), " ", $reason, "\r\n")), )*
                    _ => None,
                }
            }
        }
    };
}

status_codes! {
    /// 100 Continue: the client may send the request body.
    (CONTINUE, 100, "Continue");
    /// 101 Switching Protocols.
    (SWITCHING_PROTOCOLS, 101, "Switching Protocols");
    /// 200 OK.
    (OK, 200, "OK");
    /// 201 Created.
    (CREATED, 201, "Created");
    /// 202 Accepted.
    (ACCEPTED, 202, "Accepted");
    /// 204 No Content: the response has no body.
    (NO_CONTENT, 204, "No Content");
    /// 206 Partial Content.
    (PARTIAL_CONTENT, 206, "Partial Content");
    /// 301 Moved Permanently.
    (MOVED_PERMANENTLY, 301, "Moved Permanently");
    /// 302 Found.
    (FOUND, 302, "Found");
    /// 303 See Other.
    (SEE_OTHER, 303, "See Other");
    /// 304 Not Modified: the response has no body.
    (NOT_MODIFIED, 304, "Not Modified");
    /// 307 Temporary Redirect.
    (TEMPORARY_REDIRECT, 307, "Temporary Redirect");
    /// 308 Permanent Redirect.
    (PERMANENT_REDIRECT, 308, "Permanent Redirect");
    /// 400 Bad Request: the request is malformed.
    (BAD_REQUEST, 400, "Bad Request");
    /// 401 Unauthorized.
    (UNAUTHORIZED, 401, "Unauthorized");
    /// 403 Forbidden.
    (FORBIDDEN, 403, "Forbidden");
    /// 404 Not Found.
    (NOT_FOUND, 404, "Not Found");
    /// 405 Method Not Allowed (sent with an `Allow` header).
    (METHOD_NOT_ALLOWED, 405, "Method Not Allowed");
    /// 408 Request Timeout: the request did not arrive in time.
    (REQUEST_TIMEOUT, 408, "Request Timeout");
    /// 409 Conflict.
    (CONFLICT, 409, "Conflict");
    /// 411 Length Required.
    (LENGTH_REQUIRED, 411, "Length Required");
    /// 412 Precondition Failed: an `If-Match` or `If-Unmodified-Since` did not hold.
    (PRECONDITION_FAILED, 412, "Precondition Failed");
    /// 413 Content Too Large: the request body exceeds the limit.
    (PAYLOAD_TOO_LARGE, 413, "Content Too Large");
    /// 414 URI Too Long: the request line exceeds the limit.
    (URI_TOO_LONG, 414, "URI Too Long");
    /// 415 Unsupported Media Type.
    (UNSUPPORTED_MEDIA_TYPE, 415, "Unsupported Media Type");
    /// 416 Range Not Satisfiable: the requested range lies outside the representation.
    (RANGE_NOT_SATISFIABLE, 416, "Range Not Satisfiable");
    /// 417 Expectation Failed: an `Expect` other than `100-continue`.
    (EXPECTATION_FAILED, 417, "Expectation Failed");
    /// 422 Unprocessable Content.
    (UNPROCESSABLE_CONTENT, 422, "Unprocessable Content");
    /// 429 Too Many Requests.
    (TOO_MANY_REQUESTS, 429, "Too Many Requests");
    /// 431 Request Header Fields Too Large: header block or count over the limit.
    (REQUEST_HEADER_FIELDS_TOO_LARGE, 431, "Request Header Fields Too Large");
    /// 500 Internal Server Error.
    (INTERNAL_SERVER_ERROR, 500, "Internal Server Error");
    /// 501 Not Implemented: e.g. a transfer coding the server does not decode.
    (NOT_IMPLEMENTED, 501, "Not Implemented");
    /// 502 Bad Gateway.
    (BAD_GATEWAY, 502, "Bad Gateway");
    /// 503 Service Unavailable.
    (SERVICE_UNAVAILABLE, 503, "Service Unavailable");
    /// 504 Gateway Timeout.
    (GATEWAY_TIMEOUT, 504, "Gateway Timeout");
    /// 505 HTTP Version Not Supported.
    (HTTP_VERSION_NOT_SUPPORTED, 505, "HTTP Version Not Supported");
}

impl StatusCode {
    /// A status code from its number; `None` outside `100..=999`.
    pub const fn from_u16(code: u16) -> Option<StatusCode> {
        if code >= 100 && code <= 999 {
            Some(StatusCode(code))
        } else {
            None
        }
    }

    /// The number, e.g. `404`.
    pub const fn as_u16(self) -> u16 {
        self.0
    }

    /// 1xx: an interim response, never the final answer to a request.
    pub const fn is_informational(self) -> bool {
        self.0 < 200
    }

    /// 2xx.
    pub const fn is_success(self) -> bool {
        self.0 >= 200 && self.0 < 300
    }

    /// 4xx.
    pub const fn is_client_error(self) -> bool {
        self.0 >= 400 && self.0 < 500
    }

    /// 5xx.
    pub const fn is_server_error(self) -> bool {
        self.0 >= 500 && self.0 < 600
    }

    /// Whether a response with this status may carry a body
    /// (RFC 9112 §6.3: 1xx, 204 and 304 never do).
    pub const fn allows_body(self) -> bool {
        !(self.is_informational() || self.0 == 204 || self.0 == 304)
    }
}

impl fmt::Debug for StatusCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.0, self.reason())
    }
}

impl fmt::Display for StatusCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.0, self.reason())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range_is_enforced() {
        assert_eq!(StatusCode::from_u16(99), None);
        assert_eq!(StatusCode::from_u16(1000), None);
        assert_eq!(StatusCode::from_u16(299).unwrap().as_u16(), 299);
    }

    #[test]
    fn status_lines_are_prerendered_for_known_codes() {
        assert_eq!(StatusCode::OK.status_line(), Some("HTTP/1.1 200 OK\r\n"));
        assert_eq!(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE.status_line(),
            Some("HTTP/1.1 431 Request Header Fields Too Large\r\n")
        );
        assert_eq!(StatusCode::from_u16(299).unwrap().status_line(), None);
        assert_eq!(StatusCode::from_u16(299).unwrap().reason(), "");
    }

    #[test]
    fn body_rules() {
        assert!(!StatusCode::NO_CONTENT.allows_body());
        assert!(!StatusCode::NOT_MODIFIED.allows_body());
        assert!(!StatusCode::CONTINUE.allows_body());
        assert!(StatusCode::NOT_FOUND.allows_body());
    }
}
