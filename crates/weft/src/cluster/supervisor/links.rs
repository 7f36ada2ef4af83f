//! The supervisor's links to its workers: reading their IPC frames (with the backlog bound),
//! reaping exited processes (SIGCHLD, `waitpid`), and what a death means for its slot
//! (restart with backoff, give up, or end a reload).

use super::*;

impl<Down, Up> Supervisor<Down, Up>
where
    Down: Serialize,
    Up: DeserializeOwned,
{
    /// Reads frames from every worker and writes queued frames to them.
    pub(super) fn poll_links(&mut self, cx: &mut Context<'_>) -> bool {
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
    pub(super) fn reap(&mut self) -> bool {
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

    pub(super) fn on_exit(&mut self, proc: Proc<Down, Up>, exit: Exit) {
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
                self.on_death(
                    proc.slot,
                    lived,
                    exit == Exit::Code(crate::cluster::FATAL_EXIT_CODE),
                );
            }
        }
    }

    /// Applies the restart policy to a death in `slot`.
    pub(super) fn on_death(&mut self, slot: usize, lived: Duration, fatal: bool) {
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
}
