//! `weft::sync` against `tokio::sync` (on tokio's current-thread runtime), and for channels
//! against `async-channel` and `flume`, same machine, same run.
//!
//! Each group has the functions
//!
//! - `weft`: the `Send` primitive on weft's current-thread runtime, bookkeeping off;
//! - `weft_trace`: the same with the holder/waiter bookkeeping on (`weft::sync::__set_tracing`);
//! - `weft_local`: the loop-local `!Send` variant (`weft::sync::local`), where there is one;
//! - `tokio`: `tokio::sync` on tokio's current-thread runtime;
//! - `async_channel`, `flume`: those channels on **weft's** loop, so that their ratio to
//!   `weft` compares channels alone (the runtime is the same).
//!
//! Each benchmark times only the operations: `iter_custom` runs the batch inside one
//! `block_on` and tasks are spawned before the clock starts where that matters. Rows that need
//! a second task include the runtime's task switch, which is part of what a user pays.
//!
//! Two more groups measure `weft::task::JoinSet` against `tokio::task::JoinSet`.
//!
//! weft's rows are the functions of `weft_benches::sync_rows`, which the `diag` bench runs
//! too, with diagnostics off and on (`cargo bench -p weft-benches --bench diag`).
//!
//! Run: `cargo bench -p weft-benches --bench sync`, then `python3 benches/sync_ratios.py` for
//! the table of ratios (weft/tokio, weft/peer, trace on/off, local/Send).

use criterion::measurement::WallTime;
use criterion::{criterion_group, criterion_main, BenchmarkGroup, Criterion};
use std::future::Future;
use std::time::{Duration, Instant};
use weft_benches::sync_rows::{
    self, BROADCAST_BURST, BROADCAST_CAPACITY, BROADCAST_RECEIVERS, CHANNEL_CAPACITY,
};
use weft_benches::{criterion_config, tokio_rt, weft_rt};

/// Adds `name` to `g`: each sample runs `body(iters)` in one `block_on` of `rt`, with the
/// bookkeeping switched to `trace` for its duration.
fn weft_row<F, Fut>(
    g: &mut BenchmarkGroup<'_, WallTime>,
    name: &str,
    rt: &weft::rt::Runtime,
    trace: bool,
    body: F,
) where
    F: Fn(u64) -> Fut,
    Fut: Future<Output = Duration>,
{
    g.bench_function(name, |b| {
        b.iter_custom(|iters| {
            weft::sync::__set_tracing(trace);
            let elapsed = rt.block_on(body(iters));
            weft::sync::__set_tracing(false);
            elapsed
        })
    });
}

/// Adds `name` to `g`, run on tokio's current-thread runtime.
fn tokio_row<F, Fut>(
    g: &mut BenchmarkGroup<'_, WallTime>,
    name: &str,
    rt: &tokio::runtime::Runtime,
    body: F,
) where
    F: Fn(u64) -> Fut,
    Fut: Future<Output = Duration>,
{
    g.bench_function(name, |b| b.iter_custom(|iters| rt.block_on(body(iters))));
}

// ---- locks -------------------------------------------------------------------------------

fn mutex_uncontended(c: &mut Criterion) {
    let mut g = c.benchmark_group("sync_mutex_uncontended");
    let rt = weft_rt();
    let weft = sync_rows::mutex_uncontended;
    weft_row(&mut g, "weft", &rt, false, weft);
    weft_row(&mut g, "weft_trace", &rt, true, weft);
    weft_row(&mut g, "weft_local", &rt, false, |iters| async move {
        let m = weft::sync::local::Mutex::new(0u64);
        let start = Instant::now();
        for _ in 0..iters {
            *m.lock().await += 1;
        }
        start.elapsed()
    });
    tokio_row(&mut g, "tokio", &tokio_rt(), |iters| async move {
        let m = tokio::sync::Mutex::new(0u64);
        let start = Instant::now();
        for _ in 0..iters {
            *m.lock().await += 1;
        }
        start.elapsed()
    });
    g.finish();
}

