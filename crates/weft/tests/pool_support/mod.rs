//! Shared test tools for the pool, fs and dns tests: a gate that jobs block on, a
//! bounded wait for a condition, a runtime to block on and a temporary directory.
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// How long a test waits for a condition that should hold almost at once
/// before it fails. Generous because the machine is shared; only a broken
/// pool gets near it.
pub const CONDITION_DEADLINE: Duration = Duration::from_secs(20);

/// Polling period of [`wait_for`]; short so tests stay quick.
const POLL_PERIOD: Duration = Duration::from_millis(1);

/// Waits until `cond` holds, panicking with `what` after [`CONDITION_DEADLINE`].
pub fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + CONDITION_DEADLINE;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        std::thread::sleep(POLL_PERIOD);
    }
}

/// A gate that blocked jobs wait on until the test opens it.
#[derive(Clone, Default)]
pub struct Gate(Arc<(Mutex<bool>, Condvar)>);

impl Gate {
    pub fn new() -> Self {
        Self::default()
    }

    /// Blocks the calling thread until the gate opens.
    pub fn wait(&self) {
        let (open, cv) = &*self.0;
        let mut open = open.lock().unwrap();
        while !*open {
            open = cv.wait(open).unwrap();
        }
    }

    pub fn open(&self) {
        let (open, cv) = &*self.0;
        *open.lock().unwrap() = true;
        cv.notify_all();
    }
}

/// Opens the gate when dropped, so a failing test does not leave pool
/// threads blocked forever.
pub struct OpenOnDrop(pub Gate);

impl Drop for OpenOnDrop {
    fn drop(&mut self) {
        self.0.open();
    }
}

/// Runs `f` to completion on a fresh single-loop weft runtime: the pool's
/// handles wake it like any other task.
pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    weft::rt::Runtime::builder()
        .current_thread()
        .build()
        .expect("runtime")
        .block_on(f)
}

/// A fresh directory under the system temp dir, removed (with its contents) when dropped.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("weft-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
