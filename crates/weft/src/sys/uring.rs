//! The io_uring backend of [`Poller`](super::Poller): the same readiness contract as epoll,
//! delivered as completions of multishot poll requests.
//!
//! # Why the `io-uring` crate
//!
//! `io-uring` (tokio-rs/io-uring) is the thin, well-kept binding of the kernel interface: the
//! ring setup and mmaps, typed submission entries for every opcode, `io_uring_enter` with an
//! extended-argument timeout. It allocates nothing per operation and adds no runtime. liburing
//! through FFI would add a C build; writing the ring ourselves on `libc` would re-derive its
//! memory-ordering rules, which that crate already gets right.
//!
//! # How readiness maps onto io_uring
//!
//! - `register(fd, token, writable)` queues one `IORING_OP_POLL_ADD` with
//!   `IORING_POLL_ADD_MULTI` for `POLLIN | POLLRDHUP` (errors and hang-up are always reported),
//!   and a second one for `POLLOUT` if `writable`. Multishot poll without
//!   `IORING_POLL_ADD_LEVEL` is edge-triggered, like `EPOLLET`: one completion per wake-up of
//!   the descriptor, none between, and one at once if it is already ready when armed.
//! - `modify(.., true)` adds the `POLLOUT` request (the reactor subscribes to writability the
//!   first time a write waits); being armed, it reports a writability that came meanwhile.
//! - `deregister` queues `IORING_OP_POLL_REMOVE` for each request and submits at once: a poll
//!   request holds a reference to the file, so until it is removed a closed socket would stay
//!   open (no FIN to the peer).
//! - `wait` submits what is queued and waits for completions in one `io_uring_enter`, with
//!   `IORING_ENTER_EXT_ARG`'s timeout standing in for `epoll_wait`'s. When nothing is queued,
//!   no completion work is pending in the kernel, and either the timeout is zero or completions
//!   are already in the ring, it makes no syscall at all: it only reads the completion ring.
//!
//! # Completion work without interrupts
//!
//! A poll request's wake-up (a packet arrived) does not post its completion at once: the kernel
//! queues *task work* for the thread that submitted the request, and that thread posts the
//! completion when it next passes through the kernel. By default the kernel interrupts the
//! thread for it (`TWA_SIGNAL`: a reschedule IPI if it runs on another CPU), which under load is
//! one interrupt per packet; a profile of the first version of this backend, under wrk, had 28%
//! of the loop's CPU in that interrupt's entry and exit, and 2.8x epoll's CPU per request.
//!
//! So the ring is set up with `IORING_SETUP_COOP_TASKRUN` (no interrupt: the work waits for the
//! thread's next syscall, which a busy loop makes within microseconds, and a sleeping thread is
//! still woken) and `IORING_SETUP_TASKRUN_FLAG` (the kernel sets `IORING_SQ_TASKRUN` while such
//! work waits, so a turn that made no syscall enters the kernel to run it instead of reading an
//! empty ring). Kernels before 5.19 refuse the flags; the ring is then set up without them and
//! works as before, interrupts and all.
//!
//! That cooperation is only as prompt as the submitting thread is, so only the loop thread
//! submits (see "Threads").
//!
//! # Tokens and slots
//!
//! A completion names its request by a 64-bit `user_data`. The reactor's token (an `IoSource`
//! address) cannot be it: a removed request still posts a last completion (`-ECANCELED`) some
//! time later, when the source may be freed and its address reused by a new registration. So
//! each registration takes a *slot* here, and `user_data` is the slot's index, its generation
//! and the direction. A slot is recycled only when every request it armed has posted its last
//! completion (one without `IORING_CQE_F_MORE`), and completions of a deregistered slot are
//! dropped: the reactor never hears a token after `deregister` returned, which is what epoll
//! guarantees too.
//!
//! A multishot request can end on its own (the kernel ends it when the completion ring
//! overflows, and cancels the requests of a thread that exits); the loop re-arms it if its slot
//! is still registered.
//!
//! # Threads
//!
//! The submission ring has one producer at a time: pushes take the `state` lock, which also
//! guards the slots and the reading of the completion ring. But only the thread that waits (the
//! loop) enters the ring to submit: the kernel aims a request's task work at the thread that
//! submitted it, and a pool thread busy in user space, or asleep in an uninterruptible wait,
//! would hold that request's completions back. So a push made on any other thread only queues
//! the entry and answers [`Queued::WakeLoop`]: the caller wakes the loop (its inbox's
//! notifier), whose next `wait` submits it. The loop's own pushes wait for its next `wait`
//! too, so a turn that accepts many connections makes one syscall for all their polls.
//!
//! Two exceptions, both correct, only slower: a submission ring that fills up between two waits
//! (1,024 entries) is submitted by whoever pushes the entry that does not fit, and before the
//! first `wait` nobody is known to be the loop. A request submitted on another thread is
//! cancelled when that thread exits, and the loop then re-arms it as its own.

