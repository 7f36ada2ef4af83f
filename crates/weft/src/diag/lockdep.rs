//! Lock order (lockdep): lock classes keyed by creation site, the order in which they are
//! taken, and the first acquisition that inverts an order seen before.
//!
//! Each actor's currently held locks are kept here (recorded by `trace`'s hold and release
//! hooks, so a guard held across `.await`s or dropped on another thread ends the hold of the
//! actor that took it). Taking class B while holding class A adds the edge A → B to one
//! process-wide order graph, with who did it. If B → … → A is already in the graph, the new
//! acquisition closes an order cycle: reported once per pair of classes, with both chains,
//! even if the two paths never ran at the same time.
//!
//! # Cost
//!
//! The steady state takes no lock and makes no atomic read-modify-write. Each thread keeps one
//! list of the locks taken on it and not yet released, by whichever of its actors (its tasks
//! interleave, so an entry names its actor), and only that thread touches it: an acquisition
//! reads the entries of its actor and appends one, a release on the same thread removes its
//! entry, looking from the end (where nested guards put it). The first [`INLINE_HELD`] entries
//! live in a constant-initialised thread-local array of `Cell`s (no lazy initialisation, no
//! destructor, no borrow flag: a few plain loads and stores); more spill to a vector, looked at
//! only while it is not empty.
//!
//! A guard dropped on another thread finds nothing in that thread's list. It *posts* its
//! release instead: onto one process-wide list, under a mutex, and bumps a process-wide epoch.
//! Every thread compares the epoch with the last one it looked at on each acquisition (one
//! relaxed load; a thread that never looked compares with a value the epoch never has, which
//! registers it) and, when it moved, takes the posts that name holds of its own out of its
//! list. A post that no thread's list has (a hold taken before lock order was on, or on a
//! thread that has exited) is dropped once every living thread has looked past it; at most
//! [`MAX_POSTS`] wait at a time (beyond that the oldest go, and the holds they would have ended
//! stay in their lists: lock-order edges from them, never a missed one). A release and an
//! acquisition on two threads with nothing ordering them may see each other either way, which
//! is how they happened.
//!
//! Each thread also keeps the order edges it has already seen in the graph: the graph only
//! grows, so an edge seen once needs no look again, and only a pair (held class, new class)
//! this thread has never seen takes the graph's lock.
//!
//! Only locks count (`Mutex`, `RwLock`): a counting semaphore is a pool of permits, and
//! taking permits in varying orders is usual and safe when there are enough of them. A class
//! taken twice (two mutexes created at one site, nested) is not an edge: a class cannot be
//! ordered against itself without per-instance ordering, which the issue does not ask for.

use super::report::{emit, Report, ReportKind};
use super::victim::ActorInfo;
use crate::loom::Mutex;
use crate::sync::trace::{Actor, ActorId, Resource, ResourceKind};
use std::backtrace::Backtrace;
use std::cell::{Cell, RefCell};
use std::collections::{HashMap, HashSet, VecDeque};
use std::fmt::Write as _;
use std::panic::Location;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, OnceLock, Weak};

/// A lock class: where its locks are created.
type Class = &'static Location<'static>;

/// One held lock of one actor.
#[derive(Debug, Clone, Copy)]
struct HeldClass {
    class: Class,
    kind: ResourceKind,
    resource: usize,
    token: u64,
}

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

/// The first time `from` was held while `to` was taken.
#[derive(Debug)]
struct OrderEdge {
    from_kind: ResourceKind,
    to_kind: ResourceKind,
    /// Who did it, described when it happened (`"worker" (task 7, spawned at ...)`).
    by: String,
    /// Where: the stack of the acquisition (captured unresolved, resolved only for a report).
    stack: Backtrace,
}

/// The process-wide order graph.
#[derive(Default)]
struct State {
    order: HashMap<Class, HashMap<Class, OrderEdge>>,
    reported: HashSet<(Class, Class)>,
}

fn state() -> &'static Mutex<State> {
    static STATE: OnceLock<Mutex<State>> = OnceLock::new();
    STATE.get_or_init(|| Mutex::new(State::default()))
}

/// Posted releases waiting at most (see the module doc).
const MAX_POSTS: usize = 4096;

/// Held locks per thread kept inline (see the module doc).
const INLINE_HELD: usize = 16;

/// [`Held::seen`] of a thread that has not registered with the posts yet: a value [`EPOCH`]
/// never reaches, so the first acquisition's epoch check registers the thread.
const UNREGISTERED: u64 = u64::MAX;

/// The locks taken on this thread and not yet released (see the module doc). Only this
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

