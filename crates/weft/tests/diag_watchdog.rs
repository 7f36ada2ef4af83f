//! The loop watchdog reports a busy loop while it is still busy: which loop, which task (its
//! spawn site), for how long, and a backtrace of the loop thread naming the busy function;
//! then a second report when the poll returns.

use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use weft::diag::{Config, Report, ReportKind};
use weft::rt::Runtime;

/// Longest the test waits for any report: far beyond the 100 ms threshold, so only a broken
/// watchdog makes it fail, never a slow machine.
const REPORT_DEADLINE: Duration = Duration::from_secs(20);

/// The busy loop the watchdog must catch: at least 500 ms of CPU on the loop thread, and then
/// on until the test has seen the report (bounded, so a broken watchdog cannot hang the test).
#[inline(never)]
fn burn_cpu_for_watchdog_test(release: &AtomicBool) -> u64 {
    let start = Instant::now();
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    while (start.elapsed() < Duration::from_millis(500) || !release.load(SeqCst))
        && start.elapsed() < REPORT_DEADLINE
    {
        for _ in 0..100_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
        }
        std::hint::black_box(x);
    }
    x
}

#[test]
fn a_busy_loop_is_reported_while_busy_with_its_task_and_backtrace() {
    let (tx, rx) = mpsc::channel::<Report>();
    let tx = Mutex::new(tx);
    weft::diag::set_handler(move |r: &Report| {
        if r.kind() == ReportKind::Stall {
            let _ = tx.lock().unwrap().send(r.clone());
        }
    });
    let rt = Runtime::builder()
        .loops(1)
        .diagnostics(Config::default().watchdog(Duration::from_millis(100)))
        .build()
        .unwrap();
    let release = Arc::new(AtomicBool::new(false));
    let finished = Arc::new(AtomicBool::new(false));
    let (r, f) = (release.clone(), finished.clone());
    let spawn_line = line!() + 1;
    let task = rt.spawn_on(0, async move {
        burn_cpu_for_watchdog_test(&r);
        f.store(true, SeqCst);
    });

    let report = rx.recv_timeout(REPORT_DEADLINE).expect("no stall report");
    assert!(
        !finished.load(SeqCst),
        "the report came after the busy poll ended"
    );
    let text = report.to_string();
    println!("{text}");
    assert!(text.contains("loop 0"), "{text}");
    assert!(text.contains("is stalled"), "{text}");
    assert!(
        text.contains(&format!("diag_watchdog.rs:{spawn_line}")),
        "the culprit's spawn site is missing: {text}"
    );
    assert!(
        text.contains("burn_cpu_for_watchdog_test"),
        "the backtrace does not name the busy function: {text}"
    );
    assert_eq!(report.tasks().len(), 1, "{:?}", report.tasks());
    assert!(
        report.tasks()[0].starts_with("task "),
        "{:?}",
        report.tasks()
    );

    release.store(true, SeqCst);
    let end = rx
        .recv_timeout(REPORT_DEADLINE)
        .expect("no end-of-stall report");
    let end_text = end.to_string();
    println!("{end_text}");
    assert!(end_text.contains("running again"), "{end_text}");
    assert_eq!(end.tasks(), report.tasks());
    rt.block_on(task).unwrap();
    assert!(finished.load(SeqCst));
}
