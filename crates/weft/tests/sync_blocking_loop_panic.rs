//! The `blocking_*` lock methods called on an event-loop thread outside a green thread panic
//! with the documented message, naming the call, instead of blocking every task of the loop.

use std::panic::{catch_unwind, AssertUnwindSafe};
use weft::rt::Runtime;
use weft::sync::{Barrier, Mutex, RwLock, Semaphore};

/// The reason every such panic gives.
const WHY: &str = "called on an event-loop thread outside a green thread: it would block every \
                   task of this loop";

/// One refused call: its name and the call itself.
type Case<'a> = (&'static str, Box<dyn FnOnce() + 'a>);

fn panic_message(f: impl FnOnce()) -> String {
    let err = catch_unwind(AssertUnwindSafe(f)).expect_err("the call must panic");
    err.downcast_ref::<String>()
        .cloned()
        .or_else(|| err.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
}

#[test]
fn every_blocking_lock_method_panics_on_a_loop_thread() {
    let rt = Runtime::builder().current_thread().build().unwrap();
    rt.block_on(async {
        let m = Mutex::new(0);
        let rw = RwLock::new(0);
        let sem = Semaphore::new(1);
        let barrier = Barrier::new(2);
        let cases: Vec<Case<'_>> = vec![
            ("Mutex::blocking_lock", Box::new(|| drop(m.blocking_lock()))),
            (
                "RwLock::blocking_read",
                Box::new(|| drop(rw.blocking_read())),
            ),
            (
                "RwLock::blocking_write",
                Box::new(|| drop(rw.blocking_write())),
            ),
            (
                "Semaphore::blocking_acquire",
                Box::new(|| drop(sem.blocking_acquire())),
            ),
            (
                "Barrier::blocking_wait",
                Box::new(|| {
                    let _ = barrier.blocking_wait();
                }),
            ),
        ];
        for (name, call) in cases {
            let msg = panic_message(call);
            assert!(
                msg.starts_with(&format!("weft::sync::{name} {WHY}")),
                "{name}: unexpected message {msg:?}"
            );
        }
        // Nothing was taken by the refused calls.
        assert!(m.try_lock().is_ok());
        assert!(rw.try_write().is_ok());
        assert_eq!(sem.available_permits(), 1);
    });
}

#[test]
#[should_panic(expected = "weft::sync::Mutex::blocking_lock called on an event-loop thread")]
fn blocking_lock_in_a_task_panics() {
    let rt = Runtime::builder().current_thread().build().unwrap();
    let m = Mutex::new(());
    rt.block_on(async { drop(m.blocking_lock()) });
}
