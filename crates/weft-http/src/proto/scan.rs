//! weft's HTTP/1.1 request-head tokenizer: bytes in, offsets out.
//!
//! [`scan_head`] walks a request head once, validating as it goes, and
//! reports where the method, target, version and each field line are, as
//! slices of (or offsets into) the input: nothing is copied and nothing is
//! allocated. The semantics of the fields (framing, `Host`, ...) are not its
//! business; the head parser (`proto::head`) adds them through
//! the field callback.
//!
//! # Grammar (RFC 9112 §2–§5)
//!
//! - Empty lines (`CRLF`) before the request line are skipped (§2.2).
//! - `method SP request-target SP HTTP-version CRLF`: one space each, the
//!   method a token (RFC 9110 §5.6.2), the target visible ASCII or obs-text
//!   (0x80–0xFF) that is valid UTF-8, the version `HTTP/1.0` or `HTTP/1.1`.
//! - `field-name ":" OWS field-value OWS CRLF`: the name a token with nothing
//!   between it and the colon, the value HTAB, SP, visible ASCII or obs-text;
//!   surrounding whitespace is not part of the value.
//! - A line that starts with SP or HTAB (obs-fold, §5.2) is refused, as is
//!   any other byte a rule does not allow.
//! - Every line ends in CRLF: a bare LF is refused ([`ScanError::BareLf`])
//!   where §2.2 would let a recipient accept it, because a proxy in front that
//!   split lines differently would see other fields than weft does; a CR not
//!   followed by LF is refused.
//!
//! # Answers while partial
//!
//! An error is reported as soon as the byte that makes the head invalid is in
//! the input; `Ok(None)` means every byte so far can still start a valid
//! head. So the answer for an input never depends on how it was split into
//! reads: more bytes turn `Ok(None)` into a result, never an error into
//! another one.
//!
//! # Against httparse
//!
//! The rules are httparse's (1.10, default configuration) except that weft
//! refuses bare LF, and the field count limit is checked the same way (after
//! the field line that goes past it is complete). The `head_differential`
//! fuzz target (crates/weft-http/fuzz) holds the two to that.
//!
//! # Speed
//!
//! The long runs (target, field values) are scanned eight bytes at a time:
//! a word's bytes are tested together for "a byte that ends or breaks the
//! run" with carry-free bit tricks (SWAR), so a typical value costs a few
//! instructions per eight bytes. Names are short and checked by table.

use std::ops::Range;

/// What is wrong with a head, by the rule it breaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScanError {
    /// The method is not a token, or not followed by exactly one space.
    Method,
    /// The request target is empty, has a byte outside the allowed set, is
    /// not valid UTF-8, or is not followed by one space.
    Target,
    /// The version is not `HTTP/1.0` or `HTTP/1.1`.
    Version,
    /// Something other than a line ending after the version, or a CR not
    /// followed by LF there or before the request line.
    NewLine,
    /// A field name is not a token or not followed directly by `:` (this
    /// covers obs-fold: a line starting with whitespace).
    FieldName,
    /// A field value has a byte outside the allowed set, or a CR not
    /// followed by LF ends it.
    FieldValue,
    /// A line ends in LF without CR.
    BareLf,
    /// More field lines than the limit passed to [`scan_head`].
    TooManyFields,
}

/// Where the parts of a complete head are, as offsets into the input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scanned {
    /// Bytes the head occupies, up to and including its blank line.
    pub len: usize,
    /// The method's bytes.
    pub method: Range<usize>,
    /// The request target's bytes.
    pub target: Range<usize>,
    /// 0 for HTTP/1.0, 1 for HTTP/1.1.
    pub minor_version: u8,
    /// The field lines: from after the request line's CRLF to before the
    /// blank line's CRLF (empty when there are none).
    pub fields: Range<usize>,
    /// How many field lines there are.
    pub field_count: usize,
}

