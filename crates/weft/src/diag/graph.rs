//! The deadlock detector: a thread that walks the wait-for graph from each new wait.
//!
//! See the module doc of [`crate::diag`] for the rule (knots of unconditional waits) and
//! the timing (queued when the parking poll ends, walked after [`GRACE`], confirmed one grace
//! later on the very same waits).

use super::report::{emit, Report, ReportKind};
use super::victim::{self, ActorInfo};
use super::{timers, Action};
use crate::loom::{Condvar, Mutex};
use crate::sync::trace::{self, Actor, ActorId, ActorKind, KeyHasher, ResourceKind, WaitEdge};
use std::cell::Cell;
use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::hash::BuildHasherDefault;
use std::sync::OnceLock;
use std::thread;
use std::time::Duration;

/// How often the detector walks from every recorded wait when no park asked it to: a member
/// whose wait was conditional when it parked (a `join!` with a timer that has fired since)
/// becomes stuck without parking again, and is found by this sweep within about a second.
pub(crate) const SWEEP_EVERY: Duration = Duration::from_secs(1);

/// How long the detector lets the world settle before walking from a new wait, and again
/// before confirming a knot: enough for a parked poll's `timeout` to file its timer and for a
/// grant in flight to be seen (microseconds), small enough that two of them stay well inside
/// the 10 ms the issue allows between a cycle closing and its report.
pub(crate) const GRACE: Duration = Duration::from_millis(2);

thread_local! {
    /// The task that parked during the poll running on this thread; checked when it ends.
    static PARKED: Cell<Option<Actor>> = const { Cell::new(None) };
    /// Tasks of this loop thread that parked since the loop last maintained itself, waiting
    /// to be handed to the detector in one go (see [`poll_ended`]): the first `BATCH_LEN` of
    /// `BATCH`. Plain cells (no borrow flag, no vector), so that a park adds two stores.
    static BATCH: [Cell<Actor>; BATCH_MAX] = const { [const { Cell::new(NO_ACTOR) }; BATCH_MAX] };
    static BATCH_LEN: Cell<usize> = const { Cell::new(0) };
}

/// What the unused part of the batch holds.
const NO_ACTOR: Actor = Actor {
    id: ActorId(0),
    kind: ActorKind::Task,
};

/// Parked tasks a loop thread hands over at once at most: a loop that keeps finding ready
/// tasks without maintaining itself flushes at this many.
const BATCH_MAX: usize = 32;

struct Queue {
    starts: Mutex<Vec<Actor>>,
    ready: Condvar,
}

fn queue() -> &'static Queue {
    static QUEUE: OnceLock<Queue> = OnceLock::new();
    QUEUE.get_or_init(|| Queue {
        starts: Mutex::new(Vec::new()),
        ready: Condvar::new(),
    })
}

fn enqueue(actor: Actor) {
    enqueue_all(std::iter::once(actor));
}

/// Queues `actors` for the detector under one lock.
fn enqueue_all(actors: impl Iterator<Item = Actor>) {
    let q = queue();
    let mut starts = q.starts.lock().unwrap_or_else(|e| e.into_inner());
    let was_empty = starts.is_empty();
    starts.extend(actors);
    drop(starts);
    // The detector waits only on an empty queue (checked under the lock), so only the push
    // that makes it non-empty needs to wake it: the others save a futex call per park.
    if was_empty {
        q.ready.notify_one();
    }
}

/// The park hook (from `trace::Resource::wait`): remembers who parked; a task's wait is
/// queued for the detector when its poll ends ([`poll_ended`]), an OS thread's at once.
pub(crate) fn on_wait(actor: Actor) {
    if !super::deadlocks_on() {
        return;
    }
    match actor.kind {
        // The future of a `block_on` on a loop thread: the loop runs on while it waits, and
        // maintains itself before it sleeps, so the wait goes into the batch. An OS thread
        // that parks for real (`blocking_*`, which a loop thread refuses) is queued at once.
        ActorKind::Thread if crate::rt::on_loop_thread() => batch(actor),
        ActorKind::Thread => enqueue(actor),
        ActorKind::Task | ActorKind::Green => PARKED.with(|p| p.set(Some(actor))),
    }
}

