//! Child processes: spawn `/bin/true` and wait for it, weft against tokio's current-thread
//! runtime, same machine, same run.
//!
//! Most of the time is the kernel's (creating and tearing down a process); what the runtimes
//! add is the spawn path, the exit notification (weft: a pidfd in epoll; tokio: a pidfd too on
//! recent versions, else SIGCHLD) and the reap.
//!
//! Run: `cargo bench -p weft-benches --bench process`, then
//! `python3 benches/ratios.py spawn_wait_true`.

use criterion::{criterion_group, criterion_main, Criterion};
use std::time::Instant;
use weft_benches::{tokio_rt, weft_rt};

/// The cheapest real program: exits 0 at once.
const PROGRAM: &str = "/bin/true";

fn spawn_wait_true(c: &mut Criterion) {
    let mut g = c.benchmark_group("spawn_wait_true");
    let rt = weft_rt();
    g.bench_function("weft", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async move {
                let start = Instant::now();
                for _ in 0..iters {
                    let mut child = weft::process::Command::new(PROGRAM).spawn().unwrap();
                    assert!(child.wait().await.unwrap().success());
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
                    let mut child = tokio::process::Command::new(PROGRAM).spawn().unwrap();
                    assert!(child.wait().await.unwrap().success());
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
    targets = spawn_wait_true
}
criterion_main!(benches);
