//! Green threads: blocking-style code on the event loop.
//!
//! A green thread is a closure that runs on its own small stack and is
//! scheduled by the event loop, not by the OS (gevent's model). Inside it,
//! calls that would block an OS thread — [`sleep`], reading a [`TcpStream`],
//! [`TcpListener::accept`], [`GreenHandle::join`], [`block_on`] of any
//! future — *park* the green thread instead: its stack is set aside, the
//! loop runs other tasks and green threads, and when the awaited event
//! happens the green thread continues where it stopped. Code reads like
//! thread-per-connection code; it costs a few kilobytes of memory and tens
//! of nanoseconds per park more than an async task, and far less than an
//! OS thread (see *Costs* below).
//!
//! ```no_run
//! use std::io::{Read, Write};
//! # fn main() -> std::io::Result<()> {
//! let rt = weft::rt::Runtime::builder().current_thread().build()?;
//! rt.block_on(async {
//!     let server = weft::green::spawn(|| -> std::io::Result<()> {
//!         let listener = weft::green::TcpListener::bind("127.0.0.1:7000".parse().unwrap())?;
//!         loop {
//!             let (mut conn, _) = listener.accept()?;
//!             weft::green::spawn(move || {
//!                 let mut buf = [0; 1024];
//!                 while let Ok(n @ 1..) = conn.read(&mut buf) {
//!                     if conn.write_all(&buf[..n]).is_err() {
//!                         break;
//!                     }
//!                 }
//!             });
//!         }
//!     });
//!     server.await
//! });
//! # Ok(())
//! # }
//! ```
//!
//! # Roles
//!
//! - `thread`: the mechanism. A green thread is a stackful coroutine
//!   (corosensei) wrapped in a future; polling it resumes the coroutine, and
//!   parking suspends it so the poll returns `Pending`. Its module doc states
//!   the invariants that make the stack switch sound.
//! - `stack`: stacks with a guard page, and a per-thread cache of them.
//! - `overflow`: turns a fault in a green thread's guard page into a clear
//!   message before the process dies.
//! - [`GreenHandle`]: the join handle — [`GreenHandle::join`] from a green
//!   thread, `.await` from a task; a panic comes back as [`JoinError`].
//! - `net`: [`TcpStream`], [`TcpListener`], [`UnixStream`], [`UnixListener`],
//!   std-like sockets whose `Read`/`Write`/`accept` park.
//! - [`fs`]: file operations on the worker pool, parking until they finish.
//!
//! # Scheduling
//!
//! [`spawn`] wraps the green thread in a future and spawns it with
//! [`spawn_local`](crate::task::spawn_local) on the current loop: the loop
//! treats it as one more local task (same ready queue, same budget, same
//! wakers). It never leaves that loop, so a green thread is always on the
//! same OS thread; this is what makes thread-locals and `!Send` values on
//! its stack sound across parks (see `thread` for the full argument).
//! A green thread that computes without parking holds the loop like any
//! task that never returns `Pending` would: put long CPU work on the pool.
//!
//! # Cancellation and shutdown
//!
//! [`GreenHandle::abort`], and the runtime's shutdown, drop the green
//! thread: if it is parked, its stack is unwound from the park point so
//! its destructors run (sockets close, guards release), and a join reports
//! [`JoinError::is_cancelled`]. Green I/O attempted from a destructor during
//! that unwind fails with an error rather than parking.
//!
//! # Costs
//!
//! A park and resume is two stack switches plus one pass through the loop's
//! ready queue; each green thread reserves [`DEFAULT_STACK_SIZE`] of
//! address space (plus a guard page) but only the pages it touches are
//! resident. Each stack is one `mmap` region, so the kernel's
//! `vm.max_map_count` (65530 by default, two mappings per stack) bounds
//! how many green threads can exist at once (somewhat under 32,000 by
//! default, since the process's other mappings count too).
//! The benchmark `benches/benches/green.rs` measures these against tasks,
//! OS threads and processes.

pub mod fs;
mod handle;
mod net;
mod stack;
mod thread;

