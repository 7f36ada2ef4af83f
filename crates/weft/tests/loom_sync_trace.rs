//! Model checks of `sync::trace`'s holder bookkeeping (`src/sync/trace/holds.rs`: the
//! exclusive holder's two atomics, the inline atomic hold slots and the locked overflow list)
//! against loom's atomics and mutex, over the interleavings loom finds of:
//! - two holders claiming slots at once (racing to create the shared part, which the first
//!   shared hold allocates), one releasing again, racing a reader's snapshot: they
//!   get distinct tokens, the reader never reports a slot being filled (`CLAIMED`) nor anyone
//!   but them, and once both finish the snapshot is exactly the hold still held (no lost hold,
//!   no phantom one);
//! - a partial release racing a snapshot: the count read is one the holder wrote;
//! - holds spilling into the overflow list racing a snapshot: distinct tokens, and after the
//!   releases exactly the inline holds are left;
//! - an exclusive holder taking and releasing racing a snapshot: the reader sees it or nobody.

/// The door `holds.rs` reaches atomics and locks through (`crate::loom`), opened onto loom.
mod loom {
    pub(crate) use super::once::OnceBox;
    pub(crate) use ::loom::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
    pub(crate) use ::loom::sync::{Mutex, MutexGuard};
}

/// `weft`'s `OnceBox` (`src/once_box.rs`) over loom's `AtomicPtr`: the value is installed by
/// a compare-exchange, so two holders racing to create the shared part are modelled too. The
/// loser frees its value and uses the winner's. A copy, not that file through `#[path]`: its
/// `new` is `const` (every primitive's `Resource::new` is), loom's `AtomicPtr::new` is not, and
/// these models also build without `cfg(loom)`, so no `cfg` could tell the two apart.
mod once {
    use ::loom::sync::atomic::{AtomicPtr, Ordering};
    use std::fmt;

    pub(crate) struct OnceBox<T> {
        ptr: AtomicPtr<T>,
    }

    impl<T> OnceBox<T> {
        pub(crate) fn new() -> OnceBox<T> {
            OnceBox {
                ptr: AtomicPtr::new(std::ptr::null_mut()),
            }
        }

        pub(crate) fn get(&self) -> Option<&T> {
            let ptr = self.ptr.load(Ordering::Acquire);
            // SAFETY: a non-null pointer came from `Box::into_raw` in `get_or_init`, published
            // with release (read with acquire above), and is freed only by `drop`, which
            // takes `&mut self`, so it outlives this borrow.
            unsafe { ptr.as_ref() }
        }

        pub(crate) fn get_or_init(&self, init: impl FnOnce() -> Box<T>) -> &T {
            if let Some(value) = self.get() {
                return value;
            }
            let new = Box::into_raw(init());
            match self.ptr.compare_exchange(
                std::ptr::null_mut(),
                new,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                // SAFETY: as in `get`: ours, now published, freed only by `drop`.
                Ok(_) => unsafe { &*new },
                Err(winner) => {
                    // SAFETY: `new` was never published, so it is still ours alone.
                    drop(unsafe { Box::from_raw(new) });
                    // SAFETY: as in `get`: the winner's, published and read with acquire.
                    unsafe { &*winner }
                }
            }
        }
    }

    impl<T> Drop for OnceBox<T> {
        fn drop(&mut self) {
            let ptr = self.ptr.with_mut(|p| *p);
            if !ptr.is_null() {
                // SAFETY: published by `get_or_init` from `Box::into_raw`, and `&mut self`
                // means no borrow of it is left.
                drop(unsafe { Box::from_raw(ptr) });
            }
        }
    }

    impl<T> fmt::Debug for OnceBox<T> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("OnceBox")
        }
    }
}

#[allow(dead_code)]
#[path = "../src/sync/trace/holds.rs"]
mod holds;

mod loom_support;

use ::loom::sync::atomic::AtomicU64;
use ::loom::sync::Arc;
use ::loom::thread;
use holds::{Holds, RawHold, CLAIMED, INLINE_HOLDS};
use loom_support::model;

/// Packed actor words of the model's holders (any non-zero word but `CLAIMED`).
const A: u64 = 11;
const B: u64 = 22;

/// The words the model's threads name themselves with (`Holds::add`'s `thread`): the main
/// thread, and the ones it spawns. The first to hold is the home thread.
const T1: usize = 1;
const T2: usize = 2;
const T3: usize = 3;

/// Empty bookkeeping, built from its fields as `Resource::new` does.
fn holds() -> Holds {
    Holds {
        owner: AtomicU64::new(0),
        owner_since: AtomicU64::new(0),
        shared: once::OnceBox::new(),
    }
}

/// Checks a snapshot taken mid-race: only `actors` appear, never a slot being filled.
fn check_racing(snapshot: &[RawHold], actors: &[u64]) {
    for h in snapshot {
        assert_ne!(h.actor, CLAIMED, "a slot being filled was reported");
        assert!(actors.contains(&h.actor), "phantom holder {h:?}");
    }
}

