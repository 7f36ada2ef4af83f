//! Lock order: an inversion on two code paths that never overlap in time is reported (once,
//! with both chains); a consistent order is not; a guard held across `.await`s and dropped on
//! another thread ends its hold.

mod diag_support;

use diag_support::*;
use std::time::Duration;
use weft::diag::{Config, ReportKind};

fn config() -> Config {
    Config::default().lock_order(true)
}

#[test]
fn an_inversion_on_paths_that_never_overlap_is_reported_once() {
    let rt = runtime(2, config());
    let (a, a_site) = mutex();
    let (b, b_site) = mutex();
    // Path one, on loop 0: A then B, with an .await between the two acquisitions.
    {
        let (a, b) = (a.clone(), b.clone());
        rt.block_on(rt.spawn_on(0, async move {
            let _ga = a.lock().await;
            weft::time::sleep(Duration::from_millis(1)).await;
            let _gb = b.lock().await;
        }))
        .unwrap();
    }
    assert!(find(ReportKind::LockOrder, &[&a_site]).is_none());
    // Path two, later, on loop 1: B then A. It does not deadlock (path one is long done).
    for _ in 0..3 {
        let (a, b) = (a.clone(), b.clone());
        rt.block_on(rt.spawn_on(1, async move {
            let _gb = b.lock().await;
            let _ga = a.lock().await;
        }))
        .unwrap();
    }
    let (_, report) = expect_report(ReportKind::LockOrder, &[&a_site, &b_site]);
    let text = report.to_string();
    assert!(
        text.contains("Now:") && text.contains("Earlier, the opposite order:"),
        "{text}"
    );
    assert_eq!(report.tasks().len(), 2, "{report}");
    eprintln!("{report}");
    let count = lock_reports()
        .iter()
        .filter(|(_, r)| r.kind() == ReportKind::LockOrder && r.to_string().contains(&a_site))
        .count();
    assert_eq!(count, 1, "one report per pair of classes");
}

#[test]
fn a_consistent_order_is_not_reported() {
    let rt = runtime(2, config());
    let (a, a_site) = mutex();
    let (b, b_site) = mutex();
    let (c, c_site) = mutex();
    for i in 0..4 {
        let (a1, b1, c1) = (a.clone(), b.clone(), c.clone());
        rt.block_on(rt.spawn_on(i % 2, async move {
            let _ga = a1.lock().await;
            let _gb = b1.lock().await;
            weft::yield_now().await;
            let _gc = c1.lock().await;
        }))
        .unwrap();
        let (a, c) = (a.clone(), c.clone());
        rt.block_on(rt.spawn_on(i % 2, async move {
            let _ga = a.lock().await;
            let _gc = c.lock().await;
        }))
        .unwrap();
    }
    expect_no_report(&[&a_site, &b_site, &c_site]);
}

#[test]
fn a_guard_dropped_on_another_thread_ends_its_hold() {
    let rt = runtime(1, config());
    let (a, a_site) = mutex();
    let (b, b_site) = mutex();
    {
        let (a, b) = (a.clone(), b.clone());
        rt.block_on(rt.spawn_on(0, async move {
            // A is taken here, held across an .await, and released on a plain thread ...
            let ga = a.lock_owned().await;
            weft::time::sleep(Duration::from_millis(1)).await;
            std::thread::spawn(move || drop(ga)).join().unwrap();
            // ... so taking B now is not "B while holding A".
            let _gb = b.lock().await;
        }))
        .unwrap();
    }
    {
        let (a, b) = (a.clone(), b.clone());
        rt.block_on(rt.spawn_on(0, async move {
            let _gb = b.lock().await;
            let _ga = a.lock().await;
        }))
        .unwrap();
    }
    expect_no_report(&[&a_site, &b_site]);
}

/// The guard goes to a task on another loop thread, which drops it: that thread posts the
/// release, and the loop that took the lock sees it before its next acquisition, so B after
/// that is not "B while holding A" (and B then A later is no inversion).
#[test]
fn a_guard_dropped_on_another_loop_ends_its_hold() {
    let rt = runtime(2, config());
    let handle = rt.handle();
    let (a, a_site) = mutex();
    let (b, b_site) = mutex();
    {
        let (a, b) = (a.clone(), b.clone());
        rt.block_on(rt.spawn_on(0, async move {
            let ga = a.lock_owned().await;
            handle.spawn_on(1, async move { drop(ga) }).await.unwrap();
            let _gb = b.lock().await;
        }))
        .unwrap();
    }
    {
        let (a, b) = (a.clone(), b.clone());
        rt.block_on(rt.spawn_on(0, async move {
            let _gb = b.lock().await;
            let _ga = a.lock().await;
        }))
        .unwrap();
    }
    expect_no_report(&[&a_site, &b_site]);
}

/// More locks held at once than a thread keeps inline: the ones beyond are still ordered, and
/// still released.
#[test]
fn locks_held_beyond_the_inline_list_are_ordered_and_released() {
    let rt = runtime(1, config());
    // Twenty locks of one class (one creation site): held together, they order nothing
    // against each other, but push the locks below past the inline entries.
    let fillers: Vec<_> = (0..20).map(|_| mutex().0).collect();
    let (a, a_site) = mutex();
    let (b, b_site) = mutex();
    let (c, c_site) = mutex();
    let (d, d_site) = mutex();
    {
        let (fillers, a, b, c, d) = (fillers.clone(), a.clone(), b.clone(), c.clone(), d.clone());
        rt.block_on(rt.spawn_on(0, async move {
            let mut guards = Vec::new();
            for f in &fillers {
                guards.push(f.clone().lock_owned().await);
            }
            // A then B, both past the inline entries.
            let ga = a.lock().await;
            let _gb = b.lock().await;
            drop(ga);
            // C released before D is taken: no edge C -> D.
            drop(c.lock().await);
            let _gd = d.lock().await;
        }))
        .unwrap();
    }
    {
        let (a, b, c, d) = (a.clone(), b.clone(), c.clone(), d.clone());
        rt.block_on(rt.spawn_on(0, async move {
            {
                let _gd = d.lock().await;
                let _gc = c.lock().await;
            }
            let _gb = b.lock().await;
            let _ga = a.lock().await;
        }))
        .unwrap();
    }
    let (_, report) = expect_report(ReportKind::LockOrder, &[&a_site, &b_site]);
    assert!(!report.to_string().contains(&c_site), "{report}");
    expect_no_report(&[&c_site, &d_site]);
}