/// Scans the request head at the start of `buf`, calling `on_field(name,
/// value)` for each field line in order (the value without surrounding
/// whitespace), and refusing more than `max_fields` of them.
///
/// `Ok(None)`: the head is incomplete so far; call again with the same bytes
/// and more. The callback may already have been called for the fields seen.
///
/// ```
/// use weft_http::proto::scan::scan_head;
///
/// let wire = b"GET /a?b HTTP/1.1\r\nHost: x\r\nAccept:  */* \r\n\r\nbody";
/// let mut fields = Vec::new();
/// let head = scan_head(wire, 8, |n, v| fields.push((n, v))).unwrap().unwrap();
/// assert_eq!(&wire[head.target.clone()], b"/a?b");
/// assert_eq!(head.len, wire.len() - 4);
/// assert_eq!(fields, [(&b"Host"[..], &b"x"[..]), (b"Accept", b"*/*")]);
/// ```
#[inline]
pub fn scan_head<'a>(
    buf: &'a [u8],
    max_fields: usize,
    mut on_field: impl FnMut(&'a [u8], &'a [u8]),
) -> Result<Option<Scanned>, ScanError> {
    // Empty lines before the request line.
    let mut at = 0;
    loop {
        match buf.get(at) {
            None => return Ok(None),
            Some(b'\r') => match buf.get(at + 1) {
                None => return Ok(None),
                Some(b'\n') => at += 2,
                Some(_) => return Err(ScanError::NewLine),
            },
            Some(b'\n') => return Err(ScanError::BareLf),
            Some(_) => break,
        }
    }

    // method SP
    let method_start = at;
    let Some(method_end) = scan_method(buf, at)? else {
        return Ok(None);
    };
    at = method_end + 1;

    // request-target SP
    let target_start = at;
    let (target_end, non_ascii) = match run_end(buf, at, TARGET_STOP) {
        Some(end) => end,
        None => return Ok(None),
    };
    if buf[target_end] != b' ' || target_end == target_start {
        return Err(ScanError::Target);
    }
    if non_ascii && std::str::from_utf8(&buf[target_start..target_end]).is_err() {
        return Err(ScanError::Target);
    }
    at = target_end + 1;

    // HTTP-version CRLF
    const VERSION: &[u8; 7] = b"HTTP/1.";
    let have = buf.len() - at;
    if have < 8 {
        return if buf[at..] == VERSION[..have.min(7)] {
            Ok(None)
        } else {
            Err(ScanError::Version)
        };
    }
    if buf[at..at + 7] != VERSION[..] {
        return Err(ScanError::Version);
    }
    let minor_version = match buf[at + 7] {
        b'0' => 0,
        b'1' => 1,
        _ => return Err(ScanError::Version),
    };
    at += 8;
    at = match line_end(buf, at, ScanError::NewLine)? {
        Some(next) => next,
        None => return Ok(None),
    };

    // field lines, then the blank line
    let fields_start = at;
    let mut field_count = 0;
    loop {
        let Some(&first) = buf.get(at) else {
            return Ok(None);
        };
        if first == b'\r' || first == b'\n' {
            let Some(end) = line_end(buf, at, ScanError::NewLine)? else {
                return Ok(None);
            };
            return Ok(Some(Scanned {
                len: end,
                method: method_start..method_end,
                target: target_start..target_end,
                minor_version,
                fields: fields_start..at,
                field_count,
            }));
        }
        let name_start = at;
        let mut i = at;
        while let Some(&b) = buf.get(i) {
            if !is_token(b) {
                break;
            }
            i += 1;
        }
        match buf.get(i) {
            None => return Ok(None),
            Some(b':') if i > name_start => {}
            Some(_) => return Err(ScanError::FieldName),
        }
        let name = &buf[name_start..i];
        i += 1;
        // OWS
        while matches!(buf.get(i), Some(b' ' | b'\t')) {
            i += 1;
        }
        let value_start = i;
        let Some((value_end, _)) = run_end(buf, i, VALUE_STOP) else {
            return Ok(None);
        };
        let Some(next) = line_end(buf, value_end, ScanError::FieldValue)? else {
            return Ok(None);
        };
        if field_count == max_fields {
            return Err(ScanError::TooManyFields);
        }
        let mut trimmed_end = value_end;
        while trimmed_end > value_start && matches!(buf[trimmed_end - 1], b' ' | b'\t') {
            trimmed_end -= 1;
        }
        on_field(name, &buf[value_start..trimmed_end]);
        field_count += 1;
        at = next;
    }
}

/// The method from `at`: the offset of the space that ends it, `None` if the
/// input ends first.
#[inline(always)]
fn scan_method(buf: &[u8], at: usize) -> Result<Option<usize>, ScanError> {
    // The two methods of nearly every request, in one comparison each.
    if let Some(word) = buf.get(at..at + 4) {
        if word == b"GET " {
            return Ok(Some(at + 3));
        }
        if word == b"POST" && buf.get(at + 4) == Some(&b' ') {
            return Ok(Some(at + 4));
        }
    }
    let mut i = at;
    loop {
        match buf.get(i) {
            None => return Ok(None),
            Some(b' ') if i > at => return Ok(Some(i)),
            Some(&b) if is_token(b) => i += 1,
            Some(_) => return Err(ScanError::Method),
        }
    }
}

