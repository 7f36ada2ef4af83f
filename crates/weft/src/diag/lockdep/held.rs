//! Each thread's list of the locks taken on it and not yet released, and the releases posted
//! by other threads for it: the bookkeeping under lock order, touched on every acquisition and
//! release of a lock while it is on (its costs and its protocol: the parent's module doc).

use super::{Class, HeldClass};
use crate::loom::Mutex;
use crate::sync::trace::{ActorId, ResourceKind};
use std::cell::{Cell, RefCell};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, OnceLock, Weak};

/// One entry of a thread's held list: `actor` holds `held`.
#[derive(Debug, Clone, Copy)]
struct Entry {
    actor: ActorId,
    /// `None` only in the unused part of the inline entries.
    class: Option<Class>,
    kind: ResourceKind,
    resource: usize,
    token: u64,
}

impl Entry {
    fn new(actor: ActorId, held: &HeldClass) -> Entry {
        Entry {
            actor,
            class: Some(held.class),
            kind: held.kind,
            resource: held.resource,
            token: held.token,
        }
    }

    fn is(&self, actor: ActorId, resource: usize, token: u64) -> bool {
        self.actor == actor && self.resource == resource && self.token == token
    }

    /// True if this is a hold of `actor` whose class may differ from `class` (compared by
    /// address: one site can have several `Location`s, which the cold path compares by value).
    fn other_class_of(&self, actor: ActorId, class: Class) -> bool {
        self.actor == actor && !self.class.is_some_and(|c| std::ptr::eq(c, class))
    }

    fn held(&self) -> Option<HeldClass> {
        Some(HeldClass {
            class: self.class?,
            kind: self.kind,
            resource: self.resource,
            token: self.token,
        })
    }
}

/// Posted releases waiting at most (see the parent's module doc).
pub(super) const MAX_POSTS: usize = 4096;

/// Held locks per thread kept inline (see the parent's module doc).
pub(super) const INLINE_HELD: usize = 16;

/// [`Held::seen`] of a thread that has not registered with the posts yet: a value [`EPOCH`]
/// never reaches, so the first acquisition's epoch check registers the thread.
const UNREGISTERED: u64 = u64::MAX;

/// The locks taken on this thread and not yet released (see the parent's module doc). Only this
/// thread touches it, and no reference into it outlives a call: a nested acquisition (a lock
/// taken while a report is rendered) finds it consistent.
struct Held {
    /// The last [`EPOCH`] whose posted releases this thread took in, or [`UNREGISTERED`].
    seen: Cell<u64>,
    /// Entries in use at the front of `inline`.
    len: Cell<usize>,
    /// True while [`SPILLED`] has entries.
    spilled: Cell<bool>,
    inline: Inline,
}

/// The first [`INLINE_HELD`] entries, an array per field. Each field is stored and loaded as
/// the word it is: an entry built on the stack and copied in and out whole is stored in words
/// and loaded in wider vector moves, which the processor cannot forward from the stores still
/// in flight (measured: that stall was most of what lock order added to an uncontended lock).
struct Inline {
    actor: [Cell<ActorId>; INLINE_HELD],
    class: [Cell<Option<Class>>; INLINE_HELD],
    kind: [Cell<ResourceKind>; INLINE_HELD],
    resource: [Cell<usize>; INLINE_HELD],
    token: [Cell<u64>; INLINE_HELD],
}

impl Inline {
    const fn new() -> Inline {
        Inline {
            actor: [const { Cell::new(ActorId(0)) }; INLINE_HELD],
            class: [const { Cell::new(None) }; INLINE_HELD],
            kind: [const { Cell::new(ResourceKind::Mutex) }; INLINE_HELD],
            resource: [const { Cell::new(0) }; INLINE_HELD],
            token: [const { Cell::new(0) }; INLINE_HELD],
        }
    }

    fn get(&self, i: usize) -> Entry {
        Entry {
            actor: self.actor[i].get(),
            class: self.class[i].get(),
            kind: self.kind[i].get(),
            resource: self.resource[i].get(),
            token: self.token[i].get(),
        }
    }

    #[inline]
    fn set(&self, i: usize, e: &Entry) {
        self.actor[i].set(e.actor);
        self.class[i].set(e.class);
        self.kind[i].set(e.kind);
        self.resource[i].set(e.resource);
        self.token[i].set(e.token);
    }

