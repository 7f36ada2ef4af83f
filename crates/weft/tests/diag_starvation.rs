//! Starvation hints: an actor that keeps trying to take a lock while others take it again and
//! again is reported; FIFO contention, however long the queue, is not.
//!
//! weft's locks are FIFO with no barging, so the starving actors here are the two that can be
//! overtaken forever: a `try_lock` retry loop (the lock goes from holder to queued waiter
//! directly, so while someone is queued every `try_lock` fails), and a `timeout(short,
//! lock())` retry loop (each timeout gives up its place and queues again at the back).

mod diag_support;

use diag_support::*;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::time::Duration;
use weft::diag::{Config, ReportKind};
use weft::sync::{Mutex, Semaphore};
use weft::task::Builder;

/// The thresholds every test of this file runs with (the configuration is process-wide): a
/// run of attempts longer than 100 ms that saw more than 20 grants to others.
fn config() -> Config {
    Config::default().starvation(Duration::from_millis(100), 20)
}

/// Lockers that take `m` with `lock().await` in turn, each holding it for `hold`, until `stop`:
/// with three of them at least one is always queued, so the lock is never free.
fn lockers(rt: &weft::rt::Runtime, m: &Arc<Mutex<u32>>, hold: Duration, stop: &Arc<AtomicBool>) {
    for i in 0..3 {
        let (m, stop) = (m.clone(), stop.clone());
        let name = format!("locker-{i}");
        Builder::new()
            .name(&name)
            .handle(&rt.handle())
            .spawn_on(i % 2, async move {
                while !stop.load(SeqCst) {
                    let mut g = m.lock().await;
                    *g += 1;
                    weft::time::sleep(hold).await;
                    drop(g);
                }
            });
    }
}

#[test]
fn a_try_lock_loop_overtaken_by_queued_lockers_is_reported() {
    let rt = runtime(2, config());
    let (m, site) = mutex();
    let stop = Arc::new(AtomicBool::new(false));
    lockers(&rt, &m, Duration::from_millis(2), &stop);
    let got = Arc::new(AtomicBool::new(false));
    let (m2, got2, stop2) = (m.clone(), got.clone(), stop.clone());
    let try_line = line!() + 6; // the `try_lock` line below
    Builder::new()
        .name("prober")
        .handle(&rt.handle())
        .spawn_on(1, async move {
            while !stop2.load(SeqCst) {
                if m2.try_lock().is_ok() {
                    got2.store(true, SeqCst);
                    return;
                }
                weft::time::sleep(Duration::from_millis(1)).await;
            }
        });
    let (_, report) = expect_report(ReportKind::Starvation, &["\"prober\"", &site]);
    stop.store(true, SeqCst);
    assert_eq!(report.tasks(), vec!["prober".to_string()], "{report}");
    let text = report.to_string();
    // The attempts' site is the test's own `try_lock` line (`#[track_caller]`).
    assert!(
        text.contains(&format!("a failed try at {}:{try_line}:", file!())),
        "{text}"
    );
    assert!(text.contains("others took it"), "{text}");
    // The report is about a real starvation: the prober never got the lock meanwhile.
    assert!(
        !got.load(SeqCst),
        "the prober got the lock, yet was reported:\n{text}"
    );
    eprintln!("{report}");
    drop(rt);
}

#[test]
fn a_wait_that_keeps_timing_out_and_requeueing_is_reported() {
    let rt = runtime(2, config());
    let (m, site) = mutex();
    let stop = Arc::new(AtomicBool::new(false));
    // Each locker holds 20 ms and at least one is queued ahead of any newcomer, so a 5 ms
    // timeout always runs out before the newcomer's turn.
    lockers(&rt, &m, Duration::from_millis(20), &stop);
    let (m2, stop2) = (m.clone(), stop.clone());
    Builder::new()
        .name("impatient")
        .handle(&rt.handle())
        .spawn_on(0, async move {
            while !stop2.load(SeqCst) {
                let lock = m2.lock();
                if weft::time::timeout(Duration::from_millis(5), lock)
                    .await
                    .is_ok()
                {
                    return;
                }
            }
        });
    let (_, report) = expect_report(ReportKind::Starvation, &["\"impatient\"", &site]);
    stop.store(true, SeqCst);
    assert_eq!(report.tasks(), vec!["impatient".to_string()], "{report}");
    assert!(
        report.to_string().contains("a wait that gave up its place"),
        "{report}"
    );
    drop(rt);
}

#[test]
fn fifo_contention_is_not_starvation() {
    let rt = runtime(2, config());
    // 24 tasks take one mutex in turn, each holding it 6 ms: every wait lasts about 140 ms and
    // sees 23 grants to others, past both thresholds (100 ms, 20) were they counted per wait;
    // but each waiter stays queued and is served in turn.
    let (m, site) = mutex();
    let done = Arc::new(AtomicUsize::new(0));
    for i in 0..24 {
        let (m, done) = (m.clone(), done.clone());
        rt.spawn_on(i % 2, async move {
            for round in 0..6 {
                if round % 3 == 0 {
                    // A failed try followed by a queued wait is one run that ends in the lock.
                    if let Ok(g) = m.try_lock() {
                        drop(g);
                    }
                }
                let g = m.lock().await;
                weft::time::sleep(Duration::from_millis(6)).await;
                drop(g);
            }
            done.fetch_add(1, SeqCst);
        });
    }
    // A semaphore request for all five permits behind a stream of single-permit requests is
    // served in turn too (FIFO: it keeps its place while collecting permits).
    let sem = Arc::new(Semaphore::new(5));
    let sem_site = format!("{}:{}:", file!(), line!() - 1);
    let big_done = Arc::new(AtomicBool::new(false));
    let small_stop = Arc::new(AtomicBool::new(false));
    for i in 0..4 {
        let (sem, stop) = (sem.clone(), small_stop.clone());
        rt.spawn_on(i % 2, async move {
            while !stop.load(SeqCst) {
                let _p = sem.acquire().await.unwrap();
                weft::time::sleep(Duration::from_millis(3)).await;
            }
        });
    }
    let (sem2, big2) = (sem.clone(), big_done.clone());
    rt.spawn_on(0, async move {
        for _ in 0..10 {
            let _all = sem2.acquire_many(5).await.unwrap();
            weft::time::sleep(Duration::from_millis(1)).await;
        }
        big2.store(true, SeqCst);
    });
    wait_until("the FIFO lockers to finish", || done.load(SeqCst) == 24);
    wait_until("acquire_many(5) to be served ten times", || {
        big_done.load(SeqCst)
    });
    small_stop.store(true, SeqCst);
    expect_no_report(&[&site, &sem_site]);
    assert!(
        find(ReportKind::Starvation, &[&site]).is_none()
            && find(ReportKind::Starvation, &[&sem_site]).is_none()
    );
    drop(rt);
}
