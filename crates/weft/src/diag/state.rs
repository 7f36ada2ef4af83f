//! The diagnostics configuration in force for the process, and the two flags the hot hooks
//! read (one relaxed load each). Kept apart from `diag/mod.rs` so that the module root only
//! declares and re-exports (the hooks in `sync`, `rt` and `time` call into `diag`, so `diag`'s
//! root must not call back into them).

use super::Config;
use crate::loom::{AtomicBool, Mutex, Ordering::Relaxed};

static CONFIG: Mutex<Option<Config>> = Mutex::new(None);
static DEADLOCKS: AtomicBool = AtomicBool::new(false);
static LOCK_ORDER: AtomicBool = AtomicBool::new(false);
static STARVATION: AtomicBool = AtomicBool::new(false);
/// Any of the three above: the one load a hold pays when only the bookkeeping is on.
static ANY_HOOK: AtomicBool = AtomicBool::new(false);

/// Makes `config` the process's diagnostics configuration (the last runtime built with one
/// wins): turns `sync::trace` on if anything is on, starts the detector thread if deadlock
/// detection is on.
pub(crate) fn install(config: Config) {
    crate::sync::trace::set_enabled(config.needs_trace());
    DEADLOCKS.store(config.deadlocks, Relaxed);
    LOCK_ORDER.store(config.lock_order, Relaxed);
    super::starvation::configure(&config);
    STARVATION.store(config.starvation.is_some(), Relaxed);
    ANY_HOOK.store(
        config.deadlocks || config.lock_order || config.starvation.is_some(),
        Relaxed,
    );
    super::watchdog::configure(&config);
    let deadlocks = config.deadlocks;
    *CONFIG.lock().unwrap_or_else(|e| e.into_inner()) = Some(config);
    if deadlocks {
        super::graph::start();
    }
}

/// The configuration in force (everything off if none was installed).
pub fn current() -> Config {
    CONFIG
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone()
        .unwrap_or_default()
}

/// True while deadlock detection, lock-order checking or starvation hints are on.
#[inline]
pub(crate) fn any_hook_on() -> bool {
    ANY_HOOK.load(Relaxed)
}

/// True while deadlock detection is on.
#[inline]
pub(crate) fn deadlocks_on() -> bool {
    DEADLOCKS.load(Relaxed)
}

/// True while lock-order checking is on.
#[inline]
pub(crate) fn lock_order_on() -> bool {
    LOCK_ORDER.load(Relaxed)
}

/// True while starvation hints are on.
#[inline]
pub(crate) fn starvation_on() -> bool {
    STARVATION.load(Relaxed)
}

/// Installs `config` for the whole process without building a runtime, so that one benchmark
/// run can measure `weft::sync` with diagnostics off and on (`Config::default()` turns
/// everything off again; the detector thread, once started, stays idle).
#[doc(hidden)]
pub fn install_for_bench(config: Config) {
    install(config);
}
