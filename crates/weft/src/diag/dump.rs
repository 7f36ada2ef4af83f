//! Task dumps: every task of every loop, with its state and, when parked, what it waits on and
//! for how long, like a Go goroutine dump or a Java thread dump.
//!
//! # How a dump is taken
//!
//! A loop's task lists (its ready queue and its list of idle tasks) belong to its thread, so a
//! dump reads them there: [`dump`] posts a closure to every running loop's inbox and waits for
//! the answers, at most [`LOOP_ANSWER_TIMEOUT`] each. The loop this thread runs (a dump taken
//! from inside a task) is read in place. A loop that does not answer in time is stalled: it is
//! listed as such, with the task the watchdog's stamp says it is polling.
//!
//! # Wait reasons
//!
//! A parked task's reason comes from the `weft::sync` bookkeeping when it waits on a sync
//! primitive (`Mutex::lock` on the mutex created at `src/a.rs:10`, held by `worker-3`), and
//! otherwise from the reason its last poll recorded on the slow path before returning
//! `Pending` (`sleep`, socket readiness, `JoinHandle`, pool job: see `hooks::park`). The
//! duration is counted from the park that started the wait. Reasons are recorded only while
//! diagnostics are on; without them a dump still lists every task and its state.

use super::hooks::{self, WaitReason};
use crate::rt::task::Header;
use crate::sync::trace::{self, ActorKind, ResourceKind, WaitEdge};
use std::collections::HashMap;
use std::fmt;
use std::panic::Location;
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How long [`dump`] waits for each loop to list its tasks. A healthy loop answers within one
/// turn (microseconds to a few ms); one that takes longer is stalled, and its listing says so.
pub const LOOP_ANSWER_TIMEOUT: Duration = Duration::from_millis(500);

impl WaitReason {
    pub(crate) fn describe(&self) -> String {
        match self {
            WaitReason::Sleep(until) => {
                let now = Instant::now();
                if *until >= now {
                    format!("sleep until +{:.1?}", *until - now)
                } else {
                    format!("sleep until {:.1?} ago (due)", now - *until)
                }
            }
            WaitReason::Io { fd, read: true } => format!("socket read fd {fd}"),
            WaitReason::Io { fd, read: false } => format!("socket write fd {fd}"),
            WaitReason::Join(id) => format!("join of task {id}"),
            WaitReason::PoolJob(lane) => format!("pool job on lane {lane}"),
        }
    }
}

/// The state of a task at the moment of the dump.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TaskState {
    /// Being polled (the task that took the dump, or a stalled loop's current task).
    Running,
    /// Woken and queued, waiting for its turn.
    Ready,
    /// Waiting for a wake-up.
    Parked,
}

impl fmt::Display for TaskState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TaskState::Running => "running",
            TaskState::Ready => "ready",
            TaskState::Parked => "parked",
        })
    }
}

/// One task of a [`TaskDump`].
#[derive(Clone, Debug)]
pub struct TaskInfo {
    id: u64,
    name: Option<String>,
    site: &'static Location<'static>,
    state: TaskState,
    green: bool,
    loop_index: Option<usize>,
    wait: Option<(String, Duration)>,
    /// A `weft::sync` wait, put into words once every task's name is known.
    sync_wait: Option<WaitEdge>,
}

impl TaskInfo {
    /// The task's id (unique in the process).
    pub fn id(&self) -> u64 {
        self.id
    }

    /// `task 7 "name"`, or `task 7`.
    pub(crate) fn label(&self) -> String {
        match &self.name {
            Some(name) => format!("task {} \"{name}\"", self.id),
            None => format!("task {}", self.id),
        }
    }

    /// The name given at spawn, if any.
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// Where it was spawned.
    pub fn spawn_site(&self) -> &'static Location<'static> {
        self.site
    }

    /// Running, ready or parked.
    pub fn state(&self) -> TaskState {
        self.state
    }

    /// True for a green thread.
    pub fn is_green(&self) -> bool {
        self.green
    }

    /// The index of its loop thread (`None` for the caller loop that `block_on` drives).
    pub fn loop_index(&self) -> Option<usize> {
        self.loop_index
    }

    /// For a parked task whose wait was recorded: what it waits on, in words.
    pub fn wait_reason(&self) -> Option<&str> {
        self.wait.as_ref().map(|(r, _)| r.as_str())
    }

