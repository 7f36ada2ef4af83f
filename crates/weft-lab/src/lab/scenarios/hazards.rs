//! `hazards`: threads share memory, so they race. A shared counter is incremented from
//! several threads without synchronization (a relaxed atomic load then a store: the same
//! read-modify-write race as an unsynchronized `+= 1`, and the same lost updates, without
//! undefined behaviour), then under a `Mutex`, then with an atomic `fetch_add`, then by tasks
//! on one event loop with no lock at all. Lost updates and time per increment are counted.
//!
//! Then the seeds' deadlock (task A holds R1 and wants R2, task B holds R2 and wants R1) and
//! a livelock (two polite tasks that `try_lock` each other's mutex, yield and retry), each
//! caught by `weft::diag` in a helper process of its own (diag's handler and configuration
//! are process-wide; see `helper::diag`). What diag reported is recorded as it came: whether
//! it came within the bound, after how long, its kind, its tasks and its text (shown as a
//! preformatted block in report.md and report.html). No report within the bound is a
//! failure, said plainly.

use std::cell::Cell;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Barrier, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::lab::catalog::ScenarioKind;
use crate::lab::helper::run_helper;
use crate::lab::report::{DiagRecord, ScenarioReport, Status, YES_NO_UNIT};
use crate::lab::sys;

use super::{finish_bar, Ctx};

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

/// The experiments' names in the report: the race without synchronization.
const RACY: &str = "threads, no sync (load + store)";
/// The race under a `Mutex`.
const LOCKED: &str = "threads, Mutex";
/// The race with an atomic `fetch_add`.
const ATOMIC: &str = "threads, atomic fetch_add";
/// The same increments by tasks of one loop.
const ONE_LOOP: &str = "tasks on one loop, no lock";
/// The deadlock.
const DEADLOCK: &str = "deadlock (two resources, opposite order)";
/// See [`DEADLOCK`].
const LIVELOCK: &str = "livelock (polite retry)";

/// How long diag has to report the deadlock: 3 s. diag reports within about two 2 ms graces
/// of the cycle closing, and sweeps every wait once a second besides; 3 s covers a loaded
/// 2-core machine and two sweeps.
const DEADLOCK_BOUND: Duration = Duration::from_secs(3);

/// How long diag has to report both livelocked tasks: 3 s. At the threshold below, a loop
/// that yields every few microseconds reaches it in tens of milliseconds.
const LIVELOCK_BOUND: Duration = Duration::from_secs(3);

/// Self-wakes in a row that diag counts as a livelock: its own default
/// (`weft::diag::config::DEFAULT_LIVELOCK_WAKES`, what `WEFT_DIAG=livelock` uses).
const LIVELOCK_WAKES: u32 = weft::diag::config::DEFAULT_LIVELOCK_WAKES;

/// Slack for a helper process beyond its bound: starting the process and a runtime, and the
/// helper's own wait for the tasks to end (2 s) after the report.
const HELPER_SLACK: Duration = Duration::from_secs(5);

