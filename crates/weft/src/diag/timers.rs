//! Live timers per task: what makes a recorded wait *conditional* (see the module doc of
//! [`crate::diag`]). While a `Sleep` is filed in a wheel, one live timer is counted for the task
//! that filed it; it is un-counted when the entry goes (fired, cancelled, or the sleep dropped).
//!
//! The sleep itself carries nothing for this (a sleeping task's future stays small): the
//! filing is remembered here, by loop and timer key, only while the bookkeeping is on.

use crate::loom::Mutex;
use crate::rt::wheel::TimerKey;
use crate::sync::trace::{self, KeyHasher};
use std::collections::HashMap;
use std::hash::BuildHasherDefault;
use std::sync::OnceLock;

/// Who filed each live timer and how many each task has.
#[derive(Default)]
struct Live {
    /// (loop id, timer key) → the actor that filed it.
    filed: HashMap<(usize, TimerKey), u64, BuildHasherDefault<KeyHasher>>,
    /// Actor → its live timers (absent: none).
    per_task: HashMap<u64, u32, BuildHasherDefault<KeyHasher>>,
}

fn live() -> &'static Mutex<Live> {
    static LIVE: OnceLock<Mutex<Live>> = OnceLock::new();
    LIVE.get_or_init(|| Mutex::new(Live::default()))
}

/// A timer was filed as `key` in the wheel of loop `loop_id`: counts it for the task being
/// polled, else this thread (`block_on`'s future is no task). Nothing when the bookkeeping is
/// off.
#[inline]
pub(crate) fn timer_filed(loop_id: usize, key: TimerKey) {
    if !trace::enabled() {
        return;
    }
    let task = trace::current_actor().id.0;
    let mut live = live().lock().unwrap_or_else(|e| e.into_inner());
    live.filed.insert((loop_id, key), task);
    *live.per_task.entry(task).or_insert(0) += 1;
}

/// The timer filed as `key` on loop `loop_id` went; un-counts it if it was counted.
#[inline]
pub(crate) fn timer_unfiled(loop_id: usize, key: TimerKey) {
    if !trace::enabled() {
        return;
    }
    let mut live = live().lock().unwrap_or_else(|e| e.into_inner());
    let Some(task) = live.filed.remove(&(loop_id, key)) else {
        return;
    };
    if let Some(n) = live.per_task.get_mut(&task) {
        *n -= 1;
        if *n == 0 {
            live.per_task.remove(&task);
        }
    }
}

/// True if `task` has at least one timer filed right now.
pub(crate) fn has_live_timer(task: u64) -> bool {
    live()
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .per_task
        .contains_key(&task)
}
