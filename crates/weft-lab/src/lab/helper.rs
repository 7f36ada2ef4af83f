//! The measurements that need a process of their own, as hidden `weft lab helper ...`
//! commands the lab starts and reads one JSON line from:
//!
//! - `pong`: the far end of the process-switch ping-pong (a byte in, a byte out).
//! - `spawn`: create + join cost, then the memory of N sleeping threads / green threads /
//!   tasks, in a fresh process so that nothing else is counted (and a failure to create them
//!   harms nothing).
//! - `fork`: the seeds' fork problem (see [`sys::fork_and_lock`]) and, against it, exec of
//!   self (`exec-child`), which is how weft's cluster starts workers.
//! - `deadlock`, `livelock`: the hazards scenario's `weft::diag` runs (see [`diag`]), apart
//!   because diagnostics state is process-wide.
//!
//! [`run_helper`] is the lab's side: start, bound in time, parse.

use std::cell::Cell;
use std::io::{self, Read, Write};
use std::process::{Command, ExitCode, Stdio};
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use clap::{Args, Subcommand, ValueEnum};
use serde_json::{json, Value};

use super::loadgen::errno_name;
use super::procfs;
use super::sys;

mod diag;

/// How long a sleeping unit sleeps: an hour, far beyond any measurement (the helper exits
/// without waking them).
const LONG_SLEEP: Duration = Duration::from_secs(3600);

/// How long the spawn helper waits for its units to start running: 60 s.
const START_DEADLINE: Duration = Duration::from_secs(60);

/// Units created between two looks at the process's mapping count.
const MAP_CHECK_EVERY: usize = 1024;

/// Mappings kept free below `vm.max_map_count`: 4,000. Every thread or green-thread stack is a
/// mapping plus its guard page; once they use up the limit, the next large allocation
/// anywhere in the process fails and aborts it. Two check intervals of stacks (2 × 1024 × 2
/// mappings) and some slack: creation stops short of the limit and says why.
const MAP_HEADROOM: usize = 4_000;

/// Why creation must stop now, if the process is about to run out of mappings.
fn map_limit_reached(created: usize) -> Option<String> {
    if !created.is_multiple_of(MAP_CHECK_EVERY) {
        return None;
    }
    let limit: usize = std::fs::read_to_string("/proc/sys/vm/max_map_count")
        .ok()
        .and_then(|s| s.trim().parse().ok())?;
    let maps = std::fs::read_to_string("/proc/self/maps")
        .ok()?
        .lines()
        .count();
    (maps + MAP_HEADROOM >= limit).then(|| {
        format!(
            "stopped at {created}: {maps} of vm.max_map_count = {limit} mappings in use \
             (each stack is a mapping plus a guard page); one more large allocation would abort the process"
        )
    })
}

/// Options of `weft lab helper`.
#[derive(Debug, Args)]
pub(crate) struct HelperArgs {
    #[command(subcommand)]
    command: HelperCommand,
}

#[derive(Debug, Subcommand)]
enum HelperCommand {
    /// Echoes each byte of stdin to stdout (pinned to --cpu).
    Pong {
        #[arg(long)]
        cpu: Option<usize>,
    },
    /// Creates units and reports their cost and memory as JSON.
    Spawn {
        #[arg(long, value_enum)]
        unit: Unit,
        /// Sleeping units to hold while memory is read.
        #[arg(long)]
        count: usize,
        /// Units created and joined one batch at a time to time the cost.
        #[arg(long)]
        batch: usize,
    },
    /// fork() while another thread holds a lock, then exec of self; JSON.
    Fork {
        /// How long to wait for the forked child, ms.
        #[arg(long)]
        bound_ms: u64,
    },
    /// Takes a fresh lock and exits 0 (the exec-of-self child).
    ExecChild,
    /// The seeds' two-resource deadlock under weft::diag; JSON with diag's report.
    Deadlock {
        /// How long to wait for the report, ms.
        #[arg(long)]
        bound_ms: u64,
    },
    /// Two polite tasks livelocked under weft::diag's livelock hint; JSON with its reports.
    Livelock {
        /// How long to wait for the reports, ms.
        #[arg(long)]
        bound_ms: u64,
        /// Self-wakes in a row that diag reports as a livelock.
        #[arg(long)]
        wakes: u32,
    },
}

/// What the spawn helper creates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Unit {
    /// std::thread with the default stack.
    Thread,
    /// weft::green threads with the default stack.
    Green,
    /// weft tasks (spawn_local).
    Task,
}

