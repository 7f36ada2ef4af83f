//! Who the actors of the wait-for graph are (name, spawn site, a handle to cancel a task), and
//! which tasks were cancelled as deadlock victims.
//!
//! A waiter's identity is taken when it parks (the only moment it is at hand: on its own
//! thread, inside its own poll) and kept in its wait record (`sync::trace::Whose`: a counted
//! [`TaskRef`], or the thread's handle) until the wait ends; an [`ActorInfo`] is built from it
//! only for a report. A task's info holds its `TaskRef`, so a victim can be aborted from the
//! detector thread through the `JoinHandle::abort` machinery.

use crate::loom::Mutex;
use crate::rt::task::TaskRef;
use crate::sync::trace::{self, Actor, ActorKind, WaitEdge, Whose};
use std::collections::HashSet;
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

    /// The waiter of `wait`, from who the wait says it is (taken when it parked).
    pub(crate) fn waiting(wait: &WaitEdge) -> ActorInfo {
        match &wait.whose {
            Some(Whose::Task(task)) => ActorInfo {
                actor: wait.waiter,
                name: task.meta().name().map(String::from),
                site: Some(task.meta().site()),
                task: Some(task.clone()),
            },
            Some(Whose::Thread(thread)) => ActorInfo {
                actor: wait.waiter,
                name: thread.name().map(String::from),
                site: None,
                task: None,
            },
            None => ActorInfo::unknown(wait.waiter),
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

/// The info of `actor` as `edges` know it (an actor's own wait carries who it is), or a bare
/// one if it has no wait among them (a holder that is running).
pub(crate) fn info_among<'e>(
    edges: impl IntoIterator<Item = &'e WaitEdge>,
    actor: Actor,
) -> ActorInfo {
    edges
        .into_iter()
        .find(|w| w.waiter.id == actor.id)
        .map_or_else(|| ActorInfo::unknown(actor), ActorInfo::waiting)
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
