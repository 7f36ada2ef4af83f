//! `hazards`: threads share memory, so they race. A shared counter is incremented from
//! several threads without synchronization (a relaxed atomic load then a store: the same
//! read-modify-write race as an unsynchronized `+= 1`, and the same lost updates, without
//! undefined behaviour), then under a `Mutex`, then with an atomic `fetch_add`, then by tasks
//! on one event loop with no lock at all. Lost updates and time per increment are counted.
//!
//! The seeds' deadlock and livelock are to be caught and reported by `weft::diag`, which does
//! not exist yet (issue 14): they are recorded as not done, with that reason.

use std::cell::Cell;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Barrier, Mutex};
use std::time::Instant;

use crate::lab::catalog::ScenarioKind;
use crate::lab::report::{ScenarioReport, Status};
use crate::lab::sys;

use super::Ctx;

/// Threads (or tasks) incrementing: 4, more than the CPUs of a small machine, so that they
/// are also preempted mid-update.
const WORKERS: usize = 4;

/// Increments per worker, quick run: 20 million, so that a release build's run (tens of ms)
/// still outlasts a scheduler time slice and the threads really overlap on a busy machine.
const INCREMENTS_QUICK: u64 = 20_000_000;

/// Increments per worker, full run.
const INCREMENTS_FULL: u64 = 100_000_000;

/// Increments between yields of a task on the loop: 1,000 (the tasks interleave, but each
/// increment is a whole step of one task, so none is lost).
const TASK_YIELD_EVERY: u64 = 1_000;

/// Runs the scenario.
pub(super) fn run(ctx: &Ctx) -> ScenarioReport {
    let mut out = ScenarioReport::new(ScenarioKind::Hazards, "lost updates", true);
    let per = ctx.pick(INCREMENTS_QUICK, INCREMENTS_FULL);
    let expected = per * WORKERS as u64;
    ctx.bar.set_length(6);
    let cpus = ctx.all_cpus.clone();
    let mut record = |name: &str, total: u64, secs: f64| {
        out.figure(
            name,
            "",
            "lost updates",
            expected.saturating_sub(total) as f64,
            "increments",
        );
        out.figure(
            name,
            "",
            "lost",
            100.0 * expected.saturating_sub(total) as f64 / expected as f64,
            "%",
        );
        out.figure(
            name,
            "",
            "time per increment",
            secs * 1e9 / expected as f64,
            "ns",
        );
    };

    ctx.bar.set_message("no synchronization");
    let racy = AtomicU64::new(0);
    let secs = on_threads(&cpus, |_| {
        for _ in 0..per {
            // Read, add, write back: another thread's write between the two is lost. The
            // black_box keeps the compiler from fusing the iterations into one store (it
            // may, for relaxed accesses of one thread), as a `+= 1` through a pointer would
            // not be fused either.
            let counter = std::hint::black_box(&racy);
            let v = counter.load(Ordering::Relaxed);
            counter.store(v + 1, Ordering::Relaxed);
        }
    });
    record(
        "threads, no sync (load + store)",
        racy.load(Ordering::Relaxed),
        secs,
    );
    ctx.bar.inc(1);

    ctx.bar.set_message("Mutex");
    let locked = Mutex::new(0u64);
    let secs = on_threads(&cpus, |_| {
        for _ in 0..per {
            *locked.lock().unwrap_or_else(|p| p.into_inner()) += 1;
        }
    });
    record(
        "threads, Mutex",
        *locked.lock().unwrap_or_else(|p| p.into_inner()),
        secs,
    );
    ctx.bar.inc(1);

    ctx.bar.set_message("fetch_add");
    let atomic = AtomicU64::new(0);
    let secs = on_threads(&cpus, |_| {
        for _ in 0..per {
            atomic.fetch_add(1, Ordering::Relaxed);
        }
    });
    record(
        "threads, atomic fetch_add",
        atomic.load(Ordering::Relaxed),
        secs,
    );
    ctx.bar.inc(1);

    ctx.bar.set_message("one loop");
    match one_loop(per) {
        Ok((total, secs)) => record("tasks on one loop, no lock", total, secs),
        Err(error) => out.outcome(
            "tasks on one loop, no lock",
            "",
            Status::Failed,
            format!("runtime: {error}"),
        ),
    }
    ctx.bar.inc(1);

    out.outcome(
        "deadlock (two resources, opposite order)",
        "",
        Status::NotDone,
        "needs weft::diag (issue 14): the lab shows the deadlock caught with diag's report of who waits for whom; without diag it would only hang, so it is not run",
    );
    ctx.bar.inc(1);
    out.outcome(
        "livelock (polite retry)",
        "",
        Status::NotDone,
        "needs weft::diag (issue 14): the livelock is to be reported by diag's starvation hints; not run without it",
    );
    ctx.bar.inc(1);
    out.note(format!(
        "{WORKERS} workers × {per} increments = {expected} expected; threads run on every CPU ({cpus:?}); the loop's tasks yield every {TASK_YIELD_EVERY} increments."
    ));
    out
}

/// Runs `work` on [`WORKERS`] threads (allowed every CPU), started together; seconds taken.
fn on_threads(cpus: &[usize], work: impl Fn(usize) + Sync) -> f64 {
    let barrier = Barrier::new(WORKERS + 1);
    let (work, barrier) = (&work, &barrier);
    std::thread::scope(|scope| {
        for i in 0..WORKERS {
            scope.spawn(move || {
                let _ = sys::pin_current_thread(cpus);
                barrier.wait();
                work(i);
            });
        }
        barrier.wait();
        let start = Instant::now();
        // The scope joins every thread before returning.
        start
    })
    .elapsed()
    .as_secs_f64()
}

/// The counter on one loop: [`WORKERS`] tasks, a plain `Cell`, no lock.
fn one_loop(per: u64) -> std::io::Result<(u64, f64)> {
    let runtime = weft::rt::Runtime::builder().current_thread().build()?;
    let start = Instant::now();
    let total = runtime.block_on(async move {
        let counter = Rc::new(Cell::new(0u64));
        let tasks: Vec<_> = (0..WORKERS)
            .map(|_| {
                let counter = Rc::clone(&counter);
                weft::spawn_local(async move {
                    for i in 0..per {
                        counter.set(counter.get() + 1);
                        if i % TASK_YIELD_EVERY == 0 {
                            weft::yield_now().await;
                        }
                    }
                })
            })
            .collect();
        for task in tasks {
            let _ = task.await;
        }
        counter.get()
    });
    Ok((total, start.elapsed().as_secs_f64()))
}
