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
//! - Memory is bounded: each worker's outbox holds at most [`OUTBOX_BYTES`](super::OUTBOX_BYTES) (then `send`
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

use super::builder::SupervisorBuilder;
use super::control::{CommandKind, Op, Outbox, ProcId, Shared, SupervisorControl};
use super::events::{ClusterEvent, Exit, GiveUpReason, StopReason, WorkerId};
use super::ipc::{self, Channel, IpcError};
use super::policy::{RestartPolicy, SlotHistory, Verdict};
use super::spawn::{self, Program};
use super::{ToSupervisor, ToWorker};
use crate::signal::{SignalKind, Signals};
use crate::time::Sleep;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::cell::RefCell;
use std::collections::VecDeque;
use std::fmt;
use std::future::{poll_fn, Future};
use std::io;
use std::marker::PhantomData;
use std::net::TcpListener;
use std::os::fd::{AsRawFd, RawFd};
use std::pin::Pin;
use std::process::Child;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

mod links;
mod reload;
mod scale;
mod stop;

use reload::Reload;

/// Most events waiting to be taken by [`Supervisor::next`] before the supervisor stops reading
/// worker messages (pushing back on the workers): bounds the memory a chatty worker can use.
pub const EVENT_BACKLOG: usize = 1024;
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

/// A cluster supervisor; see the [cluster docs](crate::cluster) (its design notes are in `cluster/supervisor/mod.rs`). `Down` is the type of messages to
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
    /// Starts the workers of `settings` (called by [`SupervisorBuilder::build`]).
    pub(super) fn start(settings: SupervisorBuilder, signals: Option<Signals>) -> io::Result<Self> {
        let children = Signals::new(&[SignalKind::Child])?;
        let listener_fds = settings.listeners.iter().map(|l| l.as_raw_fd()).collect();
        let mut supervisor = Supervisor {
            program: settings.program,
            drain_timeout: settings.drain_timeout,
            ready_timeout: settings.ready_timeout,
            policy: settings.policy,
            listeners: settings.listeners,
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
        for slot in 0..settings.workers {
            supervisor.slots.push(Slot::default());
            supervisor.shared.borrow_mut().current.push(None);
            supervisor.spawn_proc(slot, Role::Current, false)?;
        }
        tracing::info!(
            supervisor = std::process::id(),
            workers = settings.workers,
            "cluster supervisor started"
        );
        Ok(supervisor)
    }

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
    ///
    /// # Cancel safety
    ///
    /// Not meant to be raced: it owns the supervisor, so dropping the future drops it. Nothing
    /// drives the cluster any more (no restarts, reloads or deliveries), its links close and the
    /// workers stop on their own ([`StopCause::SupervisorGone`](super::StopCause)). To race
    /// cluster events against something else, loop on [`next`](Self::next) instead.
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
        let reload = self.reload.as_ref().and_then(Reload::ready_deadline);
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

    fn proc_index(&self, id: ProcId) -> Option<usize> {
        self.procs.iter().position(|p| p.id == id)
    }
}
