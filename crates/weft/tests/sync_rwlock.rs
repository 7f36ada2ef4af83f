//! RwLock: readers share, writers exclude, a queued writer is not overtaken by later readers;
//! and under contention from two loops a reader never sees a half-done write.

mod common;
mod sync_locks_support;

use std::sync::Arc;
use sync_locks_support::Probe;
use weft::rt::Runtime;
use weft::sync::RwLock;

#[test]
fn readers_share_and_a_writer_excludes_them() {
    let lock = RwLock::new(0);
    let r1 = lock.try_read().unwrap();
    let r2 = lock.try_read().unwrap();
    assert!(lock.try_write().is_err(), "a writer must wait for readers");
    let mut w = Probe::new(lock.write());
    w.pending();
    drop(r1);
    assert_eq!(w.wakes(), 0, "one reader still holds the lock");
    drop(r2);
    assert_eq!(w.wakes(), 1, "the last reader lets the writer in");
    let mut g = w.ready();
    *g = 7;
    assert!(lock.try_read().is_err(), "readers must wait for the writer");
    drop(g);
    assert_eq!(*lock.try_read().unwrap(), 7);
}

#[test]
fn a_queued_writer_is_not_overtaken_by_later_readers() {
    let lock = RwLock::new(());
    let r1 = lock.try_read().unwrap();
    let mut w = Probe::new(lock.write());
    w.pending();
    // A reader that comes after the queued writer waits behind it.
    assert!(lock.try_read().is_err());
    let mut r2 = Probe::new(lock.read());
    r2.pending();
    drop(r1);
    let g = w.ready();
    assert_eq!(r2.wakes(), 0);
    drop(g);
    let _r2 = r2.ready();
}

#[test]
fn owned_guards_share_and_exclude_like_borrowed_ones() {
    let lock = Arc::new(RwLock::new(3));
    let r = lock.clone().try_read_owned().unwrap();
    let r2 = lock.clone().try_read_owned().unwrap();
    assert!(lock.clone().try_write_owned().is_err());
    assert_eq!(*r + *r2, 6);
    drop((r, r2));
    let mut w = lock.clone().try_write_owned().unwrap();
    *w = 4;
    assert!(lock.clone().try_read_owned().is_err());
    drop(w);
    assert_eq!(*lock.try_read().unwrap(), 4);
}

#[test]
fn mapped_guards_keep_the_lock() {
    let lock = RwLock::new((1, 2));
    let r = weft::sync::RwLockReadGuard::map(lock.try_read().unwrap(), |v| &v.1);
    assert_eq!(*r, 2);
    assert!(lock.try_write().is_err());
    drop(r);
    let mut w = weft::sync::RwLockWriteGuard::map(lock.try_write().unwrap(), |v| &mut v.0);
    *w = 5;
    assert!(lock.try_read().is_err());
    drop(w);
    assert_eq!(*lock.try_read().unwrap(), (5, 2));
}

#[test]
fn downgrade_keeps_readers_in_and_writers_out() {
    let lock = RwLock::new(1);
    let w = lock.try_write().unwrap();
    let mut r = Probe::new(lock.read());
    r.pending();
    let down = weft::sync::RwLockWriteGuard::downgrade(w);
    assert_eq!(*down, 1);
    let _r = r.ready();
    assert!(lock.try_write().is_err());
    drop(down);
}

/// Writers keep `a == b` across a yield while holding the write lock; readers on both loops
/// check it, and check that a reader holding across a yield sees the value stay put.
#[test]
fn under_contention_readers_never_see_a_torn_write() {
    const WRITES: u64 = 2_000;
    const READS: u64 = 4_000;
    let total = common::within_deadline("rwlock contention", || {
        let rt = Runtime::builder().loops(2).build().unwrap();
        let lock = Arc::new(RwLock::new((0u64, 0u64)));
        let mut tasks = Vec::new();
        for lp in 0..2 {
            let writer = lock.clone();
            tasks.push(rt.spawn_on(lp, async move {
                for _ in 0..WRITES {
                    let mut g = writer.write().await;
                    g.0 += 1;
                    weft::yield_now().await;
                    g.1 += 1;
                }
            }));
            for _ in 0..2 {
                let reader = lock.clone();
                tasks.push(rt.spawn_on(lp, async move {
                    for i in 0..READS {
                        let g = reader.read().await;
                        let seen = *g;
                        assert_eq!(seen.0, seen.1, "torn write seen");
                        if i % 3 == 0 {
                            weft::yield_now().await;
                            assert_eq!(*g, seen, "changed under a read lock");
                        }
                    }
                }));
            }
        }
        rt.block_on(async {
            for t in tasks {
                t.await.unwrap();
            }
        });
        let v = *lock.try_read().unwrap();
        v
    });
    assert_eq!(total, (2 * WRITES, 2 * WRITES));
}
