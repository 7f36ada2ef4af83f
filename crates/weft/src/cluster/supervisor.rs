//! The supervisor: starts the workers, restarts the ones that die, stops, reloads and scales.
//!
//! # Roles
//!
//! - [`Supervisor`]: one per cluster, on one weft loop of the supervisor process. It is a state
//!   machine driven by [`Supervisor::next`] (or [`Supervisor::run`]); every event it reacts to
//!   — a signal, a child's exit (SIGCHLD), an IPC frame, a timer, a command — wakes the task
//!   that awaits `next`. It never blocks: sends to a slow worker go through a bounded outbox.
//! - [`SupervisorControl`]: a cloneable handle (same loop) to send messages, broadcast, reload,
//!   scale and stop.
//! - Worker *slots* `0..n`: a slot is a seat that one serving worker process fills at a time;
//!   its index is the worker's `k`. A slot is *active* (a worker runs or is being started),
//!   *waiting* to restart (backoff) or *retired* (fatal exit, crash loop, removed by SIGTTOU).
//! - Worker *processes*: each is `Current` (serves its slot; its death is a crash),
//!   `Incoming` (started by a reload, not yet ready) or `Outgoing` (replaced by a reload, to be
//!   stopped); and `Starting` (no `Ready` yet), `Ready`, or `Stopping` (asked to stop; killed
//!   with SIGKILL if still alive after the drain timeout plus [`STOP_GRACE`](super::STOP_GRACE)).
//!
//! # Invariants
//!
//! - Until a stop begins, the supervisor keeps the listening sockets open, so that the socket —
//!   and the connections queued on it — outlive any worker: a worker that dies or stops loses
//!   only the connections it had accepted, never the queue.
//! - A process is removed only once reaped (`waitpid`), so a pid is never signalled after it
//!   could have been reused.
//! - Memory is bounded: each worker's outbox holds at most [`OUTBOX_BYTES`] (then `send`
//!   waits), and the supervisor stops reading worker messages while [`EVENT_BACKLOG`] events
//!   wait to be taken by `next` (then the workers' `send`s wait).
//!
//! # Graceful stop (SIGTERM or SIGINT, or [`SupervisorControl::stop`])
//!
//! 1. Pending restarts and any reload are dropped; the supervisor closes its copies of the
//!    listening sockets (each closes for good when its last worker stops accepting).
//! 2. Every worker gets `Stop` over IPC and SIGTERM: it stops accepting, finishes the requests
//!    in flight within the drain timeout, and exits.
//! 3. A worker still alive after the drain timeout plus the grace gets SIGKILL.
//! 4. When every worker has been reaped, `next` returns [`ClusterEvent::Stopped`], then `None`.
//!
//! A second SIGTERM/SIGINT during a graceful stop sends SIGKILL to every worker at once.
//!
//! # Zero-downtime reload (SIGHUP, or [`SupervisorControl::reload`])
//!
//! 1. A new worker is started for every active slot, next to the old one. New workers accept
//!    from the same listening socket as soon as they are up.
//! 2. When all of them reported `Ready`, they become the slots' current workers.
//! 3. The old workers are stopped one by one, each drained (as in a stop) before the next.
//!
//! If a new worker dies or is not ready within the ready timeout, the reload is abandoned: the
//! new workers are stopped gracefully and the old ones go on serving. A SIGHUP during a reload
//! is remembered and starts another reload when this one ends; SIGTTIN/SIGTTOU wait likewise.
//!
//! # Scaling
//!
//! SIGTTIN adds a slot (and starts its worker); SIGTTOU retires the highest active slot and
//! stops its worker gracefully. The last slot is never removed.

use super::ipc::{self, Channel, IpcError};
use super::policy::{RestartPolicy, SlotHistory, Verdict};
use super::spawn::{self, Program};
use super::{ToSupervisor, ToWorker};
use crate::signal::{SignalKind, Signals};
use crate::time::Sleep;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::ffi::OsString;
use std::fmt;
use std::future::{poll_fn, Future};
use std::io;
use std::marker::PhantomData;
use std::net::TcpListener;
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::pin::Pin;
use std::process::{Child, ExitStatus};
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

/// Most bytes of encoded messages waiting for one worker before [`SupervisorControl::send`]
/// waits: 1 MiB, thousands of control messages; a worker that stopped reading its link costs
/// at most this (plus the kernel socket buffers). A single larger message is still accepted
/// when the outbox is empty.
pub const OUTBOX_BYTES: usize = 1 << 20;

/// Most events waiting to be taken by [`Supervisor::next`] before the supervisor stops reading
/// worker messages (pushing back on the workers): bounds the memory a chatty worker can use.
pub const EVENT_BACKLOG: usize = 1024;

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
    fn of(status: ExitStatus) -> Exit {
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
    /// [`SupervisorControl::stop`].
    Requested,
    /// Every slot gave up (fatal exits or crash loops): nothing is left to supervise.
    NoWorkers,
}

