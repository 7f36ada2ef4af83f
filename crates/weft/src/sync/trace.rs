//! Who holds and who waits: the bookkeeping every `weft::sync` primitive keeps, read by
//! `weft::diag` (the wait-for graph, task dumps).
//!
//! # Model
//!
//! An **actor** is whoever can hold or wait: a task (a green thread is a task too, marked as
//! such), or an OS thread outside any task (a pool job, a `std::thread`, `block_on`'s caller).
//! Tasks and threads draw their ids from one counter, so an [`ActorId`] names one actor.
//!
//! A **resource** is one primitive (a mutex, a semaphore, a channel's side ...). It embeds a
//! [`Resource`]: its kind, where it was created (`#[track_caller]` on `new`), and its holders:
//! one exclusive holder kept in two atomics (mutex, write lock) and the shared holders (read
//! locks, permits, senders): the first [`INLINE_HOLDS`](holds::INLINE_HOLDS) in atomic slots
//! (claimed by a compare-exchange on an empty slot; the hold's token is the slot's number), any
//! more in a list behind a lock (tokens from a per-resource counter). Slots and list live in a
//! part the first shared hold allocates, so a resource that never has one (a mutex, a oneshot
//! channel, any primitive while the bookkeeping is off) carries 32 bytes of holders, not 168.
//!
//! A **wait** is recorded when an actor parks on a resource (the slow path: the waiter is about
//! to return `Pending` or park a thread) and removed when it stops waiting, however it stops:
//! acquired, cancelled (future dropped) or timed out. The records live in a process-wide table
//! cut into [`waits::WAIT_SHARDS`] shards (the `waits` submodule), each behind its own lock; a
//! thread records its waits in the shard it was given on first use (threads are spread over
//! the shards in turn), so a wait takes a lock that only its own thread and the occasional
//! reader take. A shard is a slab (an index, no hashing); a wait's key is its shard's number,
//! its entry's index and a counter of that shard (no process-wide counter). [`edges`] visits every shard and turns the records into the edges of
//! the wait-for graph: *waiter W waits on resource R, held by H*.
//!
//! Two hints ride on the same records (the `hints` submodule): each resource counts its grants
//! for `weft::diag`'s starvation hints, and a channel end's hold follows the actor that uses it
//! (`Resource::rehold`).
//!
//! # Cost
//!
//! Off by default. Every hook starts with [`enabled`], one relaxed load and a branch; with it
//! off nothing else runs and nothing is allocated. With it on, taking an exclusive hold costs
//! two relaxed stores (the holder's id and the loop's cached clock); a shared hold, one
//! compare-exchange and three stores (two stores to release); a wait, its shard's
//! uncontended lock and a slab entry. The diag hooks behind them (lock order, deadlock
//! checks) are called only while those are on (one more relaxed load each). A stamp costs a
//! thread-local compare (see [`stamp`]).
//!
//! # Soundness of the table
//!
//! A wait record points at its resource. The record is removed (under its shard's lock) by the
//! waiter before the waiter stops borrowing the resource, and [`edges`] reads a shard's
//! resources only under that shard's lock, so every resource it reaches is alive.

use crate::loom::{AtomicBool, AtomicU64, AtomicUsize, Ordering::Relaxed};
use crate::rt;
use crate::rt::task::TaskRef;
use std::panic::Location;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

mod hints;
mod holds;
mod waits;

use holds::Holds;
#[cfg(test)]
pub(crate) use holds::INLINE_HOLDS;
pub(crate) use waits::KeyHasher;

static ENABLED: AtomicBool = AtomicBool::new(false);

/// True while the bookkeeping is on. The one branch every hook pays when it is off.
#[inline(always)]
pub(crate) fn enabled() -> bool {
    ENABLED.load(Relaxed)
}

/// Turns the bookkeeping on or off for the whole process. Resources held when it is turned on
/// are seen from their next acquisition.
pub(crate) fn set_enabled(on: bool) {
    ENABLED.store(on, Relaxed);
}

/// One actor's id; see the module doc.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct ActorId(pub(crate) u64);

/// Who a waiter is, kept with its wait so that `weft::diag` can name it (and cancel a task)
/// from another thread, long after the park: a counted reference to the task (dropped when the
/// wait ends), or the OS thread's handle. Taken when a wait is recorded while one of
/// `weft::diag`'s reporters is on (they are its readers; the bookkeeping alone, which dumps
/// and the `sync` bench's trace rows use, skips the two atomics it costs).
#[derive(Clone, Debug)]
pub(crate) enum Whose {
    Task(TaskRef),
    Thread(std::thread::Thread),
}

