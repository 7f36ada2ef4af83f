//! Diagnostics: deadlocks found as they close, lock-order inversions before they deadlock, a
//! loop watchdog, task dumps, livelock and starvation hints.
//!
//! Off by default; turned on per process by [`Builder::diagnostics`](../rt/struct.Builder.html#method.diagnostics)
//! or the `WEFT_DIAG` variable ([`Config`]; the builder's configuration wins over the
//! variable). Turning anything on turns on `weft::sync`'s holder/waiter bookkeeping
//! (`sync::trace`). Findings are [`Report`]s, given to the handler set with [`set_handler`] and
//! logged through `tracing`.
//!
//! # The wait-for graph (deadlocks)
//!
//! Every `weft::sync` primitive records its holders, and a waiter records its wait when it
//! parks (the slow path only). An **actor** (task, green thread, OS thread) waits on a
//! **resource**; the resource's holders are actors. A deadlock is a set of actors that are all
//! waiting, where every holder of what each one waits on is in the set: nobody outside can
//! release anything, so nobody inside ever runs again. For a mutex (one holder) that is the
//! classic cycle; for a semaphore with several permit holders it is a knot (all of them must
//! be stuck), which is what makes the check exact rather than a heuristic.
//!
//! Partial deadlocks count: the check starts from the actor that just parked and looks only at
//! what it can reach, so two stuck tasks among a thousand busy ones are found, and a pending
//! timer or an idle listener elsewhere hides nothing (unlike Go's global check).
//!
//! ## When the check runs
//!
//! The park hook (one call in `trace::Resource::wait`) notes who parked. A task's park is
//! handed to the detector thread (`weft-diag`, started when deadlock detection is on) when
//! the task's **poll ends** (a hook where the poll's task marker is dropped); an OS thread's
//! at once. The detector waits a short grace (`graph::GRACE`, 2 ms), takes a snapshot of the
//! wait table (`trace::edges`, indexed by actor for the walk) and walks from the parked actor;
//! a knot found is walked **again** one grace later and reported only if it is made of the
//! very same waits (wait records are per park, so a member that was granted, cancelled or
//! re-parked meanwhile breaks the match). A report therefore comes about two graces
//! (≈ 4–5 ms measured) after the cycle closes, inside the 10 ms. When no park asks
//! for a walk, the detector sweeps every recorded wait once a second (`graph::SWEEP_EVERY`),
//! which finds a member that became stuck without parking again (below).
//!
//! `JoinHandle` awaits are waits too (`joins`): on the joined task, which holds its own
//! output until it completes. Since a handle outlives a `select!` that raced it, such a wait
//! lasts only from a pending poll of the handle to the waiting task's next poll.
//!
//! ## No false positives: conditional waits
//!
//! A recorded wait is not always a stuck actor: `timeout(d, m.lock())` and a `select!` with
//! another branch leave a wait recorded while they can still give up. A runtime cannot see
//! the shape of the future being awaited, so the rule is about what it can see: **a wait is
//! conditional when its actor, at the time of the check, has a live timer (a `Sleep`, which is
//! what `timeout`, `sleep` branches and `interval` file) or more than one recorded wait**
//! (a select over two primitives). Timers are counted per actor when they are filed and
//! dropped (`timers`). An actor with a conditional wait is treated as able to run, so no
//! cycle through it is reported. Checking at the end of the poll is what makes this
//! reliable: `timeout` polls its inner future first and files its timer second, so at the
//! instant of the park the timer is not there yet; when the poll ends it is. The rival rule
//! (re-check after a grace and report only if no member was polled meanwhile) was not
//! chosen: a `timeout(5 s, lock())` is not polled for 5 s and would be reported.
//!
//! What this misses (false negatives, accepted): a select whose other branch is a socket
//! read or a foreign future, and a `join!` of two locks (two recorded waits, both needed).
//! A `join!` of a lock and a timer is found once the timer has fired (by the sweep).
//! Channel ends are the exception to "the holder is who took it": a sender's or receiver's
//! hold follows the actor that last used the end (sent, reserved, received), since ends are
//! made in one place and moved into the tasks that use them; an end moved and not used yet
//! still counts as its creator's (a missed cycle, never a false one while the creator runs).
//! What would fool it (documented, not guarded): a guard moved to another task, since the
//! holder recorded is the actor that took it; a lock future polled once in a `select!` over
//! `&mut fut` and then kept unpolled while its task goes on (the wait stays recorded).
//!
//! Members of a deadlock that are async tasks can be cancelled ([`Action::CancelVictim`]):
//! the youngest one (largest id) is aborted through the `JoinHandle::abort` machinery; its
//! `JoinHandle` then yields a `JoinError` with `is_deadlock_victim()`.
//!
//! # Lock order (lockdep)
//!
//! With `lock_order` on, each actor keeps the set of lock classes (creation sites) it holds
//! now; acquiring class B while holding A records the edge A → B in a process-wide order
//! graph, with the two acquisition sites and the actor. An acquisition whose edge closes a
//! cycle in that graph (B → … → A was seen before) is reported once per pair of classes, with
//! both chains, whether or not the two paths ever ran at the same time. Holds belong to the
//! actor that took them and are released by token, so a guard held across `.await`s, or
//! dropped on another thread, still ends the right hold.
//!
//! # Starvation hints
//!
//! With `starvation` on, an actor that keeps failing to take a resource (a `try_*` retry loop,
//! or a wait that gives up its place and queues again) for longer than the threshold while
//! others take it more than `overtakes` times is reported once per run of attempts, as
//! [`ReportKind::Starvation`]. A waiter that stays queued is never reported: weft's primitives
//! are FIFO with no barging, so it is served in turn (see `starvation`'s module doc).
//!
//! # Roles
//!
//! - [`config`]: [`Config`], `WEFT_DIAG`.
//! - `report`: [`Report`], [`ReportKind`], [`set_handler`].
//! - `graph`: the detector thread and the walk.
//! - `joins`: `JoinHandle` awaits as waits on the joined task.
//! - `state`: the configuration in force, installed by the runtime builder.
//! - `timers`: live timers per task (what makes a wait conditional).
//! - `lockdep`: lock classes and the order graph.
//! - `victim`: tasks that can be cancelled, and which were.
//! - `starvation`: actors that keep failing to take a resource while others take it.

pub mod config;
mod graph;
mod joins;
mod lockdep;
mod report;
mod starvation;
mod state;
mod timers;
mod victim;

pub use config::{Action, Config, ConfigError};
pub use report::{set_handler, Report, ReportKind};

// The loop side: watchdog and its mitigation, task dumps, SIGQUIT, livelock/lost-wake hints.
mod backtrace;
mod dump;
mod handoff;
pub(crate) mod hooks;
mod loops;
mod watchdog;

pub use dump::{dump, LoopDump, TaskDump, TaskInfo, TaskState, LOOP_ANSWER_TIMEOUT};
pub use handoff::{share_accepts, AcceptShare};
pub(crate) use loops::enter_loop;

pub(crate) use graph::{flush_parked, on_wait, poll_ended};
pub(crate) use joins::{join_polled, poll_started};
pub(crate) use lockdep::{on_acquire, on_release};
#[allow(unused_imports)] // D2's reports go out through it
pub(crate) use report::emit;
pub(crate) use starvation::{
    attempted as starvation_attempted, forget as starvation_forget, granted as starvation_granted,
};
pub(crate) use timers::{timer_filed, timer_unfiled};
pub(crate) use victim::is_victim;

pub(crate) use state::{any_hook_on, deadlocks_on, install, lock_order_on, starvation_on};
pub use state::{current, install_for_bench};