/// What happened in the cluster; returned by [`Supervisor::next`].
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

/// Settings of a [`Supervisor`]. Defaults: one worker per core, the constants of
/// [`cluster`](super), this binary with its arguments, signals handled.
#[derive(Debug)]
pub struct SupervisorBuilder {
    workers: usize,
    listeners: Vec<TcpListener>,
    program: Program,
    drain_timeout: Duration,
    ready_timeout: Duration,
    policy: RestartPolicy,
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
    /// (default true). Without, use [`SupervisorControl`].
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
        let children = Signals::new(&[SignalKind::Child])?;
        let listener_fds = self.listeners.iter().map(|l| l.as_raw_fd()).collect();
        let mut supervisor = Supervisor {
            program: self.program,
            drain_timeout: self.drain_timeout,
            ready_timeout: self.ready_timeout,
            policy: self.policy,
            listeners: self.listeners,
            listener_fds,
            slots: Vec::new(),
            procs: Vec::new(),
            next_id: 0,
            phase: Phase::Running,
            reload: None,
            reload_again: false,
            ops: VecDeque::new(),
            signals,
            children,
            timer: crate::time::sleep(Duration::ZERO),
            events: VecDeque::new(),
            shared: Rc::new(RefCell::new(Shared::default())),
            _types: PhantomData,
        };
        for slot in 0..self.workers {
            supervisor.slots.push(Slot::default());
            supervisor.shared.borrow_mut().current.push(None);
            supervisor.spawn_proc(slot, Role::Current, false)?;
        }
        tracing::info!(
            supervisor = std::process::id(),
            workers = self.workers,
            "cluster supervisor started"
        );
        Ok(supervisor)
    }
}

