//! Worker slots and their processes: starting a worker for a slot, and scaling the slot set
//! up (SIGTTIN) and down (SIGTTOU; the last slot is never removed).

use super::*;

impl<Down, Up> Supervisor<Down, Up>
where
    Down: Serialize,
    Up: DeserializeOwned,
{
    pub(super) fn spawn_proc(
        &mut self,
        slot: usize,
        role: Role,
        restart: bool,
    ) -> io::Result<ProcId> {
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

    pub(super) fn active_slots(&self) -> usize {
        self.slots
            .iter()
            .filter(|s| s.state != SlotState::Retired)
            .count()
    }

    pub(super) fn add_slot(&mut self) {
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

    pub(super) fn remove_slot(&mut self) {
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
}
