//! The worker pool and `weft::fs` against tokio's blocking pool and `tokio::fs`, same machine,
//! same run.
//!
//! Both sides run on a current-thread runtime and time a whole batch inside one `block_on`
//! (`iter_custom`), so `block_on` entry is not counted.
//!
//! - `pool_round_trip`: submit one no-op blocking job and await it, one at a time: the latency
//!   of a hand-off to a pool thread and the wake back to the loop.
//! - `pool_throughput`: submit a burst of [`BURST`] no-op jobs, then await them all.
//! - `fs_read_64mib_chunks`: read a 64 MiB file (warm in the page cache) through `File` with a
//!   [`READ_BUF`] buffer until end of file.
//! - `fs_read_64mib_whole`: `fs::read` of the same file (tokio reads it in one job; weft in
//!   `IO_CHUNK` jobs so that one file cannot hold an `fs` thread).
//!
//! Run: `cargo bench -p weft-benches --bench pool`, then
//! `python3 benches/ratios.py pool_round_trip pool_throughput fs_read_64mib_chunks fs_read_64mib_whole`.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::hint::black_box;
use std::path::PathBuf;
use std::time::Instant;
use weft_benches::{tokio_rt, weft_rt};

/// Jobs per burst in `pool_throughput`: enough to queue behind every thread of the lane.
const BURST: usize = 256;
/// Size of the file the `fs_read_*` benchmarks read (the figure).
const FILE_SIZE: usize = 64 * 1024 * 1024;
/// The caller's buffer in `fs_read_64mib_chunks`: 1 MiB, below both runtimes' per-job cap
/// (2 MiB each), so both move the same amount per job.
const READ_BUF: usize = 1024 * 1024;

fn pool_round_trip(c: &mut Criterion) {
    let mut g = c.benchmark_group("pool_round_trip");
    let rt = weft_rt();
    g.bench_function("weft", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async move {
                let start = Instant::now();
                for _ in 0..iters {
                    black_box(weft::spawn_blocking(|| black_box(1)).await.unwrap());
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
                    black_box(tokio::task::spawn_blocking(|| black_box(1)).await.unwrap());
                }
                start.elapsed()
            })
        })
    });
    g.finish();
}

fn pool_throughput(c: &mut Criterion) {
    let mut g = c.benchmark_group("pool_throughput");
    g.throughput(Throughput::Elements(BURST as u64));
    let rt = weft_rt();
    g.bench_function("weft", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async move {
                let start = Instant::now();
                for _ in 0..iters {
                    let jobs: Vec<_> = (0..BURST)
                        .map(|i| weft::spawn_blocking(move || black_box(i)))
                        .collect();
                    for job in jobs {
                        black_box(job.await.unwrap());
                    }
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
                    let jobs: Vec<_> = (0..BURST)
                        .map(|i| tokio::task::spawn_blocking(move || black_box(i)))
                        .collect();
                    for job in jobs {
                        black_box(job.await.unwrap());
                    }
                }
                start.elapsed()
            })
        })
    });
    g.finish();
}

/// A 64 MiB file of varied bytes in the temp dir, removed on drop.
struct BenchFile(PathBuf);

impl BenchFile {
    fn new() -> BenchFile {
        let path = std::env::temp_dir().join(format!("weft-bench-64mib-{}", std::process::id()));
        let data: Vec<u8> = (0..FILE_SIZE).map(|i| (i % 251) as u8).collect();
        let mut file = std::fs::File::create(&path).unwrap();
        std::io::Write::write_all(&mut file, &data).unwrap();
        // Written back now, so that write-back does not run during (and slow) whichever side
        // is measured first; then read once so the page cache is warm for both.
        file.sync_all().unwrap();
        assert_eq!(std::fs::read(&path).unwrap().len(), FILE_SIZE);
        BenchFile(path)
    }
}

impl Drop for BenchFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn fs_read_chunks(c: &mut Criterion) {
    let file = BenchFile::new();
    let mut g = c.benchmark_group("fs_read_64mib_chunks");
    g.throughput(Throughput::Bytes(FILE_SIZE as u64));
    g.sample_size(20);
    let rt = weft_rt();
    g.bench_function("weft", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                use futures_util::io::AsyncReadExt;
                let mut buf = vec![0u8; READ_BUF];
                let start = Instant::now();
                for _ in 0..iters {
                    let mut f = weft::fs::File::open(&file.0).await.unwrap();
                    let mut total = 0;
                    loop {
                        let n = f.read(&mut buf).await.unwrap();
                        if n == 0 {
                            break;
                        }
                        total += n;
                    }
                    assert_eq!(total, FILE_SIZE);
                }
                start.elapsed()
            })
        })
    });
    let rt = tokio_rt();
    g.bench_function("tokio", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                use tokio::io::AsyncReadExt;
                let mut buf = vec![0u8; READ_BUF];
                let start = Instant::now();
                for _ in 0..iters {
                    let mut f = tokio::fs::File::open(&file.0).await.unwrap();
                    let mut total = 0;
                    loop {
                        let n = f.read(&mut buf).await.unwrap();
                        if n == 0 {
                            break;
                        }
                        total += n;
                    }
                    assert_eq!(total, FILE_SIZE);
                }
                start.elapsed()
            })
        })
    });
    g.finish();
}

fn fs_read_whole(c: &mut Criterion) {
    let file = BenchFile::new();
    let mut g = c.benchmark_group("fs_read_64mib_whole");
    g.throughput(Throughput::Bytes(FILE_SIZE as u64));
    g.sample_size(20);
    let rt = weft_rt();
    g.bench_function("weft", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let start = Instant::now();
                for _ in 0..iters {
                    assert_eq!(weft::fs::read(&file.0).await.unwrap().len(), FILE_SIZE);
                }
                start.elapsed()
            })
        })
    });
    let rt = tokio_rt();
    g.bench_function("tokio", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let start = Instant::now();
                for _ in 0..iters {
                    assert_eq!(tokio::fs::read(&file.0).await.unwrap().len(), FILE_SIZE);
                }
                start.elapsed()
            })
        })
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = weft_benches::criterion_config();
    targets = pool_round_trip, pool_throughput, fs_read_chunks, fs_read_whole
}
criterion_main!(benches);
