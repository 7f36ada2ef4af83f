//! Queue-wait metrics move: a job held behind a busy thread records a wait at
//! least as long as it was held.

mod pool_support;

use std::time::{Duration, Instant};

use pool_support::{block_on, Gate};
use weft::pool::{Lane, WorkerPool};

/// How long the test holds a job in the queue. Only a lower bound on the
/// recorded wait is asserted, so any value works; long enough to stand out
/// from a thread hand-off.
const HOLD: Duration = Duration::from_millis(30);

#[test]
fn queue_wait_histogram_records_waits() {
    let pool = WorkerPool::builder().threads(Lane::Fs, 1).build().unwrap();
    let before = pool.metrics().lane(Lane::Fs).queue_wait.clone();
    assert_eq!(before.count(), 0);
    assert_eq!(before.p99(), Duration::ZERO);

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
    let held = pool.submit(Lane::Fs, || ());
    let submitted = Instant::now();
    assert_eq!(pool.metrics().lane(Lane::Fs).queued, 1);
    // Not sleep-and-hope: whatever the scheduler does, the held job waits at
    // least until the gate opens.
    std::thread::sleep(HOLD);
    let lower_bound = submitted.elapsed();
    gate.open();
    block_on(blocker).unwrap();
    block_on(held).unwrap();

    let m = pool.metrics();
    let fs = m.lane(Lane::Fs);
    assert_eq!(fs.queue_wait.count(), 2);
    assert_eq!(fs.queued, 0);
    assert_eq!(fs.running, 0);
    assert!(
        fs.queue_wait.max() >= lower_bound,
        "max wait {:?} below the time the job was held, {:?}",
        fs.queue_wait.max(),
        lower_bound
    );
    assert!(fs.queue_wait.p99() >= lower_bound);
    assert!(fs.queue_wait.p50() <= fs.queue_wait.p99());
    // Other lanes saw nothing.
    assert_eq!(m.lane(Lane::Dns).queue_wait.count(), 0);
}
