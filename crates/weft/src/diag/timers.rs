//! Live timers per task: what makes a recorded wait *conditional* (see the module doc of
//! [`crate::diag`]). A `Sleep` carries a [`TimerMark`] while it is filed in a wheel; the mark
//! counts one live timer for the task that filed it, and un-counts it when the entry goes
//! (fired, cancelled, or the sleep dropped).

use crate::loom::Mutex;
use crate::sync::trace;
use std::collections::HashMap;
use std::sync::OnceLock;

fn live() -> &'static Mutex<HashMap<u64, u32>> {
    static LIVE: OnceLock<Mutex<HashMap<u64, u32>>> = OnceLock::new();
    LIVE.get_or_init(|| Mutex::new(HashMap::new()))
}

/// One live timer of one task; see the module doc.
#[derive(Debug)]
pub(crate) struct TimerMark {
    /// The actor that filed the timer; 0 when nothing was counted (bookkeeping off).
    task: u64,
}

impl TimerMark {
    /// Counts a timer for the task being polled (nothing when the bookkeeping is off).
    #[inline]
    pub(crate) fn new() -> TimerMark {
        if !trace::enabled() {
            return TimerMark { task: 0 };
        }
        // The task being polled, else this thread (`block_on`'s future is no task).
        let task = trace::current_actor().id.0;
        *live()
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(task)
            .or_insert(0) += 1;
        TimerMark { task }
    }
}

impl Drop for TimerMark {
    fn drop(&mut self) {
        if self.task == 0 {
            return;
        }
        let mut live = live().lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = live.get_mut(&self.task) {
            *n -= 1;
            if *n == 0 {
                live.remove(&self.task);
            }
        }
    }
}

/// True if `task` has at least one timer filed right now.
pub(crate) fn has_live_timer(task: u64) -> bool {
    live()
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .contains_key(&task)
}
