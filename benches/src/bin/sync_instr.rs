//! Fixed-count runs of the `sync` bench's rows, for instruction counts under callgrind (the
//! machine is shared, so wall-clock figures are noisy; instruction ratios are not):
//!
//! ```text
//! valgrind --tool=callgrind --callgrind-out-file=/dev/null \
//!     target/release/sync_instr <row> <off|trace> <iterations>
//! ```
//!
//! Run each row at two counts and divide the difference by the difference of the counts, so
//! that start-up and runtime creation cancel out: the instructions of one iteration. Rows:
//! `mutex`, `mutex_contended`, `semaphore`, `notify`, `oneshot`, `oneshot_waiting`.

use std::sync::Arc;
use weft::sync::{Mutex, Notify, Semaphore};

async fn row(name: &str, iters: u64) {
    match name {
        "mutex" => {
            let m = Mutex::new(0u64);
            for _ in 0..iters {
                *m.lock().await += 1;
            }
        }
        "mutex_contended" => {
            let m = Arc::new(Mutex::new(0u64));
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
        }
        "semaphore" => {
            let s = Semaphore::new(4);
            for _ in 0..iters {
                drop(s.acquire().await.unwrap());
            }
        }
        "notify" => {
            let (ping, pong) = (Arc::new(Notify::new()), Arc::new(Notify::new()));
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
        }
        "oneshot" => {
            for i in 0..iters {
                let (tx, rx) = weft::sync::oneshot::channel::<u64>();
                tx.send(i).unwrap();
                std::hint::black_box(rx.await.unwrap());
            }
        }
        "oneshot_waiting" => {
            for i in 0..iters {
                let (tx, rx) = weft::sync::oneshot::channel::<u64>();
                let waiter = weft::spawn(rx);
                weft::yield_now().await;
                tx.send(i).unwrap();
                std::hint::black_box(waiter.await.unwrap().unwrap());
            }
        }
        other => panic!("unknown row {other:?}"),
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [name, mode, iters] = &args[..] else {
        panic!("usage: sync_instr <row> <off|trace> <iterations>");
    };
    let iters: u64 = iters.parse().expect("iterations: a number");
    let trace = match mode.as_str() {
        "off" => false,
        "trace" => true,
        other => panic!("mode {other:?}: off or trace"),
    };
    let rt = weft_benches::weft_rt();
    weft::sync::__set_tracing(trace);
    rt.block_on(row(name, iters));
    weft::sync::__set_tracing(false);
}
