//! The wait table of `sync::trace`, cut into shards: see the parent's module doc ("a wait is
//! recorded ...", and the soundness of the table). A key names its shard in its low bits.

use super::{lock, WaitRecord};
use crate::loom::{AtomicUsize, Mutex, Ordering::Relaxed};
use std::cell::Cell;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::OnceLock;

/// Shards of the wait table (a power of two: a key's low bits name its shard). Enough that the
/// loop threads and pool threads of a typical process each get a shard of their own; more
/// threads than that share them, which is still correct (the lock just sees more takers).
pub(crate) const WAIT_SHARDS: usize = 16;
const SHARD_BITS: u32 = WAIT_SHARDS.trailing_zeros();

/// A hasher for wait keys and actor ids, which are distinct counters: one multiply spreads
/// them over the buckets (SipHash would cost more than the rest of the insert).
#[derive(Default)]
pub(crate) struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }

    fn write_u64(&mut self, key: u64) {
        self.0 = key.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

/// One shard: its records and the counter its keys are drawn from.
#[derive(Default)]
struct WaitShard {
    next_seq: u64,
    records: HashMap<u64, WaitRecord, BuildHasherDefault<KeyHasher>>,
}

fn shards() -> &'static [Mutex<WaitShard>; WAIT_SHARDS] {
    static SHARDS: OnceLock<[Mutex<WaitShard>; WAIT_SHARDS]> = OnceLock::new();
    SHARDS.get_or_init(|| std::array::from_fn(|_| Mutex::new(WaitShard::default())))
}

fn shard_of(key: u64) -> usize {
    (key & (WAIT_SHARDS as u64 - 1)) as usize
}

/// The shard this thread records its waits in: given in turn on the thread's first wait.
fn my_shard() -> usize {
    thread_local! {
        static MINE: Cell<usize> = const { Cell::new(usize::MAX) };
    }
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    MINE.try_with(|mine| {
        if mine.get() == usize::MAX {
            mine.set(NEXT.fetch_add(1, Relaxed) % WAIT_SHARDS);
        }
        mine.get()
    })
    // A wait recorded while this thread's locals are being torn down: any shard will do.
    .unwrap_or(0)
}

/// Files `record` in this thread's shard; returns its key (never 0: the counter starts at 1).
pub(super) fn insert(record: WaitRecord) -> u64 {
    let shard = my_shard();
    let mut sh = lock(&shards()[shard]);
    sh.next_seq += 1;
    let key = (sh.next_seq << SHARD_BITS) | shard as u64;
    sh.records.insert(key, record);
    key
}

/// Removes the record `key` (under its shard's lock; dropped after it, a record owns nothing).
pub(super) fn remove(key: u64) {
    let _gone = lock(&shards()[shard_of(key)]).records.remove(&key);
}

/// Calls `f` on every record, each shard's under that shard's lock (what lets `f` read the
/// record's resource: see the parent's soundness argument).
pub(super) fn visit(mut f: impl FnMut(u64, &WaitRecord)) {
    for shard in shards() {
        let sh = lock(shard);
        for (&key, record) in &sh.records {
            f(key, record);
        }
    }
}
