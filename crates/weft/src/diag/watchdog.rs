//! The loop watchdog, and the diagnostics thread that runs it.
//!
//! # Seeing a stall while it lasts
//!
//! Each loop publishes one word, its watch stamp (`hooks::LoopWatch`): odd while a task poll
//! runs, even between polls, one higher at every edge. The diagnostics thread (`weft-diag-loops`,
//! started when loop diagnostics are on) samples every registered loop's stamp every
//! [`tick`] (a tenth of the threshold): an odd stamp seen unchanged for longer than the
//! threshold is one poll that has not returned, so the loop is stuck **now**. The loop pays two
//! relaxed stores per poll and no clock read; the watchdog's "running for" is measured from
//! the first sample that saw the stamp, so it is low by at most one tick.
//!
//! # The report
//!
//! When a stall is seen, the watchdog asks the loop thread for its stack: it sends that one
//! thread a signal (`tgkill`, [`CAPTURE_SIGNAL`]) and the handler, on the stuck thread, only
//! records (see `diag::backtrace`): the return addresses into a preallocated buffer, and the
//! id, spawn site and name of the task being polled (copied there and then, while the poll
//! keeps the task alive). The watchdog symbolizes and formats on its own thread and emits one
//! [`ReportKind::Stall`](super::ReportKind::Stall) report per stall, then a second one when
//! the poll returns, with its total.
//!
//! # Mitigation
//!
//! While a loop is stalled, the connections waiting in its listeners' accept queues are
//! accepted by this thread and handed to healthy loops (`diag::handoff`).
//!
//! The same thread prints a task dump to stderr on `SIGQUIT` (diagnostics on), and reports
//! lost wake-ups found elsewhere.

use super::hooks::{self, epoch_ns};
use super::loops::{lock, loops, LoopEntry};
use super::{backtrace, handoff, Config, Report, ReportKind};
use crate::loom::{AtomicU64, Ordering::Relaxed};
use crate::sys::{signal as sig, thread_signal};
use std::collections::HashMap;
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Fraction of the threshold between two samples of the stamps: a stall is seen at most
/// 10% late, and the thread wakes 10 times per threshold (100 times a second at 100 ms).
const SAMPLES_PER_THRESHOLD: u32 = 10;

/// Shortest tick: below a millisecond the samples cost more than they tell.
const MIN_TICK: Duration = Duration::from_millis(1);

/// Tick when only the dump on SIGQUIT and the hints need the thread.
const IDLE_TICK: Duration = Duration::from_millis(200);

/// The watchdog threshold in nanoseconds, 0 when the watchdog is off.
static THRESHOLD_NS: AtomicU64 = AtomicU64::new(0);

/// Applies the loop part of `config`: the hooks, the thresholds, the thread, the signals.
pub(crate) fn configure(config: &Config) {
    let threshold = config.watchdog_threshold();
    THRESHOLD_NS.store(threshold.map_or(0, |t| t.as_nanos() as u64), Relaxed);
    hooks::configure(config);
    hooks::set_on(config.any());
    if !config.any() {
        return;
    }
    if threshold.is_some() {
        backtrace::install_handler();
    }
    start_thread();
}

fn threshold() -> Option<Duration> {
    Some(THRESHOLD_NS.load(Relaxed))
        .filter(|&n| n > 0)
        .map(Duration::from_nanos)
}

/// The interval between two samples; see [`SAMPLES_PER_THRESHOLD`].
pub(crate) fn tick() -> Duration {
    match threshold() {
        Some(t) => (t / SAMPLES_PER_THRESHOLD).max(MIN_TICK),
        None => IDLE_TICK,
    }
}

/// Starts the diagnostics thread once per process.
fn start_thread() {
    static STARTED: OnceLock<()> = OnceLock::new();
    STARTED.get_or_init(|| {
        let quit = match install_quit() {
            Ok(fd) => Some(fd),
            Err(error) => {
                tracing::warn!(%error, "weft::diag: no task dump on SIGQUIT");
                None
            }
        };
        let spawned = std::thread::Builder::new()
            .name("weft-diag-loops".into())
            .spawn(move || run(quit));
        if let Err(error) = spawned {
            tracing::error!(%error, "weft::diag: could not start the watchdog thread");
        }
    });
}

/// The write end of the SIGQUIT pipe, for the handler (-1 before it exists). Not in the loom
/// shim: it is read in signal context.
static QUIT_PIPE: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(-1);

extern "C" fn on_sigquit(_: libc::c_int) {
    let fd = QUIT_PIPE.load(std::sync::atomic::Ordering::Relaxed);
    if fd >= 0 {
        sig::write_byte_in_handler(fd, 1);
    }
}

/// Installs the SIGQUIT handler; returns the pipe's read end.
fn install_quit() -> std::io::Result<OwnedFd> {
    let (read, write) = sig::pipe()?;
    QUIT_PIPE.store(write.as_raw_fd(), std::sync::atomic::Ordering::Relaxed);
    // The write end lives as long as the process: the handler may run at any time.
    std::mem::forget(write);
    sig::install(libc::SIGQUIT, on_sigquit)?;
    Ok(read)
}

/// What the watchdog remembers about one loop between samples.
#[derive(Debug)]
struct Track {
    stamp: u64,
    first_seen: Instant,
    first_seen_ns: u64,
    /// Set once the stall was reported: (task label, report of the start).
    reported: Option<String>,
    handed_over: usize,
    moved: usize,
}

