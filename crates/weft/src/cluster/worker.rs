//! The worker's side: its link to the supervisor.
//!
//! # Lifecycle of a worker
//!
//! 1. Start: adopt the inherited listeners ([`listeners`](super::listeners)) and connect the
//!    link ([`WorkerLink::connect`]), which also starts listening for SIGTERM and SIGINT.
//! 2. Serve, then say so: [`WorkerSender::ready`]. The supervisor counts a worker as started
//!    only from then on (a reload waits for it before stopping the old workers).
//! 3. Stop: [`WorkerReceiver::recv`] returns [`WorkerEvent::Stop`] when the supervisor asks
//!    (IPC `Stop`, or SIGTERM/SIGINT), or when the supervisor is gone (the IPC channel reached
//!    EOF — the parent-death signal SIGTERM arrives too). The worker then stops accepting,
//!    finishes what is in flight within [`WorkerLink::drain_timeout`] and exits.
//!
//! # Orphans
//!
//! When the supervisor is gone nobody would ever kill a worker whose drain hangs, so
//! [`WorkerReceiver::recv`] arms a watchdog thread that exits the process
//! ([`ORPHAN_EXIT_CODE`]) if it is still alive [`ORPHAN_EXIT_GRACE`] after the drain timeout.

use super::inherit::{self, WorkerEnv};
use super::ipc::{Channel, IpcError, Receiver, Sender};
use super::{ToSupervisor, ToWorker};
use crate::loom::{AtomicBool, Ordering};
use crate::signal::{SignalKind, Signals};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::fmt;
use std::future::poll_fn;
use std::io;
use std::os::fd::FromRawFd;
use std::task::{Context, Poll};
use std::time::Duration;

/// Exit code of an orphaned worker that the watchdog had to end (its drain did not finish).
pub const ORPHAN_EXIT_CODE: i32 = 1;

/// Time an orphaned worker gets beyond its drain timeout before the watchdog exits it: the
/// same grace the supervisor grants before SIGKILL.
pub const ORPHAN_EXIT_GRACE: Duration = super::STOP_GRACE;

/// Why a worker is asked to stop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum StopCause {
    /// The supervisor sent `Stop` (cluster stop, reload, or one worker fewer).
    Requested,
    /// This process received a signal (SIGTERM from the supervisor, systemd or the parent-death
    /// signal; SIGINT from a terminal's Ctrl-C, which reaches the whole process group).
    Signal(SignalKind),
    /// The IPC channel reached EOF: the supervisor exited.
    SupervisorGone,
}

impl fmt::Display for StopCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StopCause::Requested => f.write_str("the supervisor asked to stop"),
            StopCause::Signal(kind) => write!(f, "{kind} received"),
            StopCause::SupervisorGone => f.write_str("the supervisor is gone"),
        }
    }
}

/// What a worker receives.
#[derive(Debug)]
pub enum WorkerEvent<M> {
    /// A message from the supervisor (sent to this worker or broadcast).
    Message(M),
    /// Stop accepting, drain within the drain timeout, exit.
    Stop(StopCause),
}

/// A worker's link to its supervisor: send with `Up`, receive `Down`.
///
/// ```no_run
/// # let rt = weft::rt::Runtime::builder().current_thread().build().unwrap();
/// # rt.block_on(async {
/// use weft::cluster::{WorkerEvent, WorkerLink};
/// let link = WorkerLink::<String, String>::connect()?;
/// let (mut tx, mut rx) = link.split();
/// // ... adopt weft::cluster::listeners(), start serving ...
/// tx.ready().await?;
/// loop {
///     match rx.recv().await? {
///         WorkerEvent::Message(text) => tx.send(format!("echo: {text}")).await?,
///         WorkerEvent::Stop(_) => break, // stop accepting, drain, return
///     }
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # });
/// ```
pub struct WorkerLink<Up, Down> {
    sender: WorkerSender<Up>,
    receiver: WorkerReceiver<Down>,
}

