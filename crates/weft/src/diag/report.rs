//! What diagnostics say: a [`Report`], and where it goes (the application's handler, set with
//! [`set_handler`], and `tracing`: `error` for a deadlock, `warn` for everything else).
//!
//! A report is text first, for a person (`Display`, laid out like a Java thread dump: one
//! block per task involved), with the two facts a program needs kept apart: its
//! [`kind`](Report::kind) and the [`tasks`](Report::tasks) involved, in cycle order.

use crate::loom::{Arc, Mutex};
use std::fmt;

/// What a [`Report`] is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ReportKind {
    /// A cycle in the wait-for graph: every member waits on a resource another member holds.
    Deadlock,
    /// Two lock classes taken in both orders (a deadlock waiting to happen).
    LockOrder,
    /// A loop whose current poll has run past the watchdog threshold.
    Stall,
    /// A task that keeps waking itself without progress.
    Livelock,
    /// A parked task that no waker can reach any more.
    LostWake,
    /// An actor that kept failing to take a resource (a `try_*` loop, or a wait that left the
    /// queue and came back) while others took it many times.
    Starvation,
}

impl fmt::Display for ReportKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ReportKind::Deadlock => "deadlock",
            ReportKind::LockOrder => "lock-order inversion",
            ReportKind::Stall => "stalled loop",
            ReportKind::Livelock => "livelock",
            ReportKind::LostWake => "lost wake-up",
            ReportKind::Starvation => "starvation",
        })
    }
}

/// One finding of `weft::diag`; see the module doc.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report {
    kind: ReportKind,
    tasks: Vec<String>,
    text: String,
}

impl Report {
    /// A report of `kind` about `tasks` (names, in cycle order), reading `text`.
    pub(crate) fn new(kind: ReportKind, tasks: Vec<String>, text: String) -> Report {
        Report { kind, tasks, text }
    }

    /// What the report is about.
    pub fn kind(&self) -> ReportKind {
        self.kind
    }

    /// The names of the tasks (and threads) involved, in cycle order for a deadlock; an
    /// unnamed task is named by its id (`task 17`), an OS thread by its name or id.
    pub fn tasks(&self) -> Vec<String> {
        self.tasks.clone()
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

type Handler = Arc<dyn Fn(&Report) + Send + Sync + 'static>;

static HANDLER: Mutex<Option<Handler>> = Mutex::new(None);

/// Sets the function every report is given to (replacing the previous one). It runs on the
/// thread that found the problem (a diagnostics thread, or the thread that took a lock in the
/// wrong order), so it should be quick and must not wait on the resources reported.
///
/// ```
/// weft::diag::set_handler(|r: &weft::diag::Report| eprintln!("{r}"));
/// ```
pub fn set_handler<F>(handler: F)
where
    F: Fn(&Report) + Send + Sync + 'static,
{
    *HANDLER.lock().unwrap_or_else(|e| e.into_inner()) = Some(Arc::new(handler));
}

/// Sends a report to `tracing` and to the handler.
pub(crate) fn emit(report: &Report) {
    match report.kind {
        ReportKind::Deadlock => tracing::error!(kind = %report.kind, "{}", report.text),
        _ => tracing::warn!(kind = %report.kind, "{}", report.text),
    }
    let handler = HANDLER.lock().unwrap_or_else(|e| e.into_inner()).clone();
    if let Some(handler) = handler {
        handler(report);
    }
}