use super::events::Events;
use super::poller::Queued;
use io_uring::{cqueue, opcode, squeue, types, IoUring};
use std::collections::HashMap;
use std::io;
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

/// Submission ring entries: at most this many requests queue between two waits before a push
/// submits them itself.
const SQ_ENTRIES: u32 = 1024;
/// Completion ring entries. Past this the kernel keeps completions in an overflow list (it has
/// `IORING_FEAT_NODROP`) and may end multishot requests, which are then re-armed.
const CQ_ENTRIES: u32 = 8192;

/// `user_data` of the `POLL_REMOVE` requests; their completions carry nothing we need.
const REMOVE_DATA: u64 = u64::MAX;

/// What the read request polls for; `POLLERR | POLLHUP` are always reported.
const READ_EVENTS: u32 = (libc::POLLIN | libc::POLLRDHUP) as u32;
/// What the write request polls for.
const WRITE_EVENTS: u32 = libc::POLLOUT as u32;

/// The bit of `user_data` that marks the write request of a slot.
const WRITE_BIT: u64 = 1 << 32;
const GENERATION_SHIFT: u32 = 33;
const GENERATION_MASK: u32 = (1 << 31) - 1;

/// An io_uring instance used as a readiness queue.
pub(crate) struct Poller {
    ring: IoUring,
    state: Mutex<State>,
    /// The thread that waits (see [`thread_mark`]); 0 until the first wait.
    waiter: AtomicUsize,
}

impl std::fmt::Debug for Poller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("uring::Poller").finish_non_exhaustive()
    }
}

/// Slots of the registrations, under the poller's lock.
#[derive(Default)]
struct State {
    slots: Vec<Slot>,
    free: Vec<u32>,
    /// Slot of each registered token.
    by_token: HashMap<u64, u32>,
    /// Requests to re-arm after reading completions (reused buffer).
    rearm: Vec<(u32, bool)>,
}

/// One registration's requests.
struct Slot {
    token: u64,
    fd: RawFd,
    generation: u32,
    /// Registered: its completions are reported and its ended requests re-armed.
    live: bool,
    /// The write request is (to be) armed.
    write: bool,
    /// Requests the kernel still holds (each ends with one completion without `F_MORE`).
    armed: u8,
}

/// An address unique to the calling thread while it lives.
fn thread_mark() -> usize {
    thread_local! {
        static MARK: u8 = const { 0 };
    }
    MARK.with(|mark| mark as *const u8 as usize)
}

fn user_data(index: u32, generation: u32, write: bool) -> u64 {
    (u64::from(generation) << GENERATION_SHIFT)
        | if write { WRITE_BIT } else { 0 }
        | u64::from(index)
}

fn poll_entry(fd: RawFd, write: bool, data: u64) -> squeue::Entry {
    let events = if write { WRITE_EVENTS } else { READ_EVENTS };
    opcode::PollAdd::new(types::Fd(fd), events)
        .multi(true)
        .build()
        .user_data(data)
}

