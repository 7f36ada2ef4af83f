//! Multi-process clusters: one supervisor, N worker processes sharing the listening sockets.
//!
//! Threads share memory, so one crash takes every client of the process down with it.
//! Processes isolate: a worker that panics, aborts or is killed loses only the requests it was
//! serving, and the supervisor starts another. This module does for any weft program what
//! nginx's master process does for nginx: start the workers, hand them the listening sockets,
//! talk to them, restart the ones that die, drain them on stop and replace them all without
//! downtime on reload.
//!
//! # Roles
//!
//! The program is started once, by a person or a service manager; that process is the
//! **supervisor** ([`role`] returns [`Role::Supervisor`]). It binds the listening sockets (or
//! takes them from systemd, see [`listeners`]) and builds a [`Supervisor`], which starts each
//! **worker** by executing the same binary again (`/proc/self/exe`, same arguments — never a
//! bare `fork` of a process that has threads) with the sockets inherited and the environment
//! saying which worker it is ([`role`] returns [`Role::Worker(k)`](Role::Worker)). A worker
//! adopts the sockets ([`listeners`] then `weft::net::TcpListener::from_std`), connects its
//! [`WorkerLink`], serves, and says [`ready`](WorkerSender::ready).
//!
//! ```no_run
//! use weft::cluster::{self, Role, Supervisor, WorkerEvent, WorkerLink};
//! fn main() -> std::io::Result<()> {
//!     let rt = weft::rt::Runtime::builder().current_thread().build()?;
//!     match cluster::role()? {
//!         Role::Supervisor => rt.block_on(async {
//!             let listener = cluster::bind("127.0.0.1:8080".parse().unwrap())?;
//!             Supervisor::builder().listener(listener).build::<(), ()>()?.run().await
//!         }),
//!         Role::Worker(_) => rt.block_on(async {
//!             let std_listener = cluster::listeners()?.remove(0);
//!             let listener = weft::net::TcpListener::from_std(std_listener)?;
//!             let mut link = WorkerLink::<(), ()>::connect()?;
//!             let server = weft::spawn_local(async move {
//!                 loop {
//!                     let (stream, _) = listener.accept().await.unwrap();
//!                     weft::spawn(async move { stream.write_all(b"hello\n").await });
//!                 }
//!             });
//!             link.ready().await.map_err(std::io::Error::other)?;
//!             while !matches!(link.recv().await, Ok(WorkerEvent::Stop(_)) | Err(_)) {}
//!             server.abort(); // stop accepting; a real server drains here
//!             Ok(())
//!         }),
//!     }
//! }
//! ```
//!
//! # Parts
//!
//! - [`inherit`]: the environment protocol between supervisor and workers, systemd's
//!   `LISTEN_FDS`, [`role`] and [`listeners`].
//! - `spawn`: starting one worker (exec of self, the `pre_exec` steps and why they are sound).
//! - [`ipc`]: typed, length-prefixed, bounded message channels over a socketpair.
//! - `policy`: exponential restart backoff, the fatal exit code, crash-loop detection.
//! - `supervisor`: the [`Supervisor`] state machine — its states, invariants, and the steps
//!   of a graceful stop, a reload and scaling are in its module docs; `builder` holds its
//!   settings ([`SupervisorBuilder`]), `control` the [`SupervisorControl`] handle and the
//!   bounded per-worker outboxes, `events` what it reports ([`ClusterEvent`]).
//! - `worker`: the worker's [`WorkerLink`] and how it learns to stop, including as an orphan.
//!
//! # Signals (to the supervisor)
//!
//! | signal | effect |
//! |---|---|
//! | SIGTERM, SIGINT | graceful stop: workers stop accepting, drain up to the drain timeout, exit; then the supervisor |
//! | the same, again | immediate stop: SIGKILL to every worker |
//! | SIGHUP | zero-downtime reload: new workers first, then the old ones drained one by one |
//! | SIGTTIN | one worker more |
//! | SIGTTOU | one worker fewer (never below one) |
//!
//! Workers ignore SIGHUP, SIGTTIN and SIGTTOU (a terminal may send them to the whole process
//! group), and treat SIGTERM and SIGINT like the supervisor's `Stop`.

mod builder;
mod control;
mod events;
pub mod inherit;
pub mod ipc;
mod policy;
mod spawn;
mod supervisor;
mod worker;

pub use builder::SupervisorBuilder;
pub use control::{SupervisorControl, OUTBOX_BYTES};
pub use events::{ClusterEvent, Exit, GiveUpReason, StopReason, WorkerId};
pub use supervisor::{Supervisor, EVENT_BACKLOG};
pub use worker::{
    StopCause, WorkerEvent, WorkerLink, WorkerReceiver, WorkerSender, ORPHAN_EXIT_CODE,
    ORPHAN_EXIT_GRACE,
};

use serde::{Deserialize, Serialize};
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

