//! The runtime owns the pool: builder settings reach it, `Runtime::metrics`
//! reads it, and runtime shutdown is bounded by the pool's shutdown timeout
//! even with a job that never ends.

mod pool_support;

use std::sync::mpsc;
use std::time::Duration;

use pool_support::{wait_until, Gate, DEADLINE};
use weft::pool::Lane;
use weft::rt::Runtime;

/// Short, to keep the test quick; only "returned, and waited at least this"
/// is asserted.
const SHUTDOWN_TIMEOUT: Duration = Duration::from_millis(100);

#[test]
fn builder_settings_and_metrics() {
    let rt = Runtime::builder()
        .current_thread()
        .pool_threads(Lane::Fs, 3)
        .pool_threads(Lane::Cpu, 1)
        .build()
        .unwrap();
    let m = rt.metrics();
    assert_eq!(m.pool.lane(Lane::Fs).max_threads, 3);
    assert_eq!(m.pool.lane(Lane::Cpu).max_threads, 1);
    assert_eq!(
        m.pool.lane(Lane::Fs).threads,
        0,
        "no thread before the first job"
    );

    let path = std::env::temp_dir().join(format!("weft-pool-rt-{}", std::process::id()));
    rt.block_on(async {
        weft::fs::write(&path, b"metrics").await.unwrap();
        assert_eq!(weft::fs::read(&path).await.unwrap(), b"metrics");
        weft::fs::remove_file(&path).await.unwrap();
        assert_eq!(weft::spawn_cpu(|| 2 + 2).await.unwrap(), 4);
    });
    let m = rt.metrics();
    assert_eq!(m.pool.lane(Lane::Fs).completed, 3);
    assert_eq!(m.pool.lane(Lane::Fs).queue_wait.count(), 3);
    assert_eq!(m.pool.lane(Lane::Cpu).completed, 1);

    let err = Runtime::builder()
        .pool_threads(Lane::Dns, 0)
        .build()
        .unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    assert!(err.to_string().contains("Lane::Dns"), "{err}");
}

#[test]
fn runtime_shutdown_with_a_never_ending_job_is_bounded() {
    let gate = Gate::new();
    let _open = gate.open_on_drop();
    let (tx, rx) = mpsc::channel();
    // The runtime is !Send, so it lives on its own thread; this one only
    // waits for the report, with a deadline, so a hang fails the test.
    {
        let gate = gate.clone();
        std::thread::spawn(move || {
            let rt = Runtime::builder()
                .loops(1)
                .pool_shutdown_timeout(SHUTDOWN_TIMEOUT)
                .build()
                .unwrap();
            let pool = rt.block_on(async { weft::rt::current_pool() });
            // A task on the loop thread awaits a job that never ends (until
            // the test opens the gate, after shutdown).
            rt.spawn_on(0, async move {
                let _ = weft::spawn_blocking(move || gate.wait()).await;
            });
            wait_until("the job to start", || {
                rt.metrics().pool.lane(Lane::Blocking).running == 1
            });
            let report = rt.shutdown();
            tx.send((report, pool)).unwrap();
        });
    }
    let (report, pool) = rx
        .recv_timeout(DEADLINE)
        .expect("runtime shutdown hung on a never-ending job");
    assert!(report.elapsed >= SHUTDOWN_TIMEOUT, "{report}");
    assert_eq!(report.lane(Lane::Blocking).detached_running, 1, "{report}");
    assert!(pool.is_shut_down());

    // The detached job ends later and wakes a task whose loop is gone: no
    // crash, and its thread exits.
    gate.open();
    wait_until("the detached thread to exit", || {
        pool.metrics().lane(Lane::Blocking).threads == 0
    });
}
