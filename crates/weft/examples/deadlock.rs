//! The seeds' deadlock, found as it closes: task `worker-a` holds R1 and wants R2, task
//! `worker-b` holds R2 and wants R1. `weft::diag` reports it within a few milliseconds, and
//! this example prints the report and exits (the two tasks would wait forever).
//!
//! ```text
//! cargo run -p weft --example deadlock
//! ```

use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};
use weft::diag::{Config, Report};
use weft::sync::Mutex;
use weft::task::Builder;

/// How long the example waits for the report before saying detection failed.
const REPORT_DEADLINE: Duration = Duration::from_secs(10);

/// Runs the deadlock and prints its report (public so that `tests/example_deadlock.rs` can run it).
pub fn main() {
    let (tx, rx) = mpsc::channel::<(Instant, Report)>();
    let tx = std::sync::Mutex::new(tx);
    weft::diag::set_handler(move |r: &Report| {
        let _ = tx.lock().unwrap().send((Instant::now(), r.clone()));
    });
    let rt = weft::rt::Runtime::builder()
        .loops(2)
        .diagnostics(Config::default().deadlocks(true))
        .build()
        .expect("runtime");

    let r1 = Arc::new(Mutex::new("R1"));
    let r2 = Arc::new(Mutex::new("R2"));
    let both_hold = Arc::new(std::sync::Barrier::new(3));
    let closed = Arc::new(std::sync::Mutex::new(None::<Instant>));

    let (a1, a2, a_ready) = (r1.clone(), r2.clone(), both_hold.clone());
    let (b1, b2, b_ready) = (r1.clone(), r2.clone(), both_hold.clone());
    let (a_closed, b_closed) = (closed.clone(), closed.clone());
    let handle = rt.handle();
    Builder::new()
        .name("worker-a")
        .handle(&handle)
        .spawn_on(0, async move {
            let _r1 = a1.lock().await;
            // Both hold their first lock before either asks for its second.
            weft::spawn_blocking(move || a_ready.wait()).await.unwrap();
            *a_closed.lock().unwrap() = Some(Instant::now());
            let _r2 = a2.lock().await;
        });
    Builder::new()
        .name("worker-b")
        .handle(&handle)
        .spawn_on(1, async move {
            let _r2 = b2.lock().await;
            weft::spawn_blocking(move || b_ready.wait()).await.unwrap();
            *b_closed.lock().unwrap() = Some(Instant::now());
            let _r1 = b1.lock().await;
        });
    both_hold.wait();

    match rx.recv_timeout(REPORT_DEADLINE) {
        Ok((at, report)) => {
            println!("{report}");
            if let Some(closed) = *closed.lock().unwrap() {
                println!(
                    "(reported {:.1?} after the cycle closed)",
                    at.saturating_duration_since(closed)
                );
            }
            // The two tasks are stuck for good: leave without waiting for them.
            std::process::exit(0);
        }
        Err(_) => {
            eprintln!("no deadlock report within {REPORT_DEADLINE:?}");
            std::process::exit(1);
        }
    }
}
