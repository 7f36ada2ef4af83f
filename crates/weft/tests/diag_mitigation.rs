//! While a loop is stalled, tasks spawned without a fixed loop that wait in its inbox start on
//! a healthy loop instead.

use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use weft::diag::{Config, Report, ReportKind};
use weft::rt::{Handle, Runtime};

/// Longest any wait may take: only a missing mitigation makes the test fail.
const GUARD: Duration = Duration::from_secs(20);

/// Tasks spawned round-robin while loop 0 is stuck: half of them are queued on loop 0.
const SPAWNED: usize = 8;

fn burn_until(release: &AtomicBool) {
    let start = Instant::now();
    while !release.load(SeqCst) && start.elapsed() < GUARD {
        std::hint::black_box((0..10_000u64).sum::<u64>());
    }
}

#[test]
fn tasks_queued_on_a_stalled_loop_start_elsewhere() {
    let (tx, rx) = mpsc::channel::<Report>();
    let tx = Mutex::new(tx);
    weft::diag::set_handler(move |r: &Report| {
        if r.kind() == ReportKind::Stall {
            let _ = tx.lock().unwrap().send(r.clone());
        }
    });
    let rt = Runtime::builder()
        .loops(2)
        .diagnostics(Config::default().watchdog(Duration::from_millis(50)))
        .build()
        .unwrap();
    let release = Arc::new(AtomicBool::new(false));
    let r = release.clone();
    let stuck = rt.spawn_on(0, async move { burn_until(&r) });
    let stall = rx.recv_timeout(GUARD).expect("no stall report");
    assert!(stall.to_string().contains("loop 0"), "{stall}");

    let (ran_tx, ran_rx) = mpsc::channel::<Option<usize>>();
    let handles: Vec<_> = (0..SPAWNED)
        .map(|_| {
            let ran_tx = ran_tx.clone();
            rt.spawn(async move {
                let _ = ran_tx.send(Handle::current().current_loop());
            })
        })
        .collect();
    for i in 0..SPAWNED {
        let ran_on = ran_rx
            .recv_timeout(GUARD)
            .unwrap_or_else(|_| panic!("task {i} never ran while loop 0 was stuck"));
        assert_eq!(ran_on, Some(1), "a task ran on the stuck loop");
    }
    assert!(
        !stuck.is_finished(),
        "the stall ended too early to prove anything"
    );
    release.store(true, SeqCst);
    rt.block_on(async {
        stuck.await.unwrap();
        for h in handles {
            h.await.unwrap();
        }
    });
    let end = rx.recv_timeout(GUARD).expect("no end-of-stall report");
    assert!(end.to_string().contains("started on other loops"), "{end}");
}