/// One seat of the cluster.
#[derive(Debug, Default)]
struct Slot {
    state: SlotState,
    history: SlotHistory,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum SlotState {
    #[default]
    Active,
    RestartAt(Instant),
    Retired,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Current,
    Incoming,
    Outgoing,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ProcState {
    Starting,
    Ready,
    Stopping { kill_at: Instant },
}

type ProcId = u64;

struct Proc<Down, Up> {
    id: ProcId,
    slot: usize,
    pid: u32,
    child: Child,
    role: Role,
    state: ProcState,
    killed: bool,
    started: Instant,
    tx: ipc::Sender<ToWorker<Down>>,
    /// `None` once the link failed or reached EOF.
    rx: Option<ipc::Receiver<ToSupervisor<Up>>>,
}

impl<Down, Up> Proc<Down, Up> {
    fn worker(&self) -> WorkerId {
        WorkerId {
            slot: self.slot,
            pid: self.pid,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Running,
    Stopping(StopReason),
    Killing(StopReason),
}

#[derive(Debug)]
struct Reload {
    stage: ReloadStage,
    ready_deadline: Instant,
}

#[derive(Debug)]
enum ReloadStage {
    Starting {
        incoming: Vec<ProcId>,
    },
    Draining {
        old: VecDeque<ProcId>,
        stopping: Option<ProcId>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Reload,
    Add,
    Remove,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CommandKind {
    Op(Op),
    Stop,
}

#[derive(Debug, Default)]
struct Outbox {
    frames: VecDeque<Vec<u8>>,
    bytes: usize,
}

/// State shared between the supervisor and its controls (same loop: `Rc<RefCell>`).
#[derive(Debug, Default)]
struct Shared {
    commands: VecDeque<CommandKind>,
    outboxes: HashMap<ProcId, Outbox>,
    /// The current process of each slot, if it can take messages.
    current: Vec<Option<ProcId>>,
    supervisor: Option<Waker>,
    space_waiters: Vec<Waker>,
    finished: bool,
}

impl Shared {
    fn wake_supervisor(&mut self) {
        if let Some(waker) = self.supervisor.take() {
            waker.wake();
        }
    }

    fn wake_senders(&mut self) {
        for waker in self.space_waiters.drain(..) {
            waker.wake();
        }
    }
}

/// A cluster supervisor; see the [module docs](self). `Down` is the type of messages to
/// workers, `Up` of messages from them.
///
/// ```no_run
/// use weft::cluster::{self, ClusterEvent, Role, Supervisor};
/// let rt = weft::rt::Runtime::builder().current_thread().build()?;
/// match cluster::role()? {
///     Role::Supervisor => rt.block_on(async {
///         let listener = cluster::bind("127.0.0.1:8080".parse().unwrap())?;
///         let mut supervisor = Supervisor::builder()
///             .workers(4)
///             .listener(listener)
///             .build::<(), ()>()?;
///         while let Some(event) = supervisor.next().await {
///             if let ClusterEvent::Stopped { .. } = event {
///                 break;
///             }
///         }
///         Ok::<(), std::io::Error>(())
///     })?,
///     Role::Worker(_k) => { /* adopt cluster::listeners(), WorkerLink::connect(), serve */ }
/// }
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct Supervisor<Down, Up> {
    program: Program,
    drain_timeout: Duration,
    ready_timeout: Duration,
    policy: RestartPolicy,
    /// Kept open until a stop begins (see the invariants).
    listeners: Vec<TcpListener>,
    listener_fds: Vec<RawFd>,
    slots: Vec<Slot>,
    procs: Vec<Proc<Down, Up>>,
    next_id: ProcId,
    phase: Phase,
    reload: Option<Reload>,
    reload_again: bool,
    ops: VecDeque<Op>,
    signals: Option<Signals>,
    children: Signals,
    timer: Sleep,
    events: VecDeque<ClusterEvent<Up>>,
    shared: Rc<RefCell<Shared>>,
    _types: PhantomData<fn(Down) -> Up>,
}

impl<Down, Up> fmt::Debug for Supervisor<Down, Up> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Supervisor")
            .field("phase", &self.phase)
            .field("slots", &self.slots.len())
            .field("processes", &self.procs.len())
            .finish()
    }
}

impl Supervisor<(), ()> {
    /// A [`SupervisorBuilder`] with the defaults.
    pub fn builder() -> SupervisorBuilder {
        SupervisorBuilder::new()
    }
}

impl<Down, Up> Supervisor<Down, Up>
where
    Down: Serialize,
    Up: DeserializeOwned,
{
    /// A handle to send messages and commands from other tasks of this loop.
    pub fn control(&self) -> SupervisorControl<Down> {
        SupervisorControl {
            shared: self.shared.clone(),
            _type: PhantomData,
        }
    }

    /// The workers currently serving their slots.
    pub fn workers(&self) -> Vec<WorkerId> {
        self.procs
            .iter()
            .filter(|p| p.role == Role::Current && !matches!(p.state, ProcState::Stopping { .. }))
            .map(Proc::worker)
            .collect()
    }

    /// Drives the cluster and returns its next event; `None` once it has stopped.
    ///
    /// This is what runs the supervisor: restarts, reloads, stops and message delivery only
    /// progress while a task awaits `next` (or [`run`](Self::run)).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: no event is lost.
    pub async fn next(&mut self) -> Option<ClusterEvent<Up>> {
        poll_fn(|cx| self.poll_next(cx)).await
    }

    /// Drives the cluster until it stops, discarding events (they are logged). Fails if it
    /// stopped because every slot gave up.
    pub async fn run(mut self) -> io::Result<()> {
        let mut outcome = Ok(());
        while let Some(event) = self.next().await {
            if let ClusterEvent::Stopped {
                reason: StopReason::NoWorkers,
            } = event
            {
                outcome = Err(io::Error::other(
                    "cluster stopped: every worker slot gave up (fatal exit or crash loop; see the log)",
                ));
            }
        }
        outcome
    }

    /// Polls for the next event; see [`next`](Self::next).
    pub fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<ClusterEvent<Up>>> {
        self.shared.borrow_mut().supervisor = Some(cx.waker().clone());
        loop {
            if let Some(event) = self.events.pop_front() {
                return Poll::Ready(Some(event));
            }
            if self.shared.borrow().finished {
                return Poll::Ready(None);
            }
            let mut progress = self.poll_signals(cx);
            progress |= self.run_commands();
            progress |= self.poll_links(cx);
            progress |= self.advance();
            progress |= self.poll_timer(cx);
            if !progress && self.events.is_empty() {
                return Poll::Pending;
            }
        }
    }

    // ----- inputs -----

    fn poll_signals(&mut self, cx: &mut Context<'_>) -> bool {
        let mut progress = false;
        while let Some(signals) = &mut self.signals {
            match signals.poll_recv(cx) {
                Poll::Ready(Ok(kind)) => {
                    progress = true;
                    self.on_signal(kind);
                }
                Poll::Ready(Err(e)) => {
                    tracing::error!("cluster supervisor: signal stream failed ({e}); signals are no longer handled");
                    self.signals = None;
                }
                Poll::Pending => break,
            }
        }
        let mut reap = false;
        loop {
            match self.children.poll_recv(cx) {
                Poll::Ready(Ok(_)) => reap = true,
                Poll::Ready(Err(e)) => {
                    tracing::error!("cluster supervisor: SIGCHLD stream failed ({e})");
                    break;
                }
                Poll::Pending => break,
            }
        }
        if reap {
            progress |= self.reap();
        }
        progress
    }

    fn on_signal(&mut self, kind: SignalKind) {
        tracing::info!(
            supervisor = std::process::id(),
            "cluster supervisor: {kind} received"
        );
        match kind {
            SignalKind::Terminate | SignalKind::Interrupt => match self.phase {
                Phase::Running => self.begin_stop(StopReason::Signal(kind)),
                Phase::Stopping(reason) => self.kill_all(reason),
                Phase::Killing(_) => {}
            },
            SignalKind::Hangup => self.queue_op(Op::Reload),
            SignalKind::TtyIn => self.queue_op(Op::Add),
            SignalKind::TtyOut => self.queue_op(Op::Remove),
            _ => {}
        }
    }

    fn queue_op(&mut self, op: Op) {
        if op == Op::Reload && self.reload.is_some() {
            self.reload_again = true;
            tracing::info!("cluster supervisor: reload requested during a reload; it will follow");
            return;
        }
        if op == Op::Reload && self.ops.contains(&Op::Reload) {
            return;
        }
        self.ops.push_back(op);
    }

    fn run_commands(&mut self) -> bool {
        let commands: Vec<CommandKind> = self.shared.borrow_mut().commands.drain(..).collect();
        let progress = !commands.is_empty();
        for command in commands {
            match command {
                CommandKind::Op(op) => self.queue_op(op),
                CommandKind::Stop => match self.phase {
                    Phase::Running => self.begin_stop(StopReason::Requested),
                    Phase::Stopping(reason) => self.kill_all(reason),
                    Phase::Killing(_) => {}
                },
            }
        }
        progress
    }

    /// Reads frames from every worker and writes queued frames to them.
    fn poll_links(&mut self, cx: &mut Context<'_>) -> bool {
        let mut progress = false;
        let mut reap = false;
        let mut shared = self.shared.borrow_mut();
        for proc in &mut self.procs {
            while self.events.len() < EVENT_BACKLOG {
                let Some(rx) = &mut proc.rx else { break };
                match rx.poll_recv(cx) {
                    Poll::Pending => break,
                    Poll::Ready(Ok(ToSupervisor::Ready)) => {
                        progress = true;
                        if proc.state == ProcState::Starting {
                            proc.state = ProcState::Ready;
                            tracing::info!(
                                slot = proc.slot,
                                pid = proc.pid,
                                "cluster worker ready"
                            );
                            self.events.push_back(ClusterEvent::Ready {
                                worker: proc.worker(),
                            });
                        }
                    }
                    Poll::Ready(Ok(ToSupervisor::Message(message))) => {
                        progress = true;
                        self.events.push_back(ClusterEvent::Message {
                            worker: proc.worker(),
                            message,
                        });
                    }
                    Poll::Ready(Err(IpcError::Decode { len, error })) => {
                        progress = true;
                        tracing::warn!(
                            slot = proc.slot,
                            pid = proc.pid,
                            "cluster worker sent a frame of {len} bytes that is not a valid message: {error}"
                        );
                    }
                    Poll::Ready(Err(e)) => {
                        progress = true;
                        if !e.is_closed() {
                            tracing::warn!(
                                slot = proc.slot,
                                pid = proc.pid,
                                "cluster worker link failed: {e}"
                            );
                        }
                        proc.rx = None;
                        reap = true;
                    }
                }
            }
            loop {
                if !proc.tx.is_flushed() {
                    match proc.tx.poll_flush(cx) {
                        Poll::Ready(Ok(())) => {}
                        Poll::Ready(Err(e)) => {
                            // The worker is gone or its link broke: drop what waits for it.
                            if !e.is_closed() {
                                tracing::warn!(
                                    slot = proc.slot,
                                    pid = proc.pid,
                                    "cluster worker link failed: {e}"
                                );
                            }
                            proc.tx.discard();
                            if let Some(outbox) = shared.outboxes.get_mut(&proc.id) {
                                outbox.frames.clear();
                                outbox.bytes = 0;
                            }
                            shared.wake_senders();
                            break;
                        }
                        Poll::Pending => break,
                    }
                }
                let Some(outbox) = shared.outboxes.get_mut(&proc.id) else {
                    break;
                };
                let Some(frame) = outbox.frames.pop_front() else {
                    break;
                };
                outbox.bytes -= frame.len();
                proc.tx.start_encoded(frame);
                shared.wake_senders();
                progress = true;
            }
        }
        drop(shared);
        if reap {
            progress |= self.reap();
        }
        progress
    }

    /// Reaps every worker that has exited.
    fn reap(&mut self) -> bool {
        let mut progress = false;
        let mut i = 0;
        while i < self.procs.len() {
            let exit = match self.procs[i].child.try_wait() {
                Ok(None) => {
                    i += 1;
                    continue;
                }
                Ok(Some(status)) => Exit::of(status),
                Err(e) if e.raw_os_error() == Some(libc::ECHILD) => Exit::Unknown,
                Err(e) => {
                    tracing::warn!(
                        pid = self.procs[i].pid,
                        "cluster supervisor: waitpid failed: {e}"
                    );
                    i += 1;
                    continue;
                }
            };
            let proc = self.procs.swap_remove(i);
            self.on_exit(proc, exit);
            progress = true;
        }
        progress
    }

    fn poll_timer(&mut self, cx: &mut Context<'_>) -> bool {
        let Some(deadline) = self.next_deadline() else {
            return false;
        };
        if deadline <= Instant::now() {
            return true;
        }
        if self.timer.deadline() != deadline || self.timer.is_elapsed() {
            self.timer.reset(deadline);
        }
        Pin::new(&mut self.timer).poll(cx).is_ready()
    }

    fn next_deadline(&self) -> Option<Instant> {
        let restarts = self.slots.iter().filter_map(|s| match s.state {
            SlotState::RestartAt(at) if self.phase == Phase::Running => Some(at),
            _ => None,
        });
        let kills = self.procs.iter().filter_map(|p| match p.state {
            ProcState::Stopping { kill_at } if !p.killed => Some(kill_at),
            _ => None,
        });
        let reload = self.reload.as_ref().and_then(|r| match r.stage {
            ReloadStage::Starting { .. } => Some(r.ready_deadline),
            ReloadStage::Draining { .. } => None,
        });
        restarts.chain(kills).chain(reload).min()
    }

    // ----- state changes -----

    /// Does whatever is due; returns whether anything changed.
    fn advance(&mut self) -> bool {
        let now = Instant::now();
        let mut progress = false;
        // Kill deadlines.
        for proc in &mut self.procs {
            if let ProcState::Stopping { kill_at } = proc.state {
                if !proc.killed && kill_at <= now {
                    tracing::warn!(
                        slot = proc.slot,
                        pid = proc.pid,
                        "cluster worker did not exit within the drain timeout plus grace; sending SIGKILL"
                    );
                    let _ = proc.child.kill();
                    proc.killed = true;
                    progress = true;
                }
            }
        }
        match self.phase {
            Phase::Running => {}
            Phase::Stopping(reason) | Phase::Killing(reason) => {
                if self.procs.is_empty() {
                    self.finish(reason);
                    return true;
                }
                return progress;
            }
        }
        // Restarts due.
        for slot in 0..self.slots.len() {
            if let SlotState::RestartAt(at) = self.slots[slot].state {
                if at <= now {
                    self.slots[slot].state = SlotState::Active;
                    progress = true;
                    if let Err(e) = self.spawn_proc(slot, Role::Current, true) {
                        tracing::error!(slot, "cluster supervisor: cannot restart the worker: {e}");
                        self.on_death(slot, Duration::ZERO, false);
                    }
                }
            }
        }
        progress |= self.advance_reload(now);
        if self.reload.is_none() {
            if let Some(op) = self.ops.pop_front() {
                progress = true;
                match op {
                    Op::Reload => self.start_reload(),
                    Op::Add => self.add_slot(),
                    Op::Remove => self.remove_slot(),
                }
            } else if self.reload_again {
                self.reload_again = false;
                progress = true;
                self.start_reload();
            }
        }
        let alive = self.slots.iter().any(|s| s.state != SlotState::Retired);
        if !alive && self.procs.is_empty() && self.phase == Phase::Running {
            tracing::error!("cluster supervisor: every worker slot gave up; stopping");
            self.finish(StopReason::NoWorkers);
            return true;
        }
        progress
    }

    fn spawn_proc(&mut self, slot: usize, role: Role, restart: bool) -> io::Result<ProcId> {
        let spawned =
            spawn::spawn_worker(&self.program, slot, &self.listener_fds, self.drain_timeout)?;
        let pid = spawned.child.id();
        let (tx, rx) =
            Channel::<ToWorker<Down>, ToSupervisor<Up>>::from_stream(spawned.link).split();
        let id = self.next_id;
        self.next_id += 1;
        self.procs.push(Proc {
            id,
            slot,
            pid,
            child: spawned.child,
            role,
            state: ProcState::Starting,
            killed: false,
            started: Instant::now(),
            tx,
            rx: Some(rx),
        });
        {
            let mut shared = self.shared.borrow_mut();
            shared.outboxes.insert(id, Outbox::default());
            if role == Role::Current {
                shared.current[slot] = Some(id);
            }
        }
        let worker = WorkerId { slot, pid };
        tracing::info!(
            slot,
            pid,
            restart,
            incoming = role == Role::Incoming,
            "cluster worker started"
        );
        self.events
            .push_back(ClusterEvent::Started { worker, restart });
        Ok(id)
    }

    fn proc_index(&self, id: ProcId) -> Option<usize> {
        self.procs.iter().position(|p| p.id == id)
    }

    /// Asks process `id` to drain and exit; SIGKILL follows after the drain timeout + grace.
    fn stop_proc(&mut self, id: ProcId) {
        let Some(i) = self.proc_index(id) else { return };
        let kill_at = Instant::now() + self.drain_timeout + super::STOP_GRACE;
        let mut shared = self.shared.borrow_mut();
        let proc = &mut self.procs[i];
        if matches!(proc.state, ProcState::Stopping { .. }) {
            return;
        }
        proc.state = ProcState::Stopping { kill_at };
        if shared.current.get(proc.slot) == Some(&Some(id)) {
            shared.current[proc.slot] = None;
        }
        match ipc::encode(&ToWorker::<Down>::Stop) {
            Ok(frame) => {
                if let Some(outbox) = shared.outboxes.get_mut(&id) {
                    outbox.bytes += frame.len();
                    outbox.frames.push_back(frame);
                }
            }
            Err(e) => tracing::error!("cluster supervisor: cannot encode Stop: {e}"),
        }
        // For workers that do not read their link; a WorkerLink takes it as a stop request too.
        if let Err(e) = crate::sys::process::kill(proc.pid, libc::SIGTERM) {
            tracing::warn!(
                slot = proc.slot,
                pid = proc.pid,
                "cluster supervisor: SIGTERM failed: {e}"
            );
        }
        tracing::info!(
            slot = proc.slot,
            pid = proc.pid,
            "cluster worker asked to stop (draining)"
        );
        shared.wake_senders();
    }

    fn on_exit(&mut self, proc: Proc<Down, Up>, exit: Exit) {
        {
            let mut shared = self.shared.borrow_mut();
            shared.outboxes.remove(&proc.id);
            if shared.current.get(proc.slot) == Some(&Some(proc.id)) {
                shared.current[proc.slot] = None;
            }
            shared.wake_senders();
        }
        let stopping = matches!(proc.state, ProcState::Stopping { .. });
        let expected = stopping || self.phase != Phase::Running || proc.role == Role::Outgoing;
        let worker = proc.worker();
        if expected {
            tracing::info!(slot = proc.slot, pid = proc.pid, %exit, "cluster worker exited");
        } else {
            tracing::warn!(slot = proc.slot, pid = proc.pid, %exit, "cluster worker died");
        }
        self.events.push_back(ClusterEvent::Exited {
            worker,
            exit,
            expected,
        });
        if self.phase != Phase::Running {
            return;
        }
        match proc.role {
            Role::Incoming => {
                // Promoted processes are Current; an Incoming one died before the reload ended.
                self.abort_reload(format!(
                    "new {worker} ended with {exit} before it was ready"
                ));
            }
            Role::Outgoing => {}
            Role::Current if stopping => {}
            Role::Current => {
                let lived = proc.started.elapsed();
                self.on_death(proc.slot, lived, exit == Exit::Code(super::FATAL_EXIT_CODE));
            }
        }
    }

    /// Applies the restart policy to a death in `slot`.
    fn on_death(&mut self, slot: usize, lived: Duration, fatal: bool) {
        let now = Instant::now();
        let state = &mut self.slots[slot];
        if state.state == SlotState::Retired {
            return;
        }
        match state.history.on_death(&self.policy, now, lived, fatal) {
            Verdict::Restart(delay) => {
                state.state = SlotState::RestartAt(now + delay);
                tracing::info!(slot, "cluster worker will be restarted in {delay:?}");
                self.events
                    .push_back(ClusterEvent::Restarting { slot, delay });
            }
            Verdict::Fatal => {
                state.state = SlotState::Retired;
                let reason = GiveUpReason::Fatal;
                tracing::error!(slot, "cluster worker not restarted: {reason}");
                self.events.push_back(ClusterEvent::GaveUp { slot, reason });
            }
            Verdict::CrashLoop { deaths, window } => {
                state.state = SlotState::Retired;
                let reason = GiveUpReason::CrashLoop { deaths, window };
                tracing::error!(slot, "cluster worker not restarted any more: {reason}");
                self.events.push_back(ClusterEvent::GaveUp { slot, reason });
            }
        }
    }

    fn begin_stop(&mut self, reason: StopReason) {
        tracing::info!(
            workers = self.procs.len(),
            "cluster stopping: draining workers (up to {:?})",
            self.drain_timeout
        );
        self.phase = Phase::Stopping(reason);
        // No worker will be started again: close our copies of the listening sockets, so that
        // the sockets close when the last worker stops accepting, and later connection attempts
        // are refused at once instead of waiting in a queue nobody will accept from.
        self.listeners.clear();
        self.listener_fds.clear();
        self.reload = None;
        self.reload_again = false;
        self.ops.clear();
        let ids: Vec<ProcId> = self.procs.iter().map(|p| p.id).collect();
        for id in ids {
            self.stop_proc(id);
        }
        self.events
            .push_back(ClusterEvent::Stopping { graceful: true });
    }

    fn kill_all(&mut self, reason: StopReason) {
        tracing::warn!(
            workers = self.procs.len(),
            "cluster stopping at once: SIGKILL to every worker"
        );
        self.phase = Phase::Killing(reason);
        for proc in &mut self.procs {
            let _ = proc.child.kill();
            proc.killed = true;
        }
        self.events
            .push_back(ClusterEvent::Stopping { graceful: false });
    }

    fn finish(&mut self, reason: StopReason) {
        tracing::info!(?reason, "cluster stopped");
        let mut shared = self.shared.borrow_mut();
        shared.finished = true;
        shared.wake_senders();
        drop(shared);
        self.events.push_back(ClusterEvent::Stopped { reason });
    }

    fn active_slots(&self) -> usize {
        self.slots
            .iter()
            .filter(|s| s.state != SlotState::Retired)
            .count()
    }

    fn add_slot(&mut self) {
        let slot = self.slots.len();
        self.slots.push(Slot::default());
        self.shared.borrow_mut().current.push(None);
        if let Err(e) = self.spawn_proc(slot, Role::Current, false) {
            tracing::error!(
                slot,
                "cluster supervisor: cannot start the added worker: {e}"
            );
            self.on_death(slot, Duration::ZERO, false);
        }
        let workers = self.active_slots();
        tracing::info!(workers, "cluster scaled up (SIGTTIN)");
        self.events.push_back(ClusterEvent::Scaled { workers });
    }

    fn remove_slot(&mut self) {
        if self.active_slots() <= 1 {
            tracing::warn!("cluster supervisor: SIGTTOU ignored: keeping the last worker");
            return;
        }
        let Some(slot) = (0..self.slots.len())
            .rev()
            .find(|&s| self.slots[s].state != SlotState::Retired)
        else {
            return;
        };
        self.slots[slot].state = SlotState::Retired;
        let current: Vec<ProcId> = self
            .procs
            .iter()
            .filter(|p| p.slot == slot && p.role == Role::Current)
            .map(|p| p.id)
            .collect();
        for id in current {
            self.stop_proc(id);
        }
        let workers = self.active_slots();
        tracing::info!(workers, slot, "cluster scaled down (SIGTTOU)");
        self.events.push_back(ClusterEvent::Scaled { workers });
    }

    fn start_reload(&mut self) {
        let slots: Vec<usize> = (0..self.slots.len())
            .filter(|&s| self.slots[s].state == SlotState::Active)
            .filter(|&s| {
                self.procs.iter().any(|p| {
                    p.slot == s
                        && p.role == Role::Current
                        && !matches!(p.state, ProcState::Stopping { .. })
                })
            })
            .collect();
        tracing::info!(
            workers = slots.len(),
            "cluster reload: starting new workers"
        );
        let mut incoming = Vec::with_capacity(slots.len());
        for slot in slots {
            match self.spawn_proc(slot, Role::Incoming, false) {
                Ok(id) => incoming.push(id),
                Err(e) => {
                    self.reload = Some(Reload {
                        stage: ReloadStage::Starting { incoming },
                        ready_deadline: Instant::now(),
                    });
                    self.abort_reload(format!("cannot start a new worker for slot {slot}: {e}"));
                    return;
                }
            }
        }
        self.reload = Some(Reload {
            stage: ReloadStage::Starting { incoming },
            ready_deadline: Instant::now() + self.ready_timeout,
        });
    }

    fn abort_reload(&mut self, reason: String) {
        let Some(reload) = self.reload.take() else {
            return;
        };
        tracing::error!("cluster reload abandoned: {reason}; the old workers keep serving");
        if let ReloadStage::Starting { incoming } = reload.stage {
            for id in incoming {
                if let Some(i) = self.proc_index(id) {
                    self.procs[i].role = Role::Outgoing;
                    self.stop_proc(id);
                }
            }
        }
        self.events.push_back(ClusterEvent::ReloadFailed { reason });
    }

    fn advance_reload(&mut self, now: Instant) -> bool {
        let Some(mut reload) = self.reload.take() else {
            return false;
        };
        match &mut reload.stage {
            ReloadStage::Starting { incoming } => {
                let all_ready = incoming.iter().all(|id| {
                    self.procs
                        .iter()
                        .any(|p| p.id == *id && p.state == ProcState::Ready)
                });
                if all_ready {
                    let old = self.promote(std::mem::take(incoming));
                    tracing::info!(
                        old = old.len(),
                        "cluster reload: new workers ready; stopping the old ones one by one"
                    );
                    reload.stage = ReloadStage::Draining {
                        old,
                        stopping: None,
                    };
                    self.reload = Some(reload);
                    return true;
                }
                self.reload = Some(reload);
                if now >= self.reload.as_ref().map_or(now, |r| r.ready_deadline) {
                    let timeout = self.ready_timeout;
                    self.abort_reload(format!("new workers not ready within {timeout:?}"));
                    return true;
                }
                false
            }
            ReloadStage::Draining { old, stopping } => {
                if let Some(id) = *stopping {
                    if self.proc_index(id).is_some() {
                        self.reload = Some(reload);
                        return false;
                    }
                }
                let next = loop {
                    match old.pop_front() {
                        Some(id) if self.proc_index(id).is_some() => break Some(id),
                        Some(_) => continue,
                        None => break None,
                    }
                };
                *stopping = next;
                match next {
                    Some(id) => {
                        self.reload = Some(reload);
                        self.stop_proc(id);
                    }
                    None => {
                        let workers = self.workers().len();
                        tracing::info!(workers, "cluster reload complete");
                        self.events.push_back(ClusterEvent::Reloaded { workers });
                    }
                }
                true
            }
        }
    }

    /// Makes the incoming processes their slots' current ones; returns the replaced ones.
    fn promote(&mut self, incoming: Vec<ProcId>) -> VecDeque<ProcId> {
        let mut old = VecDeque::new();
        for id in incoming {
            let Some(i) = self.proc_index(id) else {
                continue;
            };
            let slot = self.procs[i].slot;
            for p in &mut self.procs {
                if p.slot == slot && p.role == Role::Current {
                    p.role = Role::Outgoing;
                    old.push_back(p.id);
                }
            }
            self.procs[i].role = Role::Current;
            self.slots[slot].state = SlotState::Active;
            self.shared.borrow_mut().current[slot] = Some(id);
        }
        old
    }
}

/// A handle to a [`Supervisor`] for other tasks of its loop: send, broadcast, reload, scale,
/// stop. Commands take effect while the supervisor is driven ([`Supervisor::next`]).
pub struct SupervisorControl<Down> {
    shared: Rc<RefCell<Shared>>,
    _type: PhantomData<fn(Down)>,
}

impl<Down> Clone for SupervisorControl<Down> {
    fn clone(&self) -> Self {
        SupervisorControl {
            shared: self.shared.clone(),
            _type: PhantomData,
        }
    }
}

impl<Down> fmt::Debug for SupervisorControl<Down> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SupervisorControl").finish_non_exhaustive()
    }
}

impl<Down: Serialize> SupervisorControl<Down> {
    /// Sends `message` to the worker serving `slot`, waiting while its outbox is full.
    ///
    /// Fails with [`IpcError::NoWorker`] if no worker serves the slot now (restarting,
    /// retired, stopping), [`IpcError::Closed`] once the cluster has stopped, and
    /// [`IpcError::Encode`] or [`IpcError::FrameTooLarge`] for a message that cannot be sent.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: if cancelled, the message was not queued.
    pub async fn send(&self, slot: usize, message: Down) -> Result<(), IpcError> {
        let frame = ipc::encode(&ToWorker::Message(message))?;
        self.enqueue(slot, frame).await
    }

    /// Sends `message` to every worker currently serving, one after the other (each waiting
    /// for outbox space); returns how many it was queued for.
    pub async fn broadcast(&self, message: Down) -> Result<usize, IpcError> {
        let frame = ipc::encode(&ToWorker::Message(message))?;
        let slots: Vec<usize> = {
            let shared = self.shared.borrow();
            if shared.finished {
                return Err(IpcError::Closed);
            }
            (0..shared.current.len())
                .filter(|&s| shared.current[s].is_some())
                .collect()
        };
        let mut sent = 0;
        for slot in slots {
            match self.enqueue(slot, frame.clone()).await {
                Ok(()) => sent += 1,
                Err(IpcError::NoWorker { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(sent)
    }

    async fn enqueue(&self, slot: usize, frame: Vec<u8>) -> Result<(), IpcError> {
        let mut frame = Some(frame);
        poll_fn(|cx| {
            let mut shared = self.shared.borrow_mut();
            if shared.finished {
                return Poll::Ready(Err(IpcError::Closed));
            }
            let Some(id) = shared.current.get(slot).copied().flatten() else {
                return Poll::Ready(Err(IpcError::NoWorker { slot }));
            };
            let Some(outbox) = shared.outboxes.get_mut(&id) else {
                return Poll::Ready(Err(IpcError::NoWorker { slot }));
            };
            let len = frame.as_ref().map_or(0, Vec::len);
            if outbox.bytes > 0 && outbox.bytes + len > OUTBOX_BYTES {
                shared.space_waiters.push(cx.waker().clone());
                return Poll::Pending;
            }
            outbox.bytes += len;
            outbox
                .frames
                .push_back(frame.take().expect("polled after completion"));
            shared.wake_supervisor();
            Poll::Ready(Ok(()))
        })
        .await
    }

    /// Starts a zero-downtime reload, as SIGHUP does.
    pub fn reload(&self) {
        self.command(CommandKind::Op(Op::Reload));
    }

    /// Adds a worker, as SIGTTIN does.
    pub fn add_worker(&self) {
        self.command(CommandKind::Op(Op::Add));
    }

    /// Removes a worker, as SIGTTOU does.
    pub fn remove_worker(&self) {
        self.command(CommandKind::Op(Op::Remove));
    }

    /// Stops the cluster gracefully, as SIGTERM does; a second call kills the workers.
    pub fn stop(&self) {
        self.command(CommandKind::Stop);
    }

    fn command(&self, command: CommandKind) {
        let mut shared = self.shared.borrow_mut();
        shared.commands.push_back(command);
        shared.wake_supervisor();
    }
}
