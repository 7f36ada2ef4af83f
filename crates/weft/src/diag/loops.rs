//! The loops diagnostics can see: each loop thread registers its loop while it runs it
//! ([`enter_loop`]), with its thread's name and kernel id (which the watchdog's signal needs),
//! and the latest stall report about it (which a dump quotes when the loop does not answer).

use crate::loom::{Arc, Mutex, Ordering::Relaxed};
use crate::rt::LoopShared;
use crate::sys::thread_signal;

/// A loop the diagnostics can see: registered by its thread while it runs.
#[derive(Debug)]
pub(crate) struct LoopEntry {
    pub(crate) shared: Arc<LoopShared>,
    pub(crate) thread: String,
    /// The latest stall report's first line, for dumps that find the loop stuck.
    pub(crate) last_stall: Mutex<Option<(u64, String)>>,
}

impl LoopEntry {
    pub(crate) fn watch(&self) -> &crate::diag::hooks::LoopWatch {
        &self.shared.watch
    }
}

static LOOPS: Mutex<Vec<Arc<LoopEntry>>> = Mutex::new(Vec::new());

pub(crate) fn lock<T>(m: &Mutex<T>) -> crate::loom::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The loops running now.
pub(crate) fn loops() -> Vec<Arc<LoopEntry>> {
    lock(&LOOPS).clone()
}

/// Keeps a loop registered while its thread runs it.
#[derive(Debug)]
pub(crate) struct LoopRegistration {
    entry: Arc<LoopEntry>,
}

/// Registers the loop `shared` as run by this thread, until the returned value is dropped.
pub(crate) fn enter_loop(shared: &Arc<LoopShared>) -> LoopRegistration {
    shared
        .watch
        .tid
        .store(thread_signal::gettid() as u64, Relaxed);
    let thread = std::thread::current();
    let entry = Arc::new(LoopEntry {
        shared: shared.clone(),
        thread: thread.name().unwrap_or("unnamed").to_string(),
        last_stall: Mutex::new(None),
    });
    lock(&LOOPS).push(entry.clone());
    LoopRegistration { entry }
}

impl Drop for LoopRegistration {
    fn drop(&mut self) {
        self.entry.watch().tid.store(0, Relaxed);
        lock(&LOOPS).retain(|e| !Arc::ptr_eq(e, &self.entry));
    }
}

/// For a dump that found `entry` unresponsive: what its stamp and the last report say.
pub(crate) fn describe_current_poll(entry: &LoopEntry) -> String {
    if !super::hooks::watching() {
        // Polls move the stamp only for the watchdog.
        return "unknown (the watchdog is off: WEFT_DIAG=watchdog tells which poll)".into();
    }
    let stamp = entry.watch().stamp.load(Relaxed);
    if stamp & 1 == 0 {
        return "between polls (running a closure, timers or I/O)".into();
    }
    match &*lock(&entry.last_stall) {
        Some((s, report)) if *s == stamp => report.lines().next().unwrap_or("").to_string(),
        _ => "a task poll has not returned".into(),
    }
}
