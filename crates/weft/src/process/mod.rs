//! Child processes on the event loop, shaped like `tokio::process`.
//!
//! ```
//! # let rt = weft::rt::Runtime::builder().current_thread().build().unwrap();
//! # rt.block_on(async {
//! use std::process::Stdio;
//! use weft::process::Command;
//!
//! let mut child = Command::new("cat")
//!     .stdin(Stdio::piped())
//!     .stdout(Stdio::piped())
//!     .spawn()?;
//! let stdin = child.stdin.take().unwrap();
//! stdin.write_all(b"through cat").await?;
//! drop(stdin); // cat sees end of file and exits
//! let output = child.wait_with_output().await?;
//! assert!(output.status.success());
//! assert_eq!(output.stdout, b"through cat");
//! # Ok::<(), std::io::Error>(())
//! # }).unwrap();
//! ```
//!
//! - [`Command`] builds a process (program, arguments, environment, working directory, stdio,
//!   [`kill_on_drop`](Command::kill_on_drop)); [`Command::output`] and [`Command::status`] run
//!   it to completion.
//! - [`Child`] is a running process: [`wait`](Child::wait) (asynchronous, through the reactor),
//!   [`try_wait`](Child::try_wait), [`kill`](Child::kill) / [`start_kill`](Child::start_kill),
//!   [`wait_with_output`](Child::wait_with_output), and its piped stdio as
//!   [`ChildStdin`], [`ChildStdout`], [`ChildStderr`]: non-blocking futures-io
//!   `AsyncWrite`/`AsyncRead` streams with inherent `read`/`write`/`write_all` like weft's
//!   sockets.
//!
//! # How a child is spawned: never a bare `fork` of a threaded process
//!
//! `fork` in a multi-threaded process copies only the calling thread; a lock (malloc's, say)
//! held by another thread at that instant stays locked forever in the child, so a child that
//! allocates before `exec` can deadlock. weft spawns through `std::process::Command`, which on
//! Linux (glibc and musl) uses **`posix_spawn`** (`posix_spawnp` for a name looked up in `PATH`).
//! glibc implements it with `clone(CLONE_VM | CLONE_VFORK)` and a child that only sets up
//! descriptors, signal dispositions and the directory before `execve`: no copied address space,
//! no `atfork` handlers, nothing that takes a lock.
//!
//! std falls back to `fork` + `exec` only when `posix_spawn` cannot express the request: a
//! `uid`/`gid`, a `pre_exec` closure, a `PATH` changed through `env` with a bare program name,
//! or a `current_dir` on a glibc older than 2.29 (no `posix_spawn_file_actions_addchdir_np`).
//! Even then, between `fork` and `exec` std's child makes only async-signal-safe calls (`dup2`,
//! `setgroups`/`setgid`/`setuid`, `chdir`, `setpgid`, `signal(SIGPIPE, SIG_DFL)`, `execvp`)
//! and allocates nothing: an `exec` failure travels back through a socket made before the
//! fork. **weft adds no `pre_exec` closure**, so none of weft's code runs in the child. (A
//! user who adds one through [`Command::as_std_mut`] takes on std's rule: only
//! async-signal-safe calls inside it.)
//!
//! # Waiting
//!
//! Each child gets a pidfd (Linux 5.3+) right after the spawn; waiting registers it with the
//! reactor of the loop that waits, so a wait costs no thread and no signal. Where pidfds are
//! missing (`ENOSYS`, or `EPERM` from a sandbox), waits use `SIGCHLD` through
//! [`crate::signal`] instead. Only the child's own pid is ever reaped. Details in `exit.rs`.
//!
//! # Dropping a `Child`
//!
//! As in std and tokio, dropping a [`Child`] does not kill the process unless
//! [`Command::kill_on_drop`] was set. Either way weft keeps waiting for it in the background
//! (a detached task on the current loop; a thread blocked in `waitpid` on that pid when it is
//! dropped outside a loop or its runtime shuts down first), so a child never lingers as a
//! zombie.
//!
//! # Coming from `tokio::process`
//!
//! The same names and shapes: `Command` (with `&mut self` setters, `spawn`, `output().await`,
//! `status().await`, `kill_on_drop`), `Child` (public `stdin`/`stdout`/`stderr` fields,
//! `id`, `wait`, `try_wait`, `kill`, `start_kill`, `wait_with_output`), std's `Stdio`,
//! `ExitStatus` and `Output`, and `Stdio::try_from(child_stdout)` for pipelines. What differs:
//!
//! - the pipes implement futures-io's `AsyncRead`/`AsyncWrite` (not tokio's traits), plus
//!   inherent `read`/`write`/`write_all`/`read_to_end` that need no trait import;
//! - `spawn` works outside any runtime; a pipe registers with the loop that first uses it and
//!   a wait with the loop that polls it, so a child may be waited for on another loop or
//!   runtime than the one that spawned it;
//! - exits are seen through a pidfd per child (no process-wide `SIGCHLD` handler unless the
//!   kernel lacks pidfds).
//!
//! # Errors
//!
//! Spawn errors keep the OS error's kind and name the program: a missing program is
//! `NotFound` with a message like ``weft::process: cannot spawn "nosuch": No such file or
//! directory (os error 2)``.

mod child;
mod command;
mod exit;
mod pipe;
mod reaper;

pub use child::Child;
pub use command::Command;
pub use pipe::{ChildStderr, ChildStdin, ChildStdout};
pub use std::process::{ExitStatus, Output, Stdio};
