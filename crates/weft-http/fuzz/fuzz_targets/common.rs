//! What the decoder targets share: running a `RequestDecoder` over input fed in pieces, and
//! what came out, comparable between two feedings.

use weft_http::proto::{Decoded, RequestDecoder};
use weft_http::Limits;

/// What one decoding produced, in order: each request's method, target, headers and body,
/// then the status of the error that ended it (if one did). `100 Continue` is left out: whether
/// it is due depends on whether the body was already read, i.e. on the split.
#[derive(Debug, PartialEq, Eq)]
pub enum Out {
    Request {
        method: String,
        target: String,
        headers: Vec<(String, Vec<u8>)>,
        body: Vec<u8>,
    },
    Error(u16),
}

/// Small limits, so that the fuzzer reaches every limit's edge quickly.
pub fn limits() -> Limits {
    Limits {
        max_request_line_bytes: 256,
        max_head_bytes: 1024,
        max_headers: 16,
        max_body_bytes: 4096,
        ..Limits::default()
    }
}

/// Feeds `pieces` one after the other, decoding after each, as a driver reading a socket
/// does; never keeps more unconsumed bytes than the limits allow (checked).
pub fn decode_pieces<'a>(pieces: impl IntoIterator<Item = &'a [u8]>) -> Vec<Out> {
    let limits = limits();
    let bound = limits.max_head_bytes + limits.max_body_bytes + 64 * 1024;
    let mut decoder = RequestDecoder::new(limits);
    let mut pending: Vec<u8> = Vec::new();
    let mut out = Vec::new();
    for piece in pieces {
        pending.extend_from_slice(piece);
        loop {
            let (used, step) = decoder.decode(&pending);
            assert!(used <= pending.len(), "consumed {used} of {}", pending.len());
            pending.drain(..used);
            match step {
                Ok(Decoded::NeedMore) => break,
                Ok(Decoded::Continue) => {}
                Ok(Decoded::Request(request)) => out.push(Out::Request {
                    method: request.method_str().to_owned(),
                    target: request.target().to_owned(),
                    headers: request
                        .headers()
                        .map(|(n, v)| (n.to_owned(), v.to_vec()))
                        .collect(),
                    body: request.body().to_vec(),
                }),
                Err(error) => {
                    out.push(Out::Error(error.status().as_u16()));
                    return out;
                }
            }
        }
        assert!(
            pending.len() <= bound,
            "{} unconsumed bytes kept: past every limit",
            pending.len()
        );
    }
    out
}
