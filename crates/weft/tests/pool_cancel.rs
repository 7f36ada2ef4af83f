//! Dropping the handle of a job that has not started removes it from the
//! queue: the closure is dropped at once, never runs, and the queued count
//! goes back down.

mod pool_support;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use pool_support::{block_on, wait_until, Gate};
use weft::pool::{Lane, WorkerPool};

/// Sets its flag when dropped: tells when the pool let go of a closure.
struct DropFlag(Arc<AtomicBool>);

impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

#[test]
fn dropped_handle_of_queued_job_cancels_it() {
    let pool = WorkerPool::builder().threads(Lane::Fs, 1).build().unwrap();
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

    let ran = Arc::new(AtomicBool::new(false));
    let dropped = Arc::new(AtomicBool::new(false));
    let queued = {
        let ran = ran.clone();
        let guard = DropFlag(dropped.clone());
        pool.submit(Lane::Fs, move || {
            let _guard = guard;
            ran.store(true, Ordering::SeqCst);
        })
    };
    assert_eq!(pool.metrics().lane(Lane::Fs).queued, 1);

    drop(queued);
    assert!(
        dropped.load(Ordering::SeqCst),
        "cancel did not drop the closure"
    );
    let m = pool.metrics();
    assert_eq!(m.lane(Lane::Fs).queued, 0);
    assert_eq!(m.lane(Lane::Fs).cancelled, 1);

    // A job queued behind the cancelled one still runs, and the cancelled
    // one does not.
    let later = pool.submit(Lane::Fs, || 5);
    gate.open();
    block_on(blocker).unwrap();
    assert_eq!(block_on(later).unwrap(), 5);
    assert!(!ran.load(Ordering::SeqCst), "a cancelled job ran");
    let m = pool.metrics();
    assert_eq!(m.lane(Lane::Fs).queued, 0);
    assert_eq!(m.lane(Lane::Fs).completed, 2);
}

#[test]
fn dropping_a_running_job_lets_it_finish() {
    let pool = WorkerPool::builder()
        .threads(Lane::Blocking, 1)
        .build()
        .unwrap();
    let gate = Gate::new();
    let _open = gate.open_on_drop();
    let finished = Arc::new(AtomicBool::new(false));
    let handle = {
        let (gate, finished) = (gate.clone(), finished.clone());
        pool.spawn_blocking(move || {
            gate.wait();
            finished.store(true, Ordering::SeqCst);
        })
    };
    wait_until("the job to start", || {
        pool.metrics().lane(Lane::Blocking).running == 1
    });
    drop(handle);
    assert_eq!(pool.metrics().lane(Lane::Blocking).cancelled, 0);
    gate.open();
    wait_until("the detached job to finish", || {
        finished.load(Ordering::SeqCst)
    });
}

#[test]
fn detached_queued_job_still_runs() {
    let pool = WorkerPool::builder()
        .threads(Lane::Blocking, 1)
        .build()
        .unwrap();
    let gate = Gate::new();
    let _open = gate.open_on_drop();
    let blocker = {
        let gate = gate.clone();
        pool.spawn_blocking(move || gate.wait())
    };
    let ran = Arc::new(AtomicBool::new(false));
    {
        let ran = ran.clone();
        pool.spawn_blocking(move || ran.store(true, Ordering::SeqCst))
            .detach();
    }
    gate.open();
    block_on(blocker).unwrap();
    wait_until("the detached job to run", || ran.load(Ordering::SeqCst));
}
