//! No false positives: waits that can still end (a timeout, a `select` with a timer branch), a
//! resource held by a task that can still run, and long random lock traffic in one order are
//! not deadlocks (nor lock-order inversions).

mod diag_support;

use diag_support::*;
use futures_util::future::{self, Either};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::time::{Duration, Instant};
use weft::diag::Config;
use weft::sync::Mutex;

fn config() -> Config {
    Config::default().deadlocks(true).lock_order(true)
}

/// How long the guarded waits wait before giving up: long against the detector's few
/// milliseconds, so the cycle stands (and would be reported) for a good while.
const GIVE_UP_AFTER: Duration = Duration::from_millis(300);

/// Waits until both flags are set (each party holds its first lock).
async fn both(a: &AtomicBool, b: &AtomicBool) {
    while !(a.load(SeqCst) && b.load(SeqCst)) {
        weft::time::sleep(Duration::from_millis(1)).await;
    }
}

/// The seeds' cycle, where A's second wait is guarded by `guard` (a timeout or a select); B
/// waits unconditionally. A gives up and releases R1, so B finishes: no deadlock.
fn guarded_cycle<G>(guard: G)
where
    G: FnOnce(Arc<Mutex<u32>>) -> std::pin::Pin<Box<dyn std::future::Future<Output = bool> + Send>>
        + Send
        + 'static,
{
    let rt = runtime(2, config());
    let (r1, site1) = mutex();
    let (r2, site2) = mutex();
    let (a_holds, b_holds) = (
        Arc::new(AtomicBool::new(false)),
        Arc::new(AtomicBool::new(false)),
    );
    let a = {
        let (r1, r2, a_holds, b_holds) = (r1.clone(), r2.clone(), a_holds.clone(), b_holds.clone());
        rt.spawn_on(0, async move {
            let g1 = r1.lock().await;
            a_holds.store(true, SeqCst);
            both(&a_holds, &b_holds).await;
            let got = guard(r2).await;
            drop(g1);
            got
        })
    };
    let b = rt.spawn_on(1, async move {
        let _g2 = r2.lock().await;
        b_holds.store(true, SeqCst);
        both(&a_holds, &b_holds).await;
        let _g1 = r1.lock().await;
    });
    let got = rt.block_on(async move {
        b.await.unwrap();
        a.await.unwrap()
    });
    assert!(!got, "A's guarded wait should have given up");
    expect_no_report(&[&site1, &site2]);
}

#[test]
fn a_timeout_guarded_lock_is_not_a_deadlock() {
    guarded_cycle(|r2| {
        Box::pin(async move { weft::time::timeout(GIVE_UP_AFTER, r2.lock()).await.is_ok() })
    });
}

#[test]
fn a_select_with_a_timer_branch_is_not_a_deadlock() {
    guarded_cycle(|r2| {
        Box::pin(async move {
            let lock = Box::pin(r2.lock());
            let timer = Box::pin(weft::time::sleep(GIVE_UP_AFTER));
            matches!(future::select(lock, timer).await, Either::Left(_))
        })
    });
}

/// How long the long critical section holds its lock.
const CRITICAL_SECTION: Duration = Duration::from_millis(400);

#[test]
fn a_long_but_finite_critical_section_is_not_a_deadlock() {
    let rt = runtime(2, config());
    let (r, site) = mutex();
    let (r2, site2) = mutex();
    let holds = Arc::new(AtomicBool::new(false));
    // The holder waits on nothing of weft::sync (it sleeps), so it can run: its waiters are
    // not stuck, however long they wait; one waiter is itself a holder of r2 waited on by a
    // third task (a chain, not a cycle).
    let holder = {
        let (r, holds) = (r.clone(), holds.clone());
        rt.spawn_on(0, async move {
            let _g = r.lock().await;
            holds.store(true, SeqCst);
            weft::time::sleep(CRITICAL_SECTION).await;
        })
    };
    wait_until("the holder", || holds.load(SeqCst));
    let middle = {
        let (r, r2) = (r.clone(), r2.clone());
        rt.spawn_on(1, async move {
            let _g2 = r2.lock().await;
            let _g = r.lock().await;
        })
    };
    let last = rt.spawn_on(0, async move {
        weft::time::sleep(Duration::from_millis(20)).await;
        let _g2 = r2.lock().await;
    });
    rt.block_on(async move {
        holder.await.unwrap();
        middle.await.unwrap();
        last.await.unwrap();
    });
    expect_no_report(&[&site, &site2]);
}

/// How long the random traffic runs by default: the 60 s.
const TRAFFIC_SECS_DEFAULT: u64 = 60;

/// How long the random traffic runs: `WEFT_DIAG_SOAK_SECS` (whole seconds, at least 1) if
/// set, else [`TRAFFIC_SECS_DEFAULT`]. A bad value fails the test, naming the variable.
fn traffic_for() -> Duration {
    match std::env::var("WEFT_DIAG_SOAK_SECS") {
        Err(std::env::VarError::NotPresent) => Duration::from_secs(TRAFFIC_SECS_DEFAULT),
        Err(e) => panic!("WEFT_DIAG_SOAK_SECS: {e}"),
        Ok(v) => match v.trim().parse::<u64>() {
            Ok(n) if n >= 1 => Duration::from_secs(n),
            _ => panic!("WEFT_DIAG_SOAK_SECS={v:?}: expected a whole number of seconds >= 1"),
        },
    }
}

