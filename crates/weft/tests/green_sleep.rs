//! A green thread that sleeps parks only itself: tasks and other green
//! threads on the same loop keep running meanwhile.

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use weft::green;

/// Long enough that the loop turns many times while the green thread
/// sleeps; the test asserts ordering, never this duration.
const NAP: Duration = Duration::from_millis(50);

// The workspace's one hang guard (30 s): a lost wake-up fails instead of hanging.
use weft_testkit::DEADLINE;

fn runtime() -> weft::rt::Runtime {
    weft::rt::Runtime::builder()
        .current_thread()
        .build()
        .expect("runtime")
}

#[test]
fn tasks_run_while_a_green_thread_sleeps() {
    let rt = runtime();
    rt.block_on(async {
        let asleep = Rc::new(Cell::new(false));
        let task_turns_while_asleep = Rc::new(Cell::new(0u32));
        let done = Rc::new(Cell::new(false));

        let sleeper = {
            let (asleep, done) = (asleep.clone(), done.clone());
            green::spawn(move || {
                asleep.set(true);
                green::sleep(NAP);
                asleep.set(false);
                done.set(true);
                "woke"
            })
        };
        let ticker = {
            let (asleep, turns, done) = (
                asleep.clone(),
                task_turns_while_asleep.clone(),
                done.clone(),
            );
            weft::spawn_local(async move {
                while !done.get() {
                    if asleep.get() {
                        turns.set(turns.get() + 1);
                    }
                    weft::yield_now().await;
                }
            })
        };
        let woke = weft::time::timeout(DEADLINE, sleeper)
            .await
            .expect("green thread woke before the deadline")
            .expect("green thread finished");
        assert_eq!(woke, "woke");
        weft::time::timeout(DEADLINE, ticker)
            .await
            .expect("ticker stopped")
            .expect("ticker finished");
        assert!(
            task_turns_while_asleep.get() > 0,
            "the task never ran while the green thread slept"
        );
    });
}

#[test]
fn green_threads_interleave_while_parked() {
    let rt = runtime();
    rt.block_on(async {
        // Each green thread yields between steps; with parking, steps of
        // the two interleave instead of one running to completion first.
        let log = Rc::new(std::cell::RefCell::new(Vec::new()));
        let spawn_stepper = |name: &'static str| {
            let log = log.clone();
            green::spawn(move || {
                for step in 0..3 {
                    log.borrow_mut().push((name, step));
                    green::yield_now();
                }
            })
        };
        let a = spawn_stepper("a");
        let b = spawn_stepper("b");
        a.await.expect("a");
        b.await.expect("b");
        let log = log.borrow();
        assert_eq!(log.len(), 6);
        let first_b = log.iter().position(|(n, _)| *n == "b").expect("b ran");
        let last_a = log.iter().rposition(|(n, _)| *n == "a").expect("a ran");
        assert!(first_b < last_a, "no interleaving: {log:?}");
    });
}

#[test]
fn parking_outside_a_green_thread_is_an_error() {
    let rt = runtime();
    rt.block_on(async {
        // On a task: refused, not blocking the loop.
        assert_eq!(
            green::try_block_on(async { 1 }),
            Err(green::ParkError::NotGreen)
        );
        assert!(!green::in_green_thread());
        let inside = green::spawn(green::in_green_thread).await.expect("green");
        assert!(inside);
    });
    // On a plain thread, green sockets answer with an error too.
    let err = green::TcpStream::connect("127.0.0.1:9".parse().unwrap()).unwrap_err();
    assert!(
        err.to_string().contains("not running on a green thread"),
        "{err}"
    );
}