/// Runs a helper command.
pub(crate) fn run(args: HelperArgs) -> io::Result<ExitCode> {
    let report = match args.command {
        HelperCommand::Pong { cpu } => {
            if let Some(cpu) = cpu {
                sys::pin_current_thread(&[cpu])?;
            }
            pong()?;
            return Ok(ExitCode::SUCCESS);
        }
        HelperCommand::Spawn { unit, count, batch } => spawn(unit, count, batch)?,
        HelperCommand::Fork { bound_ms } => fork(Duration::from_millis(bound_ms))?,
        HelperCommand::Deadlock { bound_ms } => diag::deadlock(Duration::from_millis(bound_ms))?,
        HelperCommand::Livelock { bound_ms, wakes } => {
            diag::livelock(Duration::from_millis(bound_ms), wakes)?
        }
        HelperCommand::ExecChild => {
            let lock = Mutex::new(());
            drop(lock.lock());
            return Ok(ExitCode::SUCCESS);
        }
    };
    println!("{report}");
    io::stdout().flush()?;
    // Sleeping units and held locks are left as they are: exit without joining them.
    std::process::exit(0)
}

fn pong() -> io::Result<()> {
    let (mut input, mut output) = (io::stdin().lock(), io::stdout().lock());
    let mut byte = [0u8; 1];
    while input.read(&mut byte)? == 1 {
        output.write_all(&byte)?;
        output.flush()?;
    }
    Ok(())
}

fn spawn(unit: Unit, count: usize, batch: usize) -> io::Result<Value> {
    let runtime = weft::rt::Runtime::builder().current_thread().build()?;
    let cost_start = Instant::now();
    match unit {
        Unit::Thread => {
            let handles: Vec<_> = (0..batch).map(|_| std::thread::spawn(|| {})).collect();
            for h in handles {
                let _ = h.join();
            }
        }
        Unit::Green => runtime.block_on(async {
            let handles: Vec<_> = (0..batch).map(|_| weft::green::spawn(|| {})).collect();
            for h in handles {
                let _ = h.await;
            }
        }),
        Unit::Task => runtime.block_on(async {
            let handles: Vec<_> = (0..batch).map(|_| weft::spawn_local(async {})).collect();
            for h in handles {
                let _ = h.await;
            }
        }),
    }
    let cost_ns = cost_start.elapsed().as_nanos() as f64 / batch.max(1) as f64;
    let (rss_before, _) = procfs::self_rss_kb();
    let pss_before = procfs::self_pss_kb();
    let started = Instant::now();
    let (created, error) = match unit {
        Unit::Thread => hold_threads(count),
        Unit::Green => runtime.block_on(hold_on_loop(count, true)),
        Unit::Task => runtime.block_on(hold_on_loop(count, false)),
    };
    let spawn_s = started.elapsed().as_secs_f64();
    let (rss, peak) = procfs::self_rss_kb();
    let usage = procfs::tree_usage(std::process::id());
    Ok(json!({
        "unit": format!("{unit:?}"),
        "wanted": count,
        "created": created,
        "error": error,
        "create_join_ns": cost_ns,
        "hold_spawn_s": spawn_s,
        "rss_before_kb": rss_before,
        "pss_before_kb": pss_before,
        "rss_kb": rss,
        "peak_rss_kb": peak,
        "pss_kb": procfs::self_pss_kb(),
        "threads": usage.threads,
    }))
}

/// Starts up to `count` OS threads that block until the process exits; how many started, and
/// the error that stopped them.
fn hold_threads(count: usize) -> (usize, Option<String>) {
    let gate = Arc::new((Mutex::new(()), Condvar::new()));
    let running = Arc::new(AtomicUsize::new(0));
    let mut created = 0;
    let mut error = None;
    for _ in 0..count {
        if let Some(why) = map_limit_reached(created) {
            error = Some(why);
            break;
        }
        let (gate, running) = (Arc::clone(&gate), Arc::clone(&running));
        let spawned = std::thread::Builder::new().spawn(move || {
            let (lock, cvar) = &*gate;
            let guard = lock.lock().unwrap_or_else(|p| p.into_inner());
            running.fetch_add(1, Ordering::SeqCst);
            let _ = cvar.wait_timeout(guard, LONG_SLEEP);
        });
        match spawned {
            Ok(_) => created += 1,
            Err(e) => {
                error = Some(format!("thread {}: {}", created + 1, errno_name(&e)));
                break;
            }
        }
    }
    let deadline = Instant::now() + START_DEADLINE;
    while running.load(Ordering::SeqCst) < created && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    (created, error)
}

