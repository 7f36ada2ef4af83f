//! A parked task whose last waker is dropped can never run again: it is reported as a lost
//! wake-up, from its reference count. A task parked on a timer is not.

use std::future::poll_fn;
use std::sync::{mpsc, Arc, Mutex};
use std::task::{Poll, Waker};
use std::time::{Duration, Instant};

use weft::diag::{Config, Report, ReportKind};
use weft::rt::Runtime;

/// Longest the test waits for a condition: only a broken detector makes it fail.
const DEADLINE: Duration = Duration::from_secs(20);

#[test]
fn dropping_the_last_waker_of_a_parked_task_is_reported() {
    let (tx, rx) = mpsc::channel::<Report>();
    let tx = Mutex::new(tx);
    weft::diag::set_handler(move |r: &Report| {
        if r.kind() == ReportKind::LostWake {
            let _ = tx.lock().unwrap().send(r.clone());
        }
    });
    let rt = Runtime::builder()
        .loops(1)
        .diagnostics(Config::default().livelock(1_000_000))
        .build()
        .unwrap();
    let sleeper_line = line!() + 1;
    let sleeper = rt.spawn_on(0, weft::time::sleep(Duration::from_secs(60)));
    let slot: Arc<Mutex<Option<Waker>>> = Arc::new(Mutex::new(None));
    let stored = slot.clone();
    let lost_line = line!() + 1;
    let lost = rt.spawn_on(0, async move {
        poll_fn(|cx| {
            *stored.lock().unwrap() = Some(cx.waker().clone());
            Poll::<()>::Pending
        })
        .await
    });
    let deadline = Instant::now() + DEADLINE;
    let waker = loop {
        if let Some(waker) = slot.lock().unwrap().take() {
            break waker;
        }
        assert!(Instant::now() < deadline, "the task never parked");
        std::thread::sleep(Duration::from_millis(5));
    };
    // Nothing was reported while a waker existed.
    assert!(rx.try_recv().is_err());
    drop(waker);

    let report = rx.recv_timeout(DEADLINE).expect("no lost wake-up report");
    let text = report.to_string();
    println!("{text}");
    assert!(
        text.contains(&format!("diag_lost_wake.rs:{lost_line}:")),
        "{text}"
    );
    assert!(
        !text.contains(&format!("diag_lost_wake.rs:{sleeper_line}:")),
        "{text}"
    );
    assert!(text.contains("lost wake-up"), "{text}");
    assert_eq!(report.tasks().len(), 1);
    // And only that one.
    assert!(rx.recv_timeout(Duration::from_millis(500)).is_err());
    lost.abort();
    sleeper.abort();
}