impl Whose {
    fn current(actor: Actor) -> Option<Whose> {
        if !crate::diag::any_hook_on() {
            return None;
        }
        match actor.kind {
            ActorKind::Task | ActorKind::Green => TaskRef::current().map(Whose::Task),
            ActorKind::Thread => Some(Whose::Thread(std::thread::current())),
        }
    }
}

/// What kind of actor an id names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ActorKind {
    /// An async task.
    Task,
    /// A green thread (a task that parks its own stack).
    Green,
    /// An OS thread outside any task.
    Thread,
}

/// The actor running this code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Actor {
    pub(crate) id: ActorId,
    pub(crate) kind: ActorKind,
}

/// The actor running this code: the task being polled, else this OS thread.
#[inline]
pub(crate) fn current_actor() -> Actor {
    match rt::current_task_id() {
        Some(id) if crate::green::in_green_thread() => Actor {
            id: ActorId(id),
            kind: ActorKind::Green,
        },
        Some(id) => Actor {
            id: ActorId(id),
            kind: ActorKind::Task,
        },
        None => Actor {
            id: ActorId(rt::current_thread_actor_id()),
            kind: ActorKind::Thread,
        },
    }
}

/// What a resource is, for reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(dead_code)] // each primitive names its own kind; diag reads them all
pub(crate) enum ResourceKind {
    Mutex,
    RwLock,
    Semaphore,
    Notify,
    Barrier,
    OnceCell,
    /// A bounded channel's capacity (senders wait on it).
    MpscSend,
    /// A channel's queue (receivers wait on it; its holders are the live senders).
    MpscRecv,
    Oneshot,
    Broadcast,
    Watch,
    /// A task's output (`JoinHandle` await).
    Join,
    /// A `CancellationToken` (no holder: waiters wait for someone to cancel it).
    Cancel,
}

/// Nanoseconds since the first stamp of the process: the loop's cached clock on a loop thread
/// (read at most once per loop turn, so stamping costs no clock read), the real clock elsewhere.
///
/// Turning an `Instant` into nanoseconds since the epoch costs a subtraction of two timespecs
/// and a 128-bit product, more than the rest of a hold; the loop keeps the conversion of its
/// cached instant (`LoopCore::stamp_ns`), so the stamps of one loop turn pay it once.
///
/// Out of line on purpose: inlined into every hook it bloats the primitives' constructors and
/// fast paths (oneshot's `channel` stopped being inlined, costing the off path a copy).
#[inline(never)]
pub(crate) fn stamp() -> u64 {
    stamp_inline()
}

/// [`stamp`], inlined: for a shared hold's record, which is itself inlined into the semaphore's
/// and the read lock's acquisitions, where the call cost a tenth of the record.
#[inline(always)]
fn stamp_inline() -> u64 {
    rt::with_current(|core| match core {
        Some(core) => core.stamp_ns(ns_since_epoch),
        None => ns_since_epoch(Instant::now()),
    })
}

#[cold]
fn ns_since_epoch(now: Instant) -> u64 {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    let epoch = *EPOCH.get_or_init(Instant::now);
    now.saturating_duration_since(epoch).as_nanos() as u64
}

/// How long ago `stamp` was taken.
pub(crate) fn since(stamp_ns: u64) -> Duration {
    Duration::from_nanos(self::stamp().saturating_sub(stamp_ns))
}

/// Packs an actor into one word for the exclusive-holder atomic: the id in the low 62 bits, the
/// kind in the top two (ids come from a 64-bit counter and never get near 2^62).
fn pack(actor: Actor) -> u64 {
    let kind = match actor.kind {
        ActorKind::Task => 0,
        ActorKind::Green => 1,
        ActorKind::Thread => 2,
    };
    actor.id.0 | (kind << 62)
}

/// A word naming the calling thread, unique among the living threads (a thread-local's
/// address): how a resource's holds tell its home thread (`holds`' module doc).
#[inline]
fn thread_mark() -> usize {
    thread_local! {
        static MARK: u8 = const { 0 };
    }
    MARK.with(|mark| mark as *const u8 as usize)
}

/// The inverse of [`pack`].
fn unpack(word: u64) -> Actor {
    let kind = match word >> 62 {
        0 => ActorKind::Task,
        1 => ActorKind::Green,
        _ => ActorKind::Thread,
    };
    Actor {
        id: ActorId(word & ((1 << 62) - 1)),
        kind,
    }
}

/// A hold: `count` units (permits, read locks; 1 for the exclusive holder) held by `actor`
/// since `since_ns`.
#[derive(Clone, Copy, Debug)]
#[allow(dead_code)] // `actor` and `since_ns` are read by weft::diag
pub(crate) struct Hold {
    pub(crate) actor: Actor,
    pub(crate) count: usize,
    pub(crate) since_ns: u64,
    /// Identifies this hold for its release (guards may be dropped by another actor); 0 for
    /// the exclusive holder.
    pub(crate) token: u64,
}

