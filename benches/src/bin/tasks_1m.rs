//! `tasks_1m`: the memory of a million sleeping tasks, weft against tokio (issue #19).
//!
//! Each runtime, in a process of its own so that the peaks do not mix, spawns 1,000,000 tasks
//! on one current-thread runtime; each sleeps 5 s, and all are joined through their
//! `JoinHandle`s. The figure is the process's peak resident set (`VmHWM` in
//! `/proc/self/status`) once all are joined, next to the peak before the first spawn (the
//! runtime and the handle vector's reservation aside, what remains is the tasks: header,
//! future, timer entry and handle).
//!
//! Run: `cargo run --release -p weft-benches --bin tasks_1m` (the driver: runs `weft` then
//! `tokio` as children of itself and prints them side by side), or one side alone:
//! `tasks_1m weft [COUNT]`, `tasks_1m tokio [COUNT]`. A child prints one line,
//! `runtime=<name> tasks=<n> base_kb=<k> peak_kb=<k> spawn_ms=<ms> total_ms=<ms>`.

use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

/// Tasks per run unless a count is given.
const DEFAULT_COUNT: usize = 1_000_000;
/// How long each task sleeps.
const SLEEP: Duration = Duration::from_secs(5);
/// The budget for the weft run, in MB.
const BUDGET_MB: f64 = 128.0;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let count = match args.get(1).map(|s| s.replace('_', "").parse::<usize>()) {
        None => DEFAULT_COUNT,
        Some(Ok(n)) => n,
        Some(Err(_)) => {
            eprintln!("tasks_1m: COUNT must be a whole number, got {:?}", args[1]);
            return ExitCode::from(2);
        }
    };
    match args.first().map(String::as_str) {
        None | Some("driver") => driver(count),
        Some("weft") => {
            child("weft", count, run_weft);
            ExitCode::SUCCESS
        }
        Some("tokio") => {
            child("tokio", count, run_tokio);
            ExitCode::SUCCESS
        }
        Some(other) => {
            eprintln!("tasks_1m: unknown mode {other:?}; expected driver, weft or tokio [COUNT]");
            ExitCode::from(2)
        }
    }
}

/// Runs each side in a child process and prints the figures side by side.
fn driver(count: usize) -> ExitCode {
    let exe = match std::env::current_exe() {
        Ok(exe) => exe,
        Err(e) => {
            eprintln!("tasks_1m: cannot find my own executable: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!("{count} tasks, each sleeping {SLEEP:?}, one current-thread runtime, joined");
    println!(
        "{:<7} {:>10} {:>10} {:>12} {:>10} {:>10}",
        "runtime", "peak MB", "base MB", "B per task", "spawn ms", "total ms"
    );
    let mut weft_peak = None;
    for name in ["weft", "tokio"] {
        let out = match Command::new(&exe).arg(name).arg(count.to_string()).output() {
            Ok(out) => out,
            Err(e) => {
                eprintln!("tasks_1m: cannot run the {name} child: {e}");
                return ExitCode::FAILURE;
            }
        };
        let text = String::from_utf8_lossy(&out.stdout);
        let Some(line) = text.lines().find(|l| l.starts_with("runtime=")) else {
            eprintln!(
                "tasks_1m: the {name} child ({}) printed no figures; stderr:\n{}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            );
            return ExitCode::FAILURE;
        };
        let field = |key: &str| -> f64 {
            line.split_whitespace()
                .find_map(|kv| kv.strip_prefix(key)?.strip_prefix('='))
                .and_then(|v| v.parse().ok())
                .unwrap_or(f64::NAN)
        };
        let (base, peak) = (field("base_kb"), field("peak_kb"));
        let per_task = (peak - base) * 1024.0 / count.max(1) as f64;
        println!(
            "{name:<7} {:>10.1} {:>10.1} {per_task:>12.0} {:>10.0} {:>10.0}",
            peak / 1024.0,
            base / 1024.0,
            field("spawn_ms"),
            field("total_ms"),
        );
        if name == "weft" {
            weft_peak = Some(peak / 1024.0);
        }
    }
    if count == DEFAULT_COUNT {
        if let Some(peak) = weft_peak {
            let verdict = if peak <= BUDGET_MB { "within" } else { "OVER" };
            println!("weft peak {peak:.1} MB: {verdict} the {BUDGET_MB} MB budget of issue #19");
        }
    }
    ExitCode::SUCCESS
}

/// One side in this process: measures around `run` and prints the figures line.
fn child(name: &str, count: usize, run: fn(usize) -> Duration) {
    let base = vm_hwm_kb();
    let started = Instant::now();
    let spawn = run(count);
    let total = started.elapsed();
    let peak = vm_hwm_kb();
    println!(
        "runtime={name} tasks={count} base_kb={base} peak_kb={peak} spawn_ms={} total_ms={}",
        spawn.as_millis(),
        total.as_millis()
    );
}

/// weft: spawns, then joins; returns how long the spawning took.
fn run_weft(count: usize) -> Duration {
    let rt = weft::rt::Runtime::builder()
        .current_thread()
        .build()
        .expect("weft runtime");
    rt.block_on(async move {
        let started = Instant::now();
        let handles: Vec<_> = (0..count)
            .map(|_| weft::spawn(async { weft::time::sleep(SLEEP).await }))
            .collect();
        let spawn = started.elapsed();
        for handle in handles {
            handle.await.expect("a weft task failed");
        }
        spawn
    })
}

/// tokio: the same on its current-thread runtime.
fn run_tokio(count: usize) -> Duration {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    rt.block_on(async move {
        let started = Instant::now();
        let handles: Vec<_> = (0..count)
            .map(|_| tokio::spawn(async { tokio::time::sleep(SLEEP).await }))
            .collect();
        let spawn = started.elapsed();
        for handle in handles {
            handle.await.expect("a tokio task failed");
        }
        spawn
    })
}

/// This process's peak resident set so far, in kB (`VmHWM`), 0 if unreadable.
fn vm_hwm_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}