/// The end of a task's poll: queues the check of the wait it recorded, if any. Waiting for
/// the end of the poll is what lets a `timeout` around the wait file its timer first.
///
/// On a loop thread the wait goes into the thread's batch, which the loop hands to the
/// detector when it next maintains itself (at the latest after a few dozen polls, and before
/// it sleeps: [`flush_parked`]) or when the batch is full: one lock of the detector's queue
/// per batch instead of one per park, whose cache line the detector thread also writes.
/// The delay is that of one loop turn, microseconds beside the [`GRACE`] the detector waits
/// anyway; a turn that runs for milliseconds is a stall, which the watchdog reports.
#[inline]
pub(crate) fn poll_ended() {
    if !trace::enabled() {
        return;
    }
    if let Some(actor) = PARKED.with(Cell::take) {
        batch(actor);
    }
}

/// Adds `actor` to this loop thread's batch; a full batch goes to the detector at once.
#[inline]
fn batch(actor: Actor) {
    let n = BATCH_LEN.with(Cell::get);
    BATCH.with(|b| b[n].set(actor));
    BATCH_LEN.with(|len| len.set(n + 1));
    if n + 1 == BATCH_MAX {
        flush_batch();
    }
}

/// Hands this thread's batch of parked tasks to the detector (the loop calls it each time it
/// maintains itself). One relaxed load when the bookkeeping is off.
#[inline]
pub(crate) fn flush_parked() {
    if trace::enabled() && BATCH_LEN.with(Cell::get) != 0 {
        flush_batch();
    }
}

#[inline(never)]
fn flush_batch() {
    let n = BATCH_LEN.with(|len| len.replace(0));
    BATCH.with(|b| enqueue_all(b[..n].iter().map(Cell::get)));
}

/// Starts the detector thread (once per process).
pub(crate) fn start() {
    static STARTED: OnceLock<()> = OnceLock::new();
    STARTED.get_or_init(|| {
        let spawned = thread::Builder::new().name("weft-diag".into()).spawn(run);
        if let Err(err) = spawned {
            tracing::error!(error = %err, "weft::diag: could not start the deadlock detector");
        }
    });
}

/// A knot found once, waiting for its confirmation.
struct Candidate {
    start: ActorId,
    keys: Vec<u64>,
}

fn run() {
    let q = queue();
    let mut candidates: Vec<Candidate> = Vec::new();
    let mut reported: HashSet<Vec<u64>> = HashSet::new();
    // The queue's buffer is swapped with this one (emptied, its capacity kept), so that
    // parkers push without growing a fresh vector after each batch.
    let mut spare: Vec<Actor> = Vec::new();
    loop {
        let (starts, sweep): (Vec<Actor>, bool) = {
            let mut starts = q.starts.lock().unwrap_or_else(|e| e.into_inner());
            let mut sweep = false;
            if starts.is_empty() && candidates.is_empty() {
                let (guard, waited) = q
                    .ready
                    .wait_timeout(starts, SWEEP_EVERY)
                    .unwrap_or_else(|e| e.into_inner());
                starts = guard;
                sweep = waited.timed_out() && starts.is_empty();
            }
            (
                std::mem::replace(&mut *starts, std::mem::take(&mut spare)),
                sweep,
            )
        };
        if sweep && !trace::enabled() {
            continue;
        }
        thread::sleep(GRACE);
        let snapshot = trace::edges();
        let graph = Graph::new(&snapshot);
        let mut starts: Vec<Actor> = if sweep {
            // Waits whose actor was conditional when they parked (a timer since fired) are
            // looked at again: every recorded waiter is a start.
            snapshot.iter().map(|w| w.waiter).collect()
        } else {
            starts
        };
        for c in std::mem::take(&mut candidates) {
            if let Some(knot) = graph.knot(c.start) {
                if knot.keys == c.keys && reported.insert(knot.keys.clone()) {
                    handle(&knot);
                }
            }
        }
        // A busy loop parks the same few actors thousands of times between two looks: one
        // walk each (a multiply per key, not SipHash: the ids are counters).
        let mut seen: HashSet<ActorId, BuildHasherDefault<KeyHasher>> = HashSet::default();
        for start in starts.drain(..) {
            if !seen.insert(start.id) {
                continue;
            }
            if let Some(knot) = graph.knot(start.id) {
                let known =
                    reported.contains(&knot.keys) || candidates.iter().any(|c| c.keys == knot.keys);
                if !known {
                    candidates.push(Candidate {
                        start: start.id,
                        keys: knot.keys,
                    });
                }
            }
        }
        spare = starts;
    }
}

