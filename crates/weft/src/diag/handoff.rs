//! Mitigation of a stalled loop: the connections waiting in its listeners' accept queues are
//! accepted by the watchdog and served by healthy loops.
//!
//! # Design
//!
//! A server with one `SO_REUSEPORT` listener per loop (weft-http's `Server`) has a problem no
//! scheduler can fix once a loop is stuck: the kernel keeps hashing new clients onto the stuck
//! loop's listener, and they wait in its accept queue until the poll returns. So an accept loop
//! registers its listener here with [`share_accepts`], giving a function that serves an
//! accepted connection **on its own loop** (it may hold `Rc`s: it stays in a thread-local
//! table of that loop's thread). The registry keeps a duplicate of the listening descriptor
//! (so the number cannot be reused by another socket while it is registered) and the listen
//! address, which groups the listeners that serve the same thing.
//!
//! While the watchdog has a loop reported as stalled, every tick it `accept4`s (non-blocking,
//! at most [`MAX_PER_TICK`]) on that loop's registered descriptors and posts each new
//! connection to a healthy loop with a listener of the same group, round-robin: a closure in
//! that loop's inbox that wraps the socket in a [`TcpStream`] registered with that loop's
//! reactor and calls that loop's function. Accepting on a descriptor another thread also
//! accepts on is fine: the kernel gives each connection to one of them. When the stall ends
//! the loop accepts its own clients again. Nothing is registered (and nothing runs) unless the
//! watchdog is on.
//!
//! The same tick moves the tasks waiting in the stalled loop's inbox that were spawned without
//! a fixed loop and never polled ([`move_tasks`]): they start on a healthy loop instead.
//!
//! A connection already accepted by the stuck loop (in its own task list) cannot move: its
//! socket is registered with that loop's reactor and its state lives in that loop's task.

use super::loops::LoopEntry;
use crate::loom::{Arc, AtomicU64, Mutex, Ordering::Relaxed};
use crate::net::{TcpListener, TcpStream};
use crate::rt::Message;
use crate::sys::socket;
use std::cell::RefCell;
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, OwnedFd};
use std::rc::Rc;

/// Connections taken from one stalled listener per watchdog tick: enough for a burst of
/// clients (the tick is a tenth of the threshold), bounded so that one tick stays short.
pub(crate) const MAX_PER_TICK: usize = 256;

type Adopt = Rc<dyn Fn(TcpStream, SocketAddr)>;

struct Shared {
    id: u64,
    loop_id: usize,
    group: SocketAddr,
    fd: OwnedFd,
}

static REGISTRY: Mutex<Vec<Arc<Shared>>> = Mutex::new(Vec::new());
static NEXT_ID: AtomicU64 = AtomicU64::new(1);
static ROUND: AtomicU64 = AtomicU64::new(0);

thread_local! {
    static ADOPTERS: RefCell<Vec<(u64, Adopt)>> = const { RefCell::new(Vec::new()) };
}

fn lock<T>(m: &Mutex<T>) -> crate::loom::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Keeps a listener's accept queue shareable while it lives; see [`share_accepts`].
#[derive(Debug)]
#[must_use = "the listener is shared only while this value lives"]
pub struct AcceptShare {
    id: u64,
}

/// Lets the watchdog accept on `listener` while this loop is stalled and hand the connections
/// to other loops, where `serve` (the function registered there for a listener on the same
/// address) runs them. Call on the loop thread that accepts on `listener`; drop the returned
/// value before closing the listener. Does nothing unless the watchdog is on.
pub fn share_accepts(
    listener: &TcpListener,
    serve: impl Fn(TcpStream, SocketAddr) + 'static,
) -> AcceptShare {
    let inert = AcceptShare { id: 0 };
    if super::current().watchdog_threshold().is_none() {
        return inert;
    }
    let Some(loop_id) = crate::rt::with_current(|c| c.map(|c| c.shared.id)) else {
        return inert;
    };
    let (Ok(group), Ok(fd)) = (
        listener.local_addr(),
        crate::sys::signal::dup_cloexec(listener.as_raw_fd()),
    ) else {
        return inert;
    };
    let id = NEXT_ID.fetch_add(1, Relaxed);
    ADOPTERS.with(|a| a.borrow_mut().push((id, Rc::new(serve))));
    lock(&REGISTRY).push(Arc::new(Shared {
        id,
        loop_id,
        group,
        fd,
    }));
    AcceptShare { id }
}

