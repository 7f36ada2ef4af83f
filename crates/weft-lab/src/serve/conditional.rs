//! Conditional and range requests for static files (RFC 9110 §13 and §14),
//! as nginx and Node's `serve-static` answer them.
//!
//! A file's validators are its modification time (`Last-Modified`) and a
//! strong entity tag built from that time and its length (`"<mtime>-<len>"`
//! in hex, nginx's shape), so a cache revalidates without a body and a
//! download resumes where it stopped. [`evaluate`] applies the
//! preconditions in the order RFC 9110 §13.2.2 fixes, then the range:
//!
//! 1. `If-Match` (strong comparison) fails: 412. Without `If-Match`,
//!    `If-Unmodified-Since` older than the file: 412.
//! 2. `If-None-Match` (weak comparison) matches: 304. Without it,
//!    `If-Modified-Since` not older than the file: 304.
//! 3. `Range` (GET only), honoured when `If-Range` is absent or still names
//!    this version of the file: one satisfiable range is 206 with
//!    `Content-Range`, a range that starts past the end is 416.
//!
//! What is not done, each allowed by RFC 9110: several ranges in one request
//! get the whole file (200), not `multipart/byteranges`; a `Range` that does
//! not parse is ignored (200); dates in the two obsolete HTTP-date forms are
//! ignored like invalid ones.

use std::ops::Range;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use weft_http::{parse_http_date, Method, Request};

/// What identifies one version of a file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Validators {
    /// Modification time, whole seconds (HTTP-dates carry no fractions).
    pub(crate) modified: SystemTime,
    /// Strong entity tag, quotes included.
    pub(crate) etag: String,
}

impl Validators {
    /// The validators of a file modified at `modified` holding `len` bytes.
    pub(crate) fn new(modified: SystemTime, len: u64) -> Validators {
        let secs = modified
            .duration_since(UNIX_EPOCH)
            .map_or(0, |since| since.as_secs());
        Validators {
            modified: UNIX_EPOCH + Duration::from_secs(secs),
            etag: format!("\"{secs:x}-{len:x}\""),
        }
    }
}

/// The request fields [`evaluate`] reads.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Conditions<'a> {
    /// The request is a GET (ranges apply to GET only).
    pub(crate) get: bool,
    pub(crate) if_match: Option<&'a str>,
    pub(crate) if_none_match: Option<&'a str>,
    pub(crate) if_modified_since: Option<&'a str>,
    pub(crate) if_unmodified_since: Option<&'a str>,
    pub(crate) if_range: Option<&'a str>,
    pub(crate) range: Option<&'a str>,
}

impl<'a> Conditions<'a> {
    /// The conditions `request` carries.
    pub(crate) fn of(request: &'a Request) -> Conditions<'a> {
        Conditions {
            get: request.method() == Method::Get,
            if_match: request.header_str("if-match"),
            if_none_match: request.header_str("if-none-match"),
            if_modified_since: request.header_str("if-modified-since"),
            if_unmodified_since: request.header_str("if-unmodified-since"),
            if_range: request.header_str("if-range"),
            range: request.header_str("range"),
        }
    }
}

/// How to answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// 200 with the whole file.
    Full,
    /// 304: the client's copy is current.
    NotModified,
    /// 412: a precondition failed.
    PreconditionFailed,
    /// 206 with these bytes of the file.
    Partial(Range<u64>),
    /// 416: the range starts past the end of the file.
    Unsatisfiable,
}

/// Decides the answer for a file of `len` bytes with `validators` (see the
/// module docs for the order).
pub(crate) fn evaluate(conditions: &Conditions<'_>, validators: &Validators, len: u64) -> Outcome {
    let modified = validators.modified;
    let etag = validators.etag.as_str();
    if let Some(list) = conditions.if_match {
        if !list_matches(list, etag, strong_eq) {
            return Outcome::PreconditionFailed;
        }
    } else if let Some(since) = conditions.if_unmodified_since.and_then(parse_http_date) {
        if modified > since {
            return Outcome::PreconditionFailed;
        }
    }
    if let Some(list) = conditions.if_none_match {
        if list_matches(list, etag, weak_eq) {
            return Outcome::NotModified;
        }
    } else if let Some(since) = conditions.if_modified_since.and_then(parse_http_date) {
        if modified <= since {
            return Outcome::NotModified;
        }
    }
    let Some(range) = conditions.range.filter(|_| conditions.get) else {
        return Outcome::Full;
    };
    if let Some(if_range) = conditions.if_range {
        if !if_range_holds(if_range.trim(), etag, modified) {
            return Outcome::Full;
        }
    }
    match parse_range(range, len) {
        RangeSpec::Ignored => Outcome::Full,
        RangeSpec::Unsatisfiable => Outcome::Unsatisfiable,
        RangeSpec::Bytes(bytes) => Outcome::Partial(bytes),
    }
}

