//! Timer callbacks fire in deadline order (ties in the order they were
//! set), intervals repeat until cleared, cleared timeouts never fire.

mod common;

use common::until;

use std::cell::{Cell, RefCell};
use std::future::poll_fn;
use std::rc::Rc;
use std::task::Poll;

use weft::callback::{clear_interval, clear_timeout, set_interval, set_timeout};

fn runtime() -> weft::rt::Runtime {
    weft::rt::Runtime::builder()
        .current_thread()
        .build()
        .unwrap()
}

/// Waits (yielding to the loop) until `done` holds, failing at the deadline.
#[test]
fn timeouts_fire_in_order() {
    runtime().block_on(async {
        let log = Rc::new(RefCell::new(Vec::new()));
        let at = |ms: u64, label: &'static str| {
            let log = log.clone();
            set_timeout(ms, move || log.borrow_mut().push(label))
        };
        // "last" is registered first but due last; equal delays run in the
        // order they were set. (Each timer is due no earlier than the ones
        // listed before it in the expected order, however slowly these
        // lines run, except "last", which has a 300 ms margin.)
        at(300, "last");
        at(0, "zero");
        at(10, "ten-first");
        let cancelled = at(10, "cancelled");
        at(10, "ten-second");
        at(20, "twenty");
        // Never runs inside the call that set it.
        assert!(log.borrow().is_empty());
        assert!(clear_timeout(cancelled));
        assert!(!clear_timeout(cancelled), "second clear finds nothing");
        until(|| log.borrow().len() == 5).await;
        assert_eq!(
            *log.borrow(),
            ["zero", "ten-first", "ten-second", "twenty", "last"]
        );
    });
}

#[test]
fn interval_repeats_until_cleared_from_its_own_callback() {
    runtime().block_on(async {
        let ticks = Rc::new(Cell::new(0u32));
        let id = Rc::new(Cell::new(None));
        let (t, i) = (ticks.clone(), id.clone());
        id.set(Some(set_interval(2, move || {
            t.set(t.get() + 1);
            if t.get() == 3 {
                assert!(clear_interval(i.get().unwrap()));
            }
        })));
        until(|| ticks.get() == 3).await;
        // A timeout set after the last tick runs; the interval does not
        // tick again before it (it was cleared).
        let fired = Rc::new(Cell::new(false));
        let f = fired.clone();
        set_timeout(10, move || f.set(true));
        until(|| fired.get()).await;
        assert_eq!(ticks.get(), 3);
        assert!(!clear_interval(id.get().unwrap()));
    });
}

#[test]
fn callbacks_can_set_timers_and_a_panic_is_contained() {
    runtime().block_on(async {
        let log = Rc::new(RefCell::new(Vec::new()));
        let l = log.clone();
        set_timeout(1, || panic!("a callback failed"));
        set_timeout(2, move || {
            l.borrow_mut().push("outer");
            let l2 = l.clone();
            set_timeout(0, move || l2.borrow_mut().push("inner"));
        });
        until(|| log.borrow().len() == 2).await;
        assert_eq!(*log.borrow(), ["outer", "inner"]);
        // The driver survived the panic.
        let after = Rc::new(Cell::new(false));
        let a = after.clone();
        set_timeout(0, move || a.set(true));
        until(|| after.get()).await;
        let _ = poll_fn(|_| Poll::Ready(())).await;
    });
}

#[test]
fn a_new_runtime_on_the_same_thread_gets_fresh_timers() {
    let fired = Rc::new(Cell::new(0));
    for _ in 0..2 {
        let rt = runtime();
        let f = fired.clone();
        rt.block_on(async move {
            let g = f.clone();
            set_timeout(1, move || g.set(g.get() + 1));
            let before = f.get();
            until(|| f.get() == before + 1).await;
            // A pending timer dropped by shutdown must not leak into the
            // next runtime.
            set_timeout(3_600_000, || unreachable!("dropped at shutdown"));
        });
    }
    assert_eq!(fired.get(), 2);
}
