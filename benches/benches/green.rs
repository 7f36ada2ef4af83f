//! What a green thread costs, next to an async task, an OS thread and a
//! process: switch cost, creation cost, and resident memory per unit.
//!
//! Run: `cargo bench -p weft-benches --bench green` (criterion timings, then
//! the memory table). `WEFT_GREEN_BENCH=memory` prints only the memory table.
//!
//! # What each number means
//!
//! - *switch*: the time for one unit to hand the CPU to another and back,
//!   divided by two (one switch = one hand-off).
//!   - green, bare: a green thread parked and resumed by a bare poll loop
//!     (two stack switches, no scheduler), i.e. the mechanism alone.
//!   - green, via loop: a green thread calling `green::yield_now()` on a
//!     current-thread runtime: stack switch out, through the loop's ready
//!     queue, stack switch in.
//!   - task, via loop: an async task doing `yield_now().await`.
//!   - OS thread: two threads pinned to one CPU ping-ponging through
//!     `park`/`unpark` (futex) — each hand-off a kernel context switch.
//!   - process: two processes pinned to one CPU ping-ponging one byte
//!     through a pair of pipes.
//!
//!   Both sides are pinned to one CPU so every hand-off is a true context
//!   switch rather than a cross-core wake-up.
//! - *create*: spawn one unit and wait for it to finish.
//! - *memory*: resident set growth (`VmRSS` in `/proc/self/status`) with
//!   [`MEMORY_UNITS`] units alive and parked, divided by their number, each
//!   kind measured in a fresh child process. Kernel-side memory of OS
//!   threads (their kernel stacks, 16 KiB each on x86_64) is not in RSS.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::io::{Read, Write};
use std::pin::Pin;
use std::process::{Command, Stdio};
use std::rc::Rc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use criterion::{criterion_group, Criterion};

/// Units alive at once for the memory measurement (the issue asks for
/// 10,000 of each).
const MEMORY_UNITS: usize = 10_000;

/// Selects what a re-executed child of this binary does.
const ROLE_ENV: &str = "WEFT_GREEN_BENCH";

/// Round trips per batch in the ping-pong benches whose setup (spawning a
/// thread or a process) is too costly to repeat per criterion iteration.
const PING_PONG_BATCH: u64 = 20_000;

fn main() {
    match std::env::var(ROLE_ENV).as_deref() {
        Ok("echo") => echo_child(),
        Ok("memory") => print_memory_table(),
        Ok(kind) if kind.starts_with("memory-") => measure_memory(&kind["memory-".len()..]),
        _ => {
            benches();
            Criterion::default().configure_from_args().final_summary();
            print_memory_table();
        }
    }
}

criterion_group!(benches, switch, create);

/// A future that is pending once (waking itself), then ready: one yield.
struct YieldOnce(bool);

impl Future for YieldOnce {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            Poll::Ready(())
        } else {
            self.0 = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
}

/// A waker that does nothing: the bare poll loop polls again regardless.
struct NoopWake;

impl std::task::Wake for NoopWake {
    fn wake(self: Arc<Self>) {}
    // Overridden so that waking by reference touches no reference count.
    fn wake_by_ref(self: &Arc<Self>) {}
}

fn current_thread_runtime() -> weft::rt::Runtime {
    weft::rt::Runtime::builder()
        .current_thread()
        .build()
        .expect("runtime")
}

fn switch(c: &mut Criterion) {
    let mut g = c.benchmark_group("switch");

    g.bench_function("green_bare_round_trip", |b| {
        b.iter_custom(|iters| {
            let mut green = Box::pin(
                weft::green::GreenThread::new(weft::green::DEFAULT_STACK_SIZE, move || {
                    for _ in 0..iters {
                        weft::green::block_on(YieldOnce(false));
                    }
                })
                .expect("stack"),
            );
            let waker = Waker::from(Arc::new(NoopWake));
            let mut cx = Context::from_waker(&waker);
            let start = Instant::now();
            while green.as_mut().poll(&mut cx).is_pending() {}
            start.elapsed()
        })
    });

    let rt = current_thread_runtime();
    g.bench_function("green_yield_via_loop", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async move {
                let start = Instant::now();
                weft::green::spawn(move || {
                    for _ in 0..iters {
                        weft::green::yield_now();
                    }
                })
                .await
                .expect("green thread");
                start.elapsed()
            })
        })
    });

    g.bench_function("task_yield_via_loop", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async move {
                let start = Instant::now();
                weft::spawn(async move {
                    for _ in 0..iters {
                        weft::yield_now().await;
                    }
                })
                .await
                .expect("task");
                start.elapsed()
            })
        })
    });
    drop(rt);

    g.bench_function("os_thread_futex_round_trip", |b| {
        b.iter_custom(|iters| batched(iters, thread_ping_pong))
    });
    g.bench_function("process_pipe_round_trip", |b| {
        b.iter_custom(|iters| batched(iters, process_ping_pong))
    });
    g.finish();
}

