//! `switch`: what one context switch costs, everything pinned to one CPU so that each hand-off
//! is a real switch on that CPU, never two CPUs running side by side:
//!
//! - process: a byte ping-ponged through two pipes with a child process (`helper pong`);
//! - thread: two OS threads handing a turn back and forth with park/unpark (futex);
//! - green thread: two weft green threads yielding to each other through their loop;
//! - async task: two weft tasks doing the same with `yield_now`.
//!
//! Each round trip is two switches; the figure is the time per switch.

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Instant;

use crate::lab::catalog::ScenarioKind;
use crate::lab::report::{ScenarioReport, Status};
use crate::lab::sys;

use super::{finish_bar, Ctx};

/// Round trips of the OS-level ping-pongs, quick run.
const OS_ROUNDS_QUICK: u64 = 20_000;
/// The same, full run.
const OS_ROUNDS_FULL: u64 = 200_000;
/// Round trips of the green-thread and task ping-pongs (far cheaper), quick run.
const LOOP_ROUNDS_QUICK: u64 = 200_000;
/// The same, full run.
const LOOP_ROUNDS_FULL: u64 = 2_000_000;

/// Runs the scenario.
pub(super) fn run(ctx: &Ctx) -> ScenarioReport {
    let mut out = ScenarioReport::new(ScenarioKind::Switch, "switch", true);
    let cpu = *ctx.load_cpus.last().unwrap_or(&0);
    let os_rounds = ctx.pick(OS_ROUNDS_QUICK, OS_ROUNDS_FULL);
    let loop_rounds = ctx.pick(LOOP_ROUNDS_QUICK, LOOP_ROUNDS_FULL);
    type Measure = fn(usize, u64) -> std::io::Result<f64>;
    let experiments: [(&str, Measure, u64); 4] = [
        ("process (pipe)", process_pingpong, os_rounds),
        ("thread (futex)", thread_pingpong, os_rounds),
        ("green thread", green_pingpong, loop_rounds),
        ("async task", task_pingpong, loop_rounds),
    ];
    let bars = ctx
        .progress
        .models(experiments.iter().map(|(name, _, _)| (*name, 1)));
    for ((name, measure, rounds), bar) in experiments.into_iter().zip(&bars) {
        bar.step(format!("{rounds} round trips"));
        // Each experiment on a thread of its own, so that pinning it leaves the lab as it was.
        let result = std::thread::scope(|s| s.spawn(move || measure(cpu, rounds)).join());
        match result {
            Ok(Ok(ns)) => out.figure(name, "pinned", "switch", ns, "ns"),
            Ok(Err(error)) => out.outcome(name, "pinned", Status::Failed, error.to_string()),
            Err(_) => out.outcome(name, "pinned", Status::Failed, "the measurement panicked"),
        }
        bar.inc(1);
        finish_bar(bar, &out);
    }
    out.note(format!(
        "Pinned to CPU {cpu}; {os_rounds} round trips for processes and threads, {loop_rounds} for green threads and tasks; two switches per round trip. A green-thread or task switch here goes through weft's ready queue (yield, then the loop resumes the other), not a bare stack swap."
    ));
    out
}

fn process_pingpong(cpu: usize, rounds: u64) -> std::io::Result<f64> {
    sys::pin_current_thread(&[cpu])?;
    let mut child = Command::new(std::env::current_exe()?)
        .args(["lab", "helper", "pong", "--cpu", &cpu.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()?;
    let (mut to, mut from) = (
        child.stdin.take().expect("piped"),
        child.stdout.take().expect("piped"),
    );
    let mut byte = [7u8; 1];
    // Warm up (the child's start is not a switch).
    to.write_all(&byte)?;
    from.read_exact(&mut byte)?;
    let start = Instant::now();
    for _ in 0..rounds {
        to.write_all(&byte)?;
        from.read_exact(&mut byte)?;
    }
    let ns = start.elapsed().as_nanos() as f64 / (2 * rounds) as f64;
    drop(to);
    let _ = child.wait();
    Ok(ns)
}

fn thread_pingpong(cpu: usize, rounds: u64) -> std::io::Result<f64> {
    sys::pin_current_thread(&[cpu])?;
    // 0: this thread's turn; 1: the other's.
    let turn = AtomicU32::new(0);
    let me = std::thread::current();
    let ns = std::thread::scope(|s| {
        let turn = &turn;
        let other = s.spawn(move || {
            let _ = sys::pin_current_thread(&[cpu]);
            for _ in 0..rounds {
                while turn.load(Ordering::Acquire) != 1 {
                    std::thread::park();
                }
                turn.store(0, Ordering::Release);
                me.unpark();
            }
        });
        let start = Instant::now();
        for _ in 0..rounds {
            turn.store(1, Ordering::Release);
            other.thread().unpark();
            while turn.load(Ordering::Acquire) != 0 {
                std::thread::park();
            }
        }
        start.elapsed().as_nanos() as f64 / (2 * rounds) as f64
    });
    Ok(ns)
}

fn green_pingpong(cpu: usize, rounds: u64) -> std::io::Result<f64> {
    sys::pin_current_thread(&[cpu])?;
    let runtime = weft::rt::Runtime::builder().current_thread().build()?;
    Ok(runtime.block_on(async move {
        let start = Instant::now();
        let a = weft::green::spawn(move || (0..rounds).for_each(|_| weft::green::yield_now()));
        let b = weft::green::spawn(move || (0..rounds).for_each(|_| weft::green::yield_now()));
        let _ = a.await;
        let _ = b.await;
        start.elapsed().as_nanos() as f64 / (2 * rounds) as f64
    }))
}

fn task_pingpong(cpu: usize, rounds: u64) -> std::io::Result<f64> {
    sys::pin_current_thread(&[cpu])?;
    let runtime = weft::rt::Runtime::builder().current_thread().build()?;
    Ok(runtime.block_on(async move {
        let start = Instant::now();
        let body = move || async move {
            for _ in 0..rounds {
                weft::yield_now().await;
            }
        };
        let a = weft::spawn_local(body());
        let b = weft::spawn_local(body());
        let _ = a.await;
        let _ = b.await;
        start.elapsed().as_nanos() as f64 / (2 * rounds) as f64
    }))
}