/// Runs the scenario.
pub(super) fn run(ctx: &Ctx) -> ScenarioReport {
    let mut out = ScenarioReport::new(ScenarioKind::Hazards, "lost updates", true);
    let per = ctx.pick(INCREMENTS_QUICK, INCREMENTS_FULL);
    let expected = per * WORKERS as u64;
    let bars = ctx
        .progress
        .models([RACY, LOCKED, ATOMIC, ONE_LOOP, DEADLOCK, LIVELOCK].map(|name| (name, 1)));
    let done = |i: usize, out: &ScenarioReport| {
        bars[i].inc(1);
        finish_bar(&bars[i], out);
    };
    let cpus = ctx.all_cpus.clone();
    let record = |out: &mut ScenarioReport, name: &str, total: u64, secs: f64| {
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

    bars[0].step(format!("{WORKERS} threads × {per} increments"));
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
    record(&mut out, RACY, racy.load(Ordering::Relaxed), secs);
    done(0, &out);

    bars[1].step(format!("{WORKERS} threads × {per} increments"));
    let locked = Mutex::new(0u64);
    let secs = on_threads(&cpus, |_| {
        for _ in 0..per {
            *locked.lock().unwrap_or_else(|p| p.into_inner()) += 1;
        }
    });
    record(
        &mut out,
        LOCKED,
        *locked.lock().unwrap_or_else(|p| p.into_inner()),
        secs,
    );
    done(1, &out);

    bars[2].step(format!("{WORKERS} threads × {per} increments"));
    let atomic = AtomicU64::new(0);
    let secs = on_threads(&cpus, |_| {
        for _ in 0..per {
            atomic.fetch_add(1, Ordering::Relaxed);
        }
    });
    record(&mut out, ATOMIC, atomic.load(Ordering::Relaxed), secs);
    done(2, &out);

    bars[3].step(format!("{WORKERS} tasks × {per} increments"));
    match one_loop(per) {
        Ok((total, secs)) => record(&mut out, ONE_LOOP, total, secs),
        Err(error) => out.outcome(ONE_LOOP, "", Status::Failed, format!("runtime: {error}")),
    }
    done(3, &out);

    bars[4].step("under weft::diag, in a helper process");
    deadlock(&mut out);
    done(4, &out);
    bars[5].step("under weft::diag, in a helper process");
    livelock(&mut out);
    done(5, &out);
    out.note(format!(
        "{WORKERS} workers × {per} increments = {expected} expected; threads run on every CPU ({cpus:?}); the loop's tasks yield every {TASK_YIELD_EVERY} increments."
    ));
    out
}

/// The deadlock helper's answer, recorded (figures, outcome, diag's report).
fn deadlock(out: &mut ScenarioReport) {
    let bound = DEADLOCK_BOUND.as_millis().to_string();
    let v = match run_helper(
        &["deadlock", "--bound-ms", &bound],
        DEADLOCK_BOUND + HELPER_SLACK,
    ) {
        Ok(v) => v,
        Err(error) => {
            out.figure(DEADLOCK, "", "detected", 0.0, YES_NO_UNIT);
            out.outcome(DEADLOCK, "", Status::Failed, format!("helper: {error}"));
            return;
        }
    };
    let detected = v.get("detected").and_then(Value::as_bool) == Some(true);
    out.figure(
        DEADLOCK,
        "",
        "detected",
        f64::from(u8::from(detected)),
        YES_NO_UNIT,
    );
    let Some(record) = v.get("report").and_then(|r| diag_record(DEADLOCK, r)) else {
        out.outcome(
            DEADLOCK,
            "",
            Status::Failed,
            format!("weft::diag gave no deadlock report within {DEADLOCK_BOUND:?}; the two tasks were left stuck and the helper exited"),
        );
        return;
    };
    if let Some(ms) = record.latency_ms {
        out.figure(DEADLOCK, "", "detection latency", ms, "ms");
    }
    out.figure(
        DEADLOCK,
        "",
        "tasks reported",
        record.tasks.len() as f64,
        "tasks",
    );
    let flag = |key: &str| v.get(key).and_then(Value::as_bool) == Some(true);
    let ended = if flag("victim_cancelled") && flag("survivor_finished") {
        "diag then cancelled the youngest task as the victim (its JoinHandle said so) and the other got its second lock and finished".to_string()
    } else {
        format!(
            "but the ending was not as configured (on_deadlock = CancelVictim): victim cancelled = {}, other finished = {}",
            flag("victim_cancelled"),
            flag("survivor_finished")
        )
    };
    out.outcome(
        DEADLOCK,
        "",
        Status::Demonstrated,
        format!(
            "weft::diag reported a {} of {} (report below); {ended}",
            record.kind,
            record.tasks.join(", ")
        ),
    );
    out.diag_reports.push(record);
    out.note(format!(
        "deadlock: runtime with 2 loops and Config::default().deadlocks(true).on_deadlock(Action::CancelVictim), in a helper process; detection latency is from the later of the two second lock() calls to the handler's call; bound {DEADLOCK_BOUND:?}."
    ));
}

/// The livelock helper's answer, recorded.
fn livelock(out: &mut ScenarioReport) {
    let bound = LIVELOCK_BOUND.as_millis().to_string();
    let wakes = LIVELOCK_WAKES.to_string();
    let v = match run_helper(
        &["livelock", "--bound-ms", &bound, "--wakes", &wakes],
        LIVELOCK_BOUND + HELPER_SLACK,
    ) {
        Ok(v) => v,
        Err(error) => {
            out.figure(LIVELOCK, "", "detected", 0.0, YES_NO_UNIT);
            out.outcome(LIVELOCK, "", Status::Failed, format!("helper: {error}"));
            return;
        }
    };
    let records: Vec<DiagRecord> = v
        .get("reports")
        .and_then(Value::as_array)
        .map(|all| {
            all.iter()
                .filter_map(|r| diag_record(LIVELOCK, r))
                .collect()
        })
        .unwrap_or_default();
    out.figure(
        LIVELOCK,
        "",
        "detected",
        f64::from(u8::from(!records.is_empty())),
        YES_NO_UNIT,
    );
    if let Some(ms) = records.first().and_then(|r| r.latency_ms) {
        out.figure(LIVELOCK, "", "detection latency", ms, "ms");
    }
    out.figure(
        LIVELOCK,
        "",
        "tasks reported",
        records.len() as f64,
        "tasks",
    );
    let stopped = v.get("stopped").and_then(Value::as_bool) == Some(true);
    let progress = v.get("made_progress").and_then(Value::as_bool) == Some(true);
    if records.is_empty() {
        out.outcome(
            LIVELOCK,
            "",
            Status::Failed,
            format!("weft::diag gave no livelock report within {LIVELOCK_BOUND:?}"),
        );
    } else {
        let names: Vec<String> = records.iter().flat_map(|r| r.tasks.clone()).collect();
        out.outcome(
            LIVELOCK,
            "",
            if progress {
                Status::Partial
            } else {
                Status::Demonstrated
            },
            format!(
                "weft::diag reported {} as possible livelock{} (report{} below); {}{}",
                names.join(" and "),
                if records.len() == 1 { "" } else { "s" },
                if records.len() == 1 { "" } else { "s" },
                if stopped {
                    "the lab then aborted both tasks and they ended"
                } else {
                    "the lab aborted both tasks but they did not both end within the helper's wait"
                },
                if progress {
                    "; but one task did get both locks, so this run was not a pure livelock"
                } else {
                    ""
                }
            ),
        );
    }
    out.diag_reports.extend(records);
    out.note(format!(
        "livelock: one loop, Config::default().livelock({LIVELOCK_WAKES}) (diag's default threshold), in a helper process; each task holds its own mutex and try_locks the other's, then yield_now()s; detection latency is from the first retry to the first report; bound {LIVELOCK_BOUND:?}."
    ));
}

/// One report of a helper's JSON as a [`DiagRecord`] of `model`.
fn diag_record(model: &str, r: &Value) -> Option<DiagRecord> {
    Some(DiagRecord {
        model: model.into(),
        kind: r.get("kind")?.as_str()?.into(),
        tasks: r
            .get("tasks")?
            .as_array()?
            .iter()
            .filter_map(|t| t.as_str().map(String::from))
            .collect(),
        latency_ms: r.get("latency_ms").and_then(Value::as_f64),
        text: r.get("text")?.as_str()?.into(),
    })
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
