//! Shared by the pool, fs and dns tests: a runtime to block on. The gate that jobs block on
//! (and the setup that holds a lane's threads busy, [`Gate::hold`]), the bounded wait and the
//! temporary directory are weft_testkit's, re-exported here.
#![allow(dead_code)]

// Each test binary uses some of these, none uses all.
#[allow(unused_imports)]
pub use weft_testkit::{wait_until, Gate, TempDir, DEADLINE};

/// Runs `f` to completion on a fresh single-loop weft runtime: the pool's
/// handles wake it like any other task.
pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    weft::rt::Runtime::builder()
        .current_thread()
        .build()
        .expect("runtime")
        .block_on(f)
}