impl Track {
    fn new(stamp: u64) -> Track {
        Track {
            stamp,
            first_seen: Instant::now(),
            first_seen_ns: epoch_ns(),
            reported: None,
            handed_over: 0,
            moved: 0,
        }
    }
}

fn run(quit: Option<OwnedFd>) {
    if threshold().is_some() {
        backtrace::warm_up();
    }
    let mut tracks: HashMap<usize, Track> = HashMap::new();
    loop {
        let tick = tick();
        let asked = match &quit {
            Some(fd) => thread_signal::wait_readable(fd.as_raw_fd(), tick).unwrap_or(false),
            None => {
                std::thread::sleep(tick);
                false
            }
        };
        if asked {
            if let Some(fd) = &quit {
                let _ = sig::drain(fd);
            }
            eprintln!("{}", super::dump::dump());
        }
        hooks::report_pending();
        if let Some(threshold) = threshold() {
            sample(&mut tracks, threshold);
        }
    }
}

/// One look at every loop's stamp.
fn sample(tracks: &mut HashMap<usize, Track>, threshold: Duration) {
    let loops = loops();
    tracks.retain(|id, _| loops.iter().any(|e| e.shared.id == *id));
    let stuck: Vec<usize> = loops
        .iter()
        .filter(|e| {
            let stamp = e.watch().stamp.load(Relaxed);
            tracks.get(&e.shared.id).is_some_and(|t| {
                t.stamp == stamp && stamp & 1 == 1 && t.first_seen.elapsed() >= threshold / 2
            })
        })
        .map(|e| e.shared.id)
        .collect();
    for entry in &loops {
        let stamp = entry.watch().stamp.load(Relaxed);
        let track = tracks
            .entry(entry.shared.id)
            .or_insert_with(|| Track::new(stamp));
        if stamp & 1 == 1 && stamp == track.stamp {
            let running = track.first_seen.elapsed();
            if track.reported.is_none() && running >= threshold {
                let report = stall_report(entry, running, threshold);
                track.reported = Some(report.tasks().first().cloned().unwrap_or_default());
                *lock(&entry.last_stall) = Some((stamp, report.to_string()));
                entry.watch().stall_ended_ns.store(0, Relaxed);
                entry.watch().stalled.store(true, Relaxed);
                super::emit(&report);
            }
            if track.reported.is_some() {
                track.handed_over += handoff::rescue(entry, &loops, &stuck);
                track.moved += handoff::move_tasks(entry, &loops, &stuck);
            }
            continue;
        }
        if let Some(task) = track.reported.take() {
            super::emit(&end_report(entry, track, &task, threshold));
        }
        *track = Track::new(stamp);
    }
}

fn loop_name(entry: &LoopEntry) -> String {
    match entry.shared.index {
        Some(i) => format!("loop {i} (thread {})", entry.thread),
        None => format!("the caller loop (thread {})", entry.thread),
    }
}

fn stall_report(entry: &LoopEntry, running: Duration, threshold: Duration) -> Report {
    let tid = entry.watch().tid.load(Relaxed) as i32;
    let captured = backtrace::capture(tid);
    let mut text = format!("weft watchdog: {} is stalled: ", loop_name(entry));
    let mut tasks = Vec::new();
    match captured.as_ref().and_then(|c| c.task.as_ref()) {
        Some(task) => {
            let name = task
                .name
                .clone()
                .unwrap_or_else(|| format!("task {}", task.id));
            text += &format!(
                "task {}{} spawned at {} has been running one poll for {:.1?} \
                 (threshold {threshold:?})",
                task.id,
                task.name
                    .as_ref()
                    .map(|n| format!(" \"{n}\""))
                    .unwrap_or_default(),
                task.site,
                running,
            );
            tasks.push(name);
        }
        None => {
            text += &format!(
                "a task poll has been running for {running:.1?} (threshold {threshold:?})"
            );
        }
    }
    match &captured {
        Some(c) => {
            text += &format!("\nbacktrace of {} at this moment:\n", entry.thread);
            text += &backtrace::format(&c.frames);
        }
        None => text += "\n(no backtrace: the loop thread did not answer the signal)",
    }
    Report::new(ReportKind::Stall, tasks, text)
}

fn end_report(entry: &LoopEntry, track: &Track, task: &str, threshold: Duration) -> Report {
    let ended = entry.watch().stall_ended_ns.load(Relaxed);
    let total = if ended > track.first_seen_ns {
        Duration::from_nanos(ended - track.first_seen_ns)
    } else {
        track.first_seen.elapsed()
    };
    let who = if task.is_empty() { "its task" } else { task };
    let mut text = format!(
        "weft watchdog: {} is running again: the poll of {who} returned after about \
         {total:.1?} (threshold {threshold:?})",
        loop_name(entry)
    );
    if track.handed_over > 0 {
        text += &format!(
            "; {} waiting connections were handed to other loops meanwhile",
            track.handed_over
        );
    }
    if track.moved > 0 {
        text += &format!(
            "; {} queued tasks spawned without a fixed loop were started on other loops",
            track.moved
        );
    }
    let tasks = if task.is_empty() {
        Vec::new()
    } else {
        vec![task.to_string()]
    };
    Report::new(ReportKind::Stall, tasks, text)
}