/// Exit code with which a worker says "do not restart me": restarting cannot help (its
/// configuration is invalid, a resource it needs is missing). 78 is `EX_CONFIG` of
/// `sysexits.h`, the conventional code for a configuration error.
pub const FATAL_EXIT_CODE: i32 = 78;

/// First delay before restarting a worker that died: 50 ms. Short enough that a lone crash is
/// repaired well within a second; long enough that a worker dying at once on start does not
/// spin a core (the delay doubles on each death).
pub const RESTART_BACKOFF_START: Duration = Duration::from_millis(50);

/// Longest delay between restarts: 5 s. Deaths spaced more widely than the crash-loop window
/// never stop restarts, and this bounds how long such a slot stays empty.
pub const RESTART_BACKOFF_MAX: Duration = Duration::from_secs(5);

/// Crash loop: more than this many deaths of one slot within [`CRASH_LOOP_WINDOW`] stop its
/// restarts. 5 in 10 s are systemd's defaults (`StartLimitBurst`, `StartLimitIntervalSec`);
/// with the backoff above, a worker that dies at once on every start is given up on after
/// about two seconds.
pub const CRASH_LOOP_DEATHS: usize = 5;

/// The window of [`CRASH_LOOP_DEATHS`]; a worker that lived at least this long before dying
/// also resets its slot's backoff.
pub const CRASH_LOOP_WINDOW: Duration = Duration::from_secs(10);

/// Default time a stopping worker has to finish the requests in flight: 10 s, longer than any
/// ordinary request and well inside the 30 s that service managers and orchestrators
/// (systemd's `TimeoutStopSec`, Kubernetes' grace period) allow before they kill.
pub const DEFAULT_DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// Time beyond the drain timeout for a worker to tear down and exit before SIGKILL: 2 s, for
/// joining threads and flushing logs after the last connection closed.
pub const STOP_GRACE: Duration = Duration::from_secs(2);

/// How long a reload waits for the new workers to report ready before it gives up and keeps
/// the old ones: 30 s, generous for a worker that loads data on start.
pub const READY_TIMEOUT: Duration = Duration::from_secs(30);

/// Backlog of sockets made by [`bind`]: 4096 (Linux's default `somaxconn` cap since 5.4), so
/// a burst of connections that arrives while workers restart waits in the queue instead of
/// being refused.
pub const LISTEN_BACKLOG: i32 = 4096;

/// What this process is in a cluster.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Not started by a supervisor: this process supervises (or runs alone).
    Supervisor,
    /// Worker `k` (its slot index, `0..n`; stable across restarts of the slot).
    Worker(usize),
}

/// This process's role, read from the environment once (see [`inherit`]).
///
/// Fails with `InvalidData` if the worker variables are malformed (naming the variable and its
/// value), and with `NotFound` if this process was started as a worker but its parent is no
/// longer the supervisor that started it.
pub fn role() -> io::Result<Role> {
    inherit::role()
}

/// The listening sockets this process inherited: in a worker, the supervisor's; in a process
/// started by systemd socket activation (`LISTEN_PID` = our pid), systemd's; otherwise none.
///
/// Returns them in the order they were passed, close-on-exec, and hands over ownership: call it
/// once (later calls fail with `AlreadyExists`); use `try_clone` for one per event loop. Drop
/// them all when the worker stops accepting, so that no copy keeps the queue open. Fails if an
/// inherited descriptor is not a listening TCP socket, naming it.
pub fn listeners() -> io::Result<Vec<std::net::TcpListener>> {
    inherit::listeners()
}

/// Binds a TCP listening socket for a supervisor to hand to its workers: `SO_REUSEADDR`,
/// backlog [`LISTEN_BACKLOG`], close-on-exec. It is non-blocking (its workers accept on an
/// event loop), so it is not meant for a blocking `accept` in the supervisor.
pub fn bind(addr: SocketAddr) -> io::Result<std::net::TcpListener> {
    use crate::sys::socket;
    use std::os::fd::AsRawFd;
    let fd = socket::inet_socket(&addr, libc::SOCK_STREAM)?;
    socket::set_int_opt(fd.as_raw_fd(), libc::SOL_SOCKET, libc::SO_REUSEADDR, 1)?;
    socket::bind(fd.as_raw_fd(), &socket::SockAddr::from_inet(&addr))
        .map_err(|e| io::Error::new(e.kind(), format!("bind {addr}: {e}")))?;
    socket::listen(fd.as_raw_fd(), LISTEN_BACKLOG)
        .map_err(|e| io::Error::new(e.kind(), format!("listen on {addr}: {e}")))?;
    Ok(std::net::TcpListener::from(fd))
}

/// Supervisor → worker frames.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) enum ToWorker<M> {
    /// Drain and exit.
    Stop,
    /// An application message.
    Message(M),
}

/// Worker → supervisor frames.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) enum ToSupervisor<M> {
    /// The worker serves.
    Ready,
    /// An application message.
    Message(M),
}
