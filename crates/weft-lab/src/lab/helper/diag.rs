//! The hazards scenario's `weft::diag` runs, each in a helper process of its own: diagnostics
//! state is process-wide (the report handler, the configuration the last runtime installed,
//! the detector thread), so the lab process itself never turns it on.
//!
//! - `deadlock`: the seeds' deadlock. Task "A" holds R1 and wants R2, task "B" holds R2 and
//!   wants R1 (`weft::sync::Mutex`, one loop each), under
//!   `Config::default().deadlocks(true).on_deadlock(Action::CancelVictim)`. The report is
//!   caught by the handler; diag then cancels the youngest member (B), so A gets R2 and ends,
//!   and the helper checks both outcomes through the join handles.
//! - `livelock`: two polite tasks on one loop; each holds its own mutex, `try_lock`s the
//!   other's, yields and retries. With `Config::livelock(wakes)` diag reports each as a
//!   possible livelock; the helper then aborts both and checks that they ended.
//!
//! Each prints one JSON line: whether a report came within the bound, how long after the
//! hazard began, and each report's kind, tasks and text. Nothing is made up: a report that does
//! not come within the bound is `"detected": false`.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::{mpsc, Arc, Mutex as StdMutex};
use std::time::{Duration, Instant};
use std::{future::Future, io};

use serde_json::{json, Value};
use weft::diag::{Action, Config, Report, ReportKind};
use weft::sync::Mutex;

/// How often a task that waits for its peer to hold its first lock looks again: 1 ms.
const PEER_POLL: Duration = Duration::from_millis(1);

/// How long the helper waits for the tasks to end once the hazard has been dealt with
/// (victim cancelled, or both aborted): 2 s, far beyond a loop turn.
const END_DEADLINE: Duration = Duration::from_secs(2);

/// One caught report, as JSON: kind, tasks, text, and milliseconds since `start`.
fn report_json(report: &Report, at: Instant, start: Option<Instant>) -> Value {
    json!({
        "kind": report.kind().to_string(),
        "tasks": report.tasks(),
        "text": report.to_string(),
        "latency_ms": start.map(|s| at.saturating_duration_since(s).as_secs_f64() * 1000.0),
    })
}

/// Sends every report of `kind` to the returned receiver, with when it came.
fn catch(kind: ReportKind) -> mpsc::Receiver<(Instant, Report)> {
    let (tx, rx) = mpsc::channel();
    let tx = StdMutex::new(tx);
    weft::diag::set_handler(move |r: &Report| {
        if r.kind() == kind {
            let _ = tx
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .send((Instant::now(), r.clone()));
        }
    });
    rx
}

/// Waits for `handle` on `rt`, at most [`END_DEADLINE`]: `None` if it did not end.
fn join_within<T: Send + 'static>(
    rt: &weft::rt::Runtime,
    handle: impl Future<Output = T>,
) -> Option<T> {
    rt.block_on(weft::time::timeout(END_DEADLINE, handle)).ok()
}

/// The seeds' deadlock, caught; see the module doc.
pub(super) fn deadlock(bound: Duration) -> io::Result<Value> {
    let reports = catch(ReportKind::Deadlock);
    let rt = weft::rt::Runtime::builder()
        .loops(2)
        .diagnostics(
            Config::default()
                .deadlocks(true)
                .on_deadlock(Action::CancelVictim),
        )
        .build()?;
    let handle = rt.handle();
    let r1 = Arc::new(Mutex::new("R1"));
    let r2 = Arc::new(Mutex::new("R2"));
    let holds = Arc::new(AtomicUsize::new(0));
    // When the later of the two second locks was asked for: the cycle closes then.
    let closed = Arc::new(StdMutex::new(None::<Instant>));
    let party = |first: Arc<Mutex<&'static str>>, second: Arc<Mutex<&'static str>>| {
        let (holds, closed) = (Arc::clone(&holds), Arc::clone(&closed));
        async move {
            let _first = first.lock().await;
            // Both hold their first lock before either asks for its second.
            holds.fetch_add(1, SeqCst);
            while holds.load(SeqCst) < 2 {
                weft::time::sleep(PEER_POLL).await;
            }
            *closed.lock().unwrap_or_else(|p| p.into_inner()) = Some(Instant::now());
            let _second = second.lock().await;
        }
    };
    let a = weft::task::Builder::new()
        .name("A")
        .handle(&handle)
        .spawn_on(0, party(Arc::clone(&r1), Arc::clone(&r2)));
    // Spawned second, so the youngest: the victim diag cancels.
    let b = weft::task::Builder::new()
        .name("B")
        .handle(&handle)
        .spawn_on(1, party(Arc::clone(&r2), Arc::clone(&r1)));
    let started = Instant::now();
    let Ok((at, report)) = reports.recv_timeout(bound) else {
        // Nothing came: the two tasks are stuck for good; the helper exits without them.
        return Ok(json!({
            "detected": false,
            "bound_ms": bound.as_millis() as u64,
            "waited_ms": started.elapsed().as_secs_f64() * 1000.0,
        }));
    };
    let closed_at = *closed.lock().unwrap_or_else(|p| p.into_inner());
    let a_out = join_within(&rt, a);
    let b_out = join_within(&rt, b);
    Ok(json!({
        "detected": true,
        "bound_ms": bound.as_millis() as u64,
        "report": report_json(&report, at, closed_at),
        "survivor_finished": matches!(a_out, Some(Ok(()))),
        "victim_cancelled": matches!(&b_out, Some(Err(e)) if e.is_deadlock_victim()),
        "locks_free": r1.try_lock().is_ok() && r2.try_lock().is_ok(),
    }))
}