/// Two tasks on one loop take the lock in turn, each holding it across a yield so the other
/// always finds it locked and queues: one iteration is one hand-over to each task.
fn mutex_contended(c: &mut Criterion) {
    let mut g = c.benchmark_group("sync_mutex_contended_2_tasks");
    let rt = weft_rt();
    let weft = sync_rows::mutex_contended;
    weft_row(&mut g, "weft", &rt, false, weft);
    weft_row(&mut g, "weft_trace", &rt, true, weft);
    weft_row(&mut g, "weft_local", &rt, false, |iters| async move {
        let m = std::rc::Rc::new(weft::sync::local::Mutex::new(0u64));
        let start = Instant::now();
        let tasks: Vec<_> = (0..2)
            .map(|_| {
                let m = m.clone();
                weft::spawn_local(async move {
                    for _ in 0..iters {
                        let mut g = m.lock().await;
                        weft::yield_now().await;
                        *g += 1;
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        start.elapsed()
    });
    tokio_row(&mut g, "tokio", &tokio_rt(), |iters| async move {
        let m = std::sync::Arc::new(tokio::sync::Mutex::new(0u64));
        let start = Instant::now();
        let tasks: Vec<_> = (0..2)
            .map(|_| {
                let m = m.clone();
                tokio::spawn(async move {
                    for _ in 0..iters {
                        let mut g = m.lock().await;
                        tokio::task::yield_now().await;
                        *g += 1;
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        start.elapsed()
    });
    g.finish();
}

fn semaphore_acquire_release(c: &mut Criterion) {
    let mut g = c.benchmark_group("sync_semaphore_acquire_release");
    let rt = weft_rt();
    let weft = sync_rows::semaphore_acquire_release;
    weft_row(&mut g, "weft", &rt, false, weft);
    weft_row(&mut g, "weft_trace", &rt, true, weft);
    tokio_row(&mut g, "tokio", &tokio_rt(), |iters| async move {
        let s = tokio::sync::Semaphore::new(4);
        let start = Instant::now();
        for _ in 0..iters {
            drop(s.acquire().await.unwrap());
        }
        start.elapsed()
    });
    g.finish();
}

/// Two tasks wake each other through two `Notify`s: one iteration is a round trip.
fn notify_ping_pong(c: &mut Criterion) {
    let mut g = c.benchmark_group("sync_notify_ping_pong");
    let rt = weft_rt();
    let weft = sync_rows::notify_ping_pong;
    weft_row(&mut g, "weft", &rt, false, weft);
    weft_row(&mut g, "weft_trace", &rt, true, weft);
    tokio_row(&mut g, "tokio", &tokio_rt(), |iters| async move {
        use tokio::sync::Notify;
        let (ping, pong) = (
            std::sync::Arc::new(Notify::new()),
            std::sync::Arc::new(Notify::new()),
        );
        let start = Instant::now();
        let other = tokio::spawn({
            let (ping, pong) = (ping.clone(), pong.clone());
            async move {
                for _ in 0..iters {
                    ping.notified().await;
                    pong.notify_one();
                }
            }
        });
        for _ in 0..iters {
            ping.notify_one();
            pong.notified().await;
        }
        other.await.unwrap();
        start.elapsed()
    });
    g.finish();
}

// ---- channels ------------------------------------------------------------------------------

/// One producer task sends `iters` values, the `block_on` future receives them, on one loop.
/// `$tx`/`$rx` are a channel's ends, `$send`/`$recv` the expressions that use them.
macro_rules! one_loop_throughput {
    ($spawn:path, $chan:expr, |$tx:ident, $v:ident| $send:expr, |$rx:ident| $recv:expr) => {
        |iters: u64| async move {
            #[allow(unused_mut)]
            let ($tx, mut $rx) = $chan;
            let start = Instant::now();
            let producer = $spawn(async move {
                for $v in 0..iters {
                    $send;
                }
            });
            let mut sum = 0u64;
            for _ in 0..iters {
                sum += $recv;
            }
            producer.await.unwrap();
            std::hint::black_box(sum);
            start.elapsed()
        }
    };
}

fn mpsc_one_loop(c: &mut Criterion) {
    let mut g = c.benchmark_group("sync_mpsc_1to1_one_loop");
    let rt = weft_rt();
    let weft = sync_rows::mpsc_one_loop;
    weft_row(&mut g, "weft", &rt, false, weft);
    weft_row(&mut g, "weft_trace", &rt, true, weft);
    weft_row(
        &mut g,
        "weft_local",
        &rt,
        false,
        one_loop_throughput!(
            weft::spawn_local,
            weft::sync::local::mpsc::channel::<u64>(CHANNEL_CAPACITY),
            |tx, v| tx.send(v).await.unwrap(),
            |rx| rx.recv().await.unwrap()
        ),
    );
    weft_row(
        &mut g,
        "async_channel",
        &rt,
        false,
        one_loop_throughput!(
            weft::spawn,
            async_channel::bounded::<u64>(CHANNEL_CAPACITY),
            |tx, v| tx.send(v).await.unwrap(),
            |rx| rx.recv().await.unwrap()
        ),
    );
    weft_row(
        &mut g,
        "flume",
        &rt,
        false,
        one_loop_throughput!(
            weft::spawn,
            flume::bounded::<u64>(CHANNEL_CAPACITY),
            |tx, v| tx.send_async(v).await.unwrap(),
            |rx| rx.recv_async().await.unwrap()
        ),
    );
    tokio_row(
        &mut g,
        "tokio",
        &tokio_rt(),
        one_loop_throughput!(
            tokio::spawn,
            tokio::sync::mpsc::channel::<u64>(CHANNEL_CAPACITY),
            |tx, v| tx.send(v).await.unwrap(),
            |rx| rx.recv().await.unwrap()
        ),
    );
    g.finish();
}

fn mpsc_unbounded_one_loop(c: &mut Criterion) {
    let mut g = c.benchmark_group("sync_mpsc_unbounded_1to1_one_loop");
    let rt = weft_rt();
    let weft = sync_rows::mpsc_unbounded_one_loop;
    weft_row(&mut g, "weft", &rt, false, weft);
    weft_row(&mut g, "weft_trace", &rt, true, weft);
    weft_row(
        &mut g,
        "weft_local",
        &rt,
        false,
        one_loop_throughput!(
            weft::spawn_local,
            weft::sync::local::mpsc::unbounded_channel::<u64>(),
            |tx, v| tx.send(v).unwrap(),
            |rx| rx.recv().await.unwrap()
        ),
    );
    weft_row(
        &mut g,
        "async_channel",
        &rt,
        false,
        one_loop_throughput!(
            weft::spawn,
            async_channel::unbounded::<u64>(),
            |tx, v| tx.try_send(v).unwrap(),
            |rx| rx.recv().await.unwrap()
        ),
    );
    weft_row(
        &mut g,
        "flume",
        &rt,
        false,
        one_loop_throughput!(
            weft::spawn,
            flume::unbounded::<u64>(),
            |tx, v| tx.send(v).unwrap(),
            |rx| rx.recv_async().await.unwrap()
        ),
    );
    tokio_row(
        &mut g,
        "tokio",
        &tokio_rt(),
        one_loop_throughput!(
            tokio::spawn,
            tokio::sync::mpsc::unbounded_channel::<u64>(),
            |tx, v| tx.send(v).unwrap(),
            |rx| rx.recv().await.unwrap()
        ),
    );
    g.finish();
}

/// The producer runs on another loop thread, the `block_on` future receives: every wake-up
/// crosses threads. tokio's counterpart is a second current-thread runtime driven by its own
/// thread, the shared-nothing shape weft's loops have.
macro_rules! two_loop_throughput {
    ($spawn_remote:expr, $chan:expr, |$tx:ident, $v:ident| $send:expr, |$rx:ident| $recv:expr) => {
        |iters: u64| async move {
            #[allow(unused_mut)]
            let ($tx, mut $rx) = $chan;
            let start = Instant::now();
            let producer = $spawn_remote(async move {
                for $v in 0..iters {
                    $send;
                }
            });
            let mut sum = 0u64;
            for _ in 0..iters {
                sum += $recv;
            }
            producer.await.unwrap();
            std::hint::black_box(sum);
            start.elapsed()
        }
    };
}

/// A tokio current-thread runtime driven by a thread of its own until the value is dropped.
struct TokioRemote {
    handle: tokio::runtime::Handle,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl TokioRemote {
    fn start() -> TokioRemote {
        let (handle_tx, handle_rx) = std::sync::mpsc::channel();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let rt = tokio_rt();
            handle_tx.send(rt.handle().clone()).unwrap();
            rt.block_on(async move {
                let _ = stopped.await;
            });
        });
        TokioRemote {
            handle: handle_rx.recv().unwrap(),
            stop: Some(stop),
            thread: Some(thread),
        }
    }
}

impl Drop for TokioRemote {
    fn drop(&mut self) {
        let _ = self.stop.take().unwrap().send(());
        let _ = self.thread.take().unwrap().join();
    }
}

fn mpsc_two_loops(c: &mut Criterion) {
    let mut g = c.benchmark_group("sync_mpsc_1to1_two_loops");
    // The caller loop receives; loop thread 0 produces.
    let rt = weft::rt::Runtime::builder()
        .loops(1)
        .build()
        .expect("weft runtime");
    let weft = sync_rows::mpsc_two_loops;
    weft_row(&mut g, "weft", &rt, false, weft);
    weft_row(&mut g, "weft_trace", &rt, true, weft);
    weft_row(
        &mut g,
        "async_channel",
        &rt,
        false,
        two_loop_throughput!(
            |f| weft::rt::Handle::current().spawn_on(0, f),
            async_channel::bounded::<u64>(CHANNEL_CAPACITY),
            |tx, v| tx.send(v).await.unwrap(),
            |rx| rx.recv().await.unwrap()
        ),
    );
    weft_row(
        &mut g,
        "flume",
        &rt,
        false,
        two_loop_throughput!(
            |f| weft::rt::Handle::current().spawn_on(0, f),
            flume::bounded::<u64>(CHANNEL_CAPACITY),
            |tx, v| tx.send_async(v).await.unwrap(),
            |rx| rx.recv_async().await.unwrap()
        ),
    );
    let remote = TokioRemote::start();
    let handle = remote.handle.clone();
    tokio_row(&mut g, "tokio", &tokio_rt(), move |iters| {
        let handle = handle.clone();
        two_loop_throughput!(
            |f| handle.spawn(f),
            tokio::sync::mpsc::channel::<u64>(CHANNEL_CAPACITY),
            |tx, v| tx.send(v).await.unwrap(),
            |rx| rx.recv().await.unwrap()
        )(iters)
    });
    drop(remote);
    g.finish();
}

/// A channel made, its value sent and awaited: one iteration per value.
fn oneshot_send_await(c: &mut Criterion) {
    let mut g = c.benchmark_group("sync_oneshot_send_await");
    let rt = weft_rt();
    let weft = sync_rows::oneshot_send_await;
    weft_row(&mut g, "weft", &rt, false, weft);
    weft_row(&mut g, "weft_trace", &rt, true, weft);
    weft_row(
        &mut g,
        "weft_local",
        &rt,
        false,
        sync_rows::oneshot_send_await_local,
    );
    tokio_row(
        &mut g,
        "tokio",
        &tokio_rt(),
        sync_rows::oneshot_send_await_tokio,
    );
    g.finish();
}

/// The value goes to another task, which awaited the receiver first: the wake-up path.
fn oneshot_across_tasks(c: &mut Criterion) {
    let mut g = c.benchmark_group("sync_oneshot_to_a_waiting_task");
    let rt = weft_rt();
    let weft = sync_rows::oneshot_to_a_waiting_task;
    weft_row(&mut g, "weft", &rt, false, weft);
    weft_row(&mut g, "weft_trace", &rt, true, weft);
    tokio_row(&mut g, "tokio", &tokio_rt(), |iters| async move {
        let start = Instant::now();
        for i in 0..iters {
            let (tx, rx) = tokio::sync::oneshot::channel::<u64>();
            let waiter = tokio::spawn(rx);
            tokio::task::yield_now().await;
            tx.send(i).unwrap();
            std::hint::black_box(waiter.await.unwrap().unwrap());
        }
        start.elapsed()
    });
    g.finish();
}

/// One sender, 100 receiver tasks on the same loop; one iteration is one value delivered to
/// all of them. The sender sends bursts of [`BROADCAST_BURST`] and yields, so the receivers
/// (woken by the burst's first value) drain it before the next.
macro_rules! broadcast_fan_out {
    ($spawn:path, $yield_now:path, $channel:path, $closed:pat) => {
        |iters: u64| async move {
            let (tx, _) = $channel(BROADCAST_CAPACITY);
            let receivers: Vec<_> = (0..BROADCAST_RECEIVERS)
                .map(|_| {
                    let mut rx = tx.subscribe();
                    $spawn(async move {
                        let mut n = 0u64;
                        loop {
                            match rx.recv().await {
                                Ok(_) => n += 1,
                                Err($closed) => return n,
                                Err(e) => panic!("broadcast receiver: {e:?}"),
                            }
                        }
                    })
                })
                .collect();
            $yield_now().await; // every receiver is waiting before the clock starts
            let start = Instant::now();
            // The sender is a task too, so it queues behind the receivers it woke (the
            // runtimes differ in how often they poll `block_on`'s own future).
            let sender = $spawn(async move {
                for i in 0..iters {
                    tx.send(i).unwrap();
                    if i % BROADCAST_BURST == BROADCAST_BURST - 1 {
                        $yield_now().await;
                    }
                }
            });
            sender.await.unwrap();
            for r in receivers {
                assert_eq!(r.await.unwrap(), iters, "every receiver saw every value");
            }
            start.elapsed()
        }
    };
}

fn broadcast_1_to_100(c: &mut Criterion) {
    let mut g = c.benchmark_group("sync_broadcast_1_to_100");
    let rt = weft_rt();
    let weft = sync_rows::broadcast_1_to_100;
    weft_row(&mut g, "weft", &rt, false, weft);
    weft_row(&mut g, "weft_trace", &rt, true, weft);
    tokio_row(
        &mut g,
        "tokio",
        &tokio_rt(),
        broadcast_fan_out!(
            tokio::spawn,
            tokio::task::yield_now,
            tokio::sync::broadcast::channel,
            tokio::sync::broadcast::error::RecvError::Closed
        ),
    );
    g.finish();
}

/// Idle members a `JoinSet` holds in the `joinset_next_among_idle` row: a set that polled
/// every member on each `join_next` would pay for all of them on every call.
const JOINSET_IDLE: usize = 1000;

/// A task spawned into a `JoinSet` and joined: one iteration per task, in batches of 100.
fn joinset_spawn_join(c: &mut Criterion) {
    let mut g = c.benchmark_group("task_joinset_spawn_join");
    let rt = weft_rt();
    weft_row(&mut g, "weft", &rt, false, |iters| async move {
        let mut set = weft::task::JoinSet::new();
        let start = Instant::now();
        let mut left = iters;
        while left > 0 {
            let batch = left.min(100);
            for i in 0..batch {
                set.spawn(async move { i });
            }
            while let Some(done) = set.join_next().await {
                std::hint::black_box(done.unwrap());
            }
            left -= batch;
        }
        start.elapsed()
    });
    tokio_row(&mut g, "tokio", &tokio_rt(), |iters| async move {
        let mut set = tokio::task::JoinSet::new();
        let start = Instant::now();
        let mut left = iters;
        while left > 0 {
            let batch = left.min(100);
            for i in 0..batch {
                set.spawn(async move { i });
            }
            while let Some(done) = set.join_next().await {
                std::hint::black_box(done.unwrap());
            }
            left -= batch;
        }
        start.elapsed()
    });
    g.finish();
}

/// With [`JOINSET_IDLE`] members that never finish, one more task is spawned and joined per
/// iteration: the cost must not grow with the idle members.
fn joinset_next_among_idle(c: &mut Criterion) {
    let mut g = c.benchmark_group("task_joinset_next_among_1000_idle");
    let rt = weft_rt();
    weft_row(&mut g, "weft", &rt, false, |iters| async move {
        let mut set = weft::task::JoinSet::new();
        for _ in 0..JOINSET_IDLE {
            set.spawn(std::future::pending::<u64>());
        }
        weft::yield_now().await;
        let start = Instant::now();
        for i in 0..iters {
            set.spawn(async move { i });
            std::hint::black_box(set.join_next().await.unwrap().unwrap());
        }
        let elapsed = start.elapsed();
        set.shutdown().await;
        elapsed
    });
    tokio_row(&mut g, "tokio", &tokio_rt(), |iters| async move {
        let mut set = tokio::task::JoinSet::new();
        for _ in 0..JOINSET_IDLE {
            set.spawn(std::future::pending::<u64>());
        }
        tokio::task::yield_now().await;
        let start = Instant::now();
        for i in 0..iters {
            set.spawn(async move { i });
            std::hint::black_box(set.join_next().await.unwrap().unwrap());
        }
        let elapsed = start.elapsed();
        set.shutdown().await;
        elapsed
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = criterion_config();
    targets = mutex_uncontended, mutex_contended, semaphore_acquire_release, notify_ping_pong,
        mpsc_one_loop, mpsc_unbounded_one_loop, mpsc_two_loops, oneshot_send_await,
        oneshot_across_tasks, broadcast_1_to_100, joinset_spawn_join, joinset_next_among_idle
}
criterion_main!(benches);
