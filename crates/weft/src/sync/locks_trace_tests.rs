//! The locks' holder/waiter bookkeeping, checked through `trace`'s crate-internal interface:
//! holders are recorded on acquisition and cleared on release, waits only on the slow path and
//! ended by acquisition or cancellation.

use super::trace::{self, ResourceKind};
use super::{Mutex, RwLock, Semaphore};
use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

fn poll_once<F: Future>(fut: std::pin::Pin<&mut F>) -> Poll<F::Output> {
    fut.poll(&mut Context::from_waker(Waker::noop()))
}

fn edges_on(res: &trace::Resource) -> Vec<trace::WaitEdge> {
    let addr = res as *const trace::Resource as usize;
    trace::edges()
        .into_iter()
        .filter(|e| e.resource == addr)
        .collect()
}

/// Held by every unit test that flips the process-wide bookkeeping switch, so that tests
/// running in parallel threads of one binary do not turn it off under each other.
pub(crate) static TRACE_SWITCH: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// One test, so the process-wide switch is flipped once, on and then off.
#[test]
fn locks_record_holders_and_slow_path_waits() {
    let _switch = TRACE_SWITCH.lock().unwrap_or_else(|e| e.into_inner());
    trace::set_enabled(true);

    // Mutex: the holder while locked, a wait edge while queued, nothing after.
    let m = Mutex::new(0);
    let g = m.try_lock().unwrap();
    let holders = m.resource().holders();
    assert_eq!(holders.len(), 1);
    assert_eq!(holders[0].actor, trace::current_actor());
    assert!(
        edges_on(m.resource()).is_empty(),
        "the fast path records no wait"
    );
    {
        let mut waiter = pin!(m.lock());
        assert!(poll_once(waiter.as_mut()).is_pending());
        let edges = edges_on(m.resource());
        assert_eq!(edges.len(), 1);
        assert_eq!(edges[0].kind, ResourceKind::Mutex);
        assert_eq!(edges[0].holders.len(), 1, "the edge names the holder");
        assert_eq!(edges[0].wait_site.file(), file!());
    }
    assert!(edges_on(m.resource()).is_empty(), "a cancelled wait ends");
    drop(g);
    assert!(m.resource().holders().is_empty());

    // Semaphore: shared holds with their counts.
    let sem = Semaphore::new(3);
    let p = sem.try_acquire_many(2).unwrap();
    let q = sem.try_acquire().unwrap();
    let mut counts: Vec<_> = sem.resource().holders().iter().map(|h| h.count).collect();
    counts.sort();
    assert_eq!(counts, [1, 2]);
    drop(p);
    q.forget();
    assert!(sem.resource().holders().is_empty());

    // RwLock: readers are shared holders, a writer the exclusive one.
    let rw = RwLock::new(());
    let (r1, r2) = (rw.try_read().unwrap(), rw.try_read().unwrap());
    assert_eq!(rw.resource().holders().len(), 2);
    drop((r1, r2));
    let w = rw.try_write().unwrap();
    assert_eq!(rw.resource().holders().len(), 1);
    drop(w);
    assert!(rw.resource().holders().is_empty());

    // More shared holders than the inline slots: the rest go to the overflow list, and every
    // release, in any order, ends exactly its own hold (a freed slot is reused).
    let many = Semaphore::new(64);
    let n = trace::INLINE_HOLDS + 3;
    let units = |k: usize| u32::try_from(k).unwrap();
    let mut permits: Vec<_> = (1..=n)
        .map(|k| many.try_acquire_many(units(k)).unwrap())
        .collect();
    let mut counts: Vec<_> = many.resource().holders().iter().map(|h| h.count).collect();
    counts.sort();
    assert_eq!(counts, (1..=n).collect::<Vec<_>>());
    drop(permits.remove(0)); // a slot's hold (count 1)
    drop(permits.pop()); // an overflow hold (count n)
    let reused = many.try_acquire_many(40).unwrap();
    let mut counts: Vec<_> = many.resource().holders().iter().map(|h| h.count).collect();
    counts.sort();
    let mut expected: Vec<_> = (2..n).collect();
    expected.push(40);
    assert_eq!(counts, expected);
    drop(permits);
    drop(reused);
    assert!(many.resource().holders().is_empty());

    trace::set_enabled(false);
}

/// The holders' shared part is not built into every primitive (`trace::holds`' module doc): a
/// resource stays small (it was 184 bytes), and so does every primitive (a `Mutex<u64>` was 256).
#[test]
fn a_resource_carries_no_shared_hold_slots_until_it_needs_them() {
    assert!(
        std::mem::size_of::<trace::Resource>() <= 64,
        "trace::Resource is {} bytes",
        std::mem::size_of::<trace::Resource>()
    );
    assert!(
        std::mem::size_of::<Mutex<u64>>() <= 136,
        "Mutex<u64> is {} bytes",
        std::mem::size_of::<Mutex<u64>>()
    );
}
