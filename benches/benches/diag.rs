//! What `weft::diag` costs `weft::sync`: the `sync` bench's weft rows (`weft_benches::sync_rows`)
//! with diagnostics off and on, in the same run (issue 14's benchmark).
//!
//! Each group has two functions:
//!
//! - `off`: no diagnostics (the default; every hook is one relaxed load and a branch);
//! - `on`: deadlock detection and lock-order checking, installed for the duration of each
//!   sample with `weft::diag::install_for_bench` (which turns `sync::trace`'s bookkeeping on,
//!   starts the detector thread and adds the park and acquisition hooks).
//!
//! After criterion's own output the bench prints a table of the medians and the on/off ratio
//! per row (target: on at most 1.3x off), read from criterion's saved estimates; then, for the
//! rows that ran, an **interleaved** pass: the modes off, trace (the `weft::sync` bookkeeping
//! alone, issue 13's "bookkeeping on") and on take turns, [`ALTERNATIONS`] runs of each of
//! about [`RUN_NS`] each, and the table gives their medians. On a machine whose speed drifts
//! over seconds (the shared VM this was written on moved whole criterion rows by up to 2x
//! between two runs of the same build) two criterion rows measured one after the other can
//! land in different modes; runs that alternate share them. `WEFT_PIN_CALLER=1` pins the loop
//! to CPU 1 for that pass (the diagnostics' threads keep the other core).
//!
//! Run: `cargo bench -p weft-benches --bench diag` (add `-- --warm-up-time 1
//! --measurement-time 2` for a quick pass).

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion};
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::time::Duration;
use weft_benches::{criterion_config, sync_rows, weft_rt};

/// The on/off ratio the issue allows.
const TARGET: f64 = 1.3;

/// Runs of each mode in the interleaved pass.
const ALTERNATIONS: usize = 8;

/// About how long one run of the interleaved pass takes, in nanoseconds.
const RUN_NS: f64 = 40e6;

/// The rows: criterion group, label, the row's body, and whether it needs a loop thread
/// besides the caller's.
type Body = fn(u64) -> Pin<Box<dyn Future<Output = Duration>>>;

macro_rules! rows {
    ($(($group:literal, $label:literal, $f:path, $loops:literal)),* $(,)?) => {
        &[$(($group, $label, {
            fn body(iters: u64) -> Pin<Box<dyn Future<Output = Duration>>> {
                Box::pin($f(iters))
            }
            body as Body
        }, $loops)),*]
    };
}

const ROWS: &[(&str, &str, Body, usize)] = rows![
    (
        "diag_mutex_uncontended",
        "Mutex lock+unlock, uncontended",
        sync_rows::mutex_uncontended,
        0
    ),
    (
        "diag_mutex_contended_2_tasks",
        "Mutex, 2 tasks contending on one loop",
        sync_rows::mutex_contended,
        0
    ),
    (
        "diag_semaphore_acquire_release",
        "Semaphore acquire+release",
        sync_rows::semaphore_acquire_release,
        0
    ),
    (
        "diag_notify_ping_pong",
        "Notify ping-pong (round trip)",
        sync_rows::notify_ping_pong,
        0
    ),
    (
        "diag_mpsc_1to1_one_loop",
        "mpsc bounded 1->1, one loop",
        sync_rows::mpsc_one_loop,
        0
    ),
    (
        "diag_mpsc_unbounded_1to1_one_loop",
        "mpsc unbounded 1->1, one loop",
        sync_rows::mpsc_unbounded_one_loop,
        0
    ),
    (
        "diag_mpsc_1to1_two_loops",
        "mpsc bounded 1->1, two loops",
        sync_rows::mpsc_two_loops,
        1
    ),
    (
        "diag_oneshot_send_await",
        "oneshot send+await",
        sync_rows::oneshot_send_await,
        0
    ),
    (
        "diag_oneshot_to_a_waiting_task",
        "oneshot to a waiting task",
        sync_rows::oneshot_to_a_waiting_task,
        0
    ),
    (
        "diag_broadcast_1_to_100",
        "broadcast 1->100 receivers (per value)",
        sync_rows::broadcast_1_to_100,
        0
    ),
];

/// Adds `name` to `g`: each sample runs `body(iters)` in one `block_on` of `rt`, with
/// `config` installed for its duration.
fn row(
    g: &mut BenchmarkGroup<'_, WallTime>,
    name: &str,
    rt: &weft::rt::Runtime,
    config: weft::diag::Config,
    body: Body,
) {
    g.bench_function(name, |b| {
        b.iter_custom(|iters| {
            weft::diag::install_for_bench(config.clone());
            let elapsed = rt.block_on(body(iters));
            weft::diag::install_for_bench(weft::diag::Config::default());
            elapsed
        })
    });
}

/// The configuration of the rows' "on": deadlock detection and lock-order checking.
fn on_config() -> weft::diag::Config {
    weft::diag::Config::new().deadlocks(true).lock_order(true)
}

fn bench_all(c: &mut Criterion) {
    let one = weft_rt();
    let two = weft::rt::Runtime::builder()
        .loops(1)
        .build()
        .expect("weft runtime");
    let on = on_config();
    for &(group, _, body, loops) in ROWS {
        let rt = if loops == 0 { &one } else { &two };
        let mut g = c.benchmark_group(group);
        row(&mut g, "off", rt, weft::diag::Config::default(), body);
        row(&mut g, "on", rt, on.clone(), body);
        g.finish();
    }
}

