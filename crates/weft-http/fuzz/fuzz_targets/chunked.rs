//! The chunked body decoder, behind a fixed chunked head: never a panic, the same outcome
//! fed whole and byte by byte, and a decoded body never longer than the body limit.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

const HEAD: &[u8] = b"POST /c HTTP/1.1\r\nHost: f\r\nTransfer-Encoding: chunked\r\n\r\n";

fuzz_target!(|body: &[u8]| {
    let mut wire = HEAD.to_vec();
    wire.extend_from_slice(body);
    let whole = common::decode_pieces([&wire[..]]);
    let bytes = common::decode_pieces(wire.chunks(1));
    assert_eq!(whole, bytes, "{:?}", String::from_utf8_lossy(body));
    for out in &whole {
        if let common::Out::Request { body, .. } = out {
            assert!(body.len() <= common::limits().max_body_bytes);
        }
    }
});