/// Starts up to `count` green threads (or tasks) that sleep; waits until all have run once.
async fn hold_on_loop(count: usize, green: bool) -> (usize, Option<String>) {
    let running = Rc::new(Cell::new(0usize));
    let mut created = 0;
    let mut error = None;
    // Reserved up front: once the stacks have used up the process's mappings
    // (vm.max_map_count), growing a vector (a fresh mapping) would abort the process.
    let mut handles_green = Vec::with_capacity(if green { count } else { 0 });
    let mut handles_task = Vec::with_capacity(if green { 0 } else { count });
    for _ in 0..count {
        if let Some(why) = map_limit_reached(created) {
            error = Some(why);
            break;
        }
        let running = Rc::clone(&running);
        if green {
            match weft::green::Builder::new().spawn(move || {
                running.set(running.get() + 1);
                weft::green::sleep(LONG_SLEEP);
            }) {
                Ok(h) => handles_green.push(h),
                Err(e) => {
                    error = Some(format!("green thread {}: {}", created + 1, errno_name(&e)));
                    break;
                }
            }
        } else {
            handles_task.push(weft::spawn_local(async move {
                running.set(running.get() + 1);
                weft::time::sleep(LONG_SLEEP).await;
            }));
        }
        created += 1;
    }
    let deadline = Instant::now() + START_DEADLINE;
    while running.get() < created && Instant::now() < deadline {
        weft::time::sleep(Duration::from_millis(1)).await;
    }
    // Keep the handles alive while memory is read (dropping a handle detaches, but be plain).
    std::mem::forget(handles_green);
    std::mem::forget(handles_task);
    (created, error)
}

fn fork(bound: Duration) -> io::Result<Value> {
    let held = Arc::new(Mutex::new(()));
    let (locked_tx, locked_rx) = mpsc::channel();
    let holder = Arc::clone(&held);
    std::thread::spawn(move || {
        let _guard = holder.lock().unwrap_or_else(|p| p.into_inner());
        let _ = locked_tx.send(());
        std::thread::sleep(LONG_SLEEP);
    });
    locked_rx
        .recv()
        .map_err(|_| io::Error::other("the lock holder thread ended"))?;
    let (outcome, fork_took) = sys::fork_and_lock(&held, bound)?;
    let exe = std::env::current_exe()?;
    let exec_start = Instant::now();
    let status = Command::new(exe)
        .args(["lab", "helper", "exec-child"])
        .stdin(Stdio::null())
        .status()?;
    let exec_ms = exec_start.elapsed().as_secs_f64() * 1000.0;
    Ok(json!({
        "fork_outcome": match outcome { sys::ForkOutcome::ChildHung => "hung", sys::ForkOutcome::ChildExited => "exited" },
        "bound_ms": bound.as_millis() as u64,
        "fork_us": fork_took.as_secs_f64() * 1e6,
        "exec_ok": status.success(),
        "exec_ms": exec_ms,
    }))
}

/// Runs `weft lab helper ARGS`, waits at most `timeout`, and parses its JSON line.
pub(crate) fn run_helper(args: &[&str], timeout: Duration) -> io::Result<Value> {
    let exe = std::env::current_exe()?;
    let mut child = Command::new(exe)
        .arg("lab")
        .arg("helper")
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let mut stdout = child.stdout.take().expect("piped");
    let mut stderr = child.stderr.take().expect("piped");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut out = String::new();
        let _ = stdout.read_to_string(&mut out);
        let _ = tx.send(out);
    });
    let err_reader = std::thread::spawn(move || {
        let mut err = String::new();
        let _ = stderr.read_to_string(&mut err);
        err
    });
    let out = rx.recv_timeout(timeout);
    let _ = child.kill();
    let status = child.wait()?;
    let out = out.map_err(|_| {
        io::Error::new(
            io::ErrorKind::TimedOut,
            format!("helper {args:?} gave no answer within {timeout:?}"),
        )
    })?;
    let err = err_reader.join().unwrap_or_default();
    let line = out.lines().last().unwrap_or("");
    serde_json::from_str(line).map_err(|_| {
        io::Error::other(format!(
            "helper {args:?} ended ({status}) without its report: {}",
            err.lines().last().unwrap_or("(no message)")
        ))
    })
}