/// The waits of one snapshot, by actor.
struct Graph<'a> {
    by_actor: HashMap<ActorId, Vec<&'a WaitEdge>>,
}

/// A deadlock: the members of the cycle in order (each waits on what the next holds), the
/// actors stuck behind it, and the keys of the cycle's waits (sorted: the knot's identity).
struct Knot<'a> {
    cycle: Vec<&'a WaitEdge>,
    behind: Vec<&'a WaitEdge>,
    keys: Vec<u64>,
}

impl<'a> Graph<'a> {
    fn new(snapshot: &'a [WaitEdge]) -> Graph<'a> {
        let mut by_actor: HashMap<ActorId, Vec<&WaitEdge>> = HashMap::new();
        for edge in snapshot {
            by_actor.entry(edge.waiter.id).or_default().push(edge);
        }
        Graph { by_actor }
    }

    /// The one wait of `actor` if that wait is unconditional (see the module doc).
    fn unconditional_wait(&self, actor: ActorId) -> Option<&'a WaitEdge> {
        match self.by_actor.get(&actor)?.as_slice() {
            [one] if !timers::has_live_timer(actor.0) => Some(one),
            _ => None,
        }
    }

    /// The deadlock `start` is in or stuck behind, if any: the largest set of actors reachable
    /// from it whose every wait is unconditional and held only by members of the set.
    fn knot(&self, start: ActorId) -> Option<Knot<'a>> {
        self.unconditional_wait(start)?;
        let mut stuck: HashMap<ActorId, &WaitEdge> = HashMap::new();
        let mut todo = vec![start];
        let mut seen = HashSet::from([start]);
        while let Some(actor) = todo.pop() {
            let Some(wait) = self.unconditional_wait(actor) else {
                continue;
            };
            stuck.insert(actor, wait);
            for hold in &wait.holders {
                if seen.insert(hold.actor.id) {
                    todo.push(hold.actor.id);
                }
            }
        }
        // Remove whoever waits on something held by an actor that can still run, until
        // nothing changes: what is left can never be released from outside.
        loop {
            let free: Vec<ActorId> = stuck
                .iter()
                .filter(|(_, wait)| {
                    wait.holders.is_empty()
                        || wait
                            .holders
                            .iter()
                            .any(|h| !stuck.contains_key(&h.actor.id))
                })
                .map(|(&a, _)| a)
                .collect();
            if free.is_empty() {
                break;
            }
            for a in free {
                stuck.remove(&a);
            }
        }
        let mut path = vec![*stuck.get(&start)?];
        loop {
            let last = path[path.len() - 1];
            let next = last
                .holders
                .iter()
                .find_map(|h| stuck.get(&h.actor.id))
                .copied()?;
            if let Some(at) = path.iter().position(|w| w.waiter.id == next.waiter.id) {
                let cycle = path.split_off(at);
                let mut keys: Vec<u64> = cycle.iter().map(|w| w.key).collect();
                keys.sort_unstable();
                return Some(Knot {
                    cycle,
                    behind: path,
                    keys,
                });
            }
            path.push(next);
        }
    }
}

