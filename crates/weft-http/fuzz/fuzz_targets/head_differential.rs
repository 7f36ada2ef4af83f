//! weft's head tokenizer (`weft_http::proto::scan`) against httparse (default configuration)
//! as the oracle, on the same bytes and the same field limit: both accept with the same head
//! length, method, target, version and fields, or both refuse, or both need more.
//!
//! The one intended difference: weft refuses a bare LF line ending (RFC 9112 §2.2 allows a
//! recipient to accept it; weft does not, see the module doc of `proto::scan`). So where
//! httparse's answer rests on a bare LF, weft's is `ScanError::BareLf`:
//! - httparse complete, with a bare LF in its head: weft refuses with `BareLf`;
//! - httparse partial, with a bare LF in the input: weft refuses with `BareLf`;
//! - httparse refuses and the input has a bare LF: weft refuses (with `BareLf` if the LF
//!   comes before the byte httparse stopped at, else with the same error).
//!
//! Otherwise errors must be of the same kind (the kinds map one to one).
#![no_main]

use std::mem::MaybeUninit;

use libfuzzer_sys::fuzz_target;
use weft_http::proto::scan::{scan_head, ScanError};

/// Fields allowed: small, so that the limit's edge is reached often.
const MAX_FIELDS: usize = 8;

fn has_bare_lf(bytes: &[u8]) -> bool {
    bytes
        .iter()
        .enumerate()
        .any(|(i, &b)| b == b'\n' && (i == 0 || bytes[i - 1] != b'\r'))
}

/// httparse's error, as the weft error of the same rule.
fn same_kind(theirs: httparse::Error, ours: ScanError) -> bool {
    use httparse::Error as H;
    matches!(
        (theirs, ours),
        (H::Token, ScanError::Method | ScanError::Target)
            | (H::Version, ScanError::Version)
            | (H::NewLine, ScanError::NewLine)
            | (H::HeaderName, ScanError::FieldName)
            | (H::HeaderValue, ScanError::FieldValue)
            | (H::TooManyHeaders, ScanError::TooManyFields)
    )
}

fuzz_target!(|data: &[u8]| {
    let mut fields: Vec<(&[u8], &[u8])> = Vec::new();
    let ours = scan_head(data, MAX_FIELDS, |n, v| fields.push((n, v)));

    let mut slots = [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; MAX_FIELDS];
    let mut oracle = httparse::Request::new(&mut []);
    let theirs = httparse::ParserConfig::default().parse_request_with_uninit_headers(
        &mut oracle,
        data,
        &mut slots,
    );
    let shown = String::from_utf8_lossy(data);
    match (theirs, ours) {
        (Ok(httparse::Status::Complete(len)), ours) if has_bare_lf(&data[..len]) => {
            assert_eq!(ours, Err(ScanError::BareLf), "{shown:?}");
        }
        (Ok(httparse::Status::Complete(len)), Ok(Some(head))) => {
            assert_eq!(head.len, len, "{shown:?}");
            assert_eq!(oracle.method.map(str::as_bytes), Some(&data[head.method]));
            assert_eq!(oracle.path.map(str::as_bytes), Some(&data[head.target]));
            assert_eq!(oracle.version, Some(head.minor_version));
            let theirs: Vec<(&[u8], &[u8])> = oracle
                .headers
                .iter()
                .map(|h| (h.name.as_bytes(), h.value))
                .collect();
            // httparse trims a value's trailing whitespace; weft trims both ends, and
            // httparse's values never start with whitespace.
            assert_eq!(fields, theirs, "{shown:?}");
            assert_eq!(head.field_count, fields.len());
            let lines = &data[head.fields];
            assert!(lines.is_empty() || lines.ends_with(b"\r\n"));
        }
        (Ok(httparse::Status::Partial), ours) if has_bare_lf(data) => {
            assert_eq!(ours, Err(ScanError::BareLf), "{shown:?}");
        }
        (Ok(httparse::Status::Partial), ours) => assert_eq!(ours, Ok(None), "{shown:?}"),
        (Err(theirs), Err(ours)) => assert!(
            same_kind(theirs, ours) || (ours == ScanError::BareLf && has_bare_lf(data)),
            "httparse {theirs:?}, weft {ours:?}: {shown:?}"
        ),
        (theirs, ours) => panic!("httparse {theirs:?}, weft {ours:?}: {shown:?}"),
    }
});