impl Drop for AcceptShare {
    fn drop(&mut self) {
        if self.id == 0 {
            return;
        }
        lock(&REGISTRY).retain(|s| s.id != self.id);
        let _ = ADOPTERS.try_with(|a| a.borrow_mut().retain(|(id, _)| *id != self.id));
    }
}

/// Takes the connections waiting on `stalled`'s listeners and posts them to healthy loops;
/// returns how many were handed over. `stuck` lists the loops that must not receive any.
pub(crate) fn rescue(stalled: &LoopEntry, loops: &[Arc<LoopEntry>], stuck: &[usize]) -> usize {
    let registry = lock(&REGISTRY).clone();
    let mut handed = 0;
    for from in registry.iter().filter(|s| s.loop_id == stalled.shared.id) {
        let targets: Vec<(&Arc<Shared>, &Arc<LoopEntry>)> = registry
            .iter()
            .filter(|s| s.group == from.group && s.loop_id != from.loop_id)
            .filter(|s| !stuck.contains(&s.loop_id))
            .filter_map(|s| {
                loops
                    .iter()
                    .find(|l| l.shared.id == s.loop_id)
                    .map(|l| (s, l))
            })
            .collect();
        if targets.is_empty() {
            continue;
        }
        for _ in 0..MAX_PER_TICK {
            let Ok((fd, _)) = socket::accept(from.fd.as_raw_fd()) else {
                break; // WouldBlock (queue empty) or an error the loop will meet itself
            };
            let (target, entry) = targets[ROUND.fetch_add(1, Relaxed) as usize % targets.len()];
            let id = target.id;
            let posted = entry
                .shared
                .post(Message::Call(Box::new(move || adopt(id, fd))));
            if posted.is_ok() {
                handed += 1;
            }
        }
    }
    handed
}

/// Takes the never-polled tasks that were spawned without a fixed loop (`Handle::spawn` from
/// outside the runtime: round-robin) out of `stalled`'s inbox and starts them on healthy loops,
/// round-robin; returns how many moved. Tasks spawned on a chosen loop (`spawn_on`, or from a
/// task of that loop), and tasks polled before, stay: their loop is part of their meaning, or
/// their state (wakers, sockets, timers) is registered with it.
pub(crate) fn move_tasks(stalled: &LoopEntry, loops: &[Arc<LoopEntry>], stuck: &[usize]) -> usize {
    let targets: Vec<&Arc<LoopEntry>> = loops
        .iter()
        .filter(|l| l.shared.id != stalled.shared.id && !stuck.contains(&l.shared.id))
        .filter(|l| l.shared.index.is_some())
        .collect();
    if targets.is_empty() {
        return 0;
    }
    let mut turn = ROUND.fetch_add(1, Relaxed) as usize;
    let mut next = || {
        turn += 1;
        targets[turn % targets.len()]
    };
    let mut chosen = Vec::new();
    let taken = stalled.shared.take_tasks(&mut |task| {
        let to = next();
        let moved = task.rehome(&to.shared);
        if moved {
            chosen.push(to.clone());
        }
        moved
    });
    let moved = taken.len();
    for (task, to) in taken.into_iter().zip(chosen) {
        if let Err(Message::Run(task)) = to.shared.post(Message::Run(task)) {
            task.reject();
        }
    }
    moved
}

/// On the target loop: wraps the socket and gives it to the registered function.
fn adopt(id: u64, fd: OwnedFd) {
    let serve = ADOPTERS.with(|a| {
        a.borrow()
            .iter()
            .find(|(i, _)| *i == id)
            .map(|(_, f)| f.clone())
    });
    let Some(serve) = serve else { return };
    let stream = std::net::TcpStream::from(fd);
    let Ok(peer) = stream.peer_addr() else { return };
    match TcpStream::from_std(stream) {
        Ok(stream) => serve(stream, peer),
        Err(error) => {
            tracing::warn!(%error, "weft::diag: could not adopt a handed-over connection")
        }
    }
}
