//! The `blocking_*` lock methods from a plain OS thread park the thread until a task on a loop
//! releases the lock.

mod common;

use std::sync::Arc;
use weft::rt::Runtime;
use weft::sync::{Mutex, Notify, Semaphore};

#[test]
fn a_std_thread_waits_in_blocking_lock_until_a_task_unlocks() {
    let got = common::within_deadline("std::thread blocking_lock", || {
        let rt = Runtime::builder().loops(1).build().unwrap();
        let m = Arc::new(Mutex::new(Vec::new()));
        let started = Arc::new(Notify::new());
        let sem = Arc::new(Semaphore::new(0));
        let holder = rt.spawn({
            let (m, started, sem) = (m.clone(), started.clone(), sem.clone());
            async move {
                let mut g = m.lock().await;
                started.notify_one();
                // Hold the lock until the thread has asked for the permit below.
                let _p = sem.acquire().await.unwrap();
                g.push("task");
            }
        });
        rt.block_on(started.notified());
        let thread = std::thread::spawn({
            let (m, sem) = (m.clone(), sem.clone());
            move || {
                sem.add_permits(1);
                m.blocking_lock().push("thread");
                // And a blocking_acquire from a thread gets a permit given by a task.
                sem.blocking_acquire().map(|p| p.forget()).is_ok()
            }
        });
        rt.block_on(holder).unwrap();
        rt.block_on(async { sem.add_permits(1) });
        assert!(thread.join().unwrap());
        let v = m.try_lock().unwrap().clone();
        v
    });
    assert_eq!(got, ["task", "thread"]);
}

/// The thread is seen queued before the task releases: a queued `acquire_many(2)` collects a
/// permit that is added (the free count drops back to 0), which only a queued waiter does.
/// So the thread really parks, and the task's release is what wakes it.
#[test]
fn a_parked_std_thread_is_woken_by_a_release_from_a_task() {
    let got = common::within_deadline("std::thread blocking_acquire_many", || {
        let rt = Runtime::builder().loops(1).build().unwrap();
        let sem = Arc::new(Semaphore::new(0));
        let thread = std::thread::spawn({
            let sem = sem.clone();
            move || sem.blocking_acquire_many(2).map(|p| p.num_permits())
        });
        sem.add_permits(1);
        weft_testkit::wait_until("the thread to queue", || sem.available_permits() == 0);
        let releaser = rt.spawn({
            let sem = sem.clone();
            async move { sem.add_permits(1) }
        });
        rt.block_on(releaser).unwrap();
        thread.join().unwrap()
    });
    assert_eq!(got, Ok(2));
}
