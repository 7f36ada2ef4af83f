//! A panicking job comes back as an error and its worker thread survives.

mod pool_support;

use pool_support::block_on;
use weft::pool::{Lane, WorkerPool};

#[test]
fn panic_is_an_error_and_the_thread_lives_on() {
    let pool = WorkerPool::builder().threads(Lane::Cpu, 1).build().unwrap();
    let before = block_on(pool.spawn_cpu(|| std::thread::current().id())).unwrap();

    let err = block_on(pool.spawn_cpu(|| -> u32 { panic!("job exploded") })).unwrap_err();
    assert!(err.is_panic());
    assert_eq!(err.lane(), Lane::Cpu);
    assert_eq!(err.panic_message().as_deref(), Some("job exploded"));
    assert!(err.to_string().contains("job exploded"), "{err}");

    // The lane has one thread; the same thread runs the next job.
    let after = block_on(pool.spawn_cpu(|| std::thread::current().id())).unwrap();
    assert_eq!(
        before, after,
        "the worker thread was replaced after a panic"
    );
    let m = pool.metrics();
    assert_eq!(m.lane(Lane::Cpu).panicked, 1);
    assert_eq!(m.lane(Lane::Cpu).completed, 2);
    assert_eq!(m.lane(Lane::Cpu).threads, 1);
}

#[test]
fn panic_payload_can_be_resumed() {
    let pool = WorkerPool::builder().build().unwrap();
    let err = block_on(pool.spawn_blocking(|| std::panic::panic_any(17u8))).unwrap_err();
    assert_eq!(err.panic_message(), None);
    let payload = err.into_panic();
    assert_eq!(payload.downcast_ref::<u8>(), Some(&17));
}
