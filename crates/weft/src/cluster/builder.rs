//! Settings of a [`Supervisor`], with their defaults and checks.

use super::policy::RestartPolicy;
use super::spawn::Program;
use super::Supervisor;
use crate::signal::{SignalKind, Signals};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::ffi::OsString;
use std::io;
use std::net::TcpListener;
use std::path::PathBuf;
use std::time::Duration;

/// Settings of a [`Supervisor`]. Defaults: one worker per core, the constants of
/// [`cluster`](super), this binary with its arguments, signals handled.
#[derive(Debug)]
pub struct SupervisorBuilder {
    pub(super) workers: usize,
    pub(super) listeners: Vec<TcpListener>,
    pub(super) program: Program,
    pub(super) drain_timeout: Duration,
    pub(super) ready_timeout: Duration,
    pub(super) policy: RestartPolicy,
    handle_signals: bool,
}

impl Default for SupervisorBuilder {
    fn default() -> Self {
        SupervisorBuilder::new()
    }
}

impl SupervisorBuilder {
    /// The defaults.
    pub fn new() -> SupervisorBuilder {
        SupervisorBuilder {
            workers: std::thread::available_parallelism().map_or(1, |n| n.get()),
            listeners: Vec::new(),
            program: Program::current(),
            drain_timeout: super::DEFAULT_DRAIN_TIMEOUT,
            ready_timeout: super::READY_TIMEOUT,
            policy: RestartPolicy::default(),
            handle_signals: true,
        }
    }

    /// Number of worker processes (default: the number of cores).
    pub fn workers(mut self, n: usize) -> Self {
        self.workers = n;
        self
    }

    /// A listening socket to hand to every worker (in order; see
    /// [`listeners`](super::listeners) on the worker side).
    pub fn listener(mut self, listener: TcpListener) -> Self {
        self.listeners.push(listener);
        self
    }

    /// Several listening sockets.
    pub fn listeners(mut self, listeners: impl IntoIterator<Item = TcpListener>) -> Self {
        self.listeners.extend(listeners);
        self
    }

    /// The program workers run (default `/proc/self/exe`: this binary, even if its file was
    /// replaced since). Give a path to let a reload pick up a newly installed binary.
    pub fn program(mut self, path: impl Into<PathBuf>) -> Self {
        self.program.path = path.into();
        self
    }

    /// The workers' arguments (default: this process's arguments).
    pub fn args(mut self, args: impl IntoIterator<Item = impl Into<OsString>>) -> Self {
        self.program.args = args.into_iter().map(Into::into).collect();
        self
    }

    /// An extra environment variable for the workers.
    pub fn env(mut self, key: impl Into<OsString>, value: impl Into<OsString>) -> Self {
        self.program.envs.push((key.into(), value.into()));
        self
    }

    /// How long a stopping worker may drain (default
    /// [`DEFAULT_DRAIN_TIMEOUT`](super::DEFAULT_DRAIN_TIMEOUT)).
    pub fn drain_timeout(mut self, timeout: Duration) -> Self {
        self.drain_timeout = timeout;
        self
    }

    /// How long a reload waits for new workers to be ready (default
    /// [`READY_TIMEOUT`](super::READY_TIMEOUT)).
    pub fn ready_timeout(mut self, timeout: Duration) -> Self {
        self.ready_timeout = timeout;
        self
    }

    /// Restart backoff: first delay and cap (defaults
    /// [`RESTART_BACKOFF_START`](super::RESTART_BACKOFF_START),
    /// [`RESTART_BACKOFF_MAX`](super::RESTART_BACKOFF_MAX)).
    pub fn restart_backoff(mut self, start: Duration, max: Duration) -> Self {
        self.policy.backoff_start = start;
        self.policy.backoff_max = max;
        self
    }

    /// Crash-loop detection: more than `deaths` deaths of one slot within `window` stop its
    /// restarts (defaults [`CRASH_LOOP_DEATHS`](super::CRASH_LOOP_DEATHS) in
    /// [`CRASH_LOOP_WINDOW`](super::CRASH_LOOP_WINDOW)).
    pub fn crash_loop(mut self, deaths: usize, window: Duration) -> Self {
        self.policy.crash_loop_deaths = deaths;
        self.policy.crash_loop_window = window;
        self
    }

    /// Whether the supervisor reacts to SIGTERM, SIGINT, SIGHUP, SIGTTIN and SIGTTOU itself
    /// (default true). Without, use [`SupervisorControl`](super::SupervisorControl).
    pub fn handle_signals(mut self, on: bool) -> Self {
        self.handle_signals = on;
        self
    }

    /// Starts the workers. Must be called inside a weft loop, on a thread that lives as long
    /// as the supervisor (see the parent-death signal in `spawn`).
    ///
    /// Fails with `InvalidInput` for a setting out of range, or with the error of the first
    /// worker that cannot be started.
    pub fn build<Down, Up>(self) -> io::Result<Supervisor<Down, Up>>
    where
        Down: Serialize,
        Up: DeserializeOwned,
    {
        let bad = |what: String| Err(io::Error::new(io::ErrorKind::InvalidInput, what));
        if self.workers == 0 {
            return bad("Supervisor: workers must be at least 1".into());
        }
        if self.policy.backoff_start > self.policy.backoff_max {
            return bad(format!(
                "Supervisor: restart backoff start {:?} exceeds its maximum {:?}",
                self.policy.backoff_start, self.policy.backoff_max
            ));
        }
        if self.policy.crash_loop_window.is_zero() {
            return bad("Supervisor: the crash-loop window must be longer than zero".into());
        }
        let signals = if self.handle_signals {
            Some(Signals::new(&[
                SignalKind::Terminate,
                SignalKind::Interrupt,
                SignalKind::Hangup,
                SignalKind::TtyIn,
                SignalKind::TtyOut,
            ])?)
        } else {
            None
        };
        Supervisor::start(self, signals)
    }
}
