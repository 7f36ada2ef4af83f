//! Stopping: one process (IPC `Stop`, SIGTERM, SIGKILL after the drain timeout plus the grace),
//! and the whole cluster (graceful, then forced on a second signal; `Stopped` once every
//! worker is reaped).

use super::*;

impl<Down, Up> Supervisor<Down, Up>
where
    Down: Serialize,
    Up: DeserializeOwned,
{
    /// Asks process `id` to drain and exit; SIGKILL follows after the drain timeout + grace.
    pub(super) fn stop_proc(&mut self, id: ProcId) {
        let Some(i) = self.proc_index(id) else { return };
        let kill_at = Instant::now() + self.drain_timeout + crate::cluster::STOP_GRACE;
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

    pub(super) fn begin_stop(&mut self, reason: StopReason) {
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

    pub(super) fn kill_all(&mut self, reason: StopReason) {
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

    pub(super) fn finish(&mut self, reason: StopReason) {
        tracing::info!(?reason, "cluster stopped");
        let mut shared = self.shared.borrow_mut();
        shared.finished = true;
        shared.wake_senders();
        drop(shared);
        self.events.push_back(ClusterEvent::Stopped { reason });
    }
}