#[test]
fn two_holders_racing_a_snapshot_leave_exactly_the_held_one() {
    model(|| {
        let holds = Arc::new(holds());
        let a = {
            let holds = holds.clone();
            thread::spawn(move || {
                let token = holds.add(A, 1, 10, T2);
                let released = holds.remove(token, 1);
                (token, released)
            })
        };
        let b = {
            let holds = holds.clone();
            thread::spawn(move || holds.add(B, 2, 20, T3))
        };
        check_racing(&holds.snapshot(), &[A, B]);
        let (a_token, a_released) = a.join().unwrap();
        let b_token = b.join().unwrap();
        assert_eq!(a_released, A, "releasing all of a hold names its holder");
        assert_ne!(a_token, 0);
        assert_ne!(b_token, 0);
        assert_eq!(
            holds.snapshot(),
            vec![RawHold {
                actor: B,
                count: 2,
                since_ns: 20,
                token: b_token
            }],
            "after both: B's hold and nothing else"
        );
        assert_eq!(holds.remove(b_token, 2), B);
        assert!(holds.snapshot().is_empty(), "no hold left behind");
    });
}

#[test]
fn two_holders_claiming_at_once_get_distinct_tokens() {
    model(|| {
        let holds = Arc::new(holds());
        let other = {
            let holds = holds.clone();
            thread::spawn(move || holds.add(B, 1, 2, T2))
        };
        let mine = holds.add(A, 1, 1, T1);
        let theirs = other.join().unwrap();
        assert_ne!(mine, theirs, "one slot given to both");
        let mut actors: Vec<_> = holds.snapshot().iter().map(|h| h.actor).collect();
        actors.sort_unstable();
        assert_eq!(actors, vec![A, B], "both holds recorded");
        assert_eq!(holds.remove(mine, 1), A);
        assert_eq!(holds.remove(theirs, 1), B);
        assert!(holds.snapshot().is_empty());
    });
}

/// The home thread claims the first slot without a compare-exchange while another thread
/// releases the hold in it (a permit moved there): it gets that slot only once it is free,
/// else the next one, and a snapshot never sees a half-written hold.
#[test]
fn the_home_thread_claims_while_another_releases_its_first_slot() {
    model(|| {
        let holds = Arc::new(holds());
        let first = holds.add(A, 1, 1, T1);
        assert_eq!(first, 1, "the home thread's hold takes the first slot");
        let mover = {
            let holds = holds.clone();
            thread::spawn(move || {
                check_racing(&holds.snapshot(), &[A, B]);
                assert_eq!(holds.remove(first, 1), A);
            })
        };
        let again = holds.add(B, 1, 2, T1);
        check_racing(&holds.snapshot(), &[A, B]);
        mover.join().unwrap();
        let snapshot = holds.snapshot();
        assert_eq!(snapshot.len(), 1, "{snapshot:?}");
        assert_eq!((snapshot[0].actor, snapshot[0].token), (B, again));
        assert_eq!(holds.remove(again, 1), B);
        assert!(holds.snapshot().is_empty());
    });
}

#[test]
fn a_partial_release_racing_a_snapshot() {
    model(|| {
        let holds = Arc::new(holds());
        let token = holds.add(A, 3, 5, T1);
        let holder = {
            let holds = holds.clone();
            thread::spawn(move || {
                assert_eq!(holds.remove(token, 1), 0, "2 units still held");
                assert_eq!(holds.remove(token, 2), A, "now all released");
            })
        };
        let seen = holds.snapshot();
        check_racing(&seen, &[A]);
        // The count is read after the actor word: 3 or 2 while held, 0 if the last release
        // came between the two loads (a hold ending as it is read), never anything else.
        assert!(seen.iter().all(|h| h.count <= 3), "{seen:?}");
        holder.join().unwrap();
        assert!(holds.snapshot().is_empty(), "released holds are gone");
    });
}

#[test]
fn overflow_holds_racing_a_snapshot() {
    model(|| {
        let holds = Arc::new(holds());
        let inline: Vec<_> = (0..INLINE_HOLDS as u64)
            .map(|i| holds.add(100 + i, 1, i, T1))
            .collect();
        let spill = {
            let holds = holds.clone();
            thread::spawn(move || {
                let token = holds.add(A, 1, 7, T2);
                assert!(token > INLINE_HOLDS as u64, "slots are full: the list");
                assert_eq!(holds.remove(token, 1), A);
            })
        };
        let kept = holds.add(B, 1, 8, T1);
        let mut allowed: Vec<u64> = (0..INLINE_HOLDS as u64).map(|i| 100 + i).collect();
        allowed.extend([A, B]);
        check_racing(&holds.snapshot(), &allowed);
        spill.join().unwrap();
        let snapshot = holds.snapshot();
        assert_eq!(snapshot.len(), INLINE_HOLDS + 1, "{snapshot:?}");
        assert!(snapshot.iter().any(|h| h.actor == B && h.token == kept));
        assert!(snapshot.iter().all(|h| h.actor != A), "A released its hold");
        assert_eq!(holds.remove(kept, 1), B);
        for token in inline {
            assert_ne!(holds.remove(token, 1), 0);
        }
        assert!(holds.snapshot().is_empty());
    });
}

#[test]
fn an_exclusive_holder_racing_a_snapshot() {
    model(|| {
        let holds = Arc::new(holds());
        let holder = {
            let holds = holds.clone();
            thread::spawn(move || {
                holds.set_owner(A, 9);
                holds.take_owner()
            })
        };
        let seen = holds.snapshot();
        check_racing(&seen, &[A]);
        assert!(seen.len() <= 1);
        assert_eq!(holder.join().unwrap(), A, "the release names the holder");
        assert!(
            holds.snapshot().is_empty(),
            "no owner left after the release"
        );
    });
}
