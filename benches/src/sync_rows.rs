//! The `weft::sync` rows that two benches run: `sync` (weft against tokio and the channel
//! peers, bookkeeping off and on) and `diag` (diagnostics off against on). Each function is one
//! row's body: it runs `iters` operations inside the caller's `block_on` and returns the time
//! they took (set-up before the clock starts where that matters).

use std::sync::Arc;
use std::time::{Duration, Instant};

/// Capacity of the bounded channels in the throughput rows: enough that the producer rarely
/// parks, as in a pipeline that keeps up (the same for every peer).
pub const CHANNEL_CAPACITY: usize = 1024;
/// Receivers of the broadcast row (the 1 → 100).
pub const BROADCAST_RECEIVERS: usize = 100;
/// Values the broadcast sender sends before it yields so the receivers drain: below both the
/// channel's capacity (no receiver lags) and the cooperative budget of one poll (128 in both
/// runtimes), so every receiver empties the channel in one poll.
pub const BROADCAST_BURST: u64 = 64;
/// Broadcast ring capacity: a burst fits with room to spare.
pub const BROADCAST_CAPACITY: usize = 1024;

/// `Mutex` lock and unlock, never contended.
pub async fn mutex_uncontended(iters: u64) -> Duration {
    let m = weft::sync::Mutex::new(0u64);
    let start = Instant::now();
    for _ in 0..iters {
        *m.lock().await += 1;
    }
    start.elapsed()
}

/// Two tasks on one loop take one `Mutex` in turn, each yielding while it holds it.
pub async fn mutex_contended(iters: u64) -> Duration {
    let m = Arc::new(weft::sync::Mutex::new(0u64));
    let start = Instant::now();
    let tasks: Vec<_> = (0..2)
        .map(|_| {
            let m = m.clone();
            weft::spawn(async move {
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
}

/// `Semaphore` acquire and release of one of four permits.
pub async fn semaphore_acquire_release(iters: u64) -> Duration {
    let s = weft::sync::Semaphore::new(4);
    let start = Instant::now();
    for _ in 0..iters {
        drop(s.acquire().await.unwrap());
    }
    start.elapsed()
}

/// Two tasks wake each other through two `Notify`s: one iteration is a round trip.
pub async fn notify_ping_pong(iters: u64) -> Duration {
    use weft::sync::Notify;
    let (ping, pong) = (Arc::new(Notify::new()), Arc::new(Notify::new()));
    let start = Instant::now();
    let other = weft::spawn({
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
}

/// One producer task sends `iters` values on a bounded channel, the caller receives them, on
/// one loop.
pub async fn mpsc_one_loop(iters: u64) -> Duration {
    let (tx, mut rx) = weft::sync::mpsc::channel::<u64>(CHANNEL_CAPACITY);
    let start = Instant::now();
    let producer = weft::spawn(async move {
        for v in 0..iters {
            tx.send(v).await.unwrap();
        }
    });
    let mut sum = 0u64;
    for _ in 0..iters {
        sum += rx.recv().await.unwrap();
    }
    producer.await.unwrap();
    std::hint::black_box(sum);
    start.elapsed()
}

/// [`mpsc_one_loop`] on an unbounded channel.
pub async fn mpsc_unbounded_one_loop(iters: u64) -> Duration {
    let (tx, mut rx) = weft::sync::mpsc::unbounded_channel::<u64>();
    let start = Instant::now();
    let producer = weft::spawn(async move {
        for v in 0..iters {
            tx.send(v).unwrap();
        }
    });
    let mut sum = 0u64;
    for _ in 0..iters {
        sum += rx.recv().await.unwrap();
    }
    producer.await.unwrap();
    std::hint::black_box(sum);
    start.elapsed()
}

/// The producer runs on loop thread 0, the caller (another loop) receives: every wake-up
/// crosses threads. Needs a runtime with at least one loop thread besides the caller's.
pub async fn mpsc_two_loops(iters: u64) -> Duration {
    let (tx, mut rx) = weft::sync::mpsc::channel::<u64>(CHANNEL_CAPACITY);
    let start = Instant::now();
    let producer = weft::rt::Handle::current().spawn_on(0, async move {
        for v in 0..iters {
            tx.send(v).await.unwrap();
        }
    });
    let mut sum = 0u64;
    for _ in 0..iters {
        sum += rx.recv().await.unwrap();
    }
    producer.await.unwrap();
    std::hint::black_box(sum);
    start.elapsed()
}

/// A oneshot made, its value sent and awaited: one iteration per value.
pub async fn oneshot_send_await(iters: u64) -> Duration {
    let start = Instant::now();
    for i in 0..iters {
        let (tx, rx) = weft::sync::oneshot::channel::<u64>();
        tx.send(i).unwrap();
        std::hint::black_box(rx.await.unwrap());
    }
    start.elapsed()
}

/// [`oneshot_send_await`] with the loop-local channel (`weft::sync::local::oneshot`).
pub async fn oneshot_send_await_local(iters: u64) -> Duration {
    let start = Instant::now();
    for i in 0..iters {
        let (tx, rx) = weft::sync::local::oneshot::channel::<u64>();
        tx.send(i).unwrap();
        std::hint::black_box(rx.await.unwrap());
    }
    start.elapsed()
}

/// [`oneshot_send_await`] with tokio's channel (run it on a tokio runtime).
pub async fn oneshot_send_await_tokio(iters: u64) -> Duration {
    let start = Instant::now();
    for i in 0..iters {
        let (tx, rx) = tokio::sync::oneshot::channel::<u64>();
        tx.send(i).unwrap();
        std::hint::black_box(rx.await.unwrap());
    }
    start.elapsed()
}

/// The value goes to another task, which awaited the receiver first: the wake-up path.
pub async fn oneshot_to_a_waiting_task(iters: u64) -> Duration {
    let start = Instant::now();
    for i in 0..iters {
        let (tx, rx) = weft::sync::oneshot::channel::<u64>();
        let waiter = weft::spawn(rx);
        weft::yield_now().await;
        tx.send(i).unwrap();
        std::hint::black_box(waiter.await.unwrap().unwrap());
    }
    start.elapsed()
}

/// One sender, [`BROADCAST_RECEIVERS`] receiver tasks on the same loop; one iteration is one
/// value delivered to all of them. The sender sends bursts of [`BROADCAST_BURST`] and yields,
/// so the receivers (woken by the burst's first value) drain it before the next.
pub async fn broadcast_1_to_100(iters: u64) -> Duration {
    use weft::sync::broadcast::{self, error::RecvError};
    let (tx, _) = broadcast::channel(BROADCAST_CAPACITY);
    let receivers: Vec<_> = (0..BROADCAST_RECEIVERS)
        .map(|_| {
            let mut rx = tx.subscribe();
            weft::spawn(async move {
                let mut n = 0u64;
                loop {
                    match rx.recv().await {
                        Ok(_) => n += 1,
                        Err(RecvError::Closed) => return n,
                        Err(e) => panic!("broadcast receiver: {e:?}"),
                    }
                }
            })
        })
        .collect();
    weft::yield_now().await; // every receiver is waiting before the clock starts
    let start = Instant::now();
    // The sender is a task too, so it queues behind the receivers it woke.
    let sender = weft::spawn(async move {
        for i in 0..iters {
            tx.send(i).unwrap();
            if i % BROADCAST_BURST == BROADCAST_BURST - 1 {
                weft::yield_now().await;
            }
        }
    });
    sender.await.unwrap();
    for r in receivers {
        assert_eq!(r.await.unwrap(), iters, "every receiver saw every value");
    }
    start.elapsed()
}