    /// True if entry `i` is a hold of `actor` whose class may differ from `class` (compared by
    /// address: one site can have several `Location`s, which the cold path compares by value).
    #[inline]
    fn other_class_of(&self, i: usize, actor: ActorId, class: Class) -> bool {
        self.actor[i].get() == actor && !self.class[i].get().is_some_and(|c| std::ptr::eq(c, class))
    }

    #[inline]
    fn is(&self, i: usize, actor: ActorId, resource: usize, token: u64) -> bool {
        self.actor[i].get() == actor
            && self.resource[i].get() == resource
            && self.token[i].get() == token
    }
}

impl Held {
    /// This thread's entries of `actor` (inline and spilled) with a class other than `class`.
    fn held_by(&self, actor: ActorId, class: Class) -> Vec<HeldClass> {
        let mut out: Vec<HeldClass> = (0..self.len.get())
            .map(|i| self.inline.get(i))
            .filter(|e| e.actor == actor)
            .filter_map(|e| e.held())
            .collect();
        if self.spilled.get() {
            let _ = SPILLED.try_with(|v| {
                out.extend(
                    v.borrow()
                        .iter()
                        .filter(|e| e.actor == actor)
                        .filter_map(Entry::held),
                )
            });
        }
        out.retain(|h| h.class != class);
        out
    }

    /// Appends `entry` (inline while there is room).
    #[inline]
    fn push(&self, entry: Entry) {
        let n = self.len.get();
        if n < INLINE_HELD {
            self.inline.set(n, &entry);
            self.len.set(n + 1);
        } else {
            self.spill(entry);
        }
    }

    #[cold]
    #[inline(never)]
    fn spill(&self, entry: Entry) {
        // A thread past its thread-locals' destruction keeps no spilled entries (an order
        // edge less, never a false report).
        if SPILLED.try_with(|v| v.borrow_mut().push(entry)).is_ok() {
            self.spilled.set(true);
        }
    }

    /// Removes `actor`'s hold of `resource` by `token`; false if this list has none.
    #[inline]
    fn remove(&self, actor: ActorId, resource: usize, token: u64) -> bool {
        let n = self.len.get();
        // Order does not matter (only which classes an actor holds); nested guards put the
        // hold at the end, where this looks first.
        for i in (0..n).rev() {
            if self.inline.is(i, actor, resource, token) {
                if i != n - 1 {
                    self.inline.set(i, &self.inline.get(n - 1));
                }
                self.len.set(n - 1);
                return true;
            }
        }
        self.spilled.get() && self.remove_spilled(actor, resource, token)
    }

    #[cold]
    #[inline(never)]
    fn remove_spilled(&self, actor: ActorId, resource: usize, token: u64) -> bool {
        SPILLED
            .try_with(|v| {
                let mut v = v.borrow_mut();
                let Some(i) = v.iter().rposition(|e| e.is(actor, resource, token)) else {
                    return false;
                };
                v.swap_remove(i);
                self.spilled.set(!v.is_empty());
                true
            })
            .unwrap_or(false)
    }

    /// Registers the thread on its first look, then ends the holds of this list that other
    /// threads' posts name, and drops the posts every living thread has looked past.
    #[cold]
    #[inline(never)]
    fn take_posts(&self) {
        let mut posts = posts().lock().unwrap_or_else(|e| e.into_inner());
        let Posts { list, threads } = &mut *posts;
        let seen = self.seen.get();
        if seen == UNREGISTERED {
            // A new thread has no hold that an earlier post could end.
            let now = EPOCH.load(Relaxed);
            self.seen.set(now);
            let _ = PUBLISHED.try_with(|p| {
                p.store(now, Relaxed);
                threads.retain(|t| t.strong_count() > 0);
                threads.push(Arc::downgrade(p));
            });
            return;
        }
        list.retain(|p| p.epoch <= seen || !self.remove(p.actor, p.resource, p.token));
        // Posts bump the epoch under this lock, so every post up to it is in `list`.
        let now = EPOCH.load(Relaxed);
        self.seen.set(now);
        let _ = PUBLISHED.try_with(|p| p.store(now, Relaxed));
        let oldest_seen = threads
            .iter()
            .filter_map(Weak::upgrade)
            .map(|t| t.load(Relaxed))
            .min()
            .unwrap_or(now);
        list.retain(|p| p.epoch > oldest_seen);
    }
}

/// A release whose hold is in another thread's list (see the parent's module doc).
struct Posted {
    actor: ActorId,
    resource: usize,
    token: u64,
    /// The [`EPOCH`] it was posted at.
    epoch: u64,
}

