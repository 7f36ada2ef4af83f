//! A panicking task becomes a JoinError for its joiner; the loop keeps serving.

mod common;

use std::time::Duration;
use weft::rt::Runtime;

#[test]
fn panic_is_returned_as_join_error_with_its_message() {
    let rt = Runtime::builder().current_thread().build().unwrap();
    let err = rt.block_on(async {
        weft::spawn(async {
            let n = std::hint::black_box(7);
            panic!("boom {n}");
        })
        .await
        .unwrap_err()
    });
    assert!(err.is_panic());
    assert_eq!(err.to_string(), "task panicked: boom 7");
    let payload = err.into_panic();
    assert_eq!(payload.downcast_ref::<String>().unwrap(), "boom 7");
}

#[test]
fn the_loop_keeps_running_other_tasks_after_a_panic() {
    let rt = Runtime::builder().loops(1).build().unwrap();
    let results = rt.block_on(async {
        let handle = weft::rt::Handle::current();
        let steady = handle.spawn_on(0, async {
            let mut ticks = 0;
            for _ in 0..5 {
                weft::time::sleep(Duration::from_millis(2)).await;
                ticks += 1;
            }
            ticks
        });
        let bad = handle.spawn_on(0, async {
            weft::time::sleep(Duration::from_millis(1)).await;
            panic!("task failure");
        });
        let after = handle.spawn_on(0, async {
            weft::time::sleep(Duration::from_millis(4)).await;
            "still serving"
        });
        (bad.await, steady.await, after.await)
    });
    assert!(results.0.unwrap_err().is_panic());
    assert_eq!(results.1.unwrap(), 5);
    assert_eq!(results.2.unwrap(), "still serving");
}

#[test]
fn a_detached_panicking_task_is_contained() {
    let rt = Runtime::builder().current_thread().build().unwrap();
    let out = rt.block_on(async {
        weft::spawn(async { panic!("nobody listens") }).detach();
        weft::yield_now().await;
        weft::yield_now().await;
        weft::spawn(async { 1 }).await.unwrap()
    });
    assert_eq!(out, 1);
}

#[test]
fn a_panicking_destructor_during_abort_is_reported() {
    struct Bomb;
    impl Drop for Bomb {
        fn drop(&mut self) {
            panic!("drop bomb");
        }
    }
    let rt = Runtime::builder().current_thread().build().unwrap();
    let err = rt.block_on(async {
        let task = weft::spawn(async {
            let _bomb = Bomb;
            std::future::pending::<()>().await
        });
        weft::yield_now().await;
        task.abort();
        task.await.unwrap_err()
    });
    assert!(err.is_panic(), "{err:?}");
}
