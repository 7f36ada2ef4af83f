//! RwLock: readers share, writers exclude, a queued writer is not overtaken by later readers;
//! and under contention from two loops a reader never sees a half-done write; try_map,
//! into_mapped, downgrade_map and try_downgrade_map keep (or give back) the lock, borrowed and
//! owned; const_with_max_readers.

mod common;
mod sync_locks_support;

use std::sync::Arc;
use sync_locks_support::Probe;
use weft::rt::Runtime;
use weft::sync::{
    OwnedRwLockMappedWriteGuard, OwnedRwLockReadGuard, OwnedRwLockWriteGuard, RwLock,
    RwLockMappedWriteGuard, RwLockReadGuard, RwLockWriteGuard,
};

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

#[test]
fn try_map_gives_the_guard_back_still_locked_when_nothing_is_found() {
    let lock = RwLock::new((1, vec![10, 20]));
    let read = lock.try_read().unwrap();
    let read = RwLockReadGuard::try_map(read, |v| v.1.get(5)).unwrap_err();
    assert!(lock.try_write().is_err(), "the returned read guard holds");
    let second = RwLockReadGuard::try_map(read, |v| v.1.get(1)).unwrap();
    assert_eq!(*second, 20);
    assert!(lock.try_write().is_err());
    drop(second);

    let write = lock.try_write().unwrap();
    let write = RwLockWriteGuard::try_map(write, |v| v.1.get_mut(9)).unwrap_err();
    assert!(
        lock.try_read().is_err(),
        "the returned write guard still excludes"
    );
    let mut first = RwLockWriteGuard::try_map(write, |v| v.1.first_mut()).unwrap();
    *first += 1;
    assert!(lock.try_read().is_err(), "a mapped write guard excludes");
    let first = RwLockMappedWriteGuard::try_map(first, |_| None::<&mut u8>).unwrap_err();
    let mut whole = RwLockMappedWriteGuard::map(first, |x| x);
    *whole += 1;
    drop(whole);
    assert_eq!(lock.try_read().unwrap().1, [12, 20]);

    let mut mapped = RwLockWriteGuard::into_mapped(lock.try_write().unwrap());
    mapped.0 = 2;
    assert!(lock.try_read().is_err());
    drop(mapped);
    assert_eq!(lock.try_read().unwrap().0, 2);
}

#[test]
fn downgrade_map_lets_readers_in_and_try_downgrade_map_keeps_writers_out_on_none() {
    let lock = RwLock::new((1, String::from("x")));
    let write = lock.try_write().unwrap();
    let write = RwLockWriteGuard::try_downgrade_map(write, |_| None::<&u8>).unwrap_err();
    assert!(
        lock.try_read().is_err(),
        "a failed try_downgrade_map keeps the write lock"
    );
    let name = RwLockWriteGuard::try_downgrade_map(write, |v| Some(v.1.as_str())).unwrap();
    assert_eq!(&*name, "x");
    let other = lock.try_read().expect("downgraded: readers share");
    assert!(lock.try_write().is_err(), "a reader is still in");
    drop((name, other));

    let write = lock.try_write().unwrap();
    let num = RwLockWriteGuard::downgrade_map(write, |v| &v.0);
    assert_eq!(*num, 1);
    assert!(lock.try_read().is_ok());
    assert!(lock.try_write().is_err());
    drop(num);
    assert!(lock.try_write().is_ok());
}

#[test]
fn const_with_max_readers_bounds_the_readers() {
    static LOCK: RwLock<u8> = RwLock::const_with_max_readers(0, 2);
    let a = LOCK.try_read().unwrap();
    let b = LOCK.try_read().unwrap();
    assert!(LOCK.try_read().is_err(), "two readers at most");
    drop(a);
    let c = LOCK.try_read().unwrap();
    drop((b, c));
    *LOCK.try_write().unwrap() = 3;
    assert_eq!(*LOCK.try_read().unwrap(), 3);
}

#[test]
fn owned_guards_map_and_downgrade_like_borrowed_ones() {
    let lock = Arc::new(RwLock::new((1, vec![10, 20])));
    let read = lock.clone().try_read_owned().unwrap();
    let read = OwnedRwLockReadGuard::try_map(read, |v| v.1.get(7)).unwrap_err();
    let second: OwnedRwLockReadGuard<(i32, Vec<i32>), i32> =
        OwnedRwLockReadGuard::map(read, |v| &v.1[1]);
    assert_eq!(*second, 20);
    assert!(Arc::ptr_eq(OwnedRwLockReadGuard::rwlock(&second), &lock));
    assert!(lock.try_write().is_err(), "a mapped owned read guard holds");
    drop(second);

    let write = lock.clone().try_write_owned().unwrap();
    let write = OwnedRwLockWriteGuard::try_map(write, |v| v.1.get_mut(9)).unwrap_err();
    let mut first = OwnedRwLockWriteGuard::try_map(write, |v| v.1.first_mut()).unwrap();
    *first += 1;
    assert!(
        lock.try_read().is_err(),
        "a mapped owned write guard excludes"
    );
    let mut first = OwnedRwLockMappedWriteGuard::map(first, |x| x);
    *first += 1;
    let first = OwnedRwLockMappedWriteGuard::try_map(first, |_| None::<&mut u8>).unwrap_err();
    drop(first);
    assert_eq!(lock.try_read().unwrap().1, [12, 20]);

    let mut whole = OwnedRwLockWriteGuard::into_mapped(lock.clone().try_write_owned().unwrap());
    whole.0 = 2;
    drop(whole);

    let write = lock.clone().try_write_owned().unwrap();
    let write = OwnedRwLockWriteGuard::try_downgrade_map(write, |_| None::<&u8>).unwrap_err();
    assert!(
        lock.try_read().is_err(),
        "a failed try_downgrade_map keeps the write lock"
    );
    let num = OwnedRwLockWriteGuard::try_downgrade_map(write, |v| Some(&v.0)).unwrap();
    assert_eq!(*num, 2);
    assert!(lock.try_read().is_ok(), "downgraded: readers share");
    assert!(lock.try_write().is_err());
    drop(num);
    let read = lock.clone().try_write_owned().unwrap().downgrade();
    let other = lock.try_read().unwrap();
    drop((read, other));
    let len =
        OwnedRwLockWriteGuard::downgrade_map(lock.clone().try_write_owned().unwrap(), |v| &v.1);
    assert_eq!(len.len(), 2);
    assert!(lock.try_write().is_err());
    drop(len);
    assert!(lock.try_write().is_ok());
}
