//! `weft::process`: `kill` sends SIGKILL and reaps; killing a reaped child is harmless.

mod common;
mod process_support;

use std::os::unix::process::ExitStatusExt;
use weft::process::Command;

#[test]
fn kill_stops_and_reaps_the_child() {
    process_support::runtime().block_on(async {
        let mut child = Command::new("sleep").arg("1000").spawn().unwrap();
        let pid = child.id().unwrap();
        weft::time::timeout(common::DEADLINE, child.kill())
            .await
            .expect("kill finished before the deadline")
            .unwrap();
        assert_eq!(process_support::state(pid), None, "killed and reaped");
        let status = child.wait().await.unwrap();
        assert_eq!(status.signal(), Some(libc::SIGKILL));
        // The child is gone (its pid may be reused): killing again must not signal anyone.
        child.start_kill().unwrap();
        child.kill().await.unwrap();
    });
}

#[test]
fn start_kill_then_wait() {
    process_support::runtime().block_on(async {
        let mut child = Command::new("sleep").arg("1000").spawn().unwrap();
        child.start_kill().unwrap();
        let status = weft::time::timeout(common::DEADLINE, child.wait())
            .await
            .unwrap()
            .unwrap();
        assert!(!status.success());
        assert_eq!(status.signal(), Some(libc::SIGKILL));
    });
}