/// The bookkeeping part of one primitive; see the module doc.
#[derive(Debug)]
pub(crate) struct Resource {
    kind: ResourceKind,
    site: &'static Location<'static>,
    holds: Holds,
    /// Acquisitions while starvation hints are on (what `weft::diag` counts overtakes with).
    grants: AtomicU64,
    /// Actors `weft::diag` watches for starvation on this resource (0: a grant looks no
    /// further than this word).
    pub(crate) watchers: AtomicUsize,
}

/// A token naming one recorded shared hold, returned by [`Resource::hold_shared`]; 0 means
/// "nothing was recorded" (the bookkeeping was off).
pub(crate) type HoldToken = u64;

impl Resource {
    /// A resource of `kind` created at `site`.
    #[inline]
    pub(crate) const fn new(kind: ResourceKind, site: &'static Location<'static>) -> Resource {
        Resource {
            kind,
            site,
            holds: Holds {
                owner: AtomicU64::new(0),
                owner_since: AtomicU64::new(0),
                shared: crate::loom::OnceBox::new(),
            },
            grants: AtomicU64::new(0),
            watchers: AtomicUsize::new(0),
        }
    }

    /// The kind given at creation.
    pub(crate) fn kind(&self) -> ResourceKind {
        self.kind
    }

    /// Where the resource was created.
    pub(crate) fn site(&self) -> &'static Location<'static> {
        self.site
    }

    /// Records the current actor as the exclusive holder (mutex locked, write lock taken).
    #[inline]
    pub(crate) fn hold_exclusive(&self) {
        if enabled() {
            let actor = current_actor();
            self.holds.set_owner(pack(actor), stamp());
            if crate::diag::lock_order_on() {
                crate::diag::on_acquire(self, actor, 0);
            }
            self.granted(actor);
        }
    }

    /// Clears the exclusive holder (the guard was dropped, by whichever actor).
    #[inline]
    pub(crate) fn release_exclusive(&self) {
        if enabled() {
            let owner = self.holds.take_owner();
            if crate::diag::lock_order_on() {
                crate::diag::on_release(self, unpack(owner), 0);
            }
        }
    }

    /// Records `count` shared units held by the current actor; returns the token to release
    /// them with (0 when off).
    ///
    /// Always inlined, with its record: left to LLVM, this stayed a call, so that with the
    /// bookkeeping off every semaphore acquire paid the call and its register saves (20 of
    /// 143 instructions an acquire+release) where the issue allows one branch; inlined, the
    /// traced acquire+release also fell from 204 to 182 instructions.
    #[inline(always)]
    pub(crate) fn hold_shared(&self, count: usize) -> HoldToken {
        if !enabled() {
            return 0;
        }
        self.hold_shared_traced(count)
    }

    #[inline(always)]
    fn hold_shared_traced(&self, count: usize) -> HoldToken {
        let actor = current_actor();
        let token = self
            .holds
            .add(pack(actor), count, stamp_inline(), thread_mark());
        if crate::diag::any_hook_on() {
            if crate::diag::lock_order_on() {
                crate::diag::on_acquire(self, actor, token);
            }
            self.granted(actor);
        }
        token
    }

    /// Forgets `count` units of the shared hold `token` (all of it when they reach 0).
    #[inline]
    pub(crate) fn release_shared(&self, token: HoldToken, count: usize) {
        // The off path's one branch: nothing was recorded.
        if token == 0 {
            return;
        }
        let actor = self.holds.remove(token, count);
        if actor != 0 && crate::diag::lock_order_on() {
            crate::diag::on_release(self, unpack(actor), token);
        }
    }

    /// Every recorded holder: the exclusive one (with `token` 0), then the shared ones.
    pub(crate) fn holders(&self) -> Vec<Hold> {
        self.holds
            .snapshot()
            .into_iter()
            .map(|h| Hold {
                actor: unpack(h.actor),
                count: h.count,
                since_ns: h.since_ns,
                token: h.token,
            })
            .collect()
    }

    /// Records that the current actor starts waiting on this resource at `site` (the caller's
    /// `#[track_caller]` location). The returned guard removes the record when dropped: keep
    /// it in the waiting future / parked frame, so that acquisition, cancellation and timeout
    /// all end the wait.
    #[inline]
    pub(crate) fn wait(&self, site: &'static Location<'static>) -> WaitGuard {
        if !enabled() {
            return WaitGuard::none();
        }
        let actor = current_actor();
        let key = waits::insert(|| WaitRecord {
            actor,
            whose: Whose::current(actor),
            target: Target::Resource(self as *const Resource),
            since_ns: stamp(),
            site,
        });
        if crate::diag::deadlocks_on() {
            crate::diag::on_wait(actor);
        }
        if crate::diag::starvation_on() {
            crate::diag::starvation_attempted(self, actor, site, true);
        }
        WaitGuard { key }
    }
}

