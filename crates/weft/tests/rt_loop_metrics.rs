//! `Handle::metrics().loops`: the per-loop counters follow what the loops do. Tasks parked on
//! one loop show in its task count (not the other's), polls grow, an idle loop's busy ratio
//! stays below one and a loop kept spinning reports busy time.

use std::time::{Duration, Instant};

use weft::rt::Runtime;
use weft_testkit::wait_until;

#[test]
fn loop_metrics_follow_tasks_polls_and_busy_time() {
    let rt = Runtime::builder().loops(2).build().unwrap();
    let handle = rt.handle();
    let loops = handle.metrics().loops;
    assert_eq!(loops.len(), 2);
    assert_eq!(loops[0].index, Some(0));
    assert_eq!(loops[1].index, Some(1));

    // Ten tasks parked on loop 1 (each waits for its oneshot).
    let mut senders = Vec::new();
    for _ in 0..10 {
        let (tx, rx) = weft::sync::oneshot::channel::<()>();
        senders.push(tx);
        rt.spawn_on(1, async move {
            let _ = rx.await;
        })
        .detach();
    }
    wait_until("loop 1 counts its 10 parked tasks", || {
        handle.metrics().loops[1].tasks >= 10
    });
    assert!(handle.metrics().loops[0].tasks < 10);
    let before = handle.metrics().loops[1].clone();
    assert!(before.polls >= 10, "{before:?}");
    drop(senders);
    wait_until("loop 1's tasks finished", || {
        let now = handle.metrics().loops[1].clone();
        now.tasks == 0 && now.polls >= before.polls + 10
    });

    // Loop 0 spins for 50 ms: busy time of at least that much shows up.
    let idle0 = handle.metrics().loops[0].clone();
    rt.spawn_on(0, async {
        let start = Instant::now();
        while start.elapsed() < Duration::from_millis(50) {
            std::hint::spin_loop();
        }
    })
    .detach();
    // Busy time grows while the task spins; its poll is counted at the next maintenance.
    wait_until("loop 0's spin counted as busy, its poll counted", || {
        let now = handle.metrics().loops[0].clone();
        now.busy >= idle0.busy + Duration::from_millis(50) && now.polls > idle0.polls
    });
    let now = handle.metrics().loops[0].clone();
    assert!(now.busy <= now.uptime);
    let ratio = now.busy_ratio_since(&idle0);
    assert!(ratio > 0.0 && ratio <= 1.0, "{ratio}");
    assert!(now.mean_poll_time() > Duration::ZERO);
    // Loop 1 sleeps in epoll most of its life.
    assert!(handle.metrics().loops[1].busy_ratio() < 1.0);
}
