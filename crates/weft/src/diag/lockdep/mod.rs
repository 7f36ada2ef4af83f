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
//! entry, looking from the end (where nested guards put it). The first
//! [`INLINE_HELD`](held::INLINE_HELD) entries live in a constant-initialised thread-local
//! array per field, of `Cell`s (no lazy initialisation, no destructor, no borrow flag: a few
//! plain loads and stores, each of the width it was stored at, so none waits for a store in
//! flight); more spill to a vector, looked at only while it is not empty. The list and the
//! posts below are the child module `held`.
//!
//! A guard dropped on another thread finds nothing in that thread's list. It *posts* its
//! release instead: onto one process-wide list, under a mutex, and bumps a process-wide epoch.
//! Every thread compares the epoch with the last one it looked at on each acquisition (one
//! relaxed load; a thread that never looked compares with a value the epoch never has, which
//! registers it) and, when it moved, takes the posts that name holds of its own out of its
//! list. A post that no thread's list has (a hold taken before lock order was on, or on a
//! thread that has exited) is dropped once every living thread has looked past it; at most
//! [`MAX_POSTS`](held::MAX_POSTS) wait at a time (beyond that the oldest go, and the holds they would have ended
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

mod held;

use super::report::{emit, Report, ReportKind};
use super::victim::ActorInfo;
use crate::loom::Mutex;
use crate::sync::trace::{Actor, Resource, ResourceKind};
use std::backtrace::Backtrace;
use std::cell::RefCell;
use std::collections::{HashMap, HashSet, VecDeque};
use std::fmt::Write as _;
use std::panic::Location;
use std::sync::OnceLock;

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

thread_local! {
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

/// An acquisition of a lock: the common case (the first lock held on this thread) recorded
/// in a leaf, anything else through [`acquire_among`].
#[inline(never)]
fn acquire(res: &Resource, actor: Actor, token: u64) {
    let new = HeldClass {
        class: res.site(),
        kind: res.kind(),
        resource: res as *const Resource as usize,
        token,
    };
    if !held::record_first(actor.id, &new) {
        acquire_among(actor, &new);
    }
}

/// An acquisition while this thread's list holds other entries (of this actor or of other
/// tasks of the loop), has spilled, or has posts to take in.
#[inline(never)]
fn acquire_among(actor: Actor, new: &HeldClass) {
    if held::record(actor.id, new) {
        check_order(actor, new);
    }
}

/// The slow path of an acquisition while `actor` holds another class: its held locks copied
/// out of the list (the graph's checks and a report's rendering may take locks on this thread,
/// which append to it), then checked, then the reports sent.
#[cold]
#[inline(never)]
fn check_order(actor: Actor, new: &HeldClass) {
    let held = held::held_by(actor.id, new.class);
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

/// A release of a lock: the common case (the thread's last entry) in a leaf, anything else
/// through `held::end`.
#[inline(never)]
fn release(res: &Resource, actor: Actor, token: u64) {
    let resource = res as *const Resource as usize;
    if !held::end_last(actor.id, resource, token) {
        held::end(actor.id, resource, token);
    }
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