use std::io;
use std::time::{Duration, Instant};

pub use self::handle::{GreenHandle, JoinError};
pub use self::net::{TcpListener, TcpStream, UnixListener, UnixStream};
pub use self::stack::{DEFAULT_STACK_SIZE, MIN_STACK_SIZE, STACK_CACHE_LIMIT};
pub use self::thread::{
    block_on, in_green_thread, on_loop_stack, try_block_on, GreenThread, PanicPayload, ParkError,
};

/// Configures a green thread before spawning it.
///
/// ```
/// # let rt = weft::rt::Runtime::builder().current_thread().build().unwrap();
/// # rt.block_on(async {
/// let handle = weft::green::Builder::new()
///     .stack_size(64 * 1024)
///     .spawn(|| 6 * 7)
///     .expect("stack mapped");
/// assert_eq!(handle.await.unwrap(), 42);
/// # });
/// ```
#[derive(Debug, Clone)]
pub struct Builder {
    stack_size: usize,
}

impl Default for Builder {
    fn default() -> Self {
        Builder::new()
    }
}

impl Builder {
    /// A builder with the default stack size ([`DEFAULT_STACK_SIZE`]).
    pub fn new() -> Builder {
        Builder {
            stack_size: DEFAULT_STACK_SIZE,
        }
    }

    /// Sets the usable stack size in bytes; a guard page is added below it.
    /// Sizes below [`MIN_STACK_SIZE`] are raised to it, and sizes are
    /// rounded up to whole pages. Only stacks of the default size are
    /// reused between green threads, so other sizes pay an `mmap` per spawn.
    pub fn stack_size(mut self, bytes: usize) -> Builder {
        self.stack_size = bytes.max(MIN_STACK_SIZE);
        self
    }

    /// Spawns `f` as a green thread on the current event loop. It starts
    /// running the next time the loop runs its ready tasks.
    ///
    /// # Errors
    ///
    /// The stack could not be mapped (address space, memory, or the
    /// kernel's limit on mappings exhausted).
    ///
    /// # Panics
    ///
    /// When called outside an event loop (as [`spawn_local`](crate::task::spawn_local)).
    #[track_caller]
    pub fn spawn<F, T>(self, f: F) -> io::Result<GreenHandle<T>>
    where
        F: FnOnce() -> T + 'static,
        T: 'static,
    {
        let green = GreenThread::new(self.stack_size, f)?;
        Ok(GreenHandle::new(crate::task::spawn_local(green)))
    }
}

/// Spawns `f` as a green thread on the current event loop, with the
/// default stack size.
///
/// # Panics
///
/// When called outside an event loop, or when no stack can be mapped (see
/// [`Builder::spawn`] for the fallible form).
#[track_caller]
pub fn spawn<F, T>(f: F) -> GreenHandle<T>
where
    F: FnOnce() -> T + 'static,
    T: 'static,
{
    match Builder::new().spawn(f) {
        Ok(handle) => handle,
        Err(e) => panic!("green::spawn: cannot map a green thread stack: {e}"),
    }
}

/// Parks the current green thread for `duration`; other tasks and green
/// threads of the loop run meanwhile.
///
/// # Panics
///
/// Outside a green thread (see [`ParkError`]).
pub fn sleep(duration: Duration) {
    block_on(crate::time::sleep(duration));
}

/// Parks the current green thread until `deadline`.
///
/// # Panics
///
/// Outside a green thread (see [`ParkError`]).
pub fn sleep_until(deadline: Instant) {
    block_on(crate::time::sleep_until(deadline));
}

/// Lets the loop run its other ready work, then continues.
///
/// # Panics
///
/// Outside a green thread (see [`ParkError`]).
pub fn yield_now() {
    block_on(crate::task::yield_now());
}

/// Parks on `fut` and maps a failure to park into an `io::Error`: the
/// common shape of every blocking-style I/O call in this module.
pub(crate) fn park_io<T>(fut: impl std::future::Future<Output = io::Result<T>>) -> io::Result<T> {
    try_block_on(fut)?
}
