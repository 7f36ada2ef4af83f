//! The supervisor's zero-downtime reload, as a two-stage machine (the steps users see are in
//! the [supervisor's docs](super)):
//!
//! - `Starting { incoming }`: one new worker per active slot is started (role `Incoming`),
//!   until all are `Ready` (then they are promoted to `Current`, and the replaced ones become
//!   `Outgoing`) or the ready deadline passes (then the reload is abandoned and the new
//!   workers are stopped).
//! - `Draining { old, stopping }`: the outgoing workers are stopped one at a time; the next
//!   one only once the previous one was reaped. The reload ends when none is left.
//!
//! While a reload runs, the supervisor holds any further reload or scaling request and
//! starts it afterwards.

use super::{ProcId, ProcState, Role, SlotState, Supervisor};
use crate::cluster::events::ClusterEvent;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::collections::VecDeque;
use std::time::Instant;

#[derive(Debug)]
pub(super) struct Reload {
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

impl Reload {
    /// When the new workers must be ready by, while they are starting.
    pub(super) fn ready_deadline(&self) -> Option<Instant> {
        match self.stage {
            ReloadStage::Starting { .. } => Some(self.ready_deadline),
            ReloadStage::Draining { .. } => None,
        }
    }
}

impl<Down, Up> Supervisor<Down, Up>
where
    Down: Serialize,
    Up: DeserializeOwned,
{
    pub(super) fn start_reload(&mut self) {
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

    pub(super) fn abort_reload(&mut self, reason: String) {
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

    pub(super) fn advance_reload(&mut self, now: Instant) -> bool {
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
