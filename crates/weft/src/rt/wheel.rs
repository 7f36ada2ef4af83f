//! A hierarchical timer wheel: O(1) insert and cancel, expiry in O(levels) per slot visited.
//!
//! Time is counted in ticks of [`TICK`] since the loop started. The wheel has [`LEVELS`] levels
//! of 64 slots; a slot of level `l` spans `64^l` ticks, so level 0 holds the next 64 ms, level 1
//! the next ~4 s, and level 5 reaches ~2.2 years ([`MAX_TICKS`]; later deadlines are clamped).
//!
//! # Invariant
//!
//! An entry due at `when` lives at the level of the highest 6-bit digit in which `when` differs
//! from `elapsed` (the wheel's current time), in the slot named by `when`'s digit at that level.
//! Hence every entry on level `l` is due after every entry on level `l - 1`, and the next
//! expiry is found in the first non-empty level by rotating its occupancy bitmap. When time
//! reaches a higher-level slot, its entries are re-filed on lower levels (or fire).
//!
//! Entries live in a slab with intrusive doubly-linked slot lists, so cancelling is an unlink.
//! A fired entry keeps its slab slot (marked fired) until its owner looks at it or drops it;
//! generations make stale keys harmless.
//!
//! An entry is 32 bytes (a million sleeping tasks: 32 MB of wheel): its state lives in its
//! `prev` link (a list head's `prev` names its level and slot instead of a predecessor; fired
//! and free entries have markers there), and its generation in the top 16 bits of its deadline
//! (deadlines are below 2^48 ticks, about 8,900 years).

use std::task::Waker;
use std::time::Duration;

/// One tick of the wheel. A millisecond, like tokio and libuv: finer resolution would make
/// `epoll_wait`'s millisecond timeout the limit anyway.
pub(crate) const TICK: Duration = Duration::from_millis(1);

/// The wheel's tick in nanoseconds, for converting instants to ticks.
pub(crate) const TICK_NANOS: u128 = TICK.as_nanos();

/// Number of levels.
const LEVELS: usize = 6;
/// Bits of a slot index: 64 slots per level, one `u64` occupancy bitmap.
const SLOT_BITS: u32 = 6;
const SLOTS: usize = 1 << SLOT_BITS;
const SLOT_MASK: u64 = SLOTS as u64 - 1;
/// The furthest deadline the wheel represents, in ticks from now.
pub(crate) const MAX_TICKS: u64 = (1 << (SLOT_BITS * LEVELS as u32)) - 1;

const NIL: u32 = u32::MAX;

/// Names an entry; stale once the entry is freed (its generation moves on).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct TimerKey {
    index: u32,
    generation: u16,
}

/// What an entry is doing, as decoded from its `prev` word.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum EntryState {
    Free,
    /// Filed in a slot list: after entry `prev`, or at the head of `(level, slot)`.
    Pending(Link),
    Fired,
}

/// Where a pending entry hangs in its slot list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Link {
    After(u32),
    Head { level: usize, slot: usize },
}

/// `prev` values from here up are markers, not entry indices.
const HEAD_BASE: u32 = 0xFFFF_0000;
/// `prev` of a fired entry its owner has not looked at yet.
const FIRED: u32 = 0xFFFF_FFFE;
/// `prev` of a free entry.
const FREE: u32 = 0xFFFF_FFFD;
const _: () = assert!(HEAD_BASE as usize + LEVELS * SLOTS < FREE as usize);

/// The deadline's bits in `when_gen`; the generation is above them.
const WHEN_BITS: u32 = 48;
const WHEN_MASK: u64 = (1 << WHEN_BITS) - 1;

struct Entry {
    /// The deadline (low 48 bits) and the generation (high 16).
    when_gen: u64,
    waker: Option<Waker>,
    /// The predecessor, or a marker: see [`EntryState`].
    prev: u32,
    next: u32,
}

impl Entry {
    fn when(&self) -> u64 {
        self.when_gen & WHEN_MASK
    }