/// `If-Range`: an entity tag must match strongly (a weak one never does), a
/// date must be exactly the file's modification time (§13.1.5).
fn if_range_holds(value: &str, etag: &str, modified: SystemTime) -> bool {
    if value.starts_with('"') || value.starts_with("W/") {
        strong_eq(value, etag)
    } else {
        parse_http_date(value) == Some(modified)
    }
}

/// Whether `list` (`*` or comma-separated entity tags) names `etag` under
/// `eq`.
fn list_matches(list: &str, etag: &str, eq: fn(&str, &str) -> bool) -> bool {
    let list = list.trim();
    list == "*" || list.split(',').any(|tag| eq(tag.trim(), etag))
}

/// Strong comparison: neither tag is weak and the opaque parts are equal.
fn strong_eq(a: &str, b: &str) -> bool {
    !a.starts_with("W/") && !b.starts_with("W/") && a == b
}

/// Weak comparison: the opaque parts are equal, weak or not.
fn weak_eq(a: &str, b: &str) -> bool {
    a.trim_start_matches("W/") == b.trim_start_matches("W/")
}

/// A `Range` field read against a file's length.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum RangeSpec {
    /// Not a single byte range this server honours: send the whole file.
    Ignored,
    /// A byte range that selects nothing of the file: 416.
    Unsatisfiable,
    /// The bytes to send (never empty, within the file).
    Bytes(Range<u64>),
}

/// Reads `bytes=first-last`, `bytes=first-` or `bytes=-suffix` against a
/// file of `len` bytes (RFC 9110 §14.1.2). A last position past the end is
/// cut to the end; a suffix longer than the file is the whole file.
pub(crate) fn parse_range(value: &str, len: u64) -> RangeSpec {
    let Some(spec) = value.trim().strip_prefix("bytes=") else {
        return RangeSpec::Ignored;
    };
    if spec.contains(',') {
        return RangeSpec::Ignored;
    }
    let Some((first, last)) = spec.split_once('-') else {
        return RangeSpec::Ignored;
    };
    let (first, last) = (first.trim(), last.trim());
    let bytes = if first.is_empty() {
        // bytes=-suffix: the last `suffix` bytes.
        let Some(suffix) = number(last) else {
            return RangeSpec::Ignored;
        };
        len.saturating_sub(suffix)..len
    } else {
        // bytes=first- and bytes=first-last.
        let Some(first) = number(first) else {
            return RangeSpec::Ignored;
        };
        let end = if last.is_empty() {
            len
        } else {
            match number(last) {
                Some(last) if last >= first => last.saturating_add(1).min(len),
                _ => return RangeSpec::Ignored,
            }
        };
        first..end
    };
    // Empty: it starts at or past the end (or asks for a suffix of 0 bytes).
    if bytes.is_empty() {
        RangeSpec::Unsatisfiable
    } else {
        RangeSpec::Bytes(bytes)
    }
}

