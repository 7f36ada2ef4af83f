//! `weft::process`: `wait` reports the child's exit status through the reactor; `try_wait`
//! does not block; `id` is gone once the child is reaped.

mod common;
mod process_support;

use std::os::unix::process::ExitStatusExt;
use weft::process::Command;

#[test]
fn wait_reports_exit_codes() {
    process_support::runtime().block_on(async {
        let ok = Command::new("true").spawn().unwrap().wait().await.unwrap();
        assert!(ok.success());
        let fail = Command::new("false").spawn().unwrap().wait().await.unwrap();
        assert_eq!(fail.code(), Some(1));
        let mut child = Command::new("sh").args(["-c", "exit 7"]).spawn().unwrap();
        let pid = child.id().expect("a running child has an id");
        let status = weft::time::timeout(common::DEADLINE, child.wait())
            .await
            .expect("wait finished before the deadline")
            .unwrap();
        assert_eq!(status.code(), Some(7));
        assert_eq!(child.id(), None, "a reaped child has no id");
        assert_eq!(process_support::state(pid), None, "the child is reaped");
        // A second wait returns the same status at once.
        assert_eq!(child.wait().await.unwrap().code(), Some(7));
    });
}

#[test]
fn wait_does_not_block_the_loop() {
    process_support::runtime().block_on(async {
        let mut child = Command::new("sleep").arg("0.3").spawn().unwrap();
        // While the child sleeps, a timer on the same (only) loop keeps firing.
        let ticker = weft::spawn(async {
            let mut ticks = 0;
            for _ in 0..5 {
                weft::time::sleep(std::time::Duration::from_millis(10)).await;
                ticks += 1;
            }
            ticks
        });
        let status = child.wait().await.unwrap();
        assert!(status.success());
        assert_eq!(ticker.await.unwrap(), 5);
    });
}

#[test]
fn try_wait_does_not_block() {
    process_support::runtime().block_on(async {
        let mut child = Command::new("sleep").arg("100").spawn().unwrap();
        assert_eq!(child.try_wait().unwrap(), None, "still running");
        child.start_kill().unwrap();
        common::until(|| process_support::state(child.id().unwrap()) == Some('Z')).await;
        let status = child.try_wait().unwrap().expect("exited and now reaped");
        assert_eq!(status.signal(), Some(libc::SIGKILL));
        assert_eq!(child.id(), None);
    });
}