    fn generation(&self) -> u16 {
        (self.when_gen >> WHEN_BITS) as u16
    }

    fn set_when(&mut self, when: u64) {
        debug_assert!(
            when <= WHEN_MASK,
            "deadline {when} past the wheel's 48 bits"
        );
        self.when_gen = (self.when_gen & !WHEN_MASK) | (when & WHEN_MASK);
    }

    fn state(&self) -> EntryState {
        match self.prev {
            FREE => EntryState::Free,
            FIRED => EntryState::Fired,
            head if head >= HEAD_BASE => {
                let at = (head - HEAD_BASE) as usize;
                EntryState::Pending(Link::Head {
                    level: at / SLOTS,
                    slot: at % SLOTS,
                })
            }
            prev => EntryState::Pending(Link::After(prev)),
        }
    }
}

/// The `prev` word of a list head at `(level, slot)`.
fn head_marker(level: usize, slot: usize) -> u32 {
    HEAD_BASE + (level * SLOTS + slot) as u32
}

struct Level {
    occupied: u64,
    heads: [u32; SLOTS],
}

/// The wheel of one event loop.
pub(crate) struct TimerWheel {
    elapsed: u64,
    levels: [Level; LEVELS],
    entries: Vec<Entry>,
    free: Vec<u32>,
    pending: usize,
}

impl std::fmt::Debug for TimerWheel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TimerWheel")
            .field("elapsed", &self.elapsed)
            .field("pending", &self.pending)
            .finish()
    }
}

/// Whether a poll of an entry found it due.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum EntryPoll {
    Fired,
    Pending,
}

impl TimerWheel {
    /// An empty wheel at tick 0.
    pub(crate) fn new() -> TimerWheel {
        TimerWheel {
            elapsed: 0,
            levels: std::array::from_fn(|_| Level {
                occupied: 0,
                heads: [NIL; SLOTS],
            }),
            entries: Vec::new(),
            free: Vec::new(),
            pending: 0,
        }
    }

    /// The wheel's current tick.
    pub(crate) fn elapsed(&self) -> u64 {
        self.elapsed
    }

    /// Number of entries waiting to fire.
    pub(crate) fn pending(&self) -> usize {
        self.pending
    }

    fn level_for(elapsed: u64, when: u64) -> usize {
        let mut masked = (elapsed ^ when) | SLOT_MASK;
        if masked >= MAX_TICKS {
            masked = MAX_TICKS - 1;
        }
        let significant = 63 - masked.leading_zeros() as usize;
        significant / SLOT_BITS as usize
    }

    fn slot_for(when: u64, level: usize) -> usize {
        ((when >> (level as u32 * SLOT_BITS)) & SLOT_MASK) as usize
    }

    /// Files an entry due at tick `when`. Returns `None` if it is already due.
    pub(crate) fn insert(&mut self, when: u64, waker: Waker) -> Option<TimerKey> {
        if when <= self.elapsed {
            return None;
        }
        let when = when.min(self.elapsed + MAX_TICKS);
        let index = match self.free.pop() {
            Some(index) => {
                let entry = &mut self.entries[index as usize];
                entry.set_when(when);
                entry.waker = Some(waker);
                index
            }
            None => {
                let index = u32::try_from(self.entries.len())
                    .ok()
                    .filter(|&i| i < HEAD_BASE)
                    .expect("more than 4 billion timers");
                let mut entry = Entry {
                    when_gen: 0,
                    waker: Some(waker),
                    prev: FREE,
                    next: NIL,
                };
                entry.set_when(when);
                self.entries.push(entry);
                index
            }
        };
        self.file(index);
        self.pending += 1;
        Some(TimerKey {
            index,
            generation: self.entries[index as usize].generation(),
        })
    }

