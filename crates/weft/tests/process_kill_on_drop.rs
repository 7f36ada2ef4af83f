//! `weft::process`: `kill_on_drop` kills and reaps the child; a dropped child that exits on its
//! own is reaped too (no zombie either way).

mod common;
mod process_support;

use weft::process::Command;

#[test]
fn kill_on_drop_leaves_no_process() {
    process_support::runtime().block_on(async {
        let child = Command::new("sleep")
            .arg("1000")
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let pid = child.id().unwrap();
        assert!(process_support::state(pid).is_some());
        drop(child);
        // Gone from /proc means killed *and* reaped: a zombie would still be listed.
        common::until(|| process_support::state(pid).is_none()).await;
    });
}

#[test]
fn kill_on_drop_outside_a_loop_leaves_no_process() {
    let child = Command::new("sleep")
        .arg("1000")
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let pid = child.id().unwrap();
    drop(child);
    weft_testkit::wait_until(&format!("child {pid} gone"), || {
        process_support::state(pid).is_none()
    });
}

#[test]
fn dropped_child_runs_on_and_is_reaped() {
    process_support::runtime().block_on(async {
        let marker = std::env::temp_dir().join(format!("weft-dropped-{}", std::process::id()));
        let _ = std::fs::remove_file(&marker);
        let child = Command::new("sh")
            .args(["-c", "sleep 0.2; : > \"$0\""])
            .arg(&marker)
            .spawn()
            .unwrap();
        let pid = child.id().unwrap();
        drop(child);
        // Not killed: it finishes its work ...
        common::until(|| marker.exists()).await;
        // ... and is reaped, not left a zombie.
        common::until(|| process_support::state(pid).is_none()).await;
        let _ = std::fs::remove_file(&marker);
    });
}

/// A child held by a task that is still pending when its runtime shuts down: the task is
/// dropped with the runtime, and the child is killed and reaped all the same.
#[test]
fn kill_on_drop_during_runtime_shutdown_leaves_no_process() {
    let (tx, rx) = std::sync::mpsc::channel();
    for loops in [0, 1] {
        let rt = weft::rt::Runtime::builder().loops(loops).build().unwrap();
        let tx = tx.clone();
        rt.block_on(async move {
            let started = weft::spawn(async move {
                let mut child = Command::new("sleep")
                    .arg("1000")
                    .kill_on_drop(true)
                    .spawn()
                    .unwrap();
                tx.send(child.id().unwrap()).unwrap();
                // Never finishes: the runtime's shutdown drops this task and the child.
                let _ = child.wait().await;
            });
            drop(started);
            weft::time::sleep(std::time::Duration::from_millis(1)).await;
        });
        let pid = rx.recv_timeout(common::DEADLINE).unwrap();
        drop(rt);
        weft_testkit::wait_until(&format!("child {pid} (loops = {loops}) gone"), || {
            process_support::state(pid).is_none()
        });
    }
}
