//! Request methods and protocol versions.
//!
//! Methods are case-sensitive tokens (RFC 9110 §9.1): `get` is not `GET`.
//! The standard ones get an enum variant so routing compares one byte; any
//! other token is [`Method::Other`] and the request keeps its spelling
//! ([`Request::method_str`](crate::Request::method_str)).

use std::fmt;

/// An HTTP request method.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Method {
    /// `GET`
    Get,
    /// `HEAD`: like `GET`, but the response carries no body.
    Head,
    /// `POST`
    Post,
    /// `PUT`
    Put,
    /// `DELETE`
    Delete,
    /// `CONNECT`
    Connect,
    /// `OPTIONS`
    Options,
    /// `TRACE`
    Trace,
    /// `PATCH`
    Patch,
    /// Any other token; no route matches it.
    Other,
}

impl Method {
    /// Every named method, in the order `Allow` headers list them.
    pub(crate) const NAMED: [Method; 9] = [
        Method::Get,
        Method::Head,
        Method::Post,
        Method::Put,
        Method::Delete,
        Method::Connect,
        Method::Options,
        Method::Trace,
        Method::Patch,
    ];

    /// Classifies a method token (case-sensitive).
    pub fn from_bytes(token: &[u8]) -> Method {
        match token {
            b"GET" => Method::Get,
            b"HEAD" => Method::Head,
            b"POST" => Method::Post,
            b"PUT" => Method::Put,
            b"DELETE" => Method::Delete,
            b"CONNECT" => Method::Connect,
            b"OPTIONS" => Method::Options,
            b"TRACE" => Method::Trace,
            b"PATCH" => Method::Patch,
            _ => Method::Other,
        }
    }

    /// The method's name; `"OTHER"` for [`Method::Other`] (see
    /// [`Request::method_str`](crate::Request::method_str) for the real token).
    pub const fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Head => "HEAD",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Delete => "DELETE",
            Method::Connect => "CONNECT",
            Method::Options => "OPTIONS",
            Method::Trace => "TRACE",
            Method::Patch => "PATCH",
            Method::Other => "OTHER",
        }
    }

    /// One bit per named method, for method sets (`Allow`).
    pub(crate) const fn bit(self) -> u16 {
        1 << (self as u16)
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The HTTP version of a request. Responses are always sent as `HTTP/1.1`
/// (RFC 9110 §6.2: a server sends the highest minor version it conforms to).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Version {
    /// HTTP/1.0: connections close after each response unless the client asks
    /// for `keep-alive`; no chunked transfer coding.
    Http10,
    /// HTTP/1.1: persistent connections by default.
    Http11,
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Version::Http10 => "HTTP/1.0",
            Version::Http11 => "HTTP/1.1",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn methods_are_case_sensitive() {
        assert_eq!(Method::from_bytes(b"GET"), Method::Get);
        assert_eq!(Method::from_bytes(b"get"), Method::Other);
        assert_eq!(Method::from_bytes(b"PROPFIND"), Method::Other);
    }

    #[test]
    fn bits_are_distinct() {
        let mut seen = 0u16;
        for m in Method::NAMED {
            assert_eq!(seen & m.bit(), 0);
            seen |= m.bit();
            assert_eq!(Method::from_bytes(m.as_str().as_bytes()), m);
        }
    }
}
