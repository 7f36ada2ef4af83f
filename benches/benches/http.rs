//! What one request head costs, layer by layer, on the request `wrk` sends in the side-by-side
//! server benchmark (`benches/servers/`), 16 of them pipelined in one buffer as in its
//! pipelined scenario:
//!
//! - `floor_scan`: the floor server's whole per-request work, counting `\r\n\r\n`;
//! - `httparse`: the parser weft-http is built on, alone (32 header slots on the stack);
//! - `weft_request`: weft-http's decoding into an owned [`weft_http::Request`] (httparse, the
//!   framing and `Host` rules, the head copy), dropped at once.
//!
//! Times are per request. The difference between the first two is the least any server that
//! really parses HTTP/1.1 pays above the floor; compare it with what the side-by-side targets
//! allow above the floor's CPU time per request.

use std::hint::black_box;
use std::mem::MaybeUninit;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use weft_benches::criterion_config;

/// What `wrk -s pipeline.lua http://127.0.0.1:18080/plaintext` sends per request.
const REQUEST: &[u8] = b"GET /plaintext HTTP/1.1\r\nHost: 127.0.0.1:18080\r\n\r\n";
const DEPTH: usize = 16;

fn batch() -> Vec<u8> {
    REQUEST.repeat(DEPTH)
}

/// The floor server's scan (benches/servers/floor): heads counted by their ends.
fn floor_count(buf: &[u8]) -> usize {
    let mut count = 0;
    let mut from = 0;
    while let Some(i) = buf[from..].iter().position(|&b| b == b'\n') {
        let nl = from + i;
        if nl >= 3 && &buf[nl - 3..=nl] == b"\r\n\r\n" {
            count += 1;
        }
        from = nl + 1;
    }
    count
}

fn httparse_all(buf: &[u8]) -> usize {
    let mut at = 0;
    let mut count = 0;
    while at < buf.len() {
        let mut slots = [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; 32];
        let mut request = httparse::Request::new(&mut []);
        match httparse::ParserConfig::default().parse_request_with_uninit_headers(
            &mut request,
            &buf[at..],
            &mut slots,
        ) {
            Ok(httparse::Status::Complete(len)) => {
                black_box(&request);
                at += len;
                count += 1;
            }
            other => panic!("benchmark request did not parse: {other:?}"),
        }
    }
    count
}

fn weft_all(buf: &[u8]) -> usize {
    buf.chunks(REQUEST.len())
        .map(|raw| {
            let request = weft_http::Request::from_bytes(raw).expect("benchmark request parses");
            black_box(request.path().len())
        })
        .count()
}

fn request_head(c: &mut Criterion) {
    let wire = batch();
    assert_eq!(floor_count(&wire), DEPTH);
    assert_eq!(httparse_all(&wire), DEPTH);
    assert_eq!(weft_all(&wire), DEPTH);
    let mut group = c.benchmark_group("http_request_head");
    group.throughput(Throughput::Elements(DEPTH as u64));
    group.bench_function("floor_scan", |b| b.iter(|| floor_count(black_box(&wire))));
    group.bench_function("httparse", |b| b.iter(|| httparse_all(black_box(&wire))));
    group.bench_function("weft_request", |b| b.iter(|| weft_all(black_box(&wire))));
    group.finish();
}

criterion_group! {
    name = benches;
    config = criterion_config();
    targets = request_head
}
criterion_main!(benches);