/// A release whose hold is in another thread's list (see the module doc).
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
    /// Order edges this thread knows are in the graph (see the module doc).
    static SEEN: RefCell<HashSet<(usize, usize)>> = RefCell::new(HashSet::new());
}

/// True if this thread already saw the edge `from` → `to` in the graph.
fn seen(from: Class, to: Class) -> bool {
    SEEN.try_with(|s| s.borrow().contains(&edge_key(from, to)))
        .unwrap_or(false)
}

fn remember_seen(from: Class, to: Class) {
    let _ = SEEN.try_with(|s| s.borrow_mut().insert(edge_key(from, to)));
}

fn edge_key(from: Class, to: Class) -> (usize, usize) {
    (
        from as *const Location<'static> as usize,
        to as *const Location<'static> as usize,
    )
}

fn is_lock(kind: ResourceKind) -> bool {
    matches!(kind, ResourceKind::Mutex | ResourceKind::RwLock)
}

/// The hold hook: `actor` now holds `res` (`token` 0 for an exclusive hold). Inline, so that
/// a hold of a semaphore or a channel end costs its caller two compares, not a call.
#[inline]
pub(crate) fn on_acquire(res: &Resource, actor: Actor, token: u64) {
    if super::lock_order_on() && is_lock(res.kind()) {
        acquire(res, actor, token);
    }
}

/// The release hook: `actor`'s hold of `res` (by `token`) ended, on whichever thread.
#[inline]
pub(crate) fn on_release(res: &Resource, actor: Actor, token: u64) {
    if super::lock_order_on() && is_lock(res.kind()) && actor.id.0 != 0 {
        release(res, actor, token);
    }
}

fn acquire(res: &Resource, actor: Actor, token: u64) {
    let new = HeldClass {
        class: res.site(),
        kind: res.kind(),
        resource: res as *const Resource as usize,
        token,
    };
    let order = HELD.with(|held| {
        if EPOCH.load(Relaxed) != held.seen.get() {
            held.take_posts();
        }
        // Usually this actor holds no lock of another class: nothing to order.
        let mut other =
            (0..held.len.get()).any(|i| held.inline.other_class_of(i, actor.id, new.class));
        if held.spilled.get() {
            other |= SPILLED
                .try_with(|v| {
                    v.borrow()
                        .iter()
                        .any(|e| e.other_class_of(actor.id, new.class))
                })
                .unwrap_or(false);
        }
        held.push(Entry::new(actor.id, &new));
        other
    });
    if order {
        check_order(actor, &new);
    }
}

/// The slow path of an acquisition while `actor` holds another class: its held locks copied
/// out of the list (the graph's checks and a report's rendering may take locks on this thread,
/// which append to it), then checked, then the reports sent.
#[cold]
#[inline(never)]
fn check_order(actor: Actor, new: &HeldClass) {
    let held = HELD.with(|h| h.held_by(actor.id, new.class));
    let reports = order_against_held(&held, actor, new);
    if !reports.is_empty() {
        emit_all(reports);
    }
}

/// Adds the edges (held class → `new`'s class) this thread has not seen yet for every lock
/// of `held` (`actor`'s, of other classes), and renders an inversion report for each one that closes an order cycle.
#[cold]
#[inline(never)]
fn order_against_held(
    held: &[HeldClass],
    actor: Actor,
    new: &HeldClass,
) -> Vec<(Vec<String>, String)> {
    let mut reports = Vec::new();
    let mut me: Option<String> = None;
    for h in held {
        if seen(h.class, new.class) {
            continue; // the edge is known (and was checked when it was new)
        }
        let mut st = state().lock().unwrap_or_else(|e| e.into_inner());
        let State { order, reported } = &mut *st;
        if order
            .get(&h.class)
            .is_some_and(|m| m.contains_key(&new.class))
        {
            remember_seen(h.class, new.class);
            continue; // known to the graph (another thread added it)
        }
        let by = me
            .get_or_insert_with(|| ActorInfo::current(actor).describe())
            .clone();
        if let Some(path) = path(order, new.class, h.class) {
            let pair = if h.class < new.class {
                (h.class, new.class)
            } else {
                (new.class, h.class)
            };
            if reported.insert(pair) {
                let now = Backtrace::force_capture();
                reports.push(render(order, (&by, &now), h, new, &path));
            }
        }
        order.entry(h.class).or_default().insert(
            new.class,
            OrderEdge {
                from_kind: h.kind,
                to_kind: new.kind,
                by,
                stack: Backtrace::force_capture(),
            },
        );
        remember_seen(h.class, new.class);
    }
    reports
}

/// Sends the inversion reports (with no held list locked: a handler may take locks).
#[cold]
#[inline(never)]
fn emit_all(reports: Vec<(Vec<String>, String)>) {
    for (names, text) in reports {
        emit(&Report::new(ReportKind::LockOrder, names, text));
    }
}

