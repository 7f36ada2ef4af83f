//! Reaping children whose [`Child`](super::Child) was dropped while they still ran.
//!
//! A child that has exited but was not waited for stays a zombie (an entry in the process
//! table) until its parent waits. So a dropped `Child` whose process still runs (killed by
//! `kill_on_drop` but not yet dead, or left running on purpose) is adopted here:
//!
//! - inside a weft loop, by a detached task on that loop that waits for the exit exactly as
//!   [`Child::wait`](super::Child::wait) does (pidfd or `SIGCHLD`), costing no thread;
//! - outside any loop, by a short-lived thread blocked in `waitpid` on that one pid.
//!
//! A task still waiting when its runtime shuts down is dropped with it: the process goes on,
//! and if it exits before the program does it stays a zombie until then. That is the one case
//! left, and only for children deliberately left running (a killed child dies at once).

use super::exit::ExitWatch;
use crate::rt::context;
use std::future::poll_fn;

/// Name of the fallback reaper threads (visible in `top -H`, `/proc/<pid>/task`).
const REAPER_THREAD_NAME: &str = "weft-reaper";

/// Takes over waiting for `process`; see the module docs.
pub(crate) fn adopt(mut process: std::process::Child, mut watch: ExitWatch) {
    if context::current_shared().is_some() {
        crate::task::spawn(async move {
            let pid = process.id();
            if let Err(err) = poll_fn(|cx| watch.poll_exit(cx, &mut process)).await {
                tracing::warn!(pid, error = %err, "weft::process: reaping a dropped child failed");
            }
        });
        return;
    }
    let spawned = std::thread::Builder::new()
        .name(REAPER_THREAD_NAME.into())
        .spawn(move || {
            let _ = process.wait();
        });
    if let Err(err) = spawned {
        tracing::warn!(error = %err, "weft::process: no thread to reap a dropped child");
    }
}
