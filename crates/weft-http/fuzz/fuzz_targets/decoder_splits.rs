//! The incremental request decoder: any split of the input into reads gives the same requests
//! and the same error as feeding it whole; it never panics and never keeps more unconsumed
//! input than its limits allow.
//!
//! Input: the first byte says how many split points follow (each one byte, a piece length);
//! the rest is the wire.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    let Some((&count, rest)) = data.split_first() else {
        return;
    };
    let count = usize::from(count % 16).min(rest.len());
    let (splits, wire) = rest.split_at(count);
    let whole = common::decode_pieces([wire]);
    let mut pieces = Vec::new();
    let mut at = 0;
    for &len in splits {
        let end = (at + usize::from(len)).min(wire.len());
        pieces.push(&wire[at..end]);
        at = end;
    }
    pieces.push(&wire[at..]);
    let split = common::decode_pieces(pieces.iter().copied());
    assert_eq!(whole, split, "splits {splits:?} of {:?}", String::from_utf8_lossy(wire));
    // One byte at a time, the harshest split.
    let bytes = common::decode_pieces(wire.chunks(1));
    assert_eq!(whole, bytes, "byte by byte: {:?}", String::from_utf8_lossy(wire));
});
