//! Who the actors of the wait-for graph are (name, spawn site, a handle to cancel a task), and
//! which tasks were cancelled as deadlock victims.
//!
//! An actor's [`ActorInfo`] is taken when it parks (the only moment its identity is at hand:
//! on its own thread, inside its own poll) and kept while it has a recorded wait; the detector
//! forgets the ones whose waits are gone. A task's info holds a counted [`TaskRef`], so a
//! victim can be aborted from the detector thread through the `JoinHandle::abort` machinery.

use crate::loom::Arc;
use crate::loom::Mutex;
use crate::rt::task::TaskRef;
use crate::sync::trace::{self, Actor, ActorId, ActorKind};
use std::collections::{HashMap, HashSet};
use std::panic::Location;
use std::sync::OnceLock;

/// One actor, as reports name it.
#[derive(Debug)]
pub(crate) struct ActorInfo {
    pub(crate) actor: Actor,
    /// The task's name, the thread's name, or `None`.
    name: Option<String>,
    /// Where the task was spawned.
    pub(crate) site: Option<&'static Location<'static>>,
    /// A counted reference to the task (async tasks and green threads).
    pub(crate) task: Option<TaskRef>,
}

impl ActorInfo {
    /// The actor running this code.
    pub(crate) fn current(actor: Actor) -> ActorInfo {
        match actor.kind {
            ActorKind::Task | ActorKind::Green => {
                let task = TaskRef::current();
                ActorInfo {
                    actor,
                    name: task
                        .as_ref()
                        .and_then(|t| t.meta().name().map(String::from)),
                    site: task.as_ref().map(|t| t.meta().site()),
                    task,
                }
            }
            ActorKind::Thread => ActorInfo {
                actor,
                name: std::thread::current().name().map(String::from),
                site: None,
                task: None,
            },
        }
    }

    /// An actor never seen parking (a holder that is running): named by its id alone.
    pub(crate) fn unknown(actor: Actor) -> ActorInfo {
        ActorInfo {
            actor,
            name: None,
            site: None,
            task: None,
        }
    }

    /// The name reports use: the given name, else `task 17` / `green thread 17` /
    /// `thread 17`.
    pub(crate) fn name(&self) -> String {
        match &self.name {
            Some(n) => n.clone(),
            None => format!("{} {}", kind_word(self.actor.kind), self.actor.id.0),
        }
    }

    /// `"name" (task 17, spawned at src/a.rs:10:5)`, or `task 17 (spawned at ...)` unnamed.
    pub(crate) fn describe(&self) -> String {
        let what = format!("{} {}", kind_word(self.actor.kind), self.actor.id.0);
        match (&self.name, self.site) {
            (Some(name), Some(site)) => format!("\"{name}\" ({what}, spawned at {site})"),
            (Some(name), None) => format!("\"{name}\" ({what})"),
            (None, Some(site)) => format!("{what} (spawned at {site})"),
            (None, None) => what,
        }
    }
}

fn kind_word(kind: ActorKind) -> &'static str {
    match kind {
        ActorKind::Task => "task",
        ActorKind::Green => "green thread",
        ActorKind::Thread => "thread",
    }
}

/// The infos of parked actors, each with the number of the park that last remembered it.
#[derive(Default)]
struct Infos {
    map: HashMap<ActorId, (Arc<ActorInfo>, u64)>,
    parks: u64,
}

fn infos() -> &'static Mutex<Infos> {
    static INFOS: OnceLock<Mutex<Infos>> = OnceLock::new();
    INFOS.get_or_init(|| Mutex::new(Infos::default()))
}

/// Keeps the current actor's info (first park of this actor while it has waits), and marks it
/// as remembered by this park (see [`retain`]).
pub(crate) fn remember_current(actor: Actor) {
    let mut infos = infos().lock().unwrap_or_else(|e| e.into_inner());
    infos.parks += 1;
    let park = infos.parks;
    let entry = infos
        .map
        .entry(actor.id)
        .or_insert_with(|| (Arc::new(ActorInfo::current(actor)), park));
    entry.1 = park;
}

/// The info of `actor`, or a bare one if it never parked.
pub(crate) fn info(actor: Actor) -> Arc<ActorInfo> {
    infos()
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .map
        .get(&actor.id)
        .map(|(info, _)| info.clone())
        .unwrap_or_else(|| Arc::new(ActorInfo::unknown(actor)))
}

/// The number of the last park remembered: take it before a snapshot of the waits, and give
/// it to [`retain`] with that snapshot.
pub(crate) fn mark() -> u64 {
    infos().lock().unwrap_or_else(|e| e.into_inner()).parks
}

/// Forgets every actor not in `waiting` (their waits ended; their task references go) that
/// was last remembered at or before `mark`. A park records its wait before it remembers its
/// actor, so an actor remembered after the mark may wait in a record the snapshot missed: it
/// is kept (forgetting it made a deadlock's member print as a bare task id).
pub(crate) fn retain(waiting: &HashSet<ActorId>, mark: u64) {
    let gone: Vec<Arc<ActorInfo>> = {
        let mut infos = infos().lock().unwrap_or_else(|e| e.into_inner());
        let stale: Vec<ActorId> = infos
            .map
            .iter()
            .filter(|(id, (_, park))| *park <= mark && !waiting.contains(id))
            .map(|(id, _)| *id)
            .collect();
        stale
            .iter()
            .filter_map(|id| infos.map.remove(id))
            .map(|(info, _)| info)
            .collect()
    };
    // Task references are dropped outside the lock (a last reference frees a task).
    drop(gone);
}

fn victims() -> &'static Mutex<HashSet<u64>> {
    static VICTIMS: OnceLock<Mutex<HashSet<u64>>> = OnceLock::new();
    VICTIMS.get_or_init(|| Mutex::new(HashSet::new()))
}

/// Aborts `info`'s task as a deadlock victim; false if it is not an async task.
pub(crate) fn cancel(info: &ActorInfo) -> bool {
    let (ActorKind::Task, Some(task)) = (info.actor.kind, &info.task) else {
        return false;
    };
    victims()
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(task.meta().id);
    task.abort();
    true
}

/// True (once) if task `id` was cancelled as a deadlock victim: its `JoinError` says so.
pub(crate) fn is_victim(id: u64) -> bool {
    trace::enabled()
        && victims()
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&id)
}
