//! A green thread that overflows its stack hits the guard page: the process
//! says so on stderr and dies by SIGSEGV instead of corrupting memory. Run in a child process
//! (this test binary re-executed) so the fault does not take the test
//! runner down.
//!
//! The binary has `harness = false`: `main` runs a child's body when the environment says this
//! process is that child, and the tests otherwise. The bodies are not tests (they must crash),
//! so no test runner lists them, and no `--include-ignored` run can run one by itself.

use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Output};

use weft_testkit::{run_to_end, DEADLINE};

fn main() {
    if std::env::var_os(CHILD_ENV).is_some() {
        return overflow_child();
    }
    if std::env::var_os(OS_CHILD_ENV).is_some() {
        return os_thread_overflow_child();
    }
    weft_testkit::run_tests(&[
        (
            "overflow_faults_on_the_guard_page",
            overflow_faults_on_the_guard_page,
        ),
        (
            "os_thread_overflow_is_still_std_s_to_report",
            os_thread_overflow_is_still_std_s_to_report,
        ),
    ]);
}

/// This test binary re-executed as the child that `env` names; its output once it ended
/// (within the deadline).
fn run_child(env: &str) -> Output {
    let mut child = Command::new(std::env::current_exe().unwrap());
    child.env(env, "1");
    run_to_end(child, DEADLINE)
}

/// Set in the child's environment to make `overflow_child` overflow.
const CHILD_ENV: &str = "WEFT_GREEN_OVERFLOW_CHILD";

/// Set in the child's environment to make `os_thread_overflow_child`
/// overflow an OS thread after the green fault handler was installed.
const OS_CHILD_ENV: &str = "WEFT_GREEN_OS_OVERFLOW_CHILD";

/// The smallest stack a green thread can have, to overflow quickly.
const SMALL_STACK: usize = weft::green::MIN_STACK_SIZE;

/// Recursion deep enough to exhaust any stack; each frame holds 512 bytes.
#[inline(never)]
fn recurse(n: u64) -> u64 {
    let frame = std::hint::black_box([n; 64]);
    if frame[0] == u64::MAX {
        return 0;
    }
    frame[0] + recurse(n + 1) + frame[63]
}

/// The first child's body (not a test: run by `overflow_faults_on_the_guard_page` in a child
/// process, where it must die).
fn overflow_child() {
    let rt = weft::rt::Runtime::builder()
        .current_thread()
        .build()
        .unwrap();
    rt.block_on(async {
        let h = weft::green::Builder::new()
            .stack_size(SMALL_STACK)
            .spawn(|| recurse(0))
            .unwrap();
        let _ = h.await;
    });
    // Reaching here means the overflow went unnoticed.
    println!("NO FAULT");
}

fn overflow_faults_on_the_guard_page() {
    let out = run_child(CHILD_ENV);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        !stdout.contains("NO FAULT"),
        "overflow was not detected: {stdout}"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("weft: a green thread has overflowed its stack of 16384 bytes"),
        "the overflow is reported; stderr: {stderr}"
    );
    assert_eq!(
        out.status.signal(),
        Some(libc::SIGSEGV),
        "child should die by SIGSEGV; status {:?}, stderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The second child's body: installs the green handler, then overflows a plain OS thread
/// (not a test: run by `os_thread_overflow_is_still_std_s_to_report` in a child process).
fn os_thread_overflow_child() {
    let rt = weft::rt::Runtime::builder()
        .current_thread()
        .build()
        .unwrap();
    rt.block_on(async { weft::green::spawn(|| ()).await.unwrap() });
    std::thread::Builder::new()
        .name("deep".into())
        .spawn(|| recurse(0))
        .unwrap()
        .join()
        .unwrap();
    println!("NO FAULT");
}

/// Faults outside green stacks go to the handler that was there before
/// (std's), which reports an OS thread's overflow in its own words.
fn os_thread_overflow_is_still_std_s_to_report() {
    let out = run_child(OS_CHILD_ENV);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!String::from_utf8_lossy(&out.stdout).contains("NO FAULT"));
    assert!(
        stderr.contains("thread 'deep'") && stderr.contains("has overflowed its stack"),
        "stderr: {stderr}"
    );
    assert!(
        !stderr.contains("green thread"),
        "not mistaken for a green thread: {stderr}"
    );
    assert!(!out.status.success());
}