fn release(res: &Resource, actor: Actor, token: u64) {
    let addr = res as *const Resource as usize;
    if !HELD.with(|held| held.remove(actor.id, addr, token)) {
        post(actor.id, addr, token);
    }
}

/// A release whose hold is not in this thread's list: taken on another thread (the guard
/// moved), or before lock order was on (then it is nowhere). Posted for the thread that has
/// it (see the module doc).
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

/// A path `from` → … → `to` in the order graph (breadth first: the shortest), as classes.
fn path(
    order: &HashMap<Class, HashMap<Class, OrderEdge>>,
    from: Class,
    to: Class,
) -> Option<Vec<Class>> {
    let mut prev: HashMap<Class, Class> = HashMap::new();
    let mut todo = VecDeque::from([from]);
    while let Some(c) = todo.pop_front() {
        if c == to {
            let mut p = vec![to];
            while let Some(&b) = prev.get(p.last()?) {
                p.push(b);
            }
            p.reverse();
            return Some(p);
        }
        for &next in order.get(&c).map(|m| m.keys()).into_iter().flatten() {
            if next != from && !prev.contains_key(&next) {
                prev.insert(next, c);
                todo.push_back(next);
            }
        }
    }
    None
}

/// The names involved and the text of one inversion report.
fn render(
    order: &HashMap<Class, HashMap<Class, OrderEdge>>,
    (by, stack): (&str, &Backtrace),
    held: &HeldClass,
    new: &HeldClass,
    earlier: &[Class],
) -> (Vec<String>, String) {
    let mut t = String::new();
    let _ = writeln!(
        t,
        "weft::diag: lock-order inversion: two lock classes are taken in both orders \
         (a deadlock waiting to happen)"
    );
    let _ = writeln!(t, "=============================================");
    let _ = writeln!(t, "\nNow: {by}");
    let _ = writeln!(t, "    holds    {:?} created at {}", held.kind, held.class);
    let _ = writeln!(t, "    acquires {:?} created at {}", new.kind, new.class);
    write_sites(&mut t, stack, "        ");
    let _ = writeln!(t, "\nEarlier, the opposite order:");
    let mut names = vec![name_of(by)];
    for pair in earlier.windows(2) {
        if let Some(edge) = order.get(&pair[0]).and_then(|m| m.get(&pair[1])) {
            let _ = writeln!(t, "    {}", edge.by);
            let _ = writeln!(
                t,
                "        held     {:?} created at {}",
                edge.from_kind, pair[0]
            );
            let _ = writeln!(
                t,
                "        acquired {:?} created at {}",
                edge.to_kind, pair[1]
            );
            write_sites(&mut t, &edge.stack, "            ");
            let n = name_of(&edge.by);
            if !names.contains(&n) {
                names.push(n);
            }
        }
    }
    let _ = writeln!(
        t,
        "\nIf these run at the same time, each can hold one lock and wait for the other. \
         Take them in one order everywhere."
    );
    (names, t)
}

/// The name at the front of a description: the quoted name, else up to ` (`.
fn name_of(described: &str) -> String {
    match described.strip_prefix('"') {
        Some(rest) => rest.split('"').next().unwrap_or(rest).to_string(),
        None => described
            .split(" (")
            .next()
            .unwrap_or(described)
            .to_string(),
    }
}

/// Frames of the application's code kept from an acquisition's stack (the callers of the
/// lock, not the runtime and the standard library around them).
const SITE_FRAMES: usize = 3;

/// Writes the application frames of `stack` as `at file:line:col` lines; nothing when the
/// binary has no debug info.
fn write_sites(t: &mut String, stack: &Backtrace, indent: &str) {
    let text = stack.to_string();
    let sites = text
        .lines()
        .filter_map(|l| l.trim_start().strip_prefix("at "))
        .filter(|at| !is_runtime_frame(at))
        .take(SITE_FRAMES);
    for at in sites {
        let _ = writeln!(t, "{indent}at {at}");
    }
}

/// True for frames of std, of dependencies, of weft's own source and of non-Rust code (libc).
fn is_runtime_frame(at: &str) -> bool {
    !at.contains(".rs:")
        || at.starts_with("/rustc/")
        || at.contains("/.cargo/registry/")
        || at.contains("/library/std/")
        || at.contains("/library/core/")
        || at.contains("/library/alloc/")
        || at.contains(concat!(env!("CARGO_MANIFEST_DIR"), "/src/"))
        || at.starts_with("src/")
        || at.starts_with("./src/")
        || at.contains("crates/weft/src/")
}
