//! Barrier: nobody passes until all n arrived; one leader per round; rounds repeat; a party
//! that gives up before the round completes withdraws its arrival; green threads and OS threads
//! meet tasks at the same barrier.

mod common;
mod sync_locks_support;

use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use sync_locks_support::Probe;
use weft::rt::Runtime;
use weft::sync::Barrier;

#[test]
fn nobody_passes_before_all_arrive_and_one_leads() {
    let b = Barrier::new(3);
    let mut x = Probe::new(b.wait());
    let mut y = Probe::new(b.wait());
    x.pending();
    y.pending();
    let mut z = Probe::new(b.wait());
    let rz = z.ready();
    assert!(rz.is_leader(), "the last to arrive leads and does not wait");
    assert_eq!((x.wakes(), y.wakes()), (1, 1));
    assert!(!x.ready().is_leader());
    assert!(!y.ready().is_leader());
    // The next round starts from zero.
    let mut again = Probe::new(b.wait());
    again.pending();
}

#[test]
fn a_party_that_gives_up_withdraws_its_arrival() {
    let b = Barrier::new(2);
    let mut x = Probe::new(b.wait());
    x.pending();
    drop(x);
    let mut y = Probe::new(b.wait());
    y.pending(); // still needs a second party
    assert!(Probe::new(b.wait()).ready().is_leader());
    assert!(!y.ready().is_leader());
}

#[test]
fn tasks_green_threads_and_threads_meet_for_many_rounds() {
    const ROUNDS: usize = 50;
    let leaders = common::within_deadline("barrier rounds", || {
        let rt = Runtime::builder().loops(2).build().unwrap();
        let b = Arc::new(Barrier::new(4));
        let leaders = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for lp in 0..2 {
            let (b, l) = (b.clone(), leaders.clone());
            tasks.push(rt.spawn_on(lp, async move {
                for _ in 0..ROUNDS {
                    if b.wait().await.is_leader() {
                        l.fetch_add(1, SeqCst);
                    }
                }
            }));
        }
        let (gb, gl) = (b.clone(), leaders.clone());
        tasks.push(rt.spawn_on(0, async move {
            weft::green::spawn(move || {
                for _ in 0..ROUNDS {
                    if gb.blocking_wait().is_leader() {
                        gl.fetch_add(1, SeqCst);
                    }
                }
            })
            .await
            .unwrap();
        }));
        let (tb, tl) = (b.clone(), leaders.clone());
        let thread = std::thread::spawn(move || {
            for _ in 0..ROUNDS {
                if tb.blocking_wait().is_leader() {
                    tl.fetch_add(1, SeqCst);
                }
            }
        });
        rt.block_on(async {
            for t in tasks {
                t.await.unwrap();
            }
        });
        thread.join().unwrap();
        leaders.load(SeqCst)
    });
    assert_eq!(leaders, ROUNDS, "exactly one leader per round");
}
