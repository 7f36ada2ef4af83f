//! The locks, their guards and their waiting futures are `Send + Sync` where the contents
//! allow, so they can be shared across loops and held across `.await` in spawned tasks.

use std::sync::Arc;
use weft::sync::*;

fn send_sync<T: Send + Sync>() {}
fn send<T: Send>(_: &T) {}

#[test]
fn locks_guards_and_futures_are_send_and_sync() {
    send_sync::<Mutex<Vec<u8>>>();
    send_sync::<MutexGuard<'static, Vec<u8>>>();
    send_sync::<OwnedMutexGuard<Vec<u8>>>();
    send_sync::<MappedMutexGuard<'static, u8>>();
    send_sync::<RwLock<Vec<u8>>>();
    send_sync::<RwLockReadGuard<'static, Vec<u8>>>();
    send_sync::<RwLockWriteGuard<'static, Vec<u8>>>();
    send_sync::<RwLockMappedWriteGuard<'static, u8>>();
    send_sync::<OwnedRwLockReadGuard<Vec<u8>>>();
    send_sync::<OwnedRwLockWriteGuard<Vec<u8>>>();
    send_sync::<Semaphore>();
    send_sync::<SemaphorePermit<'static>>();
    send_sync::<OwnedSemaphorePermit>();
    send_sync::<Notify>();
    send_sync::<Notified<'static>>();
    send_sync::<Barrier>();
    send_sync::<OnceCell<String>>();
    // A Mutex makes a Send-only value shareable.
    send_sync::<Mutex<std::cell::Cell<u8>>>();

    let m = Arc::new(Mutex::new(0));
    send(&m.lock());
    send(&m.clone().lock_owned());
    let rw = Arc::new(RwLock::new(0));
    send(&rw.read());
    send(&rw.write());
    send(&rw.clone().read_owned());
    send(&rw.clone().write_owned());
    let s = Arc::new(Semaphore::new(1));
    send(&s.acquire());
    send(&s.acquire_many(2));
    send(&s.clone().acquire_owned());
    send(&s.clone().acquire_many_owned(2));
    let b = Barrier::new(1);
    send(&b.wait());
    let c: OnceCell<u8> = OnceCell::new();
    send(&c.get_or_init(|| async { 1 }));
    send(&c.get_or_try_init(|| async { Ok::<u8, ()>(1) }));
}
