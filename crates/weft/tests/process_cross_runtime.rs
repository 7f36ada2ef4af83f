//! `weft::process`: a child spawned on one loop (or runtime) can be waited for, and its pipes
//! read, on another, even after the first runtime is gone.

mod common;
mod process_support;

use std::process::Stdio;
use weft::process::Command;

#[test]
fn wait_on_a_second_runtime_after_the_first_is_dropped() {
    let first = process_support::runtime();
    let mut child = first.block_on(async {
        let mut child = Command::new("sh")
            .args(["-c", "sleep 0.2; echo done; exit 5"])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        // Register the pidfd with this loop: a wait that is abandoned.
        let _ = weft::time::timeout(std::time::Duration::from_millis(10), child.wait()).await;
        child
    });
    drop(first);
    let output = common::within_deadline("wait on the second runtime", move || {
        process_support::runtime().block_on(async move {
            let status = child.wait().await.unwrap();
            let mut out = Vec::new();
            child
                .stdout
                .take()
                .unwrap()
                .read_to_end(&mut out)
                .await
                .unwrap();
            (status, out)
        })
    });
    assert_eq!(output.0.code(), Some(5));
    assert_eq!(output.1, b"done\n");
}

#[test]
fn wait_on_another_loop_of_the_same_runtime() {
    let status = common::within_deadline("wait on loop 1", move || {
        let rt = weft::rt::Runtime::builder().loops(2).build().unwrap();
        let handle = rt.handle();
        rt.block_on(async move {
            let child = handle
                .spawn_on(0, async {
                    Command::new("sh").args(["-c", "exit 9"]).spawn()
                })
                .await
                .unwrap()
                .unwrap();
            handle
                .spawn_on(1, async move {
                    let mut child = child;
                    child.wait().await
                })
                .await
                .unwrap()
                .unwrap()
        })
    });
    assert_eq!(status.code(), Some(9));
}
