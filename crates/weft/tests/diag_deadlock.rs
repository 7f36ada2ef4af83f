//! Deadlocks are found as they close: the seeds' deadlock (A holds R1 and wants R2, B holds R2
//! and wants R1) between every pair of actor kinds, a three-party cycle, and a cycle among two
//! tasks while a thousand others serve TCP clients.

mod diag_support;

use diag_support::*;
use std::io::{Read, Write};
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::time::Duration;
use weft::diag::{Config, ReportKind};

fn config() -> Config {
    Config::default().deadlocks(true)
}

/// Checks the report: a deadlock, two members named by id, the text of a thread dump.
#[track_caller]
fn check_two_member_report(seeds: &Seeds) {
    let (at, report) = expect_report(ReportKind::Deadlock, &[&seeds.sites[0]]);
    let tasks = report.tasks();
    assert_eq!(tasks.len(), 2, "{report}");
    let text = report.to_string();
    assert!(text.contains("waiting on Mutex created at"), "{text}");
    assert!(text.contains("which is held by"), "{text}");
    assert!(text.contains("Cycle:"), "{text}");
    if let Some(closed) = *seeds.closed_at.lock().unwrap() {
        // The figure goes to the report of this work, not into an assertion.
        eprintln!(
            "detection latency (cycle closing to report): {:?}",
            at.saturating_duration_since(closed)
        );
    }
    eprintln!("{report}");
}

#[test]
fn two_tasks_on_one_loop() {
    let rt = runtime(1, config());
    let seeds = Seeds::new();
    rt.spawn_on(0, seeds.clone().a_task());
    rt.spawn_on(0, seeds.clone().b_task());
    check_two_member_report(&seeds);
    let report = find(ReportKind::Deadlock, &[&seeds.sites[0]]).unwrap().1;
    assert!(
        report.tasks().iter().all(|t| t.starts_with("task ")),
        "{report}"
    );
    drop(rt);
}

#[test]
fn two_tasks_on_two_loops() {
    let rt = runtime(2, config());
    let seeds = Seeds::new();
    rt.spawn_on(0, seeds.clone().a_task());
    rt.spawn_on(1, seeds.clone().b_task());
    check_two_member_report(&seeds);
    drop(rt);
}

#[test]
fn two_green_threads() {
    let rt = runtime(2, config());
    let seeds = Seeds::new();
    let (a, b) = (seeds.clone(), seeds.clone());
    rt.spawn_on(0, async move {
        weft::green::spawn(move || a.a_blocking()).await
    });
    rt.spawn_on(1, async move {
        weft::green::spawn(move || b.b_blocking()).await
    });
    check_two_member_report(&seeds);
    let report = find(ReportKind::Deadlock, &[&seeds.sites[0]]).unwrap().1;
    assert!(
        report
            .tasks()
            .iter()
            .all(|t| t.starts_with("green thread ")),
        "{report}"
    );
    drop(rt);
}

#[test]
fn a_task_and_a_green_thread() {
    let rt = runtime(1, config());
    let seeds = Seeds::new();
    let b = seeds.clone();
    rt.spawn_on(0, seeds.clone().a_task());
    rt.spawn_on(0, async move {
        weft::green::spawn(move || b.b_blocking()).await
    });
    check_two_member_report(&seeds);
    drop(rt);
}

#[test]
fn a_pool_job_and_a_task() {
    let rt = runtime(1, config());
    let seeds = Seeds::new();
    let a = seeds.clone();
    rt.spawn_on(0, async move {
        weft::spawn_blocking(move || a.a_blocking()).await
    });
    rt.spawn_on(0, seeds.clone().b_task());
    check_two_member_report(&seeds);
    let report = find(ReportKind::Deadlock, &[&seeds.sites[0]]).unwrap().1;
    assert!(report.to_string().contains("(thread "), "{report}");
    drop(rt);
}

#[test]
fn two_os_threads() {
    let _rt = runtime(0, config());
    let seeds = Seeds::new();
    let (a, b) = (seeds.clone(), seeds.clone());
    std::thread::spawn(move || a.a_blocking());
    std::thread::spawn(move || b.b_blocking());
    check_two_member_report(&seeds);
}

/// A holds a mutex and wants a semaphore's only permit; B holds that permit and wants C's
/// lock; C holds its lock and wants the mutex. (No bounded channel exists in this branch.)
#[test]
fn three_party_cycle_through_a_mutex_a_semaphore_and_a_lock() {
    let rt = runtime(2, config());
    let (m, m_site) = mutex();
    let (c_lock, _) = mutex();
    let sem = Arc::new(weft::sync::Semaphore::new(1));
    let ready = Arc::new(AtomicUsize::new(0));
    let everyone_holds = {
        let ready = ready.clone();
        move || {
            let ready = ready.clone();
            async move {
                ready.fetch_add(1, SeqCst);
                while ready.load(SeqCst) < 3 {
                    weft::time::sleep(Duration::from_millis(1)).await;
                }
            }
        }
    };
    {
        let (m, sem, go) = (m.clone(), sem.clone(), everyone_holds.clone());
        rt.spawn_on(0, async move {
            let _g = m.lock().await;
            go().await;
            let _p = sem.acquire().await.unwrap();
        });
    }
    {
        let (c_lock, sem, go) = (c_lock.clone(), sem.clone(), everyone_holds.clone());
        rt.spawn_on(1, async move {
            let _p = sem.acquire().await.unwrap();
            go().await;
            let _g = c_lock.lock().await;
        });
    }
    {
        let (c_lock, m, go) = (c_lock.clone(), m.clone(), everyone_holds.clone());
        rt.spawn_on(0, async move {
            let _g = c_lock.lock().await;
            go().await;
            let _g2 = m.lock().await;
        });
    }
    let (_, report) = expect_report(ReportKind::Deadlock, &[&m_site, "Semaphore"]);
    assert_eq!(report.tasks().len(), 3, "{report}");
    drop(rt);
}

