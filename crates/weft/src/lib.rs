//! weft: an event-loop runtime for servers that hold many clients with few threads.
//!
//! The architecture follows the classic single-threaded event loop (libuv, Node.js), one loop
//! per core and shared-nothing:
//!
//! - [`rt`]: the [`Runtime`](rt::Runtime), its event loops (ready queue, reactor, timer wheel and
//!   a cross-thread inbox per loop) and [`Handle`](rt::Handle)s to reach them from other threads.
//! - [`task`]: spawning futures on a loop, [`JoinHandle`]s, `yield_now`.
//! - [`time`]: `sleep`, `timeout`, `interval` on a hierarchical timer wheel.
//! - [`net`]: non-blocking TCP, UDP and Unix sockets driven by edge-triggered epoll or
//!   io_uring ([`Backend`]) (`TcpSocket`, split halves, RFC 8305 connects, `incoming()` streams).
//! - [`io`]: futures-io helpers (`copy`, `copy_bidirectional`, `BufReader`, …) and
//!   [`AsyncFd`](io::AsyncFd) for descriptors of the caller's own.
//! - [`callback`]: Node-style callbacks (timers, files, TCP servers, emitters) and
//!   [`callback::run`], which runs a callback program until nothing is left to do.
//! - [`pool`]: the worker pool (lanes `fs`, `dns`, `cpu`, `blocking`) for work that would block
//!   a loop; [`fs`] (files) and [`dns`] (name resolution) run on it.
//! - [`process`]: child processes (`Command`, `Child`, piped stdio) waited for through the reactor.
//! - [`signal`]: Unix signals as asynchronous streams, safe in a multi-threaded process.
//! - [`cluster`]: a supervisor and N worker processes sharing listening sockets, with IPC,
//!   crash restarts, graceful stop and zero-downtime reload.
//!
//! Everything that runs on a loop thread must return quickly: one long computation on a loop
//! stalls every client of that loop.
//!
//! ```
//! let rt = weft::rt::Runtime::builder().current_thread().build().unwrap();
//! let answer = rt.block_on(async {
//!     let task = weft::spawn(async { 6 * 7 });
//!     task.await.unwrap()
//! });
//! assert_eq!(answer, 42);
//! ```
#![warn(missing_docs, missing_debug_implementations, unreachable_pub)]
#![deny(unsafe_op_in_unsafe_fn)]

pub(crate) mod loom;
pub(crate) mod once_box;
pub(crate) mod panic_payload;
pub(crate) mod spin_lock;
pub(crate) mod sys;

pub mod callback;
pub mod cluster;
pub mod diag;
pub mod dns;
pub mod fs;
pub mod green;
pub mod io;
pub mod net;
pub mod pool;
pub mod process;
pub mod rt;
pub mod signal;
pub mod sync;
pub mod task;
pub mod time;

pub use pool::{spawn_blocking, spawn_cpu};
pub use rt::Backend;
pub use task::{spawn, spawn_local, yield_now, JoinError, JoinHandle};
#[cfg(feature = "macros")]
pub use weft_macros::{main, test};
