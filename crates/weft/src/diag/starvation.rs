//! Starvation hints: an actor that keeps trying to take a resource, and keeps failing, while
//! others take it again and again.
//!
//! # What can starve in weft
//!
//! Every `weft::sync` primitive serves its queued waiters in FIFO order with no barging (a
//! newcomer, `try_*` included, never passes a queued waiter), and a `Semaphore::acquire_many`
//! keeps its place while it collects permits. So a waiter that **stays queued** cannot be
//! overtaken: it is served after the ones ahead of it, however long that takes, and a long
//! queue is contention, not starvation. What can be overtaken forever is an actor that does not
//! stay queued:
//!
//! - one that polls `try_lock` / `try_read` / `try_write` / `try_acquire*` in a retry loop
//!   while others `lock().await`: the lock is handed from holder to queued waiter directly,
//!   so as long as someone is queued, every `try_*` fails;
//! - one that gives up its place and queues again at the back: `timeout(short, m.lock())` in a
//!   loop, or a `select!` that re-creates its `lock()` future each time another branch wins.
//!
//! # The rule
//!
//! An **attempt** is a failed `try_*` or the start of a recorded wait (`trace::Resource::wait`,
//! the slow path of every waiting call). Attempts of one actor on one resource less than the
//! wait threshold apart make one **run**, which ends when that actor takes the resource. At each
//! attempt, a run that began longer than the threshold ago while the resource was taken more
//! than `overtakes` times (counted by the resource: `trace::Resource::grants`; every grant
//! counted is to another actor, since a grant to this one ends the run) is reported once, as
//! [`ReportKind::Starvation`], with the actor's name and spawn site, the resource and its
//! creation site, how long and how many attempts, and who holds it now. Checking only at
//! attempts means a queued waiter is never reported, whatever the queue's length, and a
//! reported actor is one that was still trying at that moment.
//!
//! The count includes grants to the waiters that were already queued when the run began (at
//! most the queue's length then), which the default `overtakes` (100) leaves far behind.
//!
//! # Cost
//!
//! Off, every acquisition pays one relaxed load and a branch (`Resource::granted`). On, an
//! acquisition adds a relaxed `fetch_add` and one more load; only a resource with a run in
//! progress (`Resource::watchers` non-zero) takes the runs' lock on a grant. Attempts are slow
//! paths already and take that lock.

use super::report::{emit, Report, ReportKind};
use super::victim::{self, ActorInfo};
use super::Config;
use crate::loom::{AtomicU64, Mutex, Ordering::Relaxed};
use crate::sync::trace::{self, Actor, ActorId, Resource};
use std::collections::HashMap;
use std::panic::Location;
use std::sync::OnceLock;
use std::time::Duration;

/// The wait threshold in nanoseconds (0: hints off).
static WAIT_NS: AtomicU64 = AtomicU64::new(0);
/// Grants to others a run must see before it is reported.
static OVERTAKES: AtomicU64 = AtomicU64::new(0);

/// Resources with runs before the table is swept of runs gone stale (their actor stopped
/// trying, or the resource moved): bounds the table when runs are abandoned.
const SWEEP_AT: usize = 1024;

/// Sets the thresholds from `config` (at install).
pub(crate) fn configure(config: &Config) {
    let (wait, overtakes) = config.starvation_threshold().unwrap_or((Duration::ZERO, 0));
    WAIT_NS.store(wait.as_nanos().max(1) as u64, Relaxed);
    OVERTAKES.store(u64::from(overtakes), Relaxed);
}

/// One actor's run of failed attempts on one resource.
#[derive(Clone, Debug)]
struct Run {
    actor: ActorId,
    first_ns: u64,
    last_ns: u64,
    /// The resource's grant count when the run began.
    base: u64,
    attempts: u64,
    /// Where the last attempt was made, and whether it was a wait (else a `try_*`).
    site: &'static Location<'static>,
    waited: bool,
    reported: bool,
}

/// Runs by resource address.
fn runs() -> &'static Mutex<HashMap<usize, Vec<Run>>> {
    static RUNS: OnceLock<Mutex<HashMap<usize, Vec<Run>>>> = OnceLock::new();
    RUNS.get_or_init(|| Mutex::new(HashMap::new()))
}

fn lock_runs() -> crate::loom::MutexGuard<'static, HashMap<usize, Vec<Run>>> {
    runs().lock().unwrap_or_else(|e| e.into_inner())
}

