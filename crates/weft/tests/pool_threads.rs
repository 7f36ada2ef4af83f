//! Worker threads start on demand, never exceed their lane's limit, and
//! exit after the idle timeout.

mod pool_support;

use std::time::Duration;

use pool_support::{block_on, wait_until, Gate};
use weft::pool::{Lane, WorkerPool};

#[test]
fn lane_never_exceeds_its_thread_limit() {
    let pool = WorkerPool::builder().threads(Lane::Cpu, 2).build().unwrap();
    let gate = Gate::new();
    let _open = gate.open_on_drop();
    assert_eq!(
        pool.metrics().lane(Lane::Cpu).threads,
        0,
        "threads before any job"
    );
    let jobs = gate.hold(
        10,
        2,
        |gate| pool.spawn_cpu(move || gate.wait()),
        || pool.metrics().lane(Lane::Cpu).running,
    );
    let m = pool.metrics();
    assert_eq!(m.lane(Lane::Cpu).threads, 2);
    assert_eq!(m.lane(Lane::Cpu).queued, 8);
    gate.open();
    for job in jobs {
        block_on(job).unwrap();
    }
}

#[test]
fn idle_threads_exit_after_the_idle_timeout() {
    let pool = WorkerPool::builder()
        .idle_timeout(Duration::from_millis(20))
        .build()
        .unwrap();
    block_on(pool.spawn_blocking(|| ())).unwrap();
    wait_until("the idle thread to exit", || {
        pool.metrics().lane(Lane::Blocking).threads == 0
    });
    // And a new one starts on demand.
    assert_eq!(block_on(pool.spawn_blocking(|| 1)).unwrap(), 1);
}

/// Sequential round trips in `sequential_jobs_reuse_one_thread`.
const ROUND_TRIPS: usize = 200;

#[test]
fn sequential_jobs_reuse_one_thread() {
    // A worker counts itself idle before it publishes a result, so the
    // submission that the result triggers finds it instead of starting a
    // thread. (Idle timeout far beyond the test, so no thread exits.)
    let rt = weft::rt::Runtime::builder()
        .current_thread()
        .pool_idle_timeout(Duration::from_secs(3600))
        .build()
        .unwrap();
    rt.block_on(async {
        for i in 0..ROUND_TRIPS {
            assert_eq!(weft::spawn_blocking(move || i).await.unwrap(), i);
        }
    });
    let m = rt.metrics();
    assert_eq!(m.pool.lane(Lane::Blocking).completed, ROUND_TRIPS as u64);
    assert_eq!(m.pool.lane(Lane::Blocking).threads, 1);
}
