//! Loop-local (`!Send`) variants of [`mpsc`], [`oneshot`] and [`Mutex`], for values that never
//! leave one event loop (tasks spawned with `spawn_local`, green threads of the same loop).
//!
//! Same API shapes and the same FIFO and cancel-safety promises as the `Send` versions in
//! [`weft::sync`](crate::sync), but built on `Rc`, `Cell` and `RefCell`: no atomic operation,
//! no lock. The types are `!Send` and `!Sync`, so the compiler keeps them on their loop.
//!
//! ```
//! # let rt = weft::rt::Runtime::builder().current_thread().build().unwrap();
//! # rt.block_on(async {
//! let (tx, mut rx) = weft::sync::local::mpsc::channel(8);
//! weft::spawn_local(async move { tx.send(std::rc::Rc::new(1)).await.unwrap() });
//! assert_eq!(*rx.recv().await.unwrap(), 1);
//! # });
//! ```
//!
//! They are kept only where they beat the `Send` ones (the `sync` benchmark's `local` rows).
//!
//! # Roles
//!
//! - [`mpsc`]: bounded and unbounded channels.
//! - [`oneshot`]: one value; the receiver is a future.
//! - [`Mutex`]: an async mutex with FIFO hand-off.

pub mod mpsc;
mod mutex;
pub mod oneshot;

pub use mutex::{Mutex, MutexGuard};
