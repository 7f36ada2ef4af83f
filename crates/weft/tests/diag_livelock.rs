//! Two polite tasks that each hold their own mutex, `try_lock` the other's, yield and retry
//! forever make no progress: both are reported as possible livelocks.

use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{mpsc, Arc, Mutex as StdMutex};
use std::time::Duration;

use weft::diag::{Config, Report, ReportKind};
use weft::rt::Runtime;
use weft::sync::Mutex;

/// Longest the test waits for a report: only a broken detector makes it fail.
const REPORT_DEADLINE: Duration = Duration::from_secs(20);

/// Self-wakes in a row that count as a livelock here: low, so the test is quick.
const WAKES: u32 = 1_000;

async fn polite(mine: Arc<Mutex<u32>>, theirs: Arc<Mutex<u32>>, holding: Arc<AtomicUsize>) {
    let _held = mine.lock().await;
    // Both hold their own lock before either tries the other's.
    holding.fetch_add(1, SeqCst);
    while holding.load(SeqCst) < 2 {
        weft::yield_now().await;
    }
    loop {
        if let Ok(mut other) = theirs.try_lock() {
            *other += 1;
            return;
        }
        weft::yield_now().await;
    }
}

#[test]
fn two_polite_tasks_are_reported() {
    let (tx, rx) = mpsc::channel::<Report>();
    let tx = StdMutex::new(tx);
    weft::diag::set_handler(move |r: &Report| {
        if r.kind() == ReportKind::Livelock {
            let _ = tx.lock().unwrap().send(r.clone());
        }
    });
    let rt = Runtime::builder()
        .loops(1)
        .diagnostics(Config::default().livelock(WAKES))
        .build()
        .unwrap();
    let a = Arc::new(Mutex::new(0));
    let b = Arc::new(Mutex::new(0));
    let holding = Arc::new(AtomicUsize::new(0));
    let line_a = line!() + 1;
    let first = rt.spawn_on(0, polite(a.clone(), b.clone(), holding.clone()));
    let line_b = line!() + 1;
    let second = rt.spawn_on(0, polite(b, a, holding));

    let mut sites = Vec::new();
    while sites.len() < 2 {
        let report = rx
            .recv_timeout(REPORT_DEADLINE)
            .expect("livelock not reported");
        let text = report.to_string();
        println!("{text}");
        assert_eq!(report.tasks().len(), 1, "{text}");
        assert!(text.contains("woken itself"), "{text}");
        for line in [line_a, line_b] {
            if text.contains(&format!("diag_livelock.rs:{line}:")) && !sites.contains(&line) {
                sites.push(line);
            }
        }
    }
    first.abort();
    second.abort();
}