#[test]
fn two_tasks_each_awaiting_the_others_join_handle() {
    let rt = runtime(2, config());
    let slot: Arc<std::sync::Mutex<Option<weft::JoinHandle<()>>>> = Arc::default();
    let a = {
        let slot = slot.clone();
        rt.spawn_on(0, async move {
            let b = loop {
                if let Some(b) = slot.lock().unwrap().take() {
                    break b;
                }
                weft::time::sleep(Duration::from_millis(1)).await;
            };
            let _ = b.await;
        })
    };
    let b = rt.spawn_on(1, async move {
        let _ = a.await;
    });
    *slot.lock().unwrap() = Some(b);
    let (_, report) = expect_report(ReportKind::Deadlock, &["JoinHandle await"]);
    assert_eq!(report.tasks().len(), 2, "{report}");
    assert!(report.to_string().contains(file!()), "{report}");
    eprintln!("{report}");
    drop(rt);
}

/// A's second wait is joined with a timer: conditional while the timer runs, stuck after it
/// fired (A parks no more, so the detector's periodic sweep finds it).
#[test]
fn a_wait_that_becomes_unconditional_later_is_found_by_the_sweep() {
    let rt = runtime(2, config());
    let (r1, site1) = mutex();
    let (r2, _) = mutex();
    let b_holds = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let a_holds = Arc::new(std::sync::atomic::AtomicBool::new(false));
    {
        let (r1, r2, a_holds, b_holds) = (r1.clone(), r2.clone(), a_holds.clone(), b_holds.clone());
        rt.spawn_on(0, async move {
            let _g1 = r1.lock().await;
            a_holds.store(true, SeqCst);
            while !b_holds.load(SeqCst) {
                weft::time::sleep(Duration::from_millis(1)).await;
            }
            let both =
                futures_util::future::join(r2.lock(), weft::time::sleep(Duration::from_millis(50)));
            let _ = both.await;
        });
    }
    rt.spawn_on(1, async move {
        let _g2 = r2.lock().await;
        b_holds.store(true, SeqCst);
        while !a_holds.load(SeqCst) {
            weft::time::sleep(Duration::from_millis(1)).await;
        }
        let _g1 = r1.lock().await;
    });
    let (_, report) = expect_report(ReportKind::Deadlock, &[&site1]);
    assert_eq!(report.tasks().len(), 2, "{report}");
    drop(rt);
}

/// Number of client connections served while two other tasks deadlock.
const CLIENTS: usize = 1_000;

#[test]
fn two_stuck_tasks_among_a_thousand_serving_clients() {
    let rt = runtime(2, config());
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let served = Arc::new(AtomicUsize::new(0));
    {
        let served = served.clone();
        rt.spawn_on(0, async move {
            let listener = weft::net::TcpListener::bind(addr).unwrap();
            loop {
                let (conn, _) = listener.accept().await.unwrap();
                let served = served.clone();
                weft::spawn(async move {
                    let mut buf = [0u8; 4];
                    loop {
                        match conn.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => {
                                conn.write_all(&buf[..n]).await.unwrap();
                                served.fetch_add(1, SeqCst);
                            }
                        }
                    }
                });
            }
        });
    }
    // A thousand clients connect and each gets one answer before the deadlock.
    let mut clients = Vec::with_capacity(CLIENTS);
    for _ in 0..CLIENTS {
        let mut c = connect(addr);
        c.write_all(b"ping").unwrap();
        clients.push(c);
    }
    for c in &mut clients {
        let mut buf = [0u8; 4];
        c.read_exact(&mut buf).unwrap();
    }
    let seeds = Seeds::new();
    rt.spawn_on(0, seeds.clone().a_task());
    rt.spawn_on(1, seeds.clone().b_task());
    let (_, report) = expect_report(ReportKind::Deadlock, &[&seeds.sites[0]]);
    assert_eq!(report.tasks().len(), 2, "{report}");
    // The others keep serving.
    let before = served.load(SeqCst);
    for c in &mut clients {
        c.write_all(b"pong").unwrap();
        let mut buf = [0u8; 4];
        c.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"pong");
    }
    wait_until("every client served after the deadlock", || {
        served.load(SeqCst) == before + CLIENTS
    });
    drop(rt);
}

fn connect(addr: std::net::SocketAddr) -> std::net::TcpStream {
    let c = std::net::TcpStream::connect(addr).unwrap_or_else(|_| {
        // The listener task may not have bound yet.
        wait_until("the listener", || {
            std::net::TcpStream::connect(addr).is_ok()
        });
        std::net::TcpStream::connect(addr).unwrap()
    });
    c.set_read_timeout(Some(REPORT_DEADLINE)).unwrap();
    c
}