/// A decimal position; `None` if `s` is not all digits (or empty). Too many
/// digits for a `u64` read as `u64::MAX`: past the end of any file.
fn number(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(s.parse().unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    const LEN: u64 = 1000;

    fn file() -> Validators {
        Validators::new(UNIX_EPOCH + Duration::from_millis(784_111_777_500), LEN)
    }

    const MODIFIED: &str = "Sun, 06 Nov 1994 08:49:37 GMT";
    const BEFORE: &str = "Sun, 06 Nov 1994 08:49:36 GMT";
    const AFTER: &str = "Sun, 06 Nov 1994 08:49:38 GMT";

    fn outcome(conditions: Conditions<'_>) -> Outcome {
        evaluate(
            &Conditions {
                get: true,
                ..conditions
            },
            &file(),
            LEN,
        )
    }

    #[test]
    fn validators_drop_fractions_and_name_time_and_length() {
        let v = file();
        assert_eq!(v.etag, "\"2ebc98a1-3e8\"");
        assert_eq!(weft_http::http_date(v.modified), MODIFIED);
        assert_ne!(Validators::new(v.modified, LEN + 1).etag, v.etag);
    }

    #[test]
    fn if_none_match_and_if_modified_since_give_304() {
        let etag = file().etag;
        let weak = format!("W/{etag}");
        for list in [etag.as_str(), weak.as_str(), "*", &format!("\"x\", {etag}")] {
            let c = Conditions {
                if_none_match: Some(list),
                ..Default::default()
            };
            assert_eq!(outcome(c), Outcome::NotModified, "{list}");
        }
        let c = Conditions {
            if_none_match: Some("\"other\""),
            ..Default::default()
        };
        assert_eq!(outcome(c), Outcome::Full);
        for (since, expect) in [
            (MODIFIED, Outcome::NotModified),
            (AFTER, Outcome::NotModified),
            (BEFORE, Outcome::Full),
            ("yesterday", Outcome::Full),
        ] {
            let c = Conditions {
                if_modified_since: Some(since),
                ..Default::default()
            };
            assert_eq!(outcome(c), expect, "{since}");
        }
        // If-None-Match decides alone when both are sent.
        let c = Conditions {
            if_none_match: Some("\"other\""),
            if_modified_since: Some(AFTER),
            ..Default::default()
        };
        assert_eq!(outcome(c), Outcome::Full);
    }

    #[test]
    fn if_match_and_if_unmodified_since_give_412() {
        let etag = file().etag;
        let c = Conditions {
            if_match: Some("\"other\""),
            ..Default::default()
        };
        assert_eq!(outcome(c), Outcome::PreconditionFailed);
        // If-Match compares strongly.
        let weak = format!("W/{etag}");
        let c = Conditions {
            if_match: Some(&weak),
            ..Default::default()
        };
        assert_eq!(outcome(c), Outcome::PreconditionFailed);
        for list in [etag.as_str(), "*"] {
            let c = Conditions {
                if_match: Some(list),
                ..Default::default()
            };
            assert_eq!(outcome(c), Outcome::Full);
        }
        let c = Conditions {
            if_unmodified_since: Some(BEFORE),
            ..Default::default()
        };
        assert_eq!(outcome(c), Outcome::PreconditionFailed);
        let c = Conditions {
            if_unmodified_since: Some(MODIFIED),
            ..Default::default()
        };
        assert_eq!(outcome(c), Outcome::Full);
        // A failed precondition wins over a matching If-None-Match.
        let c = Conditions {
            if_match: Some("\"other\""),
            if_none_match: Some("*"),
            ..Default::default()
        };
        assert_eq!(outcome(c), Outcome::PreconditionFailed);
    }

    #[test]
    fn ranges_in_every_form() {
        for (range, expect) in [
            ("bytes=0-99", RangeSpec::Bytes(0..100)),
            ("bytes=900-", RangeSpec::Bytes(900..1000)),
            ("bytes=-100", RangeSpec::Bytes(900..1000)),
            ("bytes=-5000", RangeSpec::Bytes(0..1000)),
            ("bytes=990-5000", RangeSpec::Bytes(990..1000)),
            ("bytes=999-999", RangeSpec::Bytes(999..1000)),
            (" bytes= 10 - 19 ", RangeSpec::Bytes(10..20)),
            ("bytes=0-99999999999999999999999", RangeSpec::Bytes(0..1000)),
            ("bytes=1000-", RangeSpec::Unsatisfiable),
            ("bytes=1000-2000", RangeSpec::Unsatisfiable),
            ("bytes=-0", RangeSpec::Unsatisfiable),
            ("bytes=20-10", RangeSpec::Ignored),
            ("bytes=0-1,5-9", RangeSpec::Ignored),
            ("bytes=a-b", RangeSpec::Ignored),
            ("bytes=-", RangeSpec::Ignored),
            ("bytes=1", RangeSpec::Ignored),
            ("items=0-9", RangeSpec::Ignored),
            ("bytes=+1-9", RangeSpec::Ignored),
        ] {
            assert_eq!(parse_range(range, LEN), expect, "{range:?}");
        }
        assert_eq!(parse_range("bytes=-10", 0), RangeSpec::Unsatisfiable);
        assert_eq!(parse_range("bytes=0-", 0), RangeSpec::Unsatisfiable);
    }

    #[test]
    fn ranges_apply_to_get_only_and_while_if_range_holds() {
        let etag = file().etag;
        let range = Some("bytes=0-9");
        assert_eq!(
            outcome(Conditions {
                range,
                ..Default::default()
            }),
            Outcome::Partial(0..10)
        );
        let head = Conditions {
            get: false,
            range,
            ..Default::default()
        };
        assert_eq!(evaluate(&head, &file(), LEN), Outcome::Full);
        for (if_range, expect) in [
            (etag.as_str(), Outcome::Partial(0..10)),
            (MODIFIED, Outcome::Partial(0..10)),
            ("\"other\"", Outcome::Full),
            (AFTER, Outcome::Full),
            (&format!("W/{etag}"), Outcome::Full),
        ] {
            let c = Conditions {
                range,
                if_range: Some(if_range),
                ..Default::default()
            };
            assert_eq!(outcome(c), expect, "{if_range}");
        }
        let c = Conditions {
            range: Some("bytes=2000-"),
            ..Default::default()
        };
        assert_eq!(outcome(c), Outcome::Unsatisfiable);
        // A 304 is decided before the range.
        let c = Conditions {
            range,
            if_none_match: Some("*"),
            ..Default::default()
        };
        assert_eq!(outcome(c), Outcome::NotModified);
    }
}
