//! What one request head costs, layer by layer, on two heads, 16 of each pipelined in one
//! buffer as in the pipelined scenario of the side-by-side server benchmark (`benches/servers/`):
//! the request `wrk` sends there (`wrk_get`), and a browser-like GET with 12 fields
//! (`browser_get`).
//!
//! - `floor_scan`: the floor server's whole per-request work, counting `\r\n\r\n`;
//! - `httparse`: the parser weft-http was built on before, alone (32 header slots on the stack);
//! - `weft_scan`: weft's own tokenizer (`weft_http::proto::scan::scan_head`), alone, each field
//!   handed to a callback that keeps it (as httparse's slots do);
//! - `weft_request`: weft-http's decoding into an owned [`weft_http::Request`] (the tokenizer,
//!   the framing and `Host` rules, the head copy), dropped at once.
//!
//! Times are per request. The difference between the floor and a parser is the least a server
//! that really parses HTTP/1.1 with it pays above the floor.
//!
//! Medians of 2026-12-02 (2 shared CPUs, ns per request), wrk_get / browser_get: floor_scan
//! 17.1 / 226, httparse 25.5 / 177, weft_scan 14.5 / 145, weft_request 38.3 / 243 (71.8 on
//! wrk_get with httparse inside, the tree before weft's tokenizer).

use std::hint::black_box;
use std::mem::MaybeUninit;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use weft_benches::criterion_config;

/// What `wrk -s pipeline.lua http://127.0.0.1:18080/plaintext` sends per request.
const WRK_GET: &[u8] = b"GET /plaintext HTTP/1.1\r\nHost: 127.0.0.1:18080\r\n\r\n";
/// What a browser sends for a page: 12 fields, 500-odd bytes.
const BROWSER_GET: &[u8] = b"GET /articles/2026/12/weft-parser?utm_source=feed&ref=home HTTP/1.1\r\n\
Host: www.example.com\r\n\
Connection: keep-alive\r\n\
Cache-Control: max-age=0\r\n\
sec-ch-ua: \"Chromium\";v=\"131\", \"Not_A Brand\";v=\"24\"\r\n\
sec-ch-ua-mobile: ?0\r\n\
Upgrade-Insecure-Requests: 1\r\n\
User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36\r\n\
Accept: text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8\r\n\
Sec-Fetch-Site: same-origin\r\n\
Accept-Encoding: gzip, deflate, br, zstd\r\n\
Accept-Language: en-GB,en;q=0.9,fr;q=0.8\r\n\
Cookie: session=8f2b1c9d0e7a4b3c; theme=dark; _ga=GA1.2.1234567890.1700000000\r\n\r\n";
const DEPTH: usize = 16;

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

fn weft_scan_all(buf: &[u8]) -> usize {
    let mut at = 0;
    let mut count = 0;
    // Reused from head to head, as httparse's (uninitialised) slots are not initialised.
    let mut fields = [(&b""[..], &b""[..]); 32];
    while at < buf.len() {
        let mut n = 0;
        let head = weft_http::proto::scan::scan_head(&buf[at..], 32, |name, value| {
            fields[n] = (name, value);
            n += 1;
        });
        match head {
            Ok(Some(head)) => {
                black_box(&fields[..n]);
                at += head.len;
                count += 1;
            }
            other => panic!("benchmark request did not scan: {other:?}"),
        }
    }
    count
}

fn weft_all(buf: &[u8], one: usize) -> usize {
    buf.chunks(one)
        .map(|raw| {
            let request = weft_http::Request::from_bytes(raw).expect("benchmark request parses");
            black_box(request.path().len())
        })
        .count()
}

fn request_head(c: &mut Criterion) {
    for (name, one) in [("wrk_get", WRK_GET), ("browser_get", BROWSER_GET)] {
        let wire = one.repeat(DEPTH);
        assert_eq!(floor_count(&wire), DEPTH);
        assert_eq!(httparse_all(&wire), DEPTH);
        assert_eq!(weft_scan_all(&wire), DEPTH);
        assert_eq!(weft_all(&wire, one.len()), DEPTH);
        let mut group = c.benchmark_group(format!("http_request_head/{name}"));
        group.throughput(Throughput::Elements(DEPTH as u64));
        group.bench_function("floor_scan", |b| b.iter(|| floor_count(black_box(&wire))));
        group.bench_function("httparse", |b| b.iter(|| httparse_all(black_box(&wire))));
        group.bench_function("weft_scan", |b| b.iter(|| weft_scan_all(black_box(&wire))));
        group.bench_function("weft_request", |b| {
            b.iter(|| weft_all(black_box(&wire), one.len()))
        });
        group.finish();
    }
}

criterion_group! {
    name = benches;
    config = criterion_config();
    targets = request_head
}
criterion_main!(benches);