/// Where criterion saved its estimates: `$CARGO_TARGET_DIR/criterion`, else the workspace's
/// `target/criterion` (criterion's own rule).
fn criterion_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"));
    target.join("criterion")
}

/// The median of `group/function` in nanoseconds, from criterion's `estimates.json`.
fn median_ns(group: &str, function: &str) -> Option<f64> {
    let path = criterion_dir()
        .join(group)
        .join(function)
        .join("new/estimates.json");
    let text = std::fs::read_to_string(path).ok()?;
    // `{"mean":{...},"median":{"confidence_interval":{...},"point_estimate":123.4,...`: the
    // first point estimate after the "median" key.
    let median = &text[text.find("\"median\"")?..];
    let value = &median[median.find("\"point_estimate\":")? + "\"point_estimate\":".len()..];
    let end = value.find([',', '}'])?;
    value[..end].trim().parse().ok()
}

fn fmt(ns: f64) -> String {
    if ns >= 1e6 {
        format!("{:.2} ms", ns / 1e6)
    } else if ns >= 1e3 {
        format!("{:.2} µs", ns / 1e3)
    } else {
        format!("{ns:.1} ns")
    }
}

/// Prints the table of medians and ratios of the groups that ran since `since` (older
/// estimates on disk are left out: a filtered run shows its own rows only).
fn print_ratios(since: std::time::SystemTime) {
    println!("\nweft::diag cost on weft::sync (medians; on = deadlocks + lock-order)\n");
    println!("| row | off | on | on/off | target |");
    println!("|---|---|---|---|---|");
    for &(group, label, _, _) in ROWS.iter().filter(|r| ran_since(r.0, since)) {
        match (median_ns(group, "off"), median_ns(group, "on")) {
            (Some(off), Some(on)) => {
                let r = on / off;
                let verdict = if r <= TARGET { "met" } else { "NOT met" };
                println!(
                    "| {label} | {} | {} | {r:.2}x | ≤{TARGET} {verdict} |",
                    fmt(off),
                    fmt(on)
                );
            }
            _ => println!("| {label} | - | - | - | not run |"),
        }
    }
}

/// True if criterion wrote `group`'s estimates since `since` (the row ran in this process).
fn ran_since(group: &str, since: std::time::SystemTime) -> bool {
    let path = criterion_dir().join(group).join("off/new/estimates.json");
    std::fs::metadata(path)
        .and_then(|m| m.modified())
        .is_ok_and(|t| t >= since)
}

/// The three modes of the interleaved pass.
#[derive(Clone, Copy)]
enum Mode {
    Off,
    Trace,
    On,
}

/// One run of `body` for `iters` iterations in `mode`; nanoseconds per iteration.
fn run_in(mode: Mode, rt: &weft::rt::Runtime, body: Body, iters: u64) -> f64 {
    match mode {
        Mode::Off => weft::diag::install_for_bench(weft::diag::Config::default()),
        Mode::Trace => {
            weft::diag::install_for_bench(weft::diag::Config::default());
            weft::sync::__set_tracing(true);
        }
        Mode::On => weft::diag::install_for_bench(on_config()),
    }
    let elapsed = rt.block_on(body(iters));
    weft::diag::install_for_bench(weft::diag::Config::default());
    weft::sync::__set_tracing(false);
    elapsed.as_nanos() as f64 / iters as f64
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// The interleaved pass over the rows that ran (see the module doc).
fn print_interleaved(since: std::time::SystemTime) {
    let one = weft_rt();
    let two = weft::rt::Runtime::builder()
        .loops(1)
        .build()
        .expect("weft runtime");
    let rows: Vec<_> = ROWS.iter().filter(|r| ran_since(r.0, since)).collect();
    if rows.is_empty() {
        return;
    }
    println!(
        "\nInterleaved: off, trace and on taking turns, {ALTERNATIONS} runs of each (medians)\n"
    );
    println!("| row | off | trace | on | trace/off | on/off | target |");
    println!("|---|---|---|---|---|---|---|");
    for &&(group, label, body, loops) in &rows {
        let rt = if loops == 0 { &one } else { &two };
        // The two-loop row's caller is one of its two loops: it is not pinned.
        if loops == 0 {
            weft_benches::pin_caller_from_env();
        } else {
            weft_benches::unpin_caller();
        }
        let per_iter = median_ns(group, "off").unwrap_or(100.0).max(1.0);
        let iters = ((RUN_NS / per_iter) as u64).max(1_000);
        let mut figures = [Vec::new(), Vec::new(), Vec::new()];
        for _ in 0..ALTERNATIONS {
            for (i, mode) in [Mode::Off, Mode::Trace, Mode::On].into_iter().enumerate() {
                figures[i].push(run_in(mode, rt, body, iters));
            }
        }
        let [off, trace, on] = figures.map(median);
        let verdict = |r: f64| if r <= TARGET { "met" } else { "NOT met" };
        println!(
            "| {label} | {} | {} | {} | {:.2}x | {:.2}x | trace ≤{TARGET} {}, on ≤{TARGET} {} |",
            fmt(off),
            fmt(trace),
            fmt(on),
            trace / off,
            on / off,
            verdict(trace / off),
            verdict(on / off)
        );
    }
}

fn main() {
    let since = std::time::SystemTime::now();
    let mut c = criterion_config().configure_from_args();
    bench_all(&mut c);
    c.final_summary();
    print_ratios(since);
    print_interleaved(since);
}