impl Poller {
    /// Sets up a ring. Fails where io_uring is unavailable (`EPERM` under
    /// `kernel.io_uring_disabled` or seccomp, `ENOSYS` on old kernels) or lacks what this
    /// backend needs: the extended-argument wait (Linux 5.11) and multishot poll (5.13, checked
    /// by a feature flag of the same release).
    pub(crate) fn new() -> io::Result<Poller> {
        let build = |cooperative: bool| {
            let mut builder = IoUring::builder();
            builder.setup_cqsize(CQ_ENTRIES).setup_clamp();
            if cooperative {
                builder.setup_coop_taskrun().setup_taskrun_flag();
            }
            builder.build(SQ_ENTRIES)
        };
        // `EINVAL`: a kernel before 5.19, which knows neither flag.
        let ring = match build(true) {
            Err(err) if err.raw_os_error() == Some(libc::EINVAL) => build(false)?,
            ring => ring?,
        };
        let params = ring.params();
        if !params.is_feature_ext_arg() || !params.is_feature_resource_tagging() {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "io_uring lacks IORING_FEAT_EXT_ARG or multishot poll (Linux 5.13 or later needed)",
            ));
        }
        Ok(Poller {
            ring,
            state: Mutex::new(State::default()),
            waiter: AtomicUsize::new(0),
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues `entry`; submits what is queued if the ring is full. Call with the lock held.
    fn push(&self, _locked: &mut State, entry: &squeue::Entry) -> io::Result<()> {
        for _ in 0..2 {
            // SAFETY: the caller holds the state lock, so this is the only submission queue
            // handle; it is dropped (publishing the tail) before the lock is released.
            let mut sq = unsafe { self.ring.submission_shared() };
            // SAFETY: poll and poll-remove entries point at no memory of ours.
            if unsafe { sq.push(entry) }.is_ok() {
                return Ok(());
            }
            drop(sq);
            self.ring.submit()?;
        }
        Err(io::Error::other("io_uring submission queue stays full"))
    }

    /// What a push made on the calling thread asks of its caller: nothing on the loop thread
    /// (or before any thread waited: the next wait submits), a wake-up of the loop elsewhere.
    fn queued(&self) -> Queued {
        let waiter = self.waiter.load(Relaxed);
        if waiter != 0 && waiter != thread_mark() {
            Queued::WakeLoop
        } else {
            Queued::Done
        }
    }

    /// Arms the request of one direction of slot `index`.
    fn arm(&self, state: &mut State, index: u32, write: bool) -> io::Result<()> {
        let slot = &state.slots[index as usize];
        let entry = poll_entry(slot.fd, write, user_data(index, slot.generation, write));
        self.push(state, &entry)?;
        state.slots[index as usize].armed += 1;
        Ok(())
    }

    /// Subscribes `fd`, edge-triggered, to readable (and, if `writable`, writable) readiness;
    /// hang-up and errors are always reported.
    pub(crate) fn register(&self, fd: RawFd, token: u64, writable: bool) -> io::Result<Queued> {
        let mut state = self.lock();
        let slot = Slot {
            token,
            fd,
            generation: 0,
            live: true,
            write: writable,
            armed: 0,
        };
        let index = match state.free.pop() {
            Some(index) => {
                let old = &mut state.slots[index as usize];
                let generation = old.generation.wrapping_add(1) & GENERATION_MASK;
                *old = Slot { generation, ..slot };
                index
            }
            None => {
                state.slots.push(slot);
                (state.slots.len() - 1) as u32
            }
        };
        let armed = self.arm(&mut state, index, false).and_then(|()| {
            if writable {
                self.arm(&mut state, index, true)
            } else {
                Ok(())
            }
        });
        if let Err(err) = armed {
            // Nothing the kernel holds can name the slot unless a request was queued.
            state.slots[index as usize].live = false;
            if state.slots[index as usize].armed == 0 {
                state.free.push(index);
            }
            return Err(err);
        }
        state.by_token.insert(token, index);
        drop(state);
        Ok(self.queued())
    }

    /// Adds (or removes) the writability subscription of a registered `fd`. The new request
    /// reports at once if the descriptor is already writable.
    pub(crate) fn modify(&self, _fd: RawFd, token: u64, writable: bool) -> io::Result<Queued> {
        let mut state = self.lock();
        let index = *state
            .by_token
            .get(&token)
            .ok_or_else(|| io::Error::from_raw_os_error(libc::ENOENT))?;
        let slot = &mut state.slots[index as usize];
        if slot.write == writable {
            return Ok(Queued::Done);
        }
        slot.write = writable;
        if writable {
            self.arm(&mut state, index, true)?;
        } else {
            let data = user_data(index, slot.generation, true);
            self.push(&mut state, &remove_entry(data))?;
        }
        drop(state);
        Ok(self.queued())
    }

    /// Removes the registration of `token`: its requests are cancelled and no completion of
    /// theirs is reported after this returns. On the loop thread the removal is submitted at
    /// once (a poll request keeps its file open, so until it is removed a closed socket would
    /// send no FIN); elsewhere the loop is to be woken to submit it.
    pub(crate) fn deregister(&self, _fd: RawFd, token: u64) -> io::Result<Queued> {
        let mut state = self.lock();
        let index = state
            .by_token
            .remove(&token)
            .ok_or_else(|| io::Error::from_raw_os_error(libc::ENOENT))?;
        let slot = &mut state.slots[index as usize];
        slot.live = false;
        if slot.armed == 0 {
            state.free.push(index);
            return Ok(Queued::Done);
        }
        let (generation, write) = (slot.generation, slot.write);
        self.push(
            &mut state,
            &remove_entry(user_data(index, generation, false)),
        )?;
        if write {
            self.push(
                &mut state,
                &remove_entry(user_data(index, generation, true)),
            )?;
        }
        drop(state);
        let queued = self.queued();
        if queued == Queued::Done {
            self.ring.submit()?;
        }
        Ok(queued)
    }

    /// Submits what is queued and waits for completions for at most `timeout` (`None`: without
    /// limit); fills `events` with the readiness they report. `EINTR` counts as an empty wait.
    pub(crate) fn wait(&self, events: &mut Events, timeout: Option<Duration>) -> io::Result<()> {
        self.waiter.store(thread_mark(), Relaxed);
        events.clear();
        let submitter = self.ring.submitter();
        // Completions already in the ring, or a zero timeout, need no syscall when nothing is
        // queued and no task work waits for this thread (the kernel posts completions
        // without being asked only when the ring is not cooperative).
        let skip = {
            let state = self.lock();
            // SAFETY: the only submission queue handle (the lock is held), dropped before the
            // lock; it only looks at the queue.
            let sq = unsafe { self.ring.submission_shared() };
            // SAFETY: likewise the only completion queue handle, only looked at.
            let cq = unsafe { self.ring.completion_shared() };
            let skip = sq.is_empty()
                && !sq.cq_overflow()
                && !sq.taskrun()
                && (!cq.is_empty() || timeout == Some(Duration::ZERO));
            drop((sq, cq, state));
            skip
        };
        let entered = match timeout {
            _ if skip => Ok(0),
            Some(timeout) if timeout.is_zero() => submitter.submit(),
            None => submitter.submit_and_wait(1),
            Some(timeout) => {
                let ts = types::Timespec::from(timeout);
                let args = types::SubmitArgs::new().timespec(&ts);
                submitter.submit_with_args(1, &args)
            }
        };
        if let Err(err) = entered {
            match err.raw_os_error() {
                // Timed out; interrupted; completions back up (reading them makes room).
                Some(libc::ETIME) | Some(libc::EINTR) | Some(libc::EBUSY) => {}
                _ => return Err(err),
            }
        }
        self.reap(events);
        Ok(())
    }

    /// Reads completions into `events` until it is full, and re-arms ended requests.
    fn reap(&self, events: &mut Events) {
        let mut state = self.lock();
        let mut rearm = std::mem::take(&mut state.rearm);
        {
            // SAFETY: the completion queue is only read here, with the state lock held.
            let cq = unsafe { self.ring.completion_shared() };
            for cqe in cq {
                state.complete(&cqe, events, &mut rearm);
                if events.is_full() {
                    break;
                }
            }
        }
        for (index, write) in rearm.drain(..) {
            if let Err(err) = self.arm(&mut state, index, write) {
                let fd = state.slots[index as usize].fd;
                tracing::error!(fd, error = %err, "io_uring: could not re-arm a poll request");
            }
        }
        state.rearm = rearm;
    }
}

fn remove_entry(data: u64) -> squeue::Entry {
    opcode::PollRemove::new(data).build().user_data(REMOVE_DATA)
}

impl State {
    /// Handles one completion: reports it if its slot is registered, notes a request that
    /// ended (to re-arm it, or to recycle the slot).
    fn complete(&mut self, cqe: &cqueue::Entry, events: &mut Events, rearm: &mut Vec<(u32, bool)>) {
        let data = cqe.user_data();
        if data == REMOVE_DATA {
            return;
        }
        let index = data as u32;
        let write = data & WRITE_BIT != 0;
        let generation = (data >> GENERATION_SHIFT) as u32;
        let Some(slot) = self.slots.get_mut(index as usize) else {
            return;
        };
        if slot.generation != generation {
            return;
        }
        let ended = !cqueue::more(cqe.flags());
        if ended {
            slot.armed -= 1;
        }
        let wanted = slot.live && (!write || slot.write);
        let result = cqe.result();
        if wanted {
            if result >= 0 {
                events.push(slot.token, result as u32);
            } else if ended {
                match -result {
                    // The descriptor cannot be polled (closed, or a kind poll refuses): let
                    // the operations run into the error instead of re-arming for ever.
                    libc::EBADF | libc::EINVAL | libc::EOPNOTSUPP | libc::EPERM => {
                        events.push(slot.token, (libc::POLLERR | libc::POLLHUP) as u32);
                        return;
                    }
                    // Cancelled (the thread that armed it exited) or short of memory: report
                    // both directions once (a spurious wake-up costs one `WouldBlock`).
                    _ => events.push(slot.token, (libc::POLLIN | libc::POLLOUT) as u32),
                }
            }
            if ended {
                rearm.push((index, write));
            }
        } else if !slot.live && slot.armed == 0 {
            self.free.push(index);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsRawFd;

    fn pair() -> (
        std::os::unix::net::UnixStream,
        std::os::unix::net::UnixStream,
    ) {
        let (a, b) = std::os::unix::net::UnixStream::pair().unwrap();
        a.set_nonblocking(true).unwrap();
        b.set_nonblocking(true).unwrap();
        (a, b)
    }

    fn wait_for(poller: &Poller, events: &mut Events, token: u64) -> u32 {
        for _ in 0..100 {
            poller
                .wait(events, Some(Duration::from_millis(100)))
                .unwrap();
            let bits = events
                .iter()
                .filter(|(t, _)| *t == token)
                .fold(0, |acc, (_, r)| acc | r.0);
            if bits != 0 {
                return bits;
            }
        }
        panic!("no event for token {token} within 10 s");
    }

    #[test]
    fn readable_then_writable_then_silent_after_deregister() {
        use std::io::Write;
        let poller = Poller::new().unwrap();
        let mut events = Events::with_capacity(16);
        let (mut a, b) = pair();
        assert_eq!(
            poller.register(b.as_raw_fd(), 7, false).unwrap(),
            Queued::Done
        );
        a.write_all(b"x").unwrap();
        let bits = wait_for(&poller, &mut events, 7);
        assert_ne!(bits & super::super::Readiness::READABLE, 0);
        assert_eq!(poller.modify(b.as_raw_fd(), 7, true).unwrap(), Queued::Done);
        let bits = wait_for(&poller, &mut events, 7);
        assert_ne!(bits & super::super::Readiness::WRITABLE, 0);
        assert_eq!(poller.deregister(b.as_raw_fd(), 7).unwrap(), Queued::Done);
        a.write_all(b"y").unwrap();
        poller
            .wait(&mut events, Some(Duration::from_millis(50)))
            .unwrap();
        assert_eq!(events.iter().filter(|(t, _)| *t == 7).count(), 0);
        // The slot is recycled once the removed requests have ended.
        for _ in 0..100 {
            if poller.lock().free.len() == 1 {
                break;
            }
            poller
                .wait(&mut events, Some(Duration::from_millis(10)))
                .unwrap();
        }
        assert_eq!(poller.lock().free, vec![0]);
    }
}
