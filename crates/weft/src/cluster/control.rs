//! [`SupervisorControl`], and the state it shares with its [`Supervisor`](super::Supervisor):
//! commands, and one bounded outbox of encoded frames per worker process.

use super::ipc::{self, IpcError};
use super::ToWorker;
use serde::Serialize;
use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::future::poll_fn;
use std::marker::PhantomData;
use std::rc::Rc;
use std::task::{Poll, Waker};

/// A worker process of the supervisor, numbered from 1 in start order (never reused).
pub(crate) type ProcId = u64;

/// Most bytes of encoded messages waiting for one worker before [`SupervisorControl::send`]
/// waits: 1 MiB, thousands of control messages; a worker that stopped reading its link costs
/// at most this (plus the kernel socket buffers). A single larger message is still accepted
/// when the outbox is empty.
pub const OUTBOX_BYTES: usize = 1 << 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Op {
    Reload,
    Add,
    Remove,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum CommandKind {
    Op(Op),
    Stop,
}

#[derive(Debug, Default)]
pub(super) struct Outbox {
    pub(super) frames: VecDeque<Vec<u8>>,
    pub(super) bytes: usize,
}

/// State shared between the supervisor and its controls (same loop: `Rc<RefCell>`).
#[derive(Debug, Default)]
pub(super) struct Shared {
    pub(super) commands: VecDeque<CommandKind>,
    pub(super) outboxes: HashMap<ProcId, Outbox>,
    /// The current process of each slot, if it can take messages.
    pub(super) current: Vec<Option<ProcId>>,
    pub(super) supervisor: Option<Waker>,
    pub(super) space_waiters: Vec<Waker>,
    pub(super) finished: bool,
}

impl Shared {
    pub(super) fn wake_supervisor(&mut self) {
        if let Some(waker) = self.supervisor.take() {
            waker.wake();
        }
    }

    pub(super) fn wake_senders(&mut self) {
        for waker in self.space_waiters.drain(..) {
            waker.wake();
        }
    }
}

/// A handle to a [`Supervisor`](super::Supervisor) for other tasks of its loop: send, broadcast, reload, scale,
/// stop. Commands take effect while the supervisor is driven ([`Supervisor::next`](super::Supervisor::next)).
pub struct SupervisorControl<Down> {
    pub(super) shared: Rc<RefCell<Shared>>,
    pub(super) _type: PhantomData<fn(Down)>,
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
    ///
    /// # Cancel safety
    ///
    /// Not cancel safe: the workers are served one after the other, so if it is dropped
    /// part-way the message was queued for the workers before the one it waited on and not for
    /// the rest (and the count is lost). Each worker gets it whole or not at all.
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
