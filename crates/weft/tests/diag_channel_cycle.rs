//! Channels in the wait-for graph: a bounded send waits on the receiver, a receive waits on
//! every live sender. A three-party cycle through a mutex, a semaphore and a bounded channel,
//! and a receive whose only sender is held by a task parked on a lock the receiver holds, are
//! deadlocks; a receive while a sender can still run is not.
//!
//! The channel ends are created on the test's thread and moved into the tasks, as real code
//! does: the ends' holds follow the actor that uses them (a send, a receive, a wait), not the
//! one that created them.

mod diag_support;

use diag_support::*;
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::Arc;
use std::time::Duration;
use weft::diag::{Config, ReportKind};
use weft::sync::{mpsc, Mutex, Semaphore};
use weft::task::Builder;

fn config() -> Config {
    Config::default().deadlocks(true)
}

/// Waits in a task until `flag` is set.
async fn until(flag: &AtomicBool) {
    while !flag.load(SeqCst) {
        weft::time::sleep(Duration::from_millis(1)).await;
    }
}

/// True if `got` is `want` turned (the same cycle read from another member).
fn is_rotation(got: &[String], want: &[&str]) -> bool {
    got.len() == want.len()
        && (0..want.len()).any(|k| (0..want.len()).all(|i| got[i] == want[(i + k) % want.len()]))
}

#[test]
fn three_party_cycle_through_a_mutex_a_semaphore_and_a_bounded_channel() {
    let rt = runtime(2, config());
    let h = rt.handle();
    let m = Arc::new(Mutex::new(0u32));
    let m_site = format!("{}:{}:", file!(), line!() - 1);
    let s = Arc::new(Semaphore::new(1));
    let s_site = format!("{}:{}:", file!(), line!() - 1);
    let (tx, mut rx) = mpsc::channel::<u32>(1);
    let ch_site = format!("{}:{}:", file!(), line!() - 1);
    let a_holds = Arc::new(AtomicBool::new(false));
    let b_holds = Arc::new(AtomicBool::new(false));
    let c_received = Arc::new(AtomicBool::new(false));

    // A holds M and waits to send on the full channel, which only C's receiving frees.
    let (m_a, a_flag, c_flag) = (m.clone(), a_holds.clone(), c_received.clone());
    Builder::new().name("A").handle(&h).spawn_on(0, async move {
        let _m = m_a.lock().await;
        tx.send(1).await.unwrap();
        a_flag.store(true, SeqCst);
        until(&c_flag).await;
        tx.send(2).await.unwrap(); // fills the one slot
        tx.send(3).await.unwrap(); // waits on C
    });
    // C received once, then waits on S, which B holds.
    let (s_c, b_flag, c_flag) = (s.clone(), b_holds.clone(), c_received.clone());
    Builder::new().name("C").handle(&h).spawn_on(1, async move {
        assert_eq!(rx.recv().await, Some(1));
        c_flag.store(true, SeqCst);
        until(&b_flag).await;
        let _p = s_c.acquire().await.unwrap();
        rx.recv().await
    });
    // B holds S and waits on M, which A holds.
    let (m_b, s_b, a_flag, b_flag, c_flag) = (
        m.clone(),
        s.clone(),
        a_holds.clone(),
        b_holds.clone(),
        c_received.clone(),
    );
    Builder::new().name("B").handle(&h).spawn_on(0, async move {
        let _p = s_b.acquire().await.unwrap();
        b_flag.store(true, SeqCst);
        until(&a_flag).await;
        until(&c_flag).await;
        let _m = m_b.lock().await;
    });

    let (_, report) = expect_report(ReportKind::Deadlock, &[&m_site, &s_site, &ch_site]);
    let tasks = report.tasks();
    assert!(is_rotation(&tasks, &["A", "C", "B"]), "{tasks:?}\n{report}");
    let text = report.to_string();
    assert!(text.contains("waiting on MpscSend"), "{text}");
    assert!(text.contains("waiting on Semaphore"), "{text}");
    assert!(text.contains("waiting on Mutex"), "{text}");
    eprintln!("{report}");
    drop(rt);
}

#[test]
fn a_receive_whose_only_sender_waits_on_the_receivers_lock() {
    let rt = runtime(2, config());
    let h = rt.handle();
    let lock = Arc::new(Mutex::new(0u32));
    let lock_site = format!("{}:{}:", file!(), line!() - 1);
    let (tx, mut rx) = mpsc::channel::<u32>(4);
    let ch_site = format!("{}:{}:", file!(), line!() - 1);
    let r_holds = Arc::new(AtomicBool::new(false));

    // The producer sends one value, then needs the lock to make the next.
    let (l, r_flag) = (lock.clone(), r_holds.clone());
    Builder::new()
        .name("producer")
        .handle(&h)
        .spawn_on(0, async move {
            tx.send(1).await.unwrap();
            until(&r_flag).await;
            let g = l.lock().await;
            tx.send(*g).await.unwrap();
        });
    // The consumer takes the lock, then waits for values the producer cannot make.
    let (l, r_flag) = (lock.clone(), r_holds.clone());
    Builder::new()
        .name("consumer")
        .handle(&h)
        .spawn_on(1, async move {
            let _g = l.lock().await;
            assert_eq!(rx.recv().await, Some(1));
            r_flag.store(true, SeqCst);
            rx.recv().await
        });

    let (_, report) = expect_report(ReportKind::Deadlock, &[&lock_site, &ch_site]);
    let tasks = report.tasks();
    assert!(
        is_rotation(&tasks, &["consumer", "producer"]),
        "{tasks:?}\n{report}"
    );
    assert!(
        report.to_string().contains("waiting on MpscRecv"),
        "{report}"
    );
    drop(rt);
}

#[test]
fn a_receive_while_a_sender_can_still_run_is_not_a_deadlock() {
    let rt = runtime(2, config());
    let h = rt.handle();
    let (tx, mut rx) = mpsc::channel::<u32>(4);
    let ch_site = format!("{}:{}:", file!(), line!() - 1);
    // The sender waits on a lock held by a task that sleeps, then releases it: the receiver
    // waits on the sender, the sender on the sleeper, and the sleeper can run.
    let lock = Arc::new(Mutex::new(7u32));
    let lock_site = format!("{}:{}:", file!(), line!() - 1);
    let held = Arc::new(AtomicBool::new(false));
    let (l, held_flag) = (lock.clone(), held.clone());
    Builder::new()
        .name("sleeper")
        .handle(&h)
        .spawn_on(0, async move {
            let _g = l.lock().await;
            held_flag.store(true, SeqCst);
            weft::time::sleep(QUIET_PERIOD + Duration::from_millis(300)).await;
        });
    let (l, held_flag) = (lock.clone(), held.clone());
    Builder::new()
        .name("sender")
        .handle(&h)
        .spawn_on(1, async move {
            tx.send(1).await.unwrap();
            until(&held_flag).await;
            let v = *l.lock().await;
            tx.send(v).await.unwrap();
        });
    let got = Arc::new(std::sync::Mutex::new(Vec::new()));
    let got2 = got.clone();
    Builder::new()
        .name("receiver")
        .handle(&h)
        .spawn_on(0, async move {
            while let Some(v) = rx.recv().await {
                got2.lock().unwrap().push(v);
            }
        });
    expect_no_report(&[&ch_site, &lock_site]);
    wait_until("the receiver to get both values", || {
        *got.lock().unwrap() == [1, 7]
    });
    assert!(find(ReportKind::Deadlock, &[&ch_site]).is_none());
    drop(rt);
}
