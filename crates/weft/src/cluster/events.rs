//! What a [`Supervisor`](super::Supervisor) reports: worker identities, exits, and the
//! events returned by [`Supervisor::next`](super::Supervisor::next).

use crate::signal::SignalKind;
use std::fmt;
use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;
use std::time::Duration;

/// Identifies one worker process.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct WorkerId {
    /// The slot it serves (its `k`).
    pub slot: usize,
    /// Its process id.
    pub pid: u32,
}

impl fmt::Display for WorkerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "worker {} (pid {})", self.slot, self.pid)
    }
}

/// How a worker process ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// It exited with this code.
    Code(i32),
    /// A signal killed it.
    Signal(i32),
    /// It was reaped by someone else, so its status is unknown.
    Unknown,
}

impl Exit {
    pub(crate) fn of(status: ExitStatus) -> Exit {
        match (status.code(), status.signal()) {
            (Some(code), _) => Exit::Code(code),
            (None, Some(signal)) => Exit::Signal(signal),
            (None, None) => Exit::Unknown,
        }
    }
}

impl fmt::Display for Exit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Exit::Code(code) => write!(f, "exit code {code}"),
            Exit::Signal(signal) => match SignalKind::from_raw(*signal) {
                Some(kind) => write!(f, "signal {signal} ({kind})"),
                None if *signal == libc::SIGKILL => write!(f, "signal {signal} (SIGKILL)"),
                None if *signal == libc::SIGABRT => write!(f, "signal {signal} (SIGABRT)"),
                None if *signal == libc::SIGSEGV => write!(f, "signal {signal} (SIGSEGV)"),
                None => write!(f, "signal {signal}"),
            },
            Exit::Unknown => f.write_str("unknown status (reaped elsewhere)"),
        }
    }
}

/// Why a slot stopped restarting its worker.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum GiveUpReason {
    /// The worker exited with [`FATAL_EXIT_CODE`](super::FATAL_EXIT_CODE).
    Fatal,
    /// More deaths than allowed within the window.
    CrashLoop {
        /// Deaths counted within the window.
        deaths: usize,
        /// The window.
        window: Duration,
    },
}

impl fmt::Display for GiveUpReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GiveUpReason::Fatal => write!(
                f,
                "exited with the fatal code {} (restarting cannot help)",
                super::FATAL_EXIT_CODE
            ),
            GiveUpReason::CrashLoop { deaths, window } => {
                write!(f, "crash loop: {deaths} deaths within {window:?}")
            }
        }
    }
}

/// Why the cluster stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum StopReason {
    /// SIGTERM or SIGINT.
    Signal(SignalKind),
    /// [`SupervisorControl::stop`](super::SupervisorControl::stop).
    Requested,
    /// Every slot gave up (fatal exits or crash loops): nothing is left to supervise.
    NoWorkers,
}

/// What happened in the cluster; returned by [`Supervisor::next`](super::Supervisor::next).
#[derive(Debug)]
#[non_exhaustive]
pub enum ClusterEvent<Up> {
    /// A worker process was started (`restart`: it replaces one that died).
    Started {
        /// The new worker.
        worker: WorkerId,
        /// Whether it replaces a worker that died.
        restart: bool,
    },
    /// A worker reported that it serves.
    Ready {
        /// The worker.
        worker: WorkerId,
    },
    /// A worker sent a message.
    Message {
        /// The sender.
        worker: WorkerId,
        /// The message.
        message: Up,
    },
    /// A worker process ended and was reaped.
    Exited {
        /// The worker.
        worker: WorkerId,
        /// How it ended.
        exit: Exit,
        /// Whether it was asked to stop (false: it crashed or exited on its own).
        expected: bool,
    },
    /// A slot's worker will be restarted after `delay`.
    Restarting {
        /// The slot.
        slot: usize,
        /// The backoff delay.
        delay: Duration,
    },
    /// A slot stopped restarting its worker.
    GaveUp {
        /// The slot.
        slot: usize,
        /// Why.
        reason: GiveUpReason,
    },
    /// A reload finished: every old worker was replaced and stopped.
    Reloaded {
        /// Workers now serving.
        workers: usize,
    },
    /// A reload was abandoned; the old workers go on serving.
    ReloadFailed {
        /// What went wrong.
        reason: String,
    },
    /// The number of slots changed (SIGTTIN, SIGTTOU).
    Scaled {
        /// Active slots now.
        workers: usize,
    },
    /// The cluster began to stop (`graceful`: draining; otherwise SIGKILL).
    Stopping {
        /// Whether workers are drained (false: killed).
        graceful: bool,
    },
    /// Every worker has exited; `next` returns `None` from now on.
    Stopped {
        /// Why.
        reason: StopReason,
    },
}
