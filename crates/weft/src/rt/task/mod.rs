//! Tasks as the loop sees them: the task cell (`raw`: one allocation holding a type-erased
//! header and the future's stage), its state word (`state`, lock-free and model-checked by
//! `tests/loom_task_state.rs`), the list of a loop's idle tasks that shutdown walks (`owned`),
//! and the [`JoinHandle`] that reads a task's output (`join`). The public
//! `weft::task` module spawns through these.

pub(crate) mod join;
mod meta;
pub(crate) mod owned;
pub(crate) mod raw;
pub(crate) mod raw_join;
pub(crate) mod state;
mod task_ref;

pub use join::{JoinError, JoinHandle};
pub(crate) use meta::TaskMeta;
pub(crate) use owned::OwnedTasks;
pub(crate) use raw::{allocate, Header, Notified};
pub(crate) use task_ref::TaskRef;
