//! Reaping children whose [`Child`](super::Child) was dropped while they still ran.
//!
//! A child that has exited but was not waited for stays a zombie (an entry in the process
//! table) until its parent waits. So a dropped `Child` whose process still runs (killed by
//! `kill_on_drop` but not yet dead, or left running on purpose) is adopted here:
//!
//! - inside a weft loop, by a detached task on that loop that waits for the exit exactly as
//!   [`Child::wait`](super::Child::wait) does (pidfd or `SIGCHLD`), costing no thread;
//! - outside any loop, or when that task is dropped unfinished (its runtime shut down), by a
//!   thread blocked in `waitpid` on that one pid, which ends when the child does.

use super::exit::ExitWatch;
use crate::rt;
use std::future::poll_fn;

/// Name of the fallback reaper threads (visible in `top -H`, `/proc/<pid>/task`).
const REAPER_THREAD_NAME: &str = "weft-reaper";

/// A dropped child not yet reaped; whoever drops it unreaped hands it to a reaper thread.
struct Orphan {
    process: Option<std::process::Child>,
    watch: ExitWatch,
}

impl Orphan {
    async fn reap(mut self) {
        let Some(process) = self.process.as_mut() else {
            return;
        };
        let pid = process.id();
        match poll_fn(|cx| self.watch.poll_exit(cx, process)).await {
            Ok(_) => self.process = None,
            Err(err) => {
                tracing::warn!(pid, error = %err, "weft::process: waiting for a dropped child failed; reaping it on a thread");
            }
        }
    }
}

impl Drop for Orphan {
    fn drop(&mut self) {
        if let Some(process) = self.process.take() {
            reap_on_thread(process);
        }
    }
}

/// Takes over waiting for `process`; see the module docs.
pub(crate) fn adopt(process: std::process::Child, watch: ExitWatch) {
    let orphan = Orphan {
        process: Some(process),
        watch,
    };
    if rt::current_shared().is_some() {
        // If the loop is shutting down, the task is dropped unpolled and the orphan's drop
        // falls back to a thread.
        crate::task::spawn(orphan.reap());
    }
    // Outside a loop, dropping the orphan here hands it to a thread.
}

fn reap_on_thread(mut process: std::process::Child) {
    if let Ok(Some(_)) = process.try_wait() {
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