/// The posted releases, and every thread's last epoch looked at.
#[derive(Default)]
struct Posts {
    list: Vec<Posted>,
    threads: Vec<Weak<AtomicU64>>,
}

/// Bumped, under the posts' lock, by every post.
static EPOCH: AtomicU64 = AtomicU64::new(0);

fn posts() -> &'static Mutex<Posts> {
    static POSTS: OnceLock<Mutex<Posts>> = OnceLock::new();
    POSTS.get_or_init(Default::default)
}

thread_local! {
    /// This thread's held list.
    static HELD: Held = const {
        Held {
            seen: Cell::new(UNREGISTERED),
            len: Cell::new(0),
            spilled: Cell::new(false),
            inline: Inline::new(),
        }
    };
    /// The held list's entries beyond the inline ones.
    static SPILLED: RefCell<Vec<Entry>> = const { RefCell::new(Vec::new()) };
    /// [`Held::seen`], for the threads that drop the posts every thread has looked past
    /// (registered on the thread's first acquisition; forgotten when the thread ends).
    static PUBLISHED: Arc<AtomicU64> = Arc::new(AtomicU64::new(0));
}

/// The common acquisition, in full: the first lock taken on this thread while no other is
/// held here, no post waits to be taken in and nothing spilled. True if it was recorded; false
/// sends the caller to [`record`]. A leaf of a few loads and stores, so that its caller saves
/// no registers for it (the general path, with its calls, cost an uncontended lock+unlock
/// twice as many instructions).
#[inline(always)]
pub(super) fn record_first(actor: ActorId, new: &HeldClass) -> bool {
    HELD.with(|held| {
        if held.len.get() != 0 || held.spilled.get() || EPOCH.load(Relaxed) != held.seen.get() {
            return false;
        }
        held.inline.set(0, &Entry::new(actor, new));
        held.len.set(1);
        true
    })
}

/// Records that `actor` now holds `new` on this thread (first taking in the releases other
/// threads posted); true if `actor` holds a lock of another class here, which then needs its
/// order checked.
#[inline(never)]
pub(super) fn record(actor: ActorId, new: &HeldClass) -> bool {
    HELD.with(|held| {
        if EPOCH.load(Relaxed) != held.seen.get() {
            held.take_posts();
        }
        // Usually this actor holds no lock of another class: nothing to order.
        let mut other =
            (0..held.len.get()).any(|i| held.inline.other_class_of(i, actor, new.class));
        if held.spilled.get() {
            other |= SPILLED
                .try_with(|v| {
                    v.borrow()
                        .iter()
                        .any(|e| e.other_class_of(actor, new.class))
                })
                .unwrap_or(false);
        }
        held.push(Entry::new(actor, new));
        other
    })
}

/// `actor`'s locks held on this thread with a class other than `class`, copied out.
pub(super) fn held_by(actor: ActorId, class: Class) -> Vec<HeldClass> {
    HELD.with(|h| h.held_by(actor, class))
}

/// The common release, in full: the hold is the last entry of this thread's list (a guard
/// dropped where it was taken, the innermost first). True if it was removed; false sends the
/// caller to [`end`]. A leaf, like [`record_first`].
#[inline(always)]
pub(super) fn end_last(actor: ActorId, resource: usize, token: u64) -> bool {
    HELD.with(|held| {
        let n = held.len.get();
        if n == 0 || !held.inline.is(n - 1, actor, resource, token) {
            return false;
        }
        held.len.set(n - 1);
        true
    })
}

/// Ends `actor`'s hold of the lock at `resource` by `token`: out of this thread's list, or
/// posted for the thread whose list has it.
#[inline(never)]
pub(super) fn end(actor: ActorId, resource: usize, token: u64) {
    if !HELD.with(|held| held.remove(actor, resource, token)) {
        post(actor, resource, token);
    }
}

/// A release whose hold is not in this thread's list: taken on another thread (the guard
/// moved), or before lock order was on (then it is nowhere). Posted for the thread that has
/// it (see the parent's module doc).
#[cold]
#[inline(never)]
fn post(actor: ActorId, resource: usize, token: u64) {
    let mut posts = posts().lock().unwrap_or_else(|e| e.into_inner());
    if posts.list.len() >= MAX_POSTS {
        posts.list.remove(0);
    }
    let epoch = EPOCH.load(Relaxed) + 1;
    posts.list.push(Posted {
        actor,
        resource,
        token,
        epoch,
    });
    EPOCH.store(epoch, Relaxed);
}
