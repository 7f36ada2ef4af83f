//! Timers: ordering, cancellation, timeouts and intervals.

mod common;

use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};
use weft::rt::Runtime;
use weft::time::{interval, sleep, sleep_until, timeout};

#[test]
fn sleeps_complete_in_deadline_order_and_never_early() {
    let rt = Runtime::builder().current_thread().build().unwrap();
    let order = rt.block_on(async {
        let order = Rc::new(RefCell::new(Vec::new()));
        let start = Instant::now();
        // Spawned in scrambled order; durations straddle wheel levels (64 ms, 4 s boundaries
        // are not needed to cross levels: 70 ms sits on level 1).
        let millis = [30u64, 5, 70, 1, 15, 0, 45];
        let tasks: Vec<_> = millis
            .iter()
            .map(|&ms| {
                let order = order.clone();
                weft::spawn_local(async move {
                    sleep(Duration::from_millis(ms)).await;
                    assert!(start.elapsed() >= Duration::from_millis(ms), "woke early");
                    order.borrow_mut().push(ms);
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        Rc::try_unwrap(order).unwrap().into_inner()
    });
    assert_eq!(order, vec![0, 1, 5, 15, 30, 45, 70]);
}

#[test]
fn a_dropped_sleep_never_wakes_its_task() {
    let rt = Runtime::builder().current_thread().build().unwrap();
    rt.block_on(async {
        let polls = Rc::new(RefCell::new(0u32));
        let task = weft::spawn_local({
            let polls = polls.clone();
            std::future::poll_fn(move |cx| {
                *polls.borrow_mut() += 1;
                if *polls.borrow() == 1 {
                    // File a 5 ms timer with this task's waker, then cancel it.
                    let mut s = Box::pin(sleep(Duration::from_millis(5)));
                    assert!(s.as_mut().poll(cx).is_pending());
                    drop(s);
                }
                std::task::Poll::<()>::Pending
            })
        });
        sleep(Duration::from_millis(30)).await;
        assert_eq!(*polls.borrow(), 1, "a cancelled timer woke its task");
        task.abort();
    });
}

use std::future::Future;

#[test]
fn timeout_returns_elapsed_and_drops_the_future() {
    let rt = Runtime::builder().current_thread().build().unwrap();
    let drops = common::DropCounter::default();
    let guard = drops.guard();
    let res = rt.block_on(timeout(Duration::from_millis(5), async move {
        let _guard = guard;
        sleep(Duration::from_secs(3600)).await;
    }));
    assert!(res.is_err());
    assert_eq!(drops.count(), 1);
    let ok = rt.block_on(timeout(Duration::from_secs(60), async { 3 }));
    assert_eq!(ok, Ok(3));
}

#[test]
fn sleep_until_a_past_instant_is_ready_at_once() {
    let rt = Runtime::builder().current_thread().build().unwrap();
    rt.block_on(async {
        let past = Instant::now() - Duration::from_millis(10);
        let mut s = Box::pin(sleep_until(past));
        let ready =
            std::future::poll_fn(|cx| std::task::Poll::Ready(s.as_mut().poll(cx).is_ready())).await;
        assert!(ready);
    });
}

#[test]
fn interval_ticks_at_its_period() {
    let rt = Runtime::builder().current_thread().build().unwrap();
    let ticks = rt.block_on(async {
        let mut iv = interval(Duration::from_millis(5));
        let mut ticks = Vec::new();
        for _ in 0..4 {
            ticks.push(iv.tick().await);
        }
        ticks
    });
    for pair in ticks.windows(2) {
        assert_eq!(pair[1] - pair[0], Duration::from_millis(5));
    }
}

#[test]
fn many_timers_with_the_same_deadline_all_fire() {
    // A lost wake-up would leave a task waiting forever: bounded, so it fails instead.
    let fired = common::within_deadline("1000 timers with one deadline", || {
        let rt = Runtime::builder().current_thread().build().unwrap();
        rt.block_on(async {
            let deadline = Instant::now() + Duration::from_millis(10);
            let tasks: Vec<_> = (0..1000)
                .map(|_| weft::spawn(async move { sleep_until(deadline).await }))
                .collect();
            let mut n = 0;
            for t in tasks {
                t.await.unwrap();
                n += 1;
            }
            n
        })
    });
    assert_eq!(fired, 1000);
}

#[test]
fn loop_time_is_read_once_per_iteration_and_refreshed_after_waiting() {
    let rt = Runtime::builder().current_thread().build().unwrap();
    rt.block_on(async {
        let first = weft::time::now();
        // Two milliseconds of clock pass inside one poll: the loop's time
        // stays where this iteration read it.
        let spin_start = Instant::now();
        while spin_start.elapsed() < Duration::from_millis(2) {
            std::hint::spin_loop();
        }
        assert_eq!(weft::time::now(), first, "cached within an iteration");
        assert!(Instant::now() >= first + Duration::from_millis(2));
        // After the loop waited for a timer, its time has moved on.
        sleep(Duration::from_millis(5)).await;
        let later = weft::time::now();
        assert!(
            later >= first + Duration::from_millis(5),
            "{later:?} vs {first:?}"
        );
        assert!(later <= Instant::now());
    });
    // Outside a loop it is the clock.
    let before = Instant::now();
    assert!(weft::time::now() >= before);
}
