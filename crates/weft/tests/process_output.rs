//! `weft::process`: `output()` collects stdout and stderr and the status; `status()` runs to
//! completion; arguments, environment and working directory reach the child.

mod process_support;

use std::process::Stdio;
use weft::process::Command;

#[test]
fn output_collects_stdout_stderr_and_status() {
    process_support::runtime().block_on(async {
        let output = Command::new("sh")
            .args(["-c", "echo out; echo err >&2; exit 3"])
            .output()
            .await
            .unwrap();
        assert_eq!(output.status.code(), Some(3));
        assert_eq!(output.stdout, b"out\n");
        assert_eq!(output.stderr, b"err\n");
    });
}

#[test]
fn output_of_large_interleaved_streams() {
    process_support::runtime().block_on(async {
        // 1 MiB on each stream, written alternately: both pipes must be drained concurrently.
        let script = "i=0; while [ $i -lt 256 ]; do head -c 4096 /dev/zero; \
                      head -c 4096 /dev/zero >&2; i=$((i+1)); done";
        let output = Command::new("sh")
            .args(["-c", script])
            .output()
            .await
            .unwrap();
        assert!(output.status.success());
        assert_eq!(output.stdout.len(), 1 << 20);
        assert_eq!(output.stderr.len(), 1 << 20);
    });
}

#[test]
fn output_stdin_is_null_by_default() {
    process_support::runtime().block_on(async {
        let output = Command::new("cat").output().await.unwrap();
        assert!(output.status.success());
        assert!(output.stdout.is_empty());
    });
}

#[test]
fn env_and_current_dir_reach_the_child() {
    process_support::runtime().block_on(async {
        let dir = std::env::temp_dir().canonicalize().unwrap();
        let output = Command::new("/bin/sh")
            .args(["-c", "echo \"$WEFT_A|$WEFT_B|$HOME|$(pwd)\""])
            .env_clear()
            .env("WEFT_A", "1")
            .envs([("WEFT_B", "2"), ("HOME", "h")])
            .env_remove("HOME")
            .current_dir(&dir)
            .output()
            .await
            .unwrap();
        let line = String::from_utf8(output.stdout).unwrap();
        assert_eq!(line.trim_end(), format!("1|2||{}", dir.display()));
    });
}

#[test]
fn status_with_null_stdio() {
    process_support::runtime().block_on(async {
        let status = Command::new("sh")
            .args(["-c", "echo hidden; exit 4"])
            .stdout(Stdio::null())
            .status()
            .await
            .unwrap();
        assert_eq!(status.code(), Some(4));
    });
}