/// Runs `run(n)` (which returns the time of `n` round trips) in batches of
/// at most [`PING_PONG_BATCH`], so that one setup serves many iterations.
fn batched(iters: u64, run: fn(u64) -> Duration) -> Duration {
    let mut left = iters;
    let mut total = Duration::ZERO;
    while left > 0 {
        let n = left.min(PING_PONG_BATCH);
        total += run(n);
        left -= n;
    }
    total
}

/// Pins the calling thread to one CPU (the first it may run on) and
/// returns the previous mask, to restore it.
fn pin_to_one_cpu() -> libc::cpu_set_t {
    // SAFETY: cpu_set_t is plain data; zeroed is a valid empty set.
    let mut old: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: pid 0 is the calling thread; `old` is a valid, writable mask
    // of the size passed.
    let rc = unsafe { libc::sched_getaffinity(0, std::mem::size_of_val(&old), &mut old) };
    assert_eq!(
        rc,
        0,
        "sched_getaffinity: {}",
        std::io::Error::last_os_error()
    );
    let cpu = (0..libc::CPU_SETSIZE as usize)
        // SAFETY: `i` is below CPU_SETSIZE, the mask's capacity.
        .find(|&i| unsafe { libc::CPU_ISSET(i, &old) })
        .expect("at least one allowed CPU");
    set_affinity_to(cpu);
    old
}

fn set_affinity_to(cpu: usize) {
    // SAFETY: as above.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: `cpu` came from an allowed mask, below CPU_SETSIZE.
    unsafe { libc::CPU_SET(cpu, &mut set) };
    restore_affinity(&set);
}

fn restore_affinity(set: &libc::cpu_set_t) {
    // SAFETY: `set` is a valid mask of the size passed; pid 0 is this thread.
    let rc = unsafe { libc::sched_setaffinity(0, std::mem::size_of_val(set), set) };
    assert_eq!(
        rc,
        0,
        "sched_setaffinity: {}",
        std::io::Error::last_os_error()
    );
}

/// `n` round trips between this thread and another pinned to the same
/// CPU, handing off through `park`/`unpark` (a futex on Linux).
fn thread_ping_pong(n: u64) -> Duration {
    let old = pin_to_one_cpu();
    // turn: 0 = main's turn, 1 = partner's turn.
    let turn = Arc::new(AtomicU32::new(0));
    let main_thread = std::thread::current();
    let partner_turn = Arc::clone(&turn);
    let partner = std::thread::spawn(move || {
        // Inherits the pinned mask from its creator.
        for _ in 0..n {
            while partner_turn.load(Ordering::Acquire) != 1 {
                std::thread::park();
            }
            partner_turn.store(0, Ordering::Release);
            main_thread.unpark();
        }
    });
    let partner_thread = partner.thread().clone();
    let start = Instant::now();
    for _ in 0..n {
        turn.store(1, Ordering::Release);
        partner_thread.unpark();
        while turn.load(Ordering::Acquire) != 0 {
            std::thread::park();
        }
    }
    let elapsed = start.elapsed();
    partner.join().expect("partner thread");
    restore_affinity(&old);
    elapsed
}

/// `n` round trips of one byte between this process and a child pinned to
/// the same CPU, through a pair of pipes (the child's stdin and stdout).
fn process_ping_pong(n: u64) -> Duration {
    let old = pin_to_one_cpu();
    let mut child = Command::new(std::env::current_exe().expect("own path"))
        .env(ROLE_ENV, "echo")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn echo child");
    let mut to_child = child.stdin.take().expect("stdin");
    let mut from_child = child.stdout.take().expect("stdout");
    // One round trip before timing, so the child is up and waiting.
    let mut byte = [0u8; 1];
    to_child.write_all(b"x").expect("write");
    from_child.read_exact(&mut byte).expect("read");
    let start = Instant::now();
    for _ in 0..n {
        to_child.write_all(b"x").expect("write");
        from_child.read_exact(&mut byte).expect("read");
    }
    let elapsed = start.elapsed();
    drop(to_child);
    child.wait().expect("echo child");
    restore_affinity(&old);
    elapsed
}

/// The child side of [`process_ping_pong`]: echo bytes until stdin closes.
fn echo_child() {
    let mut input = std::io::stdin().lock();
    let mut output = std::io::stdout().lock();
    let mut byte = [0u8; 1];
    while input.read_exact(&mut byte).is_ok() {
        if output
            .write_all(&byte)
            .and_then(|()| output.flush())
            .is_err()
        {
            break;
        }
    }
}

fn create(c: &mut Criterion) {
    let mut g = c.benchmark_group("create");
    let rt = current_thread_runtime();
    g.bench_function("green_spawn_join", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async move {
                let start = Instant::now();
                for _ in 0..iters {
                    weft::green::spawn(|| 1u8).await.expect("green");
                }
                start.elapsed()
            })
        })
    });
    g.bench_function("green_spawn_join_fresh_stack", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async move {
                // A non-default size is never cached: mmap + munmap each time.
                let builder =
                    weft::green::Builder::new().stack_size(weft::green::DEFAULT_STACK_SIZE * 2);
                let start = Instant::now();
                for _ in 0..iters {
                    builder
                        .clone()
                        .spawn(|| 1u8)
                        .expect("stack")
                        .await
                        .expect("green");
                }
                start.elapsed()
            })
        })
    });
    g.bench_function("task_spawn_join", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async move {
                let start = Instant::now();
                for _ in 0..iters {
                    weft::spawn(async { 1u8 }).await.expect("task");
                }
                start.elapsed()
            })
        })
    });
    drop(rt);
    g.bench_function("os_thread_spawn_join", |b| {
        b.iter(|| std::thread::spawn(|| 1u8).join().expect("thread"))
    });
    g.finish();
}

