//! Waiting with a deadline: the one bound every test wait shares, and the polling loop.

use std::time::{Duration, Instant};

/// Generous upper bound for anything a test waits for: far above what a loaded 2-core CI
/// machine needs, so it only trips when something is really stuck (a hang detector, never a
/// timing assertion).
pub const DEADLINE: Duration = Duration::from_secs(30);

/// Polling period of [`wait_until`]: short, so that tests stay quick; the condition is cheap.
const POLL_PERIOD: Duration = Duration::from_millis(2);

/// Waits until `condition` holds; panics naming `what` once [`DEADLINE`] has passed.
pub fn wait_until(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + DEADLINE;
    while !condition() {
        assert!(
            Instant::now() < deadline,
            "waited {DEADLINE:?} for {what}; it never came"
        );
        std::thread::sleep(POLL_PERIOD);
    }
}

/// Runs `f` on a helper thread and fails the test (naming `what`) if it does not return
/// within [`DEADLINE`]; a panic in `f` fails the test with `f`'s message.
pub fn within_deadline<T: Send + 'static>(what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    let helper = std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    match rx.recv_timeout(DEADLINE) {
        Ok(value) => value,
        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
            // `f` panicked: report its panic, not a timeout.
            match helper.join() {
                Err(panic) => std::panic::resume_unwind(panic),
                Ok(()) => unreachable!("the helper sends before it returns"),
            }
        }
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
            panic!("{what} did not finish within {DEADLINE:?}")
        }
    }
}
