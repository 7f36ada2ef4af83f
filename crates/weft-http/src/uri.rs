//! Percent-decoding of URI components (RFC 3986 §2.1).
//!
//! The server hands paths and query values to handlers as sent; a handler
//! that maps a path to something (a file, a key) decodes it here first, and
//! must then check the decoded bytes, since `%2e%2e%2f` is `../`.

use std::borrow::Cow;

/// Decodes `%XX` escapes in `input`. Borrowed when there is nothing to
/// decode; `None` if an escape is malformed (`%` not followed by two hex
/// digits). `+` is left as is (it means space only in form bodies).
///
/// ```
/// use weft_http::percent_decode;
/// assert_eq!(&*percent_decode("a%20b").unwrap(), b"a b");
/// assert_eq!(&*percent_decode("%2e%2E/x").unwrap(), b"../x");
/// assert!(percent_decode("bad%zz").is_none());
/// ```
pub fn percent_decode(input: &str) -> Option<Cow<'_, [u8]>> {
    let bytes = input.as_bytes();
    if !bytes.contains(&b'%') {
        return Some(Cow::Borrowed(bytes));
    }
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hi = hex(*bytes.get(i + 1)?)?;
            let lo = hex(*bytes.get(i + 2)?)?;
            out.push(hi << 4 | lo);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    Some(Cow::Owned(out))
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_and_refuses() {
        assert!(matches!(
            percent_decode("plain/path"),
            Some(Cow::Borrowed(_))
        ));
        assert_eq!(&*percent_decode("%41%42c").unwrap(), b"ABc");
        assert_eq!(&*percent_decode("%00").unwrap(), b"\0");
        assert_eq!(&*percent_decode("a+b").unwrap(), b"a+b");
        assert!(percent_decode("%").is_none());
        assert!(percent_decode("%4").is_none());
        assert!(percent_decode("%g1").is_none());
    }
}
