//! The wait table of `sync::trace`, cut into shards: see the parent's module doc ("a wait is
//! recorded ...", and the soundness of the table). A key names its shard in its low bits.

use super::WaitRecord;
use crate::loom::{AtomicUsize, Ordering::Relaxed};
use crate::spin_lock::SpinLock;
use std::cell::Cell;
use std::hash::Hasher;
use std::sync::OnceLock;

/// Shards of the wait table (a power of two: a key's low bits name its shard). Enough that the
/// loop threads and pool threads of a typical process each get a shard of their own; more
/// threads than that share them, which is still correct (the lock just sees more takers).
pub(crate) const WAIT_SHARDS: usize = 16;
const SHARD_BITS: u32 = WAIT_SHARDS.trailing_zeros();

/// A hasher for wait keys, actor ids and the like, which are distinct counters (or a few of
/// them in a tuple): one multiply per word spreads them over the buckets (SipHash would cost
/// more than the rest of the insert). Not for keys an outsider chooses.
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
        self.0 = (self.0.rotate_left(8) ^ key).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }

    fn write_usize(&mut self, key: usize) {
        self.write_u64(key as u64);
    }

    fn write_u32(&mut self, key: u32) {
        self.write_u64(u64::from(key));
    }
}

/// Bits of a key that name the record's entry in its shard (above the shard's bits); the
/// rest count the shard's waits, so that a reused entry gets a new key.
const INDEX_BITS: u32 = 24;
const INDEX_MASK: u64 = (1 << INDEX_BITS) - 1;

/// One entry of a shard: the key of the wait filed there, and its record while it lasts.
struct Entry {
    key: u64,
    record: Option<WaitRecord>,
}

/// One shard: a slab of entries (a free list of their indices), and the counter its keys are
/// drawn from. A slab, not a hash map: filing and removing a wait is an index, no hashing.
#[derive(Default)]
struct WaitShard {
    next_seq: u64,
    entries: Vec<Entry>,
    free: Vec<usize>,
}

/// The shards, each behind a spin lock (`crate::spin_lock`): its own threads take it on every
/// park, a reader (the detector, a dump) now and then for one pass over its entries.
fn shards() -> &'static [SpinLock<WaitShard>; WAIT_SHARDS] {
    static SHARDS: OnceLock<[SpinLock<WaitShard>; WAIT_SHARDS]> = OnceLock::new();
    SHARDS.get_or_init(|| std::array::from_fn(|_| SpinLock::default()))
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

/// Files the record `make` returns in this thread's shard; returns its key (never 0: the
/// counter starts at 1). The record is made in its entry, under the shard's lock: a record made
/// first is stored field by field on the stack and copied in with vector loads that cannot be
/// forwarded from those stores, a stall that was most of what filing a wait cost.
pub(super) fn insert(make: impl FnOnce() -> WaitRecord) -> u64 {
    let shard = my_shard();
    let mut sh = shards()[shard].lock();
    sh.next_seq += 1;
    let index = match sh.free.pop() {
        Some(i) => i,
        None => {
            sh.entries.push(Entry {
                key: 0,
                record: None,
            });
            sh.entries.len() - 1
        }
    };
    // More live waits in one shard than INDEX_BITS can name would be a leak elsewhere; the
    // mask keeps the key well-formed (such a record is then simply never found by `remove`).
    let key =
        (((sh.next_seq << INDEX_BITS) | (index as u64 & INDEX_MASK)) << SHARD_BITS) | shard as u64;
    let entry = &mut sh.entries[index];
    entry.key = key;
    entry.record = Some(make());
    key
}

/// Removes the record `key`. The record is dropped after its shard's lock: its reference to
/// the waiting task may be the last one, and freeing a task drops its future (whose own waits
/// end here, under that lock).
pub(super) fn remove(key: u64) {
    let index = ((key >> SHARD_BITS) & INDEX_MASK) as usize;
    let mut sh = shards()[shard_of(key)].lock();
    let gone = match sh.entries.get_mut(index) {
        Some(entry) if entry.key == key => {
            entry.key = 0;
            entry.record.take()
        }
        _ => None,
    };
    if gone.is_some() {
        sh.free.push(index);
    }
    drop(sh);
    drop(gone);
}

/// Calls `f` on every record, each shard's under that shard's lock (what lets `f` read the
/// record's resource: see the parent's soundness argument).
pub(super) fn visit(mut f: impl FnMut(u64, &WaitRecord)) {
    for shard in shards() {
        let sh = shard.lock();
        for entry in &sh.entries {
            if let Some(record) = &entry.record {
                f(entry.key, record);
            }
        }
    }
}