    /// Puts entry `index` in the slot its deadline calls for.
    fn file(&mut self, index: u32) {
        let when = self.entries[index as usize].when();
        let level = Self::level_for(self.elapsed, when);
        let slot = Self::slot_for(when, level);
        let head = self.levels[level].heads[slot];
        {
            let entry = &mut self.entries[index as usize];
            entry.prev = head_marker(level, slot);
            entry.next = head;
        }
        if head != NIL {
            self.entries[head as usize].prev = index;
        }
        self.levels[level].heads[slot] = index;
        self.levels[level].occupied |= 1 << slot;
    }

    /// Takes entry `index` out of its slot list.
    fn unfile(&mut self, index: u32) {
        let (prev, next, state) = {
            let e = &self.entries[index as usize];
            (e.prev, e.next, e.state())
        };
        let EntryState::Pending(link) = state else {
            return;
        };
        match link {
            Link::After(prev) => self.entries[prev as usize].next = next,
            Link::Head { level, slot } => {
                self.levels[level].heads[slot] = next;
                if next == NIL {
                    self.levels[level].occupied &= !(1 << slot);
                }
            }
        }
        if next != NIL {
            // The successor takes this entry's place: after its predecessor, or at the head.
            self.entries[next as usize].prev = prev;
        }
    }

    fn entry(&mut self, key: TimerKey) -> Option<&mut Entry> {
        self.entries
            .get_mut(key.index as usize)
            .filter(|e| e.generation() == key.generation && e.state() != EntryState::Free)
    }

    fn release(&mut self, index: u32) {
        let entry = &mut self.entries[index as usize];
        entry.prev = FREE;
        entry.waker = None;
        let generation = u64::from(entry.generation().wrapping_add(1));
        entry.when_gen = (entry.when_gen & WHEN_MASK) | (generation << WHEN_BITS);
        self.free.push(index);
    }

    /// Checks an entry: `Fired` frees it; `Pending` keeps `waker` to be woken at expiry.
    pub(crate) fn poll_entry(&mut self, key: TimerKey, waker: &Waker) -> EntryPoll {
        let Some(entry) = self.entry(key) else {
            // A stale key can only belong to an entry that fired and was freed.
            return EntryPoll::Fired;
        };
        match entry.state() {
            EntryState::Fired => {
                self.release(key.index);
                EntryPoll::Fired
            }
            _ => {
                if !entry.waker.as_ref().is_some_and(|w| w.will_wake(waker)) {
                    entry.waker = Some(waker.clone());
                }
                EntryPoll::Pending
            }
        }
    }

    /// Cancels an entry (pending or fired-but-unobserved). Stale keys are ignored.
    pub(crate) fn remove(&mut self, key: TimerKey) {
        let Some(entry) = self.entry(key) else {
            return;
        };
        if matches!(entry.state(), EntryState::Pending(_)) {
            self.unfile(key.index);
            self.pending -= 1;
        }
        self.release(key.index);
    }

    /// The next slot to visit: `(level, slot, tick at which the slot starts)`.
    fn next_slot(&self) -> Option<(usize, usize, u64)> {
        for (level, lvl) in self.levels.iter().enumerate() {
            if lvl.occupied == 0 {
                continue;
            }
            let shift = level as u32 * SLOT_BITS;
            let now_slot = ((self.elapsed >> shift) & SLOT_MASK) as u32;
            let distance = lvl.occupied.rotate_right(now_slot).trailing_zeros();
            let slot = ((now_slot + distance) as usize) % SLOTS;
            let slot_span = 1u64 << shift;
            let level_span = slot_span << SLOT_BITS;
            let level_start = self.elapsed & !(level_span - 1);
            let mut start = level_start + slot as u64 * slot_span;
            if (slot as u32) < now_slot {
                // The occupied slot is in the level's next rotation (clamped far deadlines).
                start += level_span;
            }
            return Some((level, slot, start.max(self.elapsed)));
        }
        None
    }

    /// The tick at which the next entry may fire, if any.
    pub(crate) fn next_expiration(&self) -> Option<u64> {
        self.next_slot().map(|(_, _, start)| start)
    }

