//! Fairness: tasks that are always ready cannot keep timers and I/O from running.

mod common;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::SeqCst};
use std::sync::Arc;
use std::time::{Duration, Instant};
use weft::rt::Runtime;

/// A task that yields forever never returns control for long, yet a timer on the same loop
/// still fires (and not long after its deadline: the loop checks timers every few dozen polls).
#[test]
fn a_busy_yielding_task_does_not_stop_a_timer() {
    // Without the budget the timer would never fire and the test would hang: bounded instead.
    let (fired_after, spins) = common::within_deadline("a timer beside a busy task", || {
        let rt = Runtime::builder().current_thread().build().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let spins = Arc::new(AtomicU64::new(0));
        let fired_after = rt.block_on({
            let (stop, spins) = (stop.clone(), spins.clone());
            async move {
                let busy = weft::spawn({
                    let (stop, spins) = (stop.clone(), spins.clone());
                    async move {
                        while !stop.load(SeqCst) {
                            spins.fetch_add(1, SeqCst);
                            weft::yield_now().await;
                        }
                    }
                });
                let start = Instant::now();
                weft::time::sleep(Duration::from_millis(20)).await;
                let elapsed = start.elapsed();
                stop.store(true, SeqCst);
                busy.await.unwrap();
                elapsed
            }
        });
        (fired_after, spins.load(SeqCst))
    });
    assert!(fired_after >= Duration::from_millis(20));
    // The busy task really was running the whole time.
    assert!(spins > 100, "busy task barely ran: {spins}");
}

/// A reader whose socket always has data (a writer on another thread keeps it full) would
/// never see `Pending` from the kernel; its cooperative budget makes it yield, so a timer on the
/// same loop fires while it is still reading. Without the budget this test would never finish.
#[test]
fn an_always_ready_socket_reader_yields_to_timers() {
    let (timer_fired_while_reading, bytes) = common::within_deadline("budget test", || {
        use std::io::Write;
        let (a, mut b) = std::os::unix::net::UnixStream::pair().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let writer = std::thread::spawn({
            let stop = stop.clone();
            move || {
                let chunk = [7u8; 64 * 1024];
                while !stop.load(SeqCst) {
                    if b.write_all(&chunk).is_err() {
                        break;
                    }
                }
            }
        });
        let rt = Runtime::builder().current_thread().build().unwrap();
        let result = rt.block_on(async {
            let reader = weft::net::UnixStream::from_std(a).unwrap();
            let reading = Arc::new(AtomicBool::new(true));
            let done = Arc::new(AtomicBool::new(false));
            let reader_task = weft::spawn({
                let (done, reading) = (done.clone(), reading.clone());
                async move {
                    let mut buf = [0u8; 16];
                    let mut total = 0u64;
                    while !done.load(SeqCst) {
                        total += reader.read(&mut buf).await.unwrap() as u64;
                    }
                    reading.store(false, SeqCst);
                    total
                }
            });
            weft::time::sleep(Duration::from_millis(10)).await;
            let still_reading = reading.load(SeqCst);
            done.store(true, SeqCst);
            (still_reading, reader_task.await.unwrap())
        });
        stop.store(true, SeqCst);
        drop(rt); // closes the reader, so a blocked writer sees EPIPE
        writer.join().unwrap();
        result
    });
    assert!(
        timer_fired_while_reading,
        "the timer only fired after the reader stopped"
    );
    assert!(bytes > 0);
}
