//! `Range` parsing (`weft serve`'s static files): any field value against any file length is
//! ignored, unsatisfiable, or a non-empty range inside the file; never a panic or an overflow.
//! Input: 8 bytes of file length (little-endian; a short input pads with zeros), then the value.
#![no_main]

#[allow(dead_code)]
#[path = "../../src/serve/conditional.rs"]
mod conditional;

use conditional::{parse_range, RangeSpec};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut len = [0u8; 8];
    let split = data.len().min(8);
    len[..split].copy_from_slice(&data[..split]);
    let len = u64::from_le_bytes(len);
    let Ok(value) = std::str::from_utf8(&data[split..]) else {
        return;
    };
    match parse_range(value, len) {
        RangeSpec::Bytes(bytes) => {
            assert!(bytes.start < bytes.end, "{value:?} against {len}: empty {bytes:?}");
            assert!(bytes.end <= len, "{value:?} against {len}: {bytes:?} past the end");
        }
        RangeSpec::Unsatisfiable => {
            assert!(value.trim().starts_with("bytes="), "{value:?}: 416 for a non-bytes unit");
        }
        RangeSpec::Ignored => {}
    }
});