/// A gate many units wait on, opened once.
#[derive(Default)]
struct Gate {
    open: Cell<bool>,
    waiters: RefCell<Vec<Waker>>,
}

impl Gate {
    fn wait(self: &Rc<Self>) -> impl Future<Output = ()> {
        let gate = Rc::clone(self);
        std::future::poll_fn(move |cx| {
            if gate.open.get() {
                Poll::Ready(())
            } else {
                gate.waiters.borrow_mut().push(cx.waker().clone());
                Poll::Pending
            }
        })
    }

    fn open(&self) {
        self.open.set(true);
        for w in self.waiters.borrow_mut().drain(..) {
            w.wake();
        }
    }
}

/// Reads a `kB` field of `/proc/self/status`.
fn status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("{field} in /proc/self/status"))
}

/// In a child: keeps [`MEMORY_UNITS`] units of `kind` alive and parked,
/// and prints `rss_bytes_per_unit vm_bytes_per_unit create_ns_per_unit`.
fn measure_memory(kind: &str) {
    let (rss0, vm0) = (status_kib("VmRSS"), status_kib("VmSize"));
    let (rss, vm, elapsed) = match kind {
        "green" | "task" => {
            let rt = current_thread_runtime();
            let kind = kind.to_owned();
            rt.block_on(async move {
                let gate = Rc::new(Gate::default());
                let parked = Rc::new(Cell::new(0usize));
                let start = Instant::now();
                let mut greens = Vec::new();
                let mut tasks = Vec::new();
                for _ in 0..MEMORY_UNITS {
                    let (gate, parked) = (Rc::clone(&gate), Rc::clone(&parked));
                    if kind == "green" {
                        greens.push(weft::green::spawn(move || {
                            parked.set(parked.get() + 1);
                            weft::green::block_on(gate.wait());
                        }));
                    } else {
                        tasks.push(weft::spawn_local(async move {
                            parked.set(parked.get() + 1);
                            gate.wait().await;
                        }));
                    }
                }
                while parked.get() < MEMORY_UNITS {
                    weft::yield_now().await;
                }
                let elapsed = start.elapsed();
                let sample = (status_kib("VmRSS"), status_kib("VmSize"), elapsed);
                gate.open();
                for h in greens {
                    h.await.expect("green thread");
                }
                for h in tasks {
                    h.await.expect("task");
                }
                sample
            })
        }
        "thread" => {
            let gate = Arc::new(std::sync::Barrier::new(MEMORY_UNITS + 1));
            let parked = Arc::new(AtomicU32::new(0));
            let start = Instant::now();
            let threads: Vec<_> = (0..MEMORY_UNITS)
                .map(|_| {
                    let (gate, parked) = (Arc::clone(&gate), Arc::clone(&parked));
                    std::thread::spawn(move || {
                        parked.fetch_add(1, Ordering::Relaxed);
                        gate.wait();
                    })
                })
                .collect();
            while parked.load(Ordering::Relaxed) < MEMORY_UNITS as u32 {
                std::thread::yield_now();
            }
            let elapsed = start.elapsed();
            let sample = (status_kib("VmRSS"), status_kib("VmSize"), elapsed);
            gate.wait();
            for t in threads {
                t.join().expect("thread");
            }
            sample
        }
        other => panic!("unknown memory kind {other}"),
    };
    let per = |after: u64, before: u64| after.saturating_sub(before) * 1024 / MEMORY_UNITS as u64;
    println!(
        "{} {} {}",
        per(rss, rss0),
        per(vm, vm0),
        elapsed.as_nanos() / MEMORY_UNITS as u128
    );
}

fn print_memory_table() {
    println!("\nmemory with {MEMORY_UNITS} units alive and parked (fresh process each):");
    println!("| unit | resident per unit | address space per unit | create-to-parked per unit |");
    println!("|---|---|---|---|");
    for kind in ["green", "task", "thread"] {
        let out = Command::new(std::env::current_exe().expect("own path"))
            .env(ROLE_ENV, format!("memory-{kind}"))
            .output()
            .expect("memory child");
        let text = String::from_utf8_lossy(&out.stdout);
        let fields: Vec<&str> = text.split_whitespace().collect();
        if !out.status.success() || fields.len() != 3 {
            println!(
                "| {kind} | failed: {} {} | | |",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            );
            continue;
        }
        println!(
            "| {kind} | {} B | {} B | {} ns |",
            fields[0], fields[1], fields[2]
        );
    }
}
