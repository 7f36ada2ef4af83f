//! The runtime core against tokio's current-thread runtime, same machine, same run.
//!
//! Each benchmark times only the operation: `iter_custom` runs the whole batch inside one
//! `block_on`, so neither runtime's `block_on` entry cost is counted.
//!
//! Run: `cargo bench -p weft-benches --bench runtime`, then
//! `python3 benches/ratios.py spawn_join yield_ping_pong timer_insert_cancel tcp_echo_round_trip`.

use criterion::{criterion_group, criterion_main, Criterion};
use std::future::Future;
use std::pin::pin;
use std::task::Poll;
use std::time::{Duration, Instant};
use weft_benches::{tokio_rt, weft_rt};

fn spawn_join(c: &mut Criterion) {
    let mut g = c.benchmark_group("spawn_join");
    let rt = weft_rt();
    g.bench_function("weft", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async move {
                let start = Instant::now();
                for _ in 0..iters {
                    weft::spawn(async {}).await.unwrap();
                }
                start.elapsed()
            })
        })
    });
    let rt = tokio_rt();
    g.bench_function("tokio", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async move {
                let start = Instant::now();
                for _ in 0..iters {
                    tokio::spawn(async {}).await.unwrap();
                }
                start.elapsed()
            })
        })
    });
    g.finish();
}

/// Two tasks take turns: each `yield_now` puts one behind the other. One iteration is one
/// yield of each task.
fn yield_ping_pong(c: &mut Criterion) {
    let mut g = c.benchmark_group("yield_ping_pong");
    let rt = weft_rt();
    g.bench_function("weft", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async move {
                let start = Instant::now();
                let a = weft::spawn(async move {
                    for _ in 0..iters {
                        weft::yield_now().await;
                    }
                });
                let b = weft::spawn(async move {
                    for _ in 0..iters {
                        weft::yield_now().await;
                    }
                });
                a.await.unwrap();
                b.await.unwrap();
                start.elapsed()
            })
        })
    });
    let rt = tokio_rt();
    g.bench_function("tokio", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async move {
                let start = Instant::now();
                let a = tokio::spawn(async move {
                    for _ in 0..iters {
                        tokio::task::yield_now().await;
                    }
                });
                let b = tokio::spawn(async move {
                    for _ in 0..iters {
                        tokio::task::yield_now().await;
                    }
                });
                a.await.unwrap();
                b.await.unwrap();
                start.elapsed()
            })
        })
    });
    g.finish();
}

/// Files a timer (first poll of a one-second sleep) and cancels it (drop).
fn timer_insert_cancel(c: &mut Criterion) {
    async fn poll_once<F: Future>(f: F) {
        let mut f = pin!(f);
        std::future::poll_fn(|cx| {
            assert!(f.as_mut().poll(cx).is_pending());
            Poll::Ready(())
        })
        .await
    }
    let mut g = c.benchmark_group("timer_insert_cancel");
    let rt = weft_rt();
    g.bench_function("weft", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async move {
                let start = Instant::now();
                for _ in 0..iters {
                    poll_once(weft::time::sleep(Duration::from_secs(1))).await;
                }
                start.elapsed()
            })
        })
    });
    let rt = tokio_rt();
    g.bench_function("tokio", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async move {
                let start = Instant::now();
                for _ in 0..iters {
                    poll_once(tokio::time::sleep(Duration::from_secs(1))).await;
                }
                start.elapsed()
            })
        })
    });
    g.finish();
}

/// One 64-byte message out and back over loopback TCP, server task on the same loop.
fn tcp_echo_round_trip(c: &mut Criterion) {
    const MSG: usize = 64;
    let mut g = c.benchmark_group("tcp_echo_round_trip");
    let rt = weft_rt();
    g.bench_function("weft", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async move {
                let listener = weft::net::TcpListener::bind("127.0.0.1:0").unwrap();
                let addr = listener.local_addr().unwrap();
                let server = weft::spawn(async move {
                    let (s, _) = listener.accept().await.unwrap();
                    s.set_nodelay(true).unwrap();
                    let mut buf = [0u8; MSG];
                    loop {
                        if s.read_exact(&mut buf).await.is_err() {
                            break;
                        }
                        s.write_all(&buf).await.unwrap();
                    }
                });
                let client = weft::net::TcpStream::connect(addr).await.unwrap();
                client.set_nodelay(true).unwrap();
                let mut buf = [7u8; MSG];
                let start = Instant::now();
                for _ in 0..iters {
                    client.write_all(&buf).await.unwrap();
                    client.read_exact(&mut buf).await.unwrap();
                }
                let elapsed = start.elapsed();
                drop(client);
                server.await.unwrap();
                elapsed
            })
        })
    });
    let rt = tokio_rt();
    g.bench_function("tokio", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async move {
                use tokio::io::{AsyncReadExt, AsyncWriteExt};
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                let addr = listener.local_addr().unwrap();
                let server = tokio::spawn(async move {
                    let (mut s, _) = listener.accept().await.unwrap();
                    s.set_nodelay(true).unwrap();
                    let mut buf = [0u8; MSG];
                    loop {
                        if s.read_exact(&mut buf).await.is_err() {
                            break;
                        }
                        s.write_all(&buf).await.unwrap();
                    }
                });
                let mut client = tokio::net::TcpStream::connect(addr).await.unwrap();
                client.set_nodelay(true).unwrap();
                let mut buf = [7u8; MSG];
                let start = Instant::now();
                for _ in 0..iters {
                    client.write_all(&buf).await.unwrap();
                    client.read_exact(&mut buf).await.unwrap();
                }
                let elapsed = start.elapsed();
                drop(client);
                server.await.unwrap();
                elapsed
            })
        })
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = weft_benches::criterion_config();
    targets = spawn_join, yield_ping_pong, timer_insert_cancel, tcp_echo_round_trip
}
criterion_main!(benches);
