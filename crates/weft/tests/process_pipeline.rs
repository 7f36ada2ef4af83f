//! `weft::process`: one child's stdout becomes the next child's stdin (`Stdio::try_from`), as
//! blocking as a shell pipeline makes it.

mod common;
mod process_support;

use std::process::Stdio;
use weft::process::Command;

#[test]
fn stdout_of_one_child_feeds_the_next() {
    process_support::runtime().block_on(async {
        // The writer is slow on purpose: if the reader's stdin were left non-blocking, `cat`
        // would read EAGAIN and fail instead of waiting.
        let mut first = Command::new("sh")
            .args(["-c", "sleep 0.3; echo late"])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let pipe = Stdio::try_from(first.stdout.take().unwrap()).unwrap();
        let second = Command::new("cat")
            .stdin(pipe)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let output = weft::time::timeout(common::DEADLINE, second.wait_with_output())
            .await
            .expect("the pipeline finished before the deadline")
            .unwrap();
        assert!(
            output.status.success(),
            "cat failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert_eq!(output.stdout, b"late\n");
        assert!(first.wait().await.unwrap().success());
    });
}