impl<Up, Down> fmt::Debug for WorkerLink<Up, Down> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WorkerLink")
            .field("index", &self.receiver.env.index)
            .finish()
    }
}

impl<Up: Serialize, Down: DeserializeOwned> WorkerLink<Up, Down> {
    /// Connects to the supervisor through the inherited IPC socket, and starts listening for
    /// SIGTERM and SIGINT (which become [`WorkerEvent::Stop`]).
    ///
    /// Fails if this process is not a cluster worker, if its environment is malformed, or if
    /// the link was already taken (once per process). Must be called inside a weft loop.
    pub fn connect() -> io::Result<WorkerLink<Up, Down>> {
        static TAKEN: AtomicBool = AtomicBool::new(false);
        let env = inherit::worker_env()?.ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::NotFound,
                format!(
                    "WorkerLink::connect: this process is not a cluster worker ({} is not set)",
                    inherit::ENV_WORKER
                ),
            )
        })?;
        let kind = crate::sys::process::socket_kind(env.ipc_fd).map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("{}={}: {e}", inherit::ENV_IPC_FD, env.ipc_fd),
            )
        })?;
        if kind.family != libc::AF_UNIX || kind.ty != libc::SOCK_STREAM {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "{}={}: not a Unix stream socket",
                    inherit::ENV_IPC_FD,
                    env.ipc_fd
                ),
            ));
        }
        if TAKEN.swap(true, Ordering::SeqCst) {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                "WorkerLink::connect: the supervisor link was already taken by this process",
            ));
        }
        crate::sys::process::set_cloexec(env.ipc_fd, true)?;
        // SAFETY: the descriptor was handed to this process by the supervisor for this link
        // (see `inherit`), is open and a Unix stream socket (checked above), and the `TAKEN`
        // flag makes this the only place that ever takes ownership of it.
        let stream = unsafe { std::os::unix::net::UnixStream::from_raw_fd(env.ipc_fd) };
        let signals = Signals::new(&[SignalKind::Terminate, SignalKind::Interrupt])?;
        let (tx, rx) = Channel::<ToSupervisor<Up>, ToWorker<Down>>::from_std(stream)?.split();
        Ok(WorkerLink {
            sender: WorkerSender { tx },
            receiver: WorkerReceiver {
                rx,
                signals,
                env,
                orphaned: false,
            },
        })
    }

    /// This worker's slot index (the `k` of [`Role::Worker`](super::Role::Worker)).
    pub fn index(&self) -> usize {
        self.receiver.env.index
    }

    /// How long the supervisor lets this worker drain after a stop before it kills it.
    pub fn drain_timeout(&self) -> Duration {
        self.receiver.env.drain_timeout
    }

    /// The supervisor's process id (this process's parent while the supervisor lives).
    pub fn supervisor_pid(&self) -> u32 {
        self.receiver.env.supervisor_pid
    }

    /// Tells the supervisor this worker is serving; see [`WorkerSender::ready`].
    ///
    /// # Cancel safety
    ///
    /// As [`WorkerSender::ready`].
    pub async fn ready(&mut self) -> Result<(), IpcError> {
        self.sender.ready().await
    }

    /// Sends a message to the supervisor; see [`WorkerSender::send`].
    ///
    /// # Cancel safety
    ///
    /// As [`WorkerSender::send`].
    pub async fn send(&mut self, message: Up) -> Result<(), IpcError> {
        self.sender.send(message).await
    }

    /// Waits for the next message or stop request; see [`WorkerReceiver::recv`].
    ///
    /// # Cancel safety
    ///
    /// As [`WorkerReceiver::recv`]: cancel safe.
    pub async fn recv(&mut self) -> Result<WorkerEvent<Down>, IpcError> {
        self.receiver.recv().await
    }

    /// Splits into halves that separate tasks can own.
    pub fn split(self) -> (WorkerSender<Up>, WorkerReceiver<Down>) {
        (self.sender, self.receiver)
    }
}

