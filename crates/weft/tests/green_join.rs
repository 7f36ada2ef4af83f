//! Joining green threads: `.await` from a task, `join()` from another green
//! thread, and cancellation.

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use weft::green;

// The workspace's one hang guard (30 s): a lost wake-up fails instead of hanging.
use weft_testkit::DEADLINE;

fn runtime() -> weft::rt::Runtime {
    weft::rt::Runtime::builder()
        .current_thread()
        .build()
        .expect("runtime")
}

#[test]
fn await_from_a_task() {
    runtime().block_on(async {
        let h = green::spawn(|| {
            green::yield_now();
            vec![1, 2, 3]
        });
        let v = weft::time::timeout(DEADLINE, h)
            .await
            .expect("in time")
            .expect("ok");
        assert_eq!(v, [1, 2, 3]);
    });
}

#[test]
fn join_from_another_green_thread() {
    runtime().block_on(async {
        let outer = green::spawn(|| {
            let inner = green::spawn(|| {
                green::sleep(Duration::from_millis(5));
                21
            });
            // Parks the outer green thread until the inner one finishes.
            inner.join().expect("inner") * 2
        });
        let v = weft::time::timeout(DEADLINE, outer)
            .await
            .expect("in time")
            .expect("ok");
        assert_eq!(v, 42);
    });
}

#[test]
fn join_a_task_from_a_green_thread() {
    runtime().block_on(async {
        let h = green::spawn(|| {
            let task = weft::spawn_local(async {
                weft::time::sleep(Duration::from_millis(1)).await;
                "from task"
            });
            green::block_on(task).expect("task")
        });
        assert_eq!(
            weft::time::timeout(DEADLINE, h)
                .await
                .expect("in time")
                .unwrap(),
            "from task"
        );
    });
}

struct SetOnDrop(Rc<Cell<bool>>);

impl Drop for SetOnDrop {
    fn drop(&mut self) {
        // Green I/O from a destructor during cancellation fails, not parks.
        assert!(green::try_block_on(async {}).is_err());
        self.0.set(true);
    }
}

#[test]
fn abort_unwinds_a_parked_green_thread() {
    runtime().block_on(async {
        let dropped = Rc::new(Cell::new(false));
        let parked = Rc::new(Cell::new(false));
        let h = {
            let (dropped, parked) = (dropped.clone(), parked.clone());
            green::spawn(move || {
                let _guard = SetOnDrop(dropped);
                parked.set(true);
                green::sleep(Duration::from_secs(3600));
                unreachable!("the sleep is cancelled");
            })
        };
        while !parked.get() {
            weft::yield_now().await;
        }
        assert!(!h.is_finished());
        h.abort();
        let err = weft::time::timeout(DEADLINE, h)
            .await
            .expect("in time")
            .unwrap_err();
        assert!(err.is_cancelled(), "{err:?}");
        assert!(dropped.get(), "the parked green thread's destructors ran");
    });
}

#[test]
fn shutdown_drops_parked_green_threads() {
    let dropped = Rc::new(Cell::new(false));
    let rt = runtime();
    rt.block_on(async {
        let dropped = dropped.clone();
        let parked = Rc::new(Cell::new(false));
        let p = parked.clone();
        drop(green::spawn(move || {
            let _guard = SetOnDrop(dropped);
            p.set(true);
            green::sleep(Duration::from_secs(3600));
        }));
        while !parked.get() {
            weft::yield_now().await;
        }
    });
    assert!(!dropped.get());
    drop(rt);
    assert!(
        dropped.get(),
        "runtime shutdown unwound the parked green thread"
    );
}

#[test]
fn builder_stack_size() {
    runtime().block_on(async {
        // A bounded recursion needing at least 200 × 4 KiB = 800 KiB, more
        // than the default stack: it completes only if the configured size
        // (ample even for unoptimized frames) is applied.
        fn depth(n: u32) -> u32 {
            let pad = std::hint::black_box([0u8; 4096]);
            if n == 0 {
                u32::from(pad[0])
            } else {
                1 + depth(n - 1)
            }
        }
        const { assert!(200 * 4096 > green::DEFAULT_STACK_SIZE) };
        let h = green::Builder::new()
            .stack_size(8 * 1024 * 1024)
            .spawn(|| depth(200))
            .expect("stack mapped");
        assert_eq!(h.await.expect("ok"), 200);
    });
}

#[test]
fn aborting_a_green_thread_leaves_its_spawns_running() {
    runtime().block_on(async {
        let child_done = Rc::new(Cell::new(false));
        let child_handle = Rc::new(std::cell::RefCell::new(None));
        let parent = {
            let (done, slot) = (child_done.clone(), child_handle.clone());
            green::spawn(move || {
                let child = green::spawn(move || {
                    green::sleep(Duration::from_millis(20));
                    done.set(true);
                });
                *slot.borrow_mut() = Some(child);
                green::sleep(Duration::from_secs(3600));
            })
        };
        while child_handle.borrow().is_none() {
            weft::yield_now().await;
        }
        parent.abort();
        assert!(parent.await.unwrap_err().is_cancelled());
        let child = child_handle.borrow_mut().take().unwrap();
        weft::time::timeout(DEADLINE, child)
            .await
            .expect("in time")
            .expect("child finished");
        assert!(child_done.get());
    });
}

/// Sets a flag while alive; clears it when dropped.
struct Alive(std::sync::Arc<std::sync::atomic::AtomicBool>);

impl Drop for Alive {
    fn drop(&mut self) {
        self.0.store(false, std::sync::atomic::Ordering::SeqCst);
    }
}

/// Aborts a green thread when dropped.
struct AbortOnDrop(green::GreenHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

#[test]
fn abort_requested_from_another_thread_cancels_only_that_green_thread() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    let rt = weft::rt::Runtime::builder().loops(1).build().unwrap();
    let (spawned_tx, spawned_rx) = std::sync::mpsc::channel();
    let child_alive = Arc::new(AtomicBool::new(false));
    let alive = child_alive.clone();
    // A task on loop 0 owns a parent green thread, which spawned a child.
    let owner = rt.spawn_on(0, async move {
        let parent = green::spawn(move || {
            alive.store(true, Ordering::SeqCst);
            drop(green::spawn(move || {
                let _alive = Alive(alive);
                green::sleep(Duration::from_secs(3600));
            }));
            spawned_tx.send(()).unwrap();
            green::sleep(Duration::from_secs(3600));
        });
        let _stop = AbortOnDrop(parent);
        std::future::pending::<()>().await;
    });
    spawned_rx.recv().unwrap();
    // Cancelling the owner (from this thread) aborts the parent...
    owner.abort();
    assert!(rt.block_on(owner).unwrap_err().is_cancelled());
    // ...and the child keeps running: let loop 0 turn, then look.
    rt.block_on(rt.spawn_on(0, weft::yield_now())).unwrap();
    assert!(
        child_alive.load(Ordering::SeqCst),
        "the child is still parked"
    );
    drop(rt);
    assert!(
        !child_alive.load(Ordering::SeqCst),
        "shutdown unwound the child"
    );
}
