//! Shutdown is bounded: with a job that never ends it returns after the
//! timeout, abandons queued jobs with an error, and reports both.

mod pool_support;

use std::sync::mpsc;
use std::time::Duration;

use pool_support::{block_on, wait_until, Gate, DEADLINE};
use weft::pool::{Lane, WorkerPool};

/// The shutdown timeout under test; short to keep the test quick.
const SHUTDOWN_TIMEOUT: Duration = Duration::from_millis(100);
/// Jobs queued behind the stuck one.
const QUEUED: usize = 3;

#[test]
fn shutdown_with_a_never_ending_job_returns_and_reports() {
    let pool = WorkerPool::builder()
        .threads(Lane::Blocking, 1)
        .build()
        .unwrap();
    // "Never ending": only the end of the test (the guard) releases it, after
    // shutdown has returned.
    let gate = Gate::new();
    let _open = gate.open_on_drop();
    let stuck = gate
        .hold(
            1,
            1,
            |gate| pool.spawn_blocking(move || gate.wait()),
            || pool.metrics().lane(Lane::Blocking).running,
        )
        .remove(0);
    let queued: Vec<_> = (0..QUEUED)
        .map(|i| pool.spawn_blocking(move || i))
        .collect();

    // Shutdown runs on its own thread so the test can fail (not hang) if it
    // hung.
    let (tx, rx) = mpsc::channel();
    let pool = std::sync::Arc::new(pool);
    {
        let pool = pool.clone();
        std::thread::spawn(move || tx.send(pool.shutdown(SHUTDOWN_TIMEOUT)).unwrap());
    }
    let report = rx
        .recv_timeout(DEADLINE)
        .expect("shutdown hung on a never-ending job");

    assert!(report.elapsed >= SHUTDOWN_TIMEOUT, "did not wait: {report}");
    assert_eq!(report.lane(Lane::Blocking).detached_running, 1, "{report}");
    assert_eq!(
        report.lane(Lane::Blocking).abandoned_queued,
        QUEUED,
        "{report}"
    );
    assert!(!report.is_clean());
    for job in queued {
        assert!(block_on(job).unwrap_err().is_abandoned());
    }
    // New work is refused with an error, not queued forever.
    let refused = block_on(pool.submit(Lane::Fs, || 1)).unwrap_err();
    assert!(refused.is_rejected(), "{refused}");

    // Released, the detached job finishes and its thread exits.
    gate.open();
    drop(stuck);
    wait_until("the detached thread to exit", || {
        pool.metrics().lane(Lane::Blocking).threads == 0
    });
}

#[test]
fn clean_shutdown_waits_for_running_jobs() {
    let pool = std::sync::Arc::new(WorkerPool::builder().build().unwrap());
    let gate = Gate::new();
    let _open = gate.open_on_drop();
    let (started_tx, started_rx) = mpsc::channel();
    let job = {
        let gate = gate.clone();
        pool.submit(Lane::Fs, move || {
            started_tx.send(()).unwrap();
            gate.wait();
            "done"
        })
    };
    started_rx.recv().unwrap();
    // The job is released only once shutdown has begun, so shutdown has to
    // wait for it.
    let opener = {
        let (gate, pool) = (gate.clone(), pool.clone());
        std::thread::spawn(move || {
            wait_until("shutdown to begin", || pool.is_shut_down());
            gate.open();
        })
    };
    let report = pool.shutdown(DEADLINE);
    opener.join().unwrap();
    assert!(report.is_clean(), "{report}");
    assert_eq!(block_on(job).unwrap(), "done");
}

#[test]
fn detached_queued_jobs_run_during_shutdown() {
    let pool = std::sync::Arc::new(WorkerPool::builder().threads(Lane::Fs, 1).build().unwrap());
    let gate = Gate::new();
    let _open = gate.open_on_drop();
    let blocker = gate
        .hold(
            1,
            1,
            |gate| pool.submit(Lane::Fs, move || gate.wait()),
            || pool.metrics().lane(Lane::Fs).running,
        )
        .remove(0);
    let (ran_tx, ran_rx) = mpsc::channel();
    pool.submit(Lane::Fs, move || ran_tx.send(()).unwrap())
        .detach();
    let awaited = pool.submit(Lane::Fs, || ());

    let opener = {
        let (gate, pool) = (gate.clone(), pool.clone());
        std::thread::spawn(move || {
            wait_until("shutdown to begin", || pool.is_shut_down());
            gate.open();
        })
    };
    let report = pool.shutdown(DEADLINE);
    opener.join().unwrap();
    ran_rx.try_recv().expect("the detached job did not run");
    assert_eq!(report.lane(Lane::Fs).drained, 1, "{report}");
    assert_eq!(report.lane(Lane::Fs).abandoned_queued, 1, "{report}");
    assert!(block_on(awaited).unwrap_err().is_abandoned());
    block_on(blocker).unwrap();
}