fn addr(res: &Resource) -> usize {
    res as *const Resource as usize
}

/// An attempt of `actor` on `res` at `site` (`waited`: the start of a recorded wait, else a
/// failed `try_*`); reports the run if it has starved. See the module doc.
pub(crate) fn attempted(
    res: &Resource,
    actor: Actor,
    site: &'static Location<'static>,
    waited: bool,
) {
    let wait_ns = WAIT_NS.load(Relaxed);
    let overtakes = OVERTAKES.load(Relaxed);
    let now = trace::stamp();
    let grants = res.grants();
    let fresh = Run {
        actor: actor.id,
        first_ns: now,
        last_ns: now,
        base: grants,
        attempts: 1,
        site,
        waited,
        reported: false,
    };
    let starved = {
        let mut all = lock_runs();
        if all.len() >= SWEEP_AT {
            sweep(&mut all, now, wait_ns);
        }
        let list = all.entry(addr(res)).or_default();
        let starved = match list.iter_mut().find(|r| r.actor == actor.id) {
            Some(run) if now.saturating_sub(run.last_ns) <= wait_ns => {
                run.last_ns = now;
                run.attempts += 1;
                run.site = site;
                run.waited = waited;
                let starved = !run.reported
                    && now.saturating_sub(run.first_ns) >= wait_ns
                    && grants.saturating_sub(run.base) > overtakes;
                run.reported |= starved;
                starved.then(|| run.clone())
            }
            Some(run) => {
                *run = fresh;
                None
            }
            None => {
                list.push(fresh);
                None
            }
        };
        res.watchers.store(list.len(), Relaxed);
        starved
    };
    if let Some(run) = starved {
        report(res, actor, &run, grants);
    }
}

/// `actor` took `res` (a resource with runs): its run, if any, ends; runs gone stale go too.
pub(crate) fn granted(res: &Resource, actor: Actor) {
    let wait_ns = WAIT_NS.load(Relaxed);
    let now = trace::stamp();
    let mut all = lock_runs();
    let key = addr(res);
    let left = match all.get_mut(&key) {
        Some(list) => {
            list.retain(|r| r.actor != actor.id && now.saturating_sub(r.last_ns) <= wait_ns);
            list.len()
        }
        None => 0,
    };
    if left == 0 {
        all.remove(&key);
    }
    res.watchers.store(left, Relaxed);
}

/// `res` is being dropped: its runs go.
pub(crate) fn forget(res: &Resource) {
    lock_runs().remove(&addr(res));
}

/// Drops the runs whose last attempt is older than the threshold (their actors stopped).
fn sweep(all: &mut HashMap<usize, Vec<Run>>, now: u64, wait_ns: u64) {
    all.retain(|_, list| {
        list.retain(|r| now.saturating_sub(r.last_ns) <= wait_ns);
        !list.is_empty()
    });
}

/// Builds and sends the report of a starved run (on the starving actor's own thread).
fn report(res: &Resource, actor: Actor, run: &Run, grants: u64) {
    let me = ActorInfo::current(actor);
    // A holder is named from its own wait, if it waits on something now (else by its id).
    let waits = trace::edges();
    let holders: Vec<String> = res
        .holders()
        .iter()
        .map(|h| victim::info_among(&waits, h.actor).describe())
        .collect();
    let how = if run.waited {
        "a wait that gave up its place"
    } else {
        "a failed try"
    };
    let text = format!(
        "weft::diag: possible starvation: {} has been trying to take the {:?} created at {} \
         for {:.1?} ({} attempts, the last {how} at {}) while others took it {} times (threshold \
         {:.1?} and {} times){}\n    weft serves queued waiters in FIFO order with no barging, \
         so a waiter that stays queued is served in turn; one that polls try_* or leaves the \
         queue (a short timeout, a select! that re-creates the future) and comes back is \
         overtaken by every queued waiter. Wait in the queue instead (lock().await, a longer \
         timeout).",
        me.describe(),
        res.kind(),
        res.site(),
        trace::since(run.first_ns),
        run.attempts,
        run.site,
        grants.saturating_sub(run.base),
        Duration::from_nanos(WAIT_NS.load(Relaxed)),
        OVERTAKES.load(Relaxed),
        if holders.is_empty() {
            String::new()
        } else {
            format!("; held now by {}", holders.join(", "))
        },
    );
    emit(&Report::new(ReportKind::Starvation, vec![me.name()], text));
}
