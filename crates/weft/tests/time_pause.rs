//! `weft::time::pause` / `advance`: timers fire in deadline order on a virtual clock.
use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};

fn rt() -> weft::rt::Runtime {
    weft::rt::Runtime::builder()
        .current_thread()
        .build()
        .unwrap()
}

#[test]
fn advance_fires_timers_in_order_without_waiting() {
    let wall = Instant::now();
    rt().block_on(async {
        weft::time::pause();
        let start = weft::time::now();
        let order = Rc::new(RefCell::new(Vec::new()));
        for secs in [3000u64, 60, 1800, 600] {
            let order = order.clone();
            weft::spawn_local(async move {
                weft::time::sleep(Duration::from_secs(secs)).await;
                order.borrow_mut().push((secs, weft::time::now() - start));
            })
            .detach();
        }
        weft::task::yield_now().await;
        weft::time::advance(Duration::from_secs(3600)).await;
        let got = order.borrow().clone();
        assert_eq!(
            got.iter().map(|g| g.0).collect::<Vec<_>>(),
            [60, 600, 1800, 3000]
        );
        for (secs, seen) in got {
            assert!(seen >= Duration::from_secs(secs), "{secs}: {seen:?}");
        }
        assert!(weft::time::now() - start >= Duration::from_secs(3600));
    });
    assert!(
        wall.elapsed() < Duration::from_secs(30),
        "{:?}",
        wall.elapsed()
    );
}

#[test]
fn retry_backoff_loop_runs_on_virtual_time() {
    let wall = Instant::now();
    rt().block_on(async {
        weft::time::pause();
        let start = weft::time::now();
        let mut attempts = Vec::new();
        let mut delay = Duration::from_secs(1);
        for _ in 0..10 {
            attempts.push(weft::time::now() - start);
            weft::time::sleep(delay).await; // auto-advance
            delay *= 2;
        }
        assert_eq!(attempts.len(), 10);
        assert!(weft::time::now() - start >= Duration::from_secs(1023));
        assert!(attempts.windows(2).all(|w| w[1] > w[0]));
    });
    assert!(wall.elapsed() < Duration::from_secs(30));
}

#[test]
fn pause_on_a_multi_loop_runtime_panics_clearly() {
    let rt = weft::rt::Runtime::builder().loops(1).build().unwrap();
    let panic = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        rt.block_on(async { weft::time::pause() })
    }))
    .unwrap_err();
    let msg = panic.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(msg.contains("current-thread runtime"), "{msg}");
}
