//! `weft::process`: Unix options reach the child: `process_group` (its own group) and `arg0`
//! (what `ps` shows).

mod process_support;

use std::process::Stdio;
use weft::process::Command;

/// Field 5 of /proc/<pid>/stat: the process group.
fn process_group_of(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = &stat[stat.rfind(')')? + 1..];
    after.split_whitespace().nth(2)?.parse().ok()
}

#[test]
fn process_group_zero_makes_the_child_a_group_leader() {
    process_support::runtime().block_on(async {
        let mut child = Command::new("sleep")
            .arg("1000")
            .process_group(0)
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let pid = child.id().unwrap();
        assert_eq!(process_group_of(pid), Some(pid));
        assert_ne!(process_group_of(std::process::id()), Some(pid));
        child.kill().await.unwrap();
    });
}

#[test]
fn arg0_is_what_the_child_sees_as_its_name() {
    process_support::runtime().block_on(async {
        let output = Command::new("sh")
            .arg0("renamed-shell")
            .args(["-c", "echo $0"])
            .stdin(Stdio::null())
            .output()
            .await
            .unwrap();
        assert_eq!(output.stdout, b"renamed-shell\n");
    });
}