/// The line ending at `at`: the offset after its CRLF, `None` if the input
/// ends first. Anything but CRLF is `other`, a bare LF [`ScanError::BareLf`].
#[inline(always)]
fn line_end(buf: &[u8], at: usize, other: ScanError) -> Result<Option<usize>, ScanError> {
    match buf.get(at) {
        None => Ok(None),
        Some(b'\r') => match buf.get(at + 1) {
            None => Ok(None),
            Some(b'\n') => Ok(Some(at + 2)),
            Some(_) => Err(other),
        },
        Some(b'\n') => Err(ScanError::BareLf),
        Some(_) => Err(other),
    }
}

/// Which bytes end a run of allowed bytes, as a test on one byte and on a
/// word of eight (SWAR).
#[derive(Clone, Copy)]
struct Stop {
    /// Bytes below this end the run (except HTAB where `tab_ok`).
    below: u8,
    /// HTAB belongs to the run (field values).
    tab_ok: bool,
}

/// A target runs over visible ASCII and obs-text: SP, controls and DEL stop it.
const TARGET_STOP: Stop = Stop {
    below: 0x21,
    tab_ok: false,
};
/// A field value runs over HTAB, SP, visible ASCII and obs-text.
const VALUE_STOP: Stop = Stop {
    below: 0x20,
    tab_ok: true,
};

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

impl Stop {
    #[inline(always)]
    fn stops(self, b: u8) -> bool {
        (b < self.below && !(self.tab_ok && b == b'\t')) || b == 0x7f
    }

    /// A mask with the high bit set in (at least) the first byte of `word`
    /// (little-endian order) that [`Stop::stops`] or is HTAB, and clear in
    /// every byte before it. Bytes after the first flagged one may be flagged
    /// wrongly (borrows propagate upward), which is why only the first is used.
    #[inline(always)]
    fn mask(self, word: u64) -> u64 {
        // High bit of each byte below `below` (a borrow-propagating "has less").
        let below = word.wrapping_sub(ONES * u64::from(self.below)) & !word;
        // High bit of each byte equal to DEL.
        let del = word ^ (ONES * 0x7f);
        let del = del.wrapping_sub(ONES) & !del;
        (below | del) & HIGHS
    }
}

/// The end of the run of allowed bytes from `at`: the offset of the first
/// byte that stops it, and whether the run had a byte >= 0x80. `None` if the
/// input ends inside the run.
#[inline(always)]
fn run_end(buf: &[u8], mut at: usize, stop: Stop) -> Option<(usize, bool)> {
    let mut highs = 0u64;
    while let Some(chunk) = buf.get(at..at + 8) {
        let word = u64::from_le_bytes(chunk.try_into().expect("eight bytes"));
        let mask = stop.mask(word);
        if mask == 0 {
            highs |= word;
            at += 8;
            continue;
        }
        // A flagged byte may be an HTAB inside a value: finish this word byte by byte.
        let first = (mask.trailing_zeros() / 8) as usize;
        // The bytes before it belong to the run (`first` is 0..=7).
        highs |= word & ((1u64 << (8 * first)) - 1);
        at += first;
        if !stop.stops(buf[at]) {
            // HTAB in a value: go on after it.
            at += 1;
            continue;
        }
        return Some((at, highs & HIGHS != 0));
    }
    let mut non_ascii = highs & HIGHS != 0;
    for (i, &b) in buf[at..].iter().enumerate() {
        if stop.stops(b) {
            return Some((at + i, non_ascii));
        }
        non_ascii |= b >= 0x80;
    }
    None
}

/// RFC 9110 §5.6.2 `tchar`.
#[inline(always)]
fn is_token(b: u8) -> bool {
    TOKEN[b as usize]
}

static TOKEN: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] = c.is_ascii_alphanumeric()
            || matches!(
                c,
                b'!' | b'#'
                    | b'$'
                    | b'%'
                    | b'&'
                    | b'\''
                    | b'*'
                    | b'+'
                    | b'-'
                    | b'.'
                    | b'^'
                    | b'_'
                    | b'`'
                    | b'|'
                    | b'~'
            );
        b += 1;
    }
    table
};

#[cfg(test)]
mod tests;