    /// Moves time forward to `now`, collecting the wakers of every entry due by then.
    pub(crate) fn advance(&mut self, now: u64, fired: &mut Vec<Waker>) {
        while let Some((level, slot, start)) = self.next_slot() {
            if start > now {
                break;
            }
            self.elapsed = self.elapsed.max(start);
            let mut index = self.levels[level].heads[slot];
            self.levels[level].heads[slot] = NIL;
            self.levels[level].occupied &= !(1 << slot);
            while index != NIL {
                let next = self.entries[index as usize].next;
                if self.entries[index as usize].when() <= now {
                    let entry = &mut self.entries[index as usize];
                    entry.prev = FIRED;
                    if let Some(waker) = entry.waker.take() {
                        fired.push(waker);
                    }
                    self.pending -= 1;
                } else {
                    self.file(index);
                }
                index = next;
            }
        }
        self.elapsed = self.elapsed.max(now);
    }

    /// Drops every waker (loop shutdown). Keys stay valid and report `Fired`.
    pub(crate) fn clear(&mut self) {
        for level in &mut self.levels {
            level.occupied = 0;
            level.heads = [NIL; SLOTS];
        }
        for entry in &mut self.entries {
            if matches!(entry.state(), EntryState::Pending(_)) {
                entry.prev = FIRED;
            }
            entry.waker = None;
        }
        self.pending = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::task::Wake;

    struct Flag(AtomicUsize);
    impl Wake for Flag {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn waker_with_id(id: usize) -> Waker {
        Waker::from(Arc::new(Flag(AtomicUsize::new(id))))
    }

    /// Every deadline fires exactly at its tick, in order, across level boundaries.
    #[test]
    fn fires_each_entry_at_its_tick() {
        let mut wheel = TimerWheel::new();
        let deadlines = [
            1u64, 2, 63, 64, 65, 127, 128, 4095, 4096, 4097, 300_000, 262_145,
        ];
        let mut keys = Vec::new();
        for &d in &deadlines {
            keys.push((d, wheel.insert(d, waker_with_id(0)).unwrap()));
        }
        let noop = Waker::noop();
        let mut fired = Vec::new();
        let mut sorted = deadlines.to_vec();
        sorted.sort();
        for &d in &sorted {
            wheel.advance(d - 1, &mut fired);
            for (when, key) in &keys {
                if *when == d {
                    assert_eq!(
                        wheel.poll_entry(*key, noop),
                        EntryPoll::Pending,
                        "{d} fired early"
                    );
                }
            }
            let before = fired.len();
            wheel.advance(d, &mut fired);
            assert!(fired.len() > before, "nothing fired at {d}");
            if let Some(next) = wheel.next_expiration() {
                assert!(next > d, "next expiration {next} not after {d}");
            }
        }
        assert_eq!(fired.len(), deadlines.len());
        assert_eq!(wheel.pending(), 0);
    }

    /// An entry is four words: state and generation ride in the link and deadline words.
    #[test]
    fn entry_is_32_bytes() {
        assert_eq!(std::mem::size_of::<Entry>(), 32);
    }

    /// Cancelling the head, the middle and the tail of one slot's list, in any order, leaves
    /// the others firing (the head's `prev` marker passes to its successor).
    #[test]
    fn cancel_any_position_of_a_slot_list() {
        for victims in [[0usize, 1], [2, 1], [1, 2], [0, 2], [2, 0]] {
            let mut wheel = TimerWheel::new();
            let keys: Vec<_> = (0..4)
                .map(|_| wheel.insert(10, waker_with_id(0)).unwrap())
                .collect();
            for &v in &victims {
                wheel.remove(keys[v]);
            }
            let mut fired = Vec::new();
            wheel.advance(10, &mut fired);
            assert_eq!(fired.len(), 2, "after removing {victims:?}");
            assert_eq!(wheel.pending(), 0);
            assert_eq!(wheel.next_expiration(), None);
        }
    }

    /// A cancelled entry never fires, and its neighbours in the same slot still do.
    #[test]
    fn cancel_unlinks_only_that_entry() {
        let mut wheel = TimerWheel::new();
        let a = wheel.insert(10, waker_with_id(0)).unwrap();
        let b = wheel.insert(10, waker_with_id(0)).unwrap();
        let c = wheel.insert(10, waker_with_id(0)).unwrap();
        wheel.remove(b);
        let mut fired = Vec::new();
        wheel.advance(10, &mut fired);
        assert_eq!(fired.len(), 2);
        let noop = Waker::noop();
        assert_eq!(wheel.poll_entry(a, noop), EntryPoll::Fired);
        assert_eq!(wheel.poll_entry(c, noop), EntryPoll::Fired);
        // The freed slot is reused with a new generation; the old key stays harmless.
        let d = wheel.insert(20, waker_with_id(0)).unwrap();
        wheel.remove(b);
        assert_eq!(wheel.poll_entry(d, noop), EntryPoll::Pending);
    }

    /// The next expiration is the earliest deadline, from any level.
    #[test]
    fn next_expiration_tracks_the_earliest() {
        let mut wheel = TimerWheel::new();
        assert_eq!(wheel.next_expiration(), None);
        wheel.insert(5000, waker_with_id(0)).unwrap();
        let early = wheel.insert(70, waker_with_id(0)).unwrap();
        assert_eq!(wheel.next_expiration(), Some(64));
        let mut fired = Vec::new();
        wheel.advance(64, &mut fired);
        assert_eq!(wheel.next_expiration(), Some(70));
        wheel.remove(early);
        let next = wheel.next_expiration().unwrap();
        assert!(next <= 5000 && next > 64, "{next}");
        wheel.advance(5000, &mut fired);
        assert_eq!(fired.len(), 1);
    }

    /// Deadlines minutes apart on levels 2 and 3 all fire, in deadline order, whether time
    /// jumps past them in one `advance` or steps from one `next_expiration` to the next.
    #[test]
    fn large_jumps_fire_every_entry_in_order() {
        let deadlines = [3_000_000u64, 60_000, 1_800_000, 600_000];
        for stepped in [false, true] {
            let mut wheel = TimerWheel::new();
            let keys: Vec<_> = deadlines
                .iter()
                .map(|&d| (d, wheel.insert(d, waker_with_id(0)).unwrap()))
                .collect();
            let noop = Waker::noop();
            let mut fired = Vec::new();
            let mut order = Vec::new();
            let target = 3_600_000;
            loop {
                let next = if stepped {
                    wheel.next_expiration().filter(|&t| t <= target)
                } else {
                    None
                };
                if let Some(next) = next {
                    assert!(
                        keys.iter().all(|(d, _)| order.contains(d) || *d >= next),
                        "next expiration {next} is past an unfired deadline"
                    );
                }
                wheel.advance(next.unwrap_or(target), &mut fired);
                let mut due: Vec<u64> = keys
                    .iter()
                    .filter(|(d, key)| {
                        !order.contains(d) && wheel.poll_entry(*key, noop) == EntryPoll::Fired
                    })
                    .map(|(d, _)| *d)
                    .collect();
                due.sort();
                if stepped {
                    assert!(due.len() <= 1, "one step fired {due:?}");
                }
                order.extend(due);
                if next.is_none() {
                    break;
                }
            }
            assert_eq!(
                order,
                [60_000, 600_000, 1_800_000, 3_000_000],
                "stepped: {stepped}"
            );
            assert_eq!(fired.len(), 4);
            assert_eq!(wheel.pending(), 0);
            assert_eq!(wheel.next_expiration(), None);
        }
    }

    /// Deadlines already due are refused so the caller can complete at once.
    #[test]
    fn past_deadlines_are_refused() {
        let mut wheel = TimerWheel::new();
        let mut fired = Vec::new();
        wheel.advance(100, &mut fired);
        assert!(wheel.insert(100, waker_with_id(0)).is_none());
        assert!(wheel.insert(101, waker_with_id(0)).is_some());
    }
}