impl Knot<'_> {
    /// The info of `actor` from its wait in this knot (bare if it has none).
    fn info(&self, actor: Actor) -> ActorInfo {
        victim::info_among(self.cycle.iter().chain(&self.behind).copied(), actor)
    }
}

/// Reports a confirmed deadlock and takes the configured action.
fn handle(knot: &Knot<'_>) {
    let action = super::current().deadlock_action();
    let infos: Vec<ActorInfo> = knot.cycle.iter().map(|w| ActorInfo::waiting(w)).collect();
    let victim = match action {
        Action::CancelVictim => infos
            .iter()
            .filter(|i| i.actor.kind == ActorKind::Task && i.task.is_some())
            .max_by_key(|i| i.actor.id),
        _ => None,
    };
    let mut text = render(knot, &infos);
    match (action, victim) {
        (Action::Report, _) => {}
        (Action::CancelVictim, Some(v)) => {
            let _ = writeln!(
                text,
                "\nAction: cancelling {} (the youngest task of the cycle); its JoinHandle \
                 yields a JoinError with is_deadlock_victim().",
                v.describe()
            );
        }
        (Action::CancelVictim, None) => {
            text.push_str(
                "\nAction: no member is an async task (green threads and OS threads cannot be \
                 cancelled); reported only.\n",
            );
        }
        (Action::Abort, _) => text.push_str("\nAction: aborting the process.\n"),
    }
    let report = Report::new(
        ReportKind::Deadlock,
        infos.iter().map(|i| i.name()).collect(),
        text,
    );
    if action == Action::Abort {
        eprintln!("{report}");
        std::process::abort();
    }
    emit(&report);
    if let Some(v) = victim {
        victim::cancel(v);
    }
}

/// The text of a deadlock report, laid out like a Java thread dump.
fn render(knot: &Knot<'_>, infos: &[ActorInfo]) -> String {
    let mut t = String::new();
    let n = knot.cycle.len();
    if n == 1 {
        let _ = writeln!(
            t,
            "weft::diag: deadlock: a wait on a resource its waiter holds"
        );
    } else {
        let _ = writeln!(
            t,
            "weft::diag: deadlock: {n} actors wait on each other in a cycle"
        );
    }
    let _ = writeln!(t, "=============================================");
    for (wait, info) in knot.cycle.iter().zip(infos) {
        member(&mut t, knot, wait, info);
    }
    let names: Vec<String> = infos.iter().map(|i| i.name()).collect();
    let _ = writeln!(t, "\nCycle: {} -> {}", names.join(" -> "), names[0]);
    if !knot.behind.is_empty() {
        let _ = writeln!(t, "\nAlso stuck behind the cycle:");
        for wait in &knot.behind {
            member(&mut t, knot, wait, &ActorInfo::waiting(wait));
        }
    }
    t
}

/// One member's paragraph; the actors it waits for are named from their own waits in `knot`.
fn member(t: &mut String, knot: &Knot<'_>, wait: &WaitEdge, info: &ActorInfo) {
    let _ = writeln!(t, "\n{}", info.describe());
    if wait.kind == ResourceKind::Join {
        for hold in &wait.holders {
            let _ = writeln!(
                t,
                "    waiting for the output of {} (JoinHandle await) for {:.1?}",
                knot.info(hold.actor).describe(),
                wait.waited
            );
        }
        return;
    }
    let _ = writeln!(
        t,
        "    waiting on {:?} created at {}",
        wait.kind, wait.resource_site
    );
    let _ = writeln!(
        t,
        "        at {} (waiting for {:.1?})",
        wait.wait_site, wait.waited
    );
    for hold in &wait.holders {
        let holder = knot.info(hold.actor);
        let _ = writeln!(
            t,
            "    which is held by {} for {:.1?}",
            holder.describe(),
            trace::since(hold.since_ns)
        );
    }
}
