//! A green thread that overflows its stack hits the guard page: the process
//! says so on stderr and dies by SIGSEGV instead of corrupting memory. Run in a child process
//! (this test binary re-executed) so the fault does not take the test
//! runner down.

use std::os::unix::process::ExitStatusExt;
use std::process::Command;

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

/// The child's body; ignored in ordinary runs.
#[test]
#[ignore = "run by overflow_faults_on_the_guard_page in a child process"]
fn overflow_child() {
    assert_eq!(
        std::env::var(CHILD_ENV).as_deref(),
        Ok("1"),
        "run only as a child"
    );
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

#[test]
fn overflow_faults_on_the_guard_page() {
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "--ignored",
            "--exact",
            "overflow_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, "1")
        .output()
        .unwrap();
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

/// The second child: installs the green handler, then overflows a plain
/// OS thread; ignored in ordinary runs.
#[test]
#[ignore = "run by os_thread_overflow_is_still_std_s_to_report in a child process"]
fn os_thread_overflow_child() {
    assert_eq!(
        std::env::var(OS_CHILD_ENV).as_deref(),
        Ok("1"),
        "run only as a child"
    );
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
#[test]
fn os_thread_overflow_is_still_std_s_to_report() {
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "--ignored",
            "--exact",
            "os_thread_overflow_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(OS_CHILD_ENV, "1")
        .output()
        .unwrap();
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