/// The sending half of a [`WorkerLink`].
pub struct WorkerSender<Up> {
    tx: Sender<ToSupervisor<Up>>,
}

impl<Up> fmt::Debug for WorkerSender<Up> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WorkerSender")
            .field("tx", &self.tx)
            .finish()
    }
}

impl<Up: Serialize> WorkerSender<Up> {
    /// Tells the supervisor this worker is ready: its listeners are adopted and it accepts.
    /// Call it once, after serving has started.
    ///
    /// # Cancel safety
    ///
    /// As [`ipc::Sender::send`](super::ipc::Sender::send): the notice is sent whole or is
    /// finished by the next send on this half.
    pub async fn ready(&mut self) -> Result<(), IpcError> {
        self.tx.send(ToSupervisor::Ready).await
    }

    /// Sends a message to the supervisor, waiting while the channel is full.
    ///
    /// # Cancel safety
    ///
    /// As [`ipc::Sender::send`](super::ipc::Sender::send).
    pub async fn send(&mut self, message: Up) -> Result<(), IpcError> {
        self.tx.send(ToSupervisor::Message(message)).await
    }
}

/// The receiving half of a [`WorkerLink`].
pub struct WorkerReceiver<Down> {
    rx: Receiver<ToWorker<Down>>,
    signals: Signals,
    env: WorkerEnv,
    orphaned: bool,
}

impl<Down> fmt::Debug for WorkerReceiver<Down> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WorkerReceiver")
            .field("index", &self.env.index)
            .field("orphaned", &self.orphaned)
            .finish()
    }
}

impl<Down: DeserializeOwned> WorkerReceiver<Down> {
    /// Waits for a message or a stop request. After the supervisor is gone it returns
    /// `Stop(SupervisorGone)` on every call.
    ///
    /// Errors: a frame that does not decode ([`IpcError::Decode`], the link stays usable) and
    /// socket errors.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe.
    pub async fn recv(&mut self) -> Result<WorkerEvent<Down>, IpcError> {
        poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// Polls for the next event; see [`recv`](Self::recv).
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Result<WorkerEvent<Down>, IpcError>> {
        if self.orphaned {
            return Poll::Ready(Ok(WorkerEvent::Stop(StopCause::SupervisorGone)));
        }
        if let Poll::Ready(result) = self.signals.poll_recv(cx) {
            return Poll::Ready(match result {
                Ok(kind) => Ok(WorkerEvent::Stop(StopCause::Signal(kind))),
                Err(e) => Err(IpcError::Io(e)),
            });
        }
        match self.rx.poll_recv(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Ok(ToWorker::Message(m))) => Poll::Ready(Ok(WorkerEvent::Message(m))),
            Poll::Ready(Ok(ToWorker::Stop)) => {
                Poll::Ready(Ok(WorkerEvent::Stop(StopCause::Requested)))
            }
            Poll::Ready(Err(IpcError::Closed)) => {
                self.orphaned = true;
                arm_orphan_watchdog(self.env.drain_timeout + ORPHAN_EXIT_GRACE);
                Poll::Ready(Ok(WorkerEvent::Stop(StopCause::SupervisorGone)))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
        }
    }
}

/// Exits the process after `after` unless it has exited by then.
fn arm_orphan_watchdog(after: Duration) {
    tracing::warn!(
        pid = std::process::id(),
        "cluster worker: the supervisor is gone; draining, and exiting within {after:?} at most"
    );
    let spawned = std::thread::Builder::new()
        .name("weft-orphan-watchdog".into())
        .spawn(move || {
            std::thread::sleep(after);
            tracing::error!(
                pid = std::process::id(),
                "cluster worker: orphaned and still running {after:?} later; exiting"
            );
            std::process::exit(ORPHAN_EXIT_CODE);
        });
    if let Err(e) = spawned {
        tracing::error!("cluster worker: cannot start the orphan watchdog ({e}); exiting now");
        std::process::exit(ORPHAN_EXIT_CODE);
    }
}
