//! The task state word.
//!
//! One `AtomicUsize` per task holds flags in its low bits and the reference count above them.
//! Every transition is a single atomic read-modify-write, so wakers on any thread, the task's
//! home loop and its `JoinHandle` agree on what happened without a lock.

/// Set while the task sits in a run queue or an inbox (one queued reference exists).
/// A wake of a task with this bit set does nothing: the task will be polled anyway.
pub(crate) const NOTIFIED: usize = 1 << 0;
/// Set while the home loop polls the future. Only the home loop sets it, so it is never
/// contended; other threads only read it.
pub(crate) const RUNNING: usize = 1 << 1;
/// Set once the stage holds the output (or the cancellation/panic error).
/// This flag is never cleared, and once set the future is gone.
pub(crate) const COMPLETE: usize = 1 << 2;
/// Set by `JoinHandle::abort` or runtime shutdown: the next time the home loop touches the
/// task it drops the future instead of polling it.
pub(crate) const CANCELLED: usize = 1 << 3;
/// Set while a `JoinHandle` exists. When it is clear at completion, the home loop drops the
/// output itself because nobody will read it.
pub(crate) const JOIN_INTEREST: usize = 1 << 4;
/// Set while the header's join-waker slot holds the waker of whoever awaits the handle.
/// While set, only the completing loop may read the slot; while clear, only the handle may write it.
pub(crate) const JOIN_WAKER: usize = 1 << 5;
/// Set once the task is linked into its home loop's list of owned tasks (after its first
/// `Pending`). The list holds one reference; shutdown walks the list to cancel idle tasks.
pub(crate) const OWNED: usize = 1 << 6;

/// One reference in the count stored above the flags.
pub(crate) const REF_ONE: usize = 1 << 7;
/// Mask of the reference count.
pub(crate) const REF_MASK: usize = !(REF_ONE - 1);

/// A new task: queued once (the `Notified` handed to the scheduler) and joinable (the
/// `JoinHandle`), so two references.
pub(crate) const INITIAL: usize = NOTIFIED | JOIN_INTEREST | (2 * REF_ONE);
