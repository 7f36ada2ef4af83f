//! The cluster IPC frame decoder (`weft::cluster::ipc`): any bytes a peer may send (a worker
//! from another binary, a corrupt length) give frames, decode errors or a refused length, never
//! a panic and never an allocation beyond the frame limit; decoding is the same whether the
//! bytes arrive whole or frame by frame, and whatever bytes are used are within the input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use weft::cluster::ipc::{decode_control_frames, MAX_FRAME_BYTES};

fuzz_target!(|data: &[u8]| {
    let (frames, used, error) = decode_control_frames(data);
    assert!(used <= data.len());
    // Each frame is its 4-byte prefix and payload, so they account for `used` exactly.
    assert!(frames.len() * 4 <= used);
    match &error {
        Some(_) => {
            // Only an oversized length ends the stream.
            let rest = &data[used..];
            let len = u32::from_be_bytes(rest[..4].try_into().unwrap()) as usize;
            assert!(len > MAX_FRAME_BYTES);
        }
        None => {
            // What is left is an incomplete frame.
            let rest = &data[used..];
            if rest.len() >= 4 {
                let len = u32::from_be_bytes(rest[..4].try_into().unwrap()) as usize;
                assert!(rest.len() < 4 + len);
            }
        }
    }
    // Fed again from the end of the first frame: the same frames after it.
    if !frames.is_empty() {
        let len = u32::from_be_bytes(data[..4].try_into().unwrap()) as usize;
        let (again, again_used, again_error) = decode_control_frames(&data[4 + len..]);
        assert_eq!(again, frames[1..]);
        assert_eq!(again_used + 4 + len, used);
        assert_eq!(again_error.is_some(), error.is_some());
    }
});