/// Ends a recorded wait when dropped; see [`Resource::wait`].
#[derive(Debug)]
#[must_use = "the wait ends when the guard is dropped"]
pub(crate) struct WaitGuard {
    key: u64,
}

impl WaitGuard {
    /// A guard that recorded nothing.
    pub(crate) const fn none() -> WaitGuard {
        WaitGuard { key: 0 }
    }
}

impl Drop for WaitGuard {
    #[inline]
    fn drop(&mut self) {
        end_wait(self.key);
    }
}

/// One recorded wait.
#[derive(Debug)]
struct WaitRecord {
    actor: Actor,
    whose: Option<Whose>,
    target: Target,
    since_ns: u64,
    site: &'static Location<'static>,
}

/// What a wait is on: a primitive, or a task's output (`JoinHandle` await: the task itself
/// holds it until it completes).
#[derive(Debug)]
enum Target {
    Resource(*const Resource),
    Task(Actor, &'static Location<'static>),
}

/// Records that the current actor waits for the output of `task` (spawned at `site`); ended
/// by [`end_wait`] with the returned key (0 when the bookkeeping is off).
pub(crate) fn wait_join(task: u64, site: &'static Location<'static>) -> u64 {
    if !enabled() {
        return 0;
    }
    let actor = current_actor();
    let joined = Actor {
        id: ActorId(task),
        kind: ActorKind::Task,
    };
    let key = waits::insert(|| WaitRecord {
        actor,
        whose: Whose::current(actor),
        target: Target::Task(joined, site),
        since_ns: stamp(),
        site,
    });
    if crate::diag::deadlocks_on() {
        crate::diag::on_wait(actor);
    }
    key
}

/// Ends the wait `key` if it is still recorded (0: nothing).
pub(crate) fn end_wait(key: u64) {
    if key != 0 {
        waits::remove(key);
    }
}

// SAFETY: the raw pointer is only dereferenced by `edges`, under its shard's lock, while the
// record exists, which is while the waiter still borrows the resource (see the module doc); the
// resource itself is `Sync` (its fields are atomics and a mutex).
unsafe impl Send for WaitRecord {}

/// One edge of the wait-for graph: `waiter` waits on a resource (of `kind`, created at
/// `resource_site`) since `waited` ago, at `wait_site`; `holders` hold it.
#[derive(Clone, Debug)]
#[allow(dead_code)] // read by weft::diag
pub(crate) struct WaitEdge {
    /// Names this wait (one per park): the same key in two snapshots is the same wait.
    pub(crate) key: u64,
    pub(crate) waiter: Actor,
    /// Who the waiter is: `None` if no `weft::diag` reporter was on when it parked (see
    /// [`Whose`]), or for a task's wait recorded outside its poll.
    pub(crate) whose: Option<Whose>,
    pub(crate) kind: ResourceKind,
    pub(crate) resource: usize,
    pub(crate) resource_site: &'static Location<'static>,
    pub(crate) wait_site: &'static Location<'static>,
    pub(crate) waited: Duration,
    pub(crate) holders: Vec<Hold>,
}

/// A snapshot of every recorded wait with the holders of what it waits on.
#[allow(dead_code)] // read by weft::diag
pub(crate) fn edges() -> Vec<WaitEdge> {
    let mut all = Vec::new();
    waits::visit(|key, w| all.push(edge(key, w)));
    all
}

/// The edge of one record; call under its shard's lock.
fn edge(key: u64, w: &WaitRecord) -> WaitEdge {
    match w.target {
        Target::Resource(ptr) => {
            // SAFETY: see the module doc: the record exists, so the resource is alive, and
            // the caller holds the record's shard's lock, so the waiter cannot remove it
            // meanwhile.
            let resource = unsafe { &*ptr };
            WaitEdge {
                key,
                waiter: w.actor,
                whose: w.whose.clone(),
                kind: resource.kind(),
                resource: ptr as usize,
                resource_site: resource.site(),
                wait_site: w.site,
                waited: since(w.since_ns),
                holders: resource.holders(),
            }
        }
        Target::Task(task, site) => WaitEdge {
            key,
            waiter: w.actor,
            whose: w.whose.clone(),
            kind: ResourceKind::Join,
            resource: task.id.0 as usize,
            resource_site: site,
            wait_site: site,
            waited: since(w.since_ns),
            holders: vec![Hold {
                actor: task,
                count: 1,
                since_ns: w.since_ns,
                token: 0,
            }],
        },
    }
}