/// A polite task: holds `mine`, and until it gets `theirs` tries, yields and tries again.
async fn polite(
    mine: Arc<Mutex<u32>>,
    theirs: Arc<Mutex<u32>>,
    holding: Arc<AtomicUsize>,
    retrying: Arc<StdMutex<Option<Instant>>>,
    got_both: Arc<AtomicBool>,
) {
    let _mine = mine.lock().await;
    holding.fetch_add(1, SeqCst);
    while holding.load(SeqCst) < 2 {
        weft::yield_now().await;
    }
    retrying
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .get_or_insert_with(Instant::now);
    loop {
        if let Ok(mut other) = theirs.try_lock() {
            *other += 1;
            got_both.store(true, SeqCst);
            return;
        }
        weft::yield_now().await;
    }
}

/// Two polite tasks, reported as livelocks; see the module doc.
pub(super) fn livelock(bound: Duration, wakes: u32) -> io::Result<Value> {
    let reports = catch(ReportKind::Livelock);
    let rt = weft::rt::Runtime::builder()
        .loops(1)
        .diagnostics(Config::default().livelock(wakes))
        .build()?;
    let handle = rt.handle();
    let x = Arc::new(Mutex::new(0));
    let y = Arc::new(Mutex::new(0));
    let holding = Arc::new(AtomicUsize::new(0));
    let retrying = Arc::new(StdMutex::new(None::<Instant>));
    let got_both = Arc::new(AtomicBool::new(false));
    let task = |name: &str, mine: &Arc<Mutex<u32>>, theirs: &Arc<Mutex<u32>>| {
        weft::task::Builder::new()
            .name(name)
            .handle(&handle)
            .spawn_on(
                0,
                polite(
                    Arc::clone(mine),
                    Arc::clone(theirs),
                    Arc::clone(&holding),
                    Arc::clone(&retrying),
                    Arc::clone(&got_both),
                ),
            )
    };
    let first = task("polite A", &x, &y);
    let second = task("polite B", &y, &x);
    let deadline = Instant::now() + bound;
    let mut caught = Vec::new();
    // One report per task; both are polite, so both are stuck.
    while caught.len() < 2 {
        let left = deadline.saturating_duration_since(Instant::now());
        match reports.recv_timeout(left) {
            Ok(found) => caught.push(found),
            Err(_) => break,
        }
    }
    let start = *retrying.lock().unwrap_or_else(|p| p.into_inner());
    let caught: Vec<Value> = caught
        .iter()
        .map(|(at, r)| report_json(r, *at, start))
        .collect();
    first.abort();
    second.abort();
    let first_out = join_within(&rt, first);
    let second_out = join_within(&rt, second);
    let stopped = [first_out, second_out]
        .iter()
        .all(|out| matches!(out, Some(Err(e)) if e.is_cancelled()));
    Ok(json!({
        "detected": !caught.is_empty(),
        "bound_ms": bound.as_millis() as u64,
        "wakes": wakes,
        "reports": caught,
        "made_progress": got_both.load(SeqCst),
        "stopped": stopped,
    }))
}