    /// For a parked task whose wait was recorded: how long it has waited.
    pub fn waited(&self) -> Option<Duration> {
        self.wait.as_ref().map(|(_, d)| *d)
    }
}

impl fmt::Display for TaskInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = if self.green { "green thread" } else { "task" };
        write!(f, "{kind} {}", self.id)?;
        if let Some(name) = &self.name {
            write!(f, " \"{name}\"")?;
        }
        write!(f, " ({}) spawned at {}", self.state, self.site)?;
        if let Some((reason, waited)) = &self.wait {
            write!(f, "\n    waiting on {reason} for {waited:.1?}")?;
        }
        Ok(())
    }
}

/// One loop of a [`TaskDump`].
#[derive(Clone, Debug)]
pub struct LoopDump {
    index: Option<usize>,
    thread: String,
    /// Set when the loop did not answer: the stalled poll as the watchdog stamp shows it.
    stalled: Option<String>,
    tasks: Vec<TaskInfo>,
}

impl LoopDump {
    /// The loop thread's index (`None` for the caller loop).
    pub fn index(&self) -> Option<usize> {
        self.index
    }

    /// True if the loop did not answer within [`LOOP_ANSWER_TIMEOUT`].
    pub fn is_stalled(&self) -> bool {
        self.stalled.is_some()
    }

    /// Its tasks.
    pub fn tasks(&self) -> &[TaskInfo] {
        &self.tasks
    }
}

/// Every task of every loop at one moment; see the module doc. `Display` is the text a person
/// reads; iterate for programs.
#[derive(Clone, Debug)]
pub struct TaskDump {
    loops: Vec<LoopDump>,
}

impl TaskDump {
    /// The loops, in registration order.
    pub fn loops(&self) -> &[LoopDump] {
        &self.loops
    }

    /// Every task of every loop.
    pub fn iter(&self) -> impl Iterator<Item = &TaskInfo> {
        self.loops.iter().flat_map(|l| l.tasks.iter())
    }

    /// Number of tasks listed.
    pub fn len(&self) -> usize {
        self.iter().count()
    }

    /// True if no task is listed.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<'a> IntoIterator for &'a TaskDump {
    type Item = &'a TaskInfo;
    type IntoIter = Box<dyn Iterator<Item = &'a TaskInfo> + 'a>;

    fn into_iter(self) -> Self::IntoIter {
        Box::new(self.iter())
    }
}

impl fmt::Display for TaskDump {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "weft task dump ({} tasks)", self.len())?;
        for l in &self.loops {
            let name = match l.index {
                Some(i) => format!("loop {i}"),
                None => "caller loop".to_string(),
            };
            write!(f, "\n{name} (thread {}): {} tasks", l.thread, l.tasks.len())?;
            if let Some(stall) = &l.stalled {
                write!(f, "; STALLED, did not answer: {stall}")?;
            }
            writeln!(f)?;
            for t in &l.tasks {
                writeln!(f, "  {t}")?;
            }
        }
        Ok(())
    }
}

/// Takes a dump of every task and green thread of every running loop; see the module doc.
/// Blocks at most [`LOOP_ANSWER_TIMEOUT`] per stalled loop.
pub fn dump() -> TaskDump {
    let edges = trace::edges();
    let mut pending = Vec::new();
    let mut loops = Vec::new();
    for entry in super::loops::loops() {
        let shared = entry.shared.clone();
        let here = crate::rt::with_current(|c| c.is_some_and(|c| c.shared.id == shared.id));
        let mut dump = LoopDump {
            index: shared.index,
            thread: entry.thread.clone(),
            stalled: None,
            tasks: Vec::new(),
        };
        if here {
            dump.tasks = list_current_loop(&edges, true);
            loops.push(dump);
            continue;
        }
        let (tx, rx) = mpsc::channel();
        let edges = edges.clone();
        let posted = shared.post(crate::rt::Message::Call(Box::new(move || {
            let _ = tx.send(list_current_loop(&edges, false));
        })));
        if posted.is_err() {
            continue; // shut down meanwhile
        }
        pending.push((dump, rx, entry));
    }
    let deadline = Instant::now() + LOOP_ANSWER_TIMEOUT;
    for (mut dump, rx, entry) in pending {
        match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(tasks) => dump.tasks = tasks,
            Err(_) => dump.stalled = Some(super::loops::describe_current_poll(&entry)),
        }
        loops.push(dump);
    }
    let names: HashMap<u64, String> = loops
        .iter()
        .flat_map(|l| l.tasks.iter())
        .map(|t| (t.id, t.label()))
        .collect();
    for task in loops.iter_mut().flat_map(|l| l.tasks.iter_mut()) {
        if let Some(edge) = task.sync_wait.take() {
            task.wait = Some((describe_edge(&edge, &names), edge.waited));
        }
    }
    TaskDump { loops }
}

