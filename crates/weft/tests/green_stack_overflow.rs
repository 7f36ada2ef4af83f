//! A green thread that overflows its stack hits the guard page: the process
//! dies by SIGSEGV instead of corrupting memory. Run in a child process
//! (this test binary re-executed) so the fault does not take the test
//! runner down.

use std::os::unix::process::ExitStatusExt;
use std::process::Command;

/// Set in the child's environment to make `overflow_child` overflow.
const CHILD_ENV: &str = "WEFT_GREEN_OVERFLOW_CHILD";

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
    assert_eq!(
        out.status.signal(),
        Some(libc::SIGSEGV),
        "child should die by SIGSEGV; status {:?}, stderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}
