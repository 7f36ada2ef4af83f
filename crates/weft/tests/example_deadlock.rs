//! The deadlock example runs the seeds' deadlock and prints the report: run as a child process
//! (its `main` exits the process), it must print a two-member deadlock report naming both tasks
//! and the cycle, and exit with success.
//!
//! The child is this test binary re-run with `WEFT_DEADLOCK_CHILD` set, filtered to
//! `example_process`, which then runs `examples/deadlock.rs`'s `main` (compiled in here by path).

#[allow(dead_code)]
#[path = "../examples/deadlock.rs"]
mod deadlock;

use std::process::Command;
use std::time::Duration;

const CHILD_ENV: &str = "WEFT_DEADLOCK_CHILD";

/// Longer than the example's own 10 s wait for the report: only a hang makes it run out.
const DEADLINE: Duration = Duration::from_secs(30);

/// The example, when run as the child; a no-op in the normal test run.
#[test]
fn example_process() {
    if std::env::var_os(CHILD_ENV).is_some() {
        deadlock::main();
    }
}

#[test]
fn the_example_prints_the_seeds_deadlock() {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args([
        "--exact",
        "example_process",
        "--nocapture",
        "--test-threads=1",
    ])
    .env(CHILD_ENV, "1")
    .env_remove("WEFT_DIAG");
    let out = weft_testkit::run_to_end(cmd, DEADLINE);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{}\n{stdout}\n{stderr}", out.status);
    for want in [
        "weft::diag: deadlock: 2 actors wait on each other in a cycle",
        "\"worker-a\" (task ",
        "\"worker-b\" (task ",
        // (compiled in by path here, the sites read `crates/weft/tests/../examples/...`)
        "waiting on Mutex created at ",
        "examples/deadlock.rs:",
        "which is held by",
        "(reported ",
    ] {
        assert!(stdout.contains(want), "no {want:?} in:\n{stdout}");
    }
    assert!(
        stdout.contains("Cycle: worker-a -> worker-b -> worker-a")
            || stdout.contains("Cycle: worker-b -> worker-a -> worker-b"),
        "{stdout}"
    );
}