/// Lists the tasks of the loop running on this thread.
fn list_current_loop(edges: &[WaitEdge], in_task: bool) -> Vec<TaskInfo> {
    let current = hooks::polling();
    crate::rt::with_current(|core| {
        let Some(core) = core else { return Vec::new() };
        let index = core.shared.index;
        let mut tasks = Vec::new();
        core.for_each_task(&mut |header, queued| {
            let running = in_task && std::ptr::eq(header, current);
            tasks.push(describe(header, index, running, queued, edges));
        });
        if in_task && !current.is_null() && !tasks.iter().any(|t| t.state == TaskState::Running) {
            // SAFETY: the task being polled on this thread is alive for the whole poll.
            let header = unsafe { &*current };
            tasks.push(describe(header, index, true, false, edges));
        }
        tasks.sort_by_key(|t| t.id);
        tasks
    })
}

fn describe(
    header: &Header,
    loop_index: Option<usize>,
    running: bool,
    queued: bool,
    edges: &[WaitEdge],
) -> TaskInfo {
    let id = header.meta.id;
    let state = if running {
        TaskState::Running
    } else if queued {
        TaskState::Ready
    } else {
        TaskState::Parked
    };
    let sync_wait = edges.iter().find(|e| e.waiter.id.0 == id);
    let green = sync_wait.is_some_and(|e| e.waiter.kind == ActorKind::Green);
    let wait = match (state, sync_wait) {
        (TaskState::Parked, Some(_)) => None,
        (TaskState::Parked, None) => header
            .diag
            .get()
            .and_then(crate::diag::hooks::TaskSlot::wait)
            .map(|(reason, since)| (reason.describe(), since.elapsed())),
        _ => None,
    };
    TaskInfo {
        id,
        name: header.meta.name().map(str::to_string),
        site: header.meta.site(),
        state,
        green,
        loop_index,
        wait,
        sync_wait: sync_wait.filter(|_| state == TaskState::Parked).cloned(),
    }
}

/// `Mutex::lock on src/a.rs:10 (waiting at src/b.rs:20; held by task 3 "worker-3" for 1.2s)`.
fn describe_edge(edge: &WaitEdge, names: &HashMap<u64, String>) -> String {
    let holders: Vec<String> = edge
        .holders
        .iter()
        .map(|h| {
            let id = h.actor.id.0;
            let who = names
                .get(&id)
                .cloned()
                .unwrap_or_else(|| match h.actor.kind {
                    ActorKind::Thread => format!("thread {id}"),
                    _ => format!("task {id}"),
                });
            format!("{who} for {:.1?}", trace::since(h.since_ns))
        })
        .collect();
    let held = if holders.is_empty() {
        String::new()
    } else {
        format!("; held by {}", holders.join(", "))
    };
    // The holders go inside the parentheses, so that the wait's own duration, which the dump
    // line appends ("... for 1.2s"), cannot be read as a holder's.
    format!(
        "{} on {} (waiting at {}{held})",
        operation(edge.kind),
        edge.resource_site,
        edge.wait_site
    )
}

/// The waiting call, as a person would name it.
fn operation(kind: ResourceKind) -> &'static str {
    match kind {
        ResourceKind::Mutex => "Mutex::lock",
        ResourceKind::RwLock => "RwLock lock",
        ResourceKind::Semaphore => "Semaphore::acquire",
        ResourceKind::Notify => "Notify::notified",
        ResourceKind::Barrier => "Barrier::wait",
        ResourceKind::OnceCell => "OnceCell init",
        ResourceKind::MpscSend => "mpsc send",
        ResourceKind::MpscRecv => "mpsc recv",
        ResourceKind::Oneshot => "oneshot recv",
        ResourceKind::Broadcast => "broadcast recv",
        ResourceKind::Watch => "watch changed",
        ResourceKind::Join => "JoinHandle await",
        ResourceKind::Cancel => "CancellationToken::cancelled",
    }
}