/// Tasks taking random subsets of the locks, always in index order.
const TRAFFIC_TASKS: usize = 16;

#[test]
fn random_lock_traffic_in_a_consistent_order_is_quiet() {
    let rt = runtime(2, config());
    let locks: Arc<[Mutex<u64>; 5]> = Arc::new([
        Mutex::new(0),
        Mutex::new(0),
        Mutex::new(0),
        Mutex::new(0),
        Mutex::new(0),
    ]);
    let ops = Arc::new(AtomicUsize::new(0));
    let traffic_for = traffic_for();
    let until = Instant::now() + traffic_for;
    let tasks: Vec<_> = (0..TRAFFIC_TASKS)
        .map(|t| {
            let (locks, ops) = (locks.clone(), ops.clone());
            rt.spawn(async move {
                let mut seed = 0x9e37_79b9_7f4a_7c15_u64 ^ (t as u64 + 1);
                while Instant::now() < until {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    let mut guards = Vec::new();
                    for (i, lock) in locks.iter().enumerate() {
                        if seed >> i & 1 == 1 {
                            let mut g = lock.lock().await;
                            *g += 1;
                            guards.push(g);
                            if seed >> (i + 8) & 3 == 0 {
                                weft::yield_now().await;
                            }
                        }
                    }
                    drop(guards);
                    ops.fetch_add(1, SeqCst);
                    weft::yield_now().await;
                }
            })
        })
        .collect();
    rt.block_on(async move {
        for t in tasks {
            t.await.unwrap();
        }
    });
    assert!(ops.load(SeqCst) > 0);
    eprintln!(
        "random traffic: {} critical sections in {traffic_for:?}",
        ops.load(SeqCst)
    );
    // Any report naming this file (its locks, its wait sites) would be a false one.
    expect_no_report(&[file!()]);
}

/// How long the task that left a `JoinHandle` behind keeps running while holding a lock.
const KEEPS_RUNNING_FOR: Duration = Duration::from_millis(300);

/// T holds a lock, races U's `JoinHandle` against a short timer, the timer wins, and T goes on
/// (yielding, no timer, no wait) while U waits for T's lock. T's handle await is over: U is
/// waiting on a running task, not in a cycle.
#[test]
fn a_join_handle_left_behind_by_a_select_is_not_a_wait() {
    let rt = runtime(1, config());
    let (m, site) = mutex();
    let t_holds = Arc::new(AtomicBool::new(false));
    let u = {
        let (m, t_holds) = (m.clone(), t_holds.clone());
        rt.spawn_on(0, async move {
            while !t_holds.load(SeqCst) {
                weft::yield_now().await;
            }
            let _g = m.lock().await;
        })
    };
    let t = rt.spawn_on(0, async move {
        let _g = m.lock().await;
        t_holds.store(true, SeqCst);
        let mut u = u;
        let timer = Box::pin(weft::time::sleep(Duration::from_millis(5)));
        let raced = future::select(&mut u, timer).await;
        assert!(
            matches!(raced, Either::Right(_)),
            "U cannot finish while T holds the lock"
        );
        let until = Instant::now() + KEEPS_RUNNING_FOR;
        while Instant::now() < until {
            weft::yield_now().await;
        }
        drop(_g);
        u.await.unwrap();
    });
    rt.block_on(t).unwrap();
    expect_no_report(&[&site]);
}

/// A waits for B's mutex; B waits for a semaphore whose two permits are held by A (stuck) and
/// by C, which is running (sleeping through a finite job): C can release, so this is not a
/// deadlock, though A → B → A is a cycle through one of the semaphore's holders.
#[test]
fn a_semaphore_with_one_running_holder_is_not_a_deadlock() {
    let rt = runtime(2, config());
    let (m, site) = mutex();
    let sem = Arc::new(weft::sync::Semaphore::new(2));
    let stage = Arc::new(AtomicUsize::new(0));
    let c = {
        let (sem, stage) = (sem.clone(), stage.clone());
        rt.spawn_on(1, async move {
            let _p = sem.acquire().await.unwrap();
            stage.fetch_add(1, SeqCst);
            weft::time::sleep(CRITICAL_SECTION).await;
        })
    };
    let a = {
        let (m, sem, stage) = (m.clone(), sem.clone(), stage.clone());
        rt.spawn_on(0, async move {
            let _p = sem.acquire().await.unwrap();
            stage.fetch_add(1, SeqCst);
            while stage.load(SeqCst) < 3 {
                weft::yield_now().await;
            }
            let _g = m.lock().await;
        })
    };
    let b = rt.spawn_on(0, async move {
        let _g = m.lock().await;
        stage.fetch_add(1, SeqCst);
        while stage.load(SeqCst) < 3 {
            weft::yield_now().await;
        }
        let _p = sem.acquire().await.unwrap();
    });
    rt.block_on(async move {
        c.await.unwrap();
        b.await.unwrap();
        a.await.unwrap();
    });
    expect_no_report(&[&site, "Semaphore"]);
}
