//! Unix signals as asynchronous streams: SIGINT, SIGTERM, SIGHUP, SIGUSR1/2, SIGTTIN/SIGTTOU,
//! SIGCHLD by name, any other catchable signal by number ([`SignalKind::from_raw`]), and
//! [`ctrl_c`].
//!
//! ```
//! # let rt = weft::rt::Runtime::builder().current_thread().build().unwrap();
//! # rt.block_on(async {
//! use weft::signal::{Signals, SignalKind};
//! let mut signals = Signals::new(&[SignalKind::User1, SignalKind::User2])?;
//! // Another process sends us SIGUSR1.
//! std::process::Command::new("kill").args(["-USR1", &std::process::id().to_string()]).status()?;
//! assert_eq!(signals.recv().await?, SignalKind::User1);
//! # Ok::<(), std::io::Error>(())
//! # }).unwrap();
//! ```
//!
//! # Design: a self-pipe and a dispatcher, not `signalfd`
//!
//! A signal sent to a process is delivered to *any* thread that does not block it. `signalfd`
//! only sees signals that are blocked in *every* thread, so a library would have to block them
//! before any thread exists (threads inherit the mask of their creator) and could never be sure:
//! a thread started earlier by the program, a test harness or another library keeps the signal
//! unblocked, and there the default action (terminate) runs. weft is a library, so it takes the
//! approach that works whatever threads exist:
//!
//! 1. **Handler.** The first stream for a signal installs a `sigaction` handler (with
//!    `SA_RESTART`). Whichever thread it interrupts, the handler only does async-signal-safe
//!    things: it sets the signal's `PENDING` flag (a lock-free atomic) and writes one byte to a
//!    process-wide non-blocking, close-on-exec pipe, saving and restoring `errno`. A full pipe
//!    is fine: unread bytes already guarantee a wake-up, and the flag is not lost.
//! 2. **Readers.** Every [`Signals`] stream owns a duplicate of the pipe's read end, registered
//!    (edge-triggered) with the loop it was created on, so each loop that waits for a signal
//!    wakes when a byte arrives. No thread is dedicated to signals.
//! 3. **Dispatch.** Whichever stream reads bytes first drains the pipe, then swaps every
//!    `PENDING` flag back to false and bumps that signal's `DELIVERED` counter, and wakes every
//!    registered stream interested in it (waking posts to the stream's own loop). The handler
//!    sets the flag *before* writing the byte, so a byte read always finds its flag.
//! 4. **Streams.** A stream remembers, per signal, the counter it last reported; `recv` reports a
//!    signal when its counter moved. A stream registers its waker *before* comparing counters,
//!    and a dispatcher bumps counters *before* waking, so a dispatch on another loop that races
//!    with a stream going to sleep is never missed.
//!
//! # Guarantees and limits
//!
//! - Every stream sees each signal delivered after it was created, at least once; several
//!   deliveries of one signal between two `recv`s are coalesced into one (the kernel coalesces
//!   pending signals too). A signal delivered just before a stream was created, but not yet
//!   dispatched, may be reported to it.
//! - Installing a handler is permanent for the process: once a stream for SIGTERM has existed,
//!   SIGTERM no longer terminates the process even after every stream is dropped (tokio and
//!   libuv make the same choice; restoring the default would race with other streams).
//! - Handlers installed by others for the same signal are replaced, not chained. `SIGKILL`,
//!   `SIGSTOP`, the fault signals (`SIGSEGV`, `SIGBUS`, `SIGILL`, `SIGFPE`) and glibc's
//!   internal signals are refused (see [`SignalKind::try_from_raw`]).
//! - Streams must be created inside a weft loop (they register with its reactor). A program
//!   that must not die of a signal before its loop runs installs the handlers first with
//!   [`Signals::install`] and attaches the stream later.

use crate::loom::{AtomicBool, AtomicI32, AtomicU64, Mutex, Ordering::SeqCst};
use crate::rt::reactor::{Direction, Registration};
use crate::sys;
use std::collections::HashMap;
use std::fmt;
use std::future::poll_fn;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::OnceLock;
use std::task::{Context, Poll, Waker};

mod ctrl_c;
mod number;

pub use ctrl_c::ctrl_c;
pub use number::OtherSignal;

/// The signals weft can deliver as streams.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SignalKind {
    /// `SIGINT`: interrupt from the terminal (Ctrl-C).
    Interrupt,
    /// `SIGTERM`: polite request to terminate (what `kill`, systemd and container runtimes send).
    Terminate,
    /// `SIGHUP`: hang-up; by convention, "reload your configuration".
    Hangup,
    /// `SIGUSR1`: user-defined.
    User1,
    /// `SIGUSR2`: user-defined.
    User2,
    /// `SIGTTIN`: by the convention of process supervisors (nginx, gunicorn), "one worker more".
    TtyIn,
    /// `SIGTTOU`: by the same convention, "one worker less".
    TtyOut,
    /// `SIGCHLD`: a child process exited (or stopped, or continued).
    Child,
    /// Any other catchable signal (`SIGQUIT`, `SIGWINCH`, `SIGRTMIN+n`, …), from
    /// [`from_raw`](Self::from_raw).
    Other(OtherSignal),
}

impl SignalKind {
    /// Every named kind, in declaration order.
    pub const ALL: [SignalKind; 8] = [
        SignalKind::Interrupt,
        SignalKind::Terminate,
        SignalKind::Hangup,
        SignalKind::User1,
        SignalKind::User2,
        SignalKind::TtyIn,
        SignalKind::TtyOut,
        SignalKind::Child,
    ];

    /// The signal number (`libc::SIGINT`, …).
    pub fn as_raw(self) -> i32 {
        match self {
            SignalKind::Interrupt => libc::SIGINT,
            SignalKind::Terminate => libc::SIGTERM,
            SignalKind::Hangup => libc::SIGHUP,
            SignalKind::User1 => libc::SIGUSR1,
            SignalKind::User2 => libc::SIGUSR2,
            SignalKind::TtyIn => libc::SIGTTIN,
            SignalKind::TtyOut => libc::SIGTTOU,
            SignalKind::Child => libc::SIGCHLD,
            SignalKind::Other(other) => other.as_raw(),
        }
    }

    /// The kind of signal number `signum`: a named variant when there is one, else
    /// [`Other`](Self::Other); `None` for a number a stream cannot subscribe to (see
    /// [`try_from_raw`](Self::try_from_raw)).
    pub fn from_raw(signum: i32) -> Option<SignalKind> {
        SignalKind::try_from_raw(signum).ok()
    }

    /// Like [`from_raw`](Self::from_raw), with an `InvalidInput` error that says why a number
    /// is refused: `SIGKILL`/`SIGSTOP` (cannot be caught), `SIGSEGV`/`SIGBUS`/`SIGILL`/`SIGFPE`
    /// (raised by faulting instructions), glibc's internal signals, or not a signal number.
    pub fn try_from_raw(signum: i32) -> io::Result<SignalKind> {
        match SignalKind::ALL.into_iter().find(|k| k.as_raw() == signum) {
            Some(kind) => Ok(kind),
            None => number::validate(signum).map(SignalKind::Other),
        }
    }

    /// The conventional name, such as `"SIGTERM"`.
    pub fn name(self) -> &'static str {
        match self {
            SignalKind::Interrupt => "SIGINT",
            SignalKind::Terminate => "SIGTERM",
            SignalKind::Hangup => "SIGHUP",
            SignalKind::User1 => "SIGUSR1",
            SignalKind::User2 => "SIGUSR2",
            SignalKind::TtyIn => "SIGTTIN",
            SignalKind::TtyOut => "SIGTTOU",
            SignalKind::Child => "SIGCHLD",
            SignalKind::Other(other) => other.name(),
        }
    }

    fn bit(self) -> u64 {
        bit(self.as_raw())
    }
}

/// Signal `n`'s bit in a mask: signals are 1..=64, bits 0..=63.
fn bit(signum: i32) -> u64 {
    1 << (signum - 1)
}

impl fmt::Display for SignalKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SignalKind::Other(other) => fmt::Display::fmt(other, f),
            named => f.write_str(named.name()),
        }
    }
}

/// Size of the per-signal tables: Linux signal numbers are below 65 (`SIGRTMAX` is 64).
const SIGNAL_SLOTS: usize = 65;

// Shared with the signal handler, so lock-free and const-initialised: `PENDING[n]` is set by
// the handler for signal `n` before it writes its byte; `WRITE_FD` is the pipe's write end
// (-1 until the first stream exists; never closed afterwards, so the handler can never write
// to a descriptor number that was reused).
#[allow(clippy::declare_interior_mutable_const)]
const NOT_PENDING: AtomicBool = AtomicBool::new(false);
static PENDING: [AtomicBool; SIGNAL_SLOTS] = [NOT_PENDING; SIGNAL_SLOTS];
static WRITE_FD: AtomicI32 = AtomicI32::new(-1);

/// The process-wide half that ordinary code uses.
struct Globals {
    /// Read end of the self-pipe; streams read duplicates of it.
    read_end: OwnedFd,
    /// How many times each signal has been dispatched.
    delivered: [AtomicU64; SIGNAL_SLOTS],
    /// Which signals have a handler installed.
    installed: Mutex<u64>,
    /// Sleeping streams: id -> (signals of interest as bits, waker).
    waiters: Mutex<HashMap<u64, (u64, Waker)>>,
    next_id: AtomicU64,
}

fn globals() -> io::Result<&'static Globals> {
    static GLOBALS: OnceLock<Globals> = OnceLock::new();
    static INIT: Mutex<()> = Mutex::new(());
    if let Some(g) = GLOBALS.get() {
        return Ok(g);
    }
    // `OnceLock::get_or_try_init` is unstable; a lock makes the fallible initialisation single.
    let _guard = INIT.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(g) = GLOBALS.get() {
        return Ok(g);
    }
    let (read_end, write_end) = sys::signal::pipe().map_err(|e| {
        io::Error::new(
            e.kind(),
            format!("weft::signal: creating the self-pipe: {e}"),
        )
    })?;
    // The write end lives as long as the process: leak it into the static.
    WRITE_FD.store(std::os::fd::IntoRawFd::into_raw_fd(write_end), SeqCst);
    let globals = Globals {
        read_end,
        delivered: std::array::from_fn(|_| AtomicU64::new(0)),
        installed: Mutex::new(0),
        waiters: Mutex::new(HashMap::new()),
        next_id: AtomicU64::new(0),
    };
    Ok(GLOBALS.get_or_init(|| globals))
}

/// The handler: async-signal-safe only (an atomic store and a `write`).
extern "C" fn on_signal(signum: libc::c_int) {
    if let Some(flag) = usize::try_from(signum).ok().and_then(|i| PENDING.get(i)) {
        flag.store(true, SeqCst);
    }
    let fd = WRITE_FD.load(SeqCst);
    if fd >= 0 {
        sys::signal::write_byte_in_handler(fd, signum as u8);
    }
}

impl Globals {
    fn install(&self, kinds: u64) -> io::Result<()> {
        let mut installed = self.installed.lock().unwrap_or_else(|p| p.into_inner());
        for signum in 1..SIGNAL_SLOTS as i32 {
            if kinds & bit(signum) != 0 && *installed & bit(signum) == 0 {
                sys::signal::install(signum, on_signal).map_err(|e| {
                    let name =
                        SignalKind::from_raw(signum).map_or(signum.to_string(), |k| k.to_string());
                    io::Error::new(e.kind(), format!("installing the {name} handler: {e}"))
                })?;
                *installed |= bit(signum);
            }
        }
        Ok(())
    }

    /// Turns pending flags into delivered counts and wakes the streams that care.
    fn dispatch(&self) {
        let mut fired = 0u64;
        // Only signals with our handler installed ever have their flag set.
        for signum in 1..SIGNAL_SLOTS as i32 {
            let n = signum as usize;
            if PENDING[n].swap(false, SeqCst) {
                self.delivered[n].fetch_add(1, SeqCst);
                fired |= bit(signum);
            }
        }
        if fired == 0 {
            return;
        }
        let woken: Vec<Waker> = {
            let mut waiters = self.waiters.lock().unwrap_or_else(|p| p.into_inner());
            let ids: Vec<u64> = waiters
                .iter()
                .filter(|(_, (mask, _))| mask & fired != 0)
                .map(|(id, _)| *id)
                .collect();
            ids.iter()
                .filter_map(|id| waiters.remove(id))
                .map(|(_, w)| w)
                .collect()
        };
        for waker in woken {
            waker.wake();
        }
    }
}

/// A stream of one or more kinds of signal; see the [module docs](self).
pub struct Signals {
    // Field order: deregister before closing the descriptor.
    registration: Registration,
    pipe: OwnedFd,
    id: u64,
    kinds: Vec<SignalKind>,
    mask: u64,
    /// Per kind (same order as `kinds`): the delivered count last reported.
    seen: Vec<u64>,
    /// Where the next search for a delivered kind starts (fairness among kinds).
    next: usize,
}

impl fmt::Debug for Signals {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signals")
            .field("kinds", &self.kinds)
            .finish()
    }
}

impl Signals {
    /// A stream of the given kinds of signal. Installs their handlers if this is the first
    /// stream for them.
    ///
    /// Fails with `InvalidInput` for an empty set, and with the OS error (and the signal's
    /// name) if a handler cannot be installed; must be called inside a weft loop.
    pub fn new(kinds: &[SignalKind]) -> io::Result<Signals> {
        // The loop's part first: outside a loop this fails before any handler is installed.
        let (registration, pipe) = pipe_on_this_loop()?;
        Ok(Signals::install(kinds)?.into_stream(registration, pipe))
    }

    /// Installs the handlers for `kinds` now, outside any loop, and returns what becomes a
    /// stream once [attached](InstalledSignals::attach) inside one. For a program that must
    /// not die of a signal (or miss it) while it starts up: install first, start the runtime,
    /// then attach. Signals delivered in between are reported by the stream.
    ///
    /// Fails like [`new`](Self::new), except that it needs no loop.
    pub fn install(kinds: &[SignalKind]) -> io::Result<InstalledSignals> {
        if kinds.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "weft::signal::Signals::install: the set of signals is empty",
            ));
        }
        let mut unique: Vec<SignalKind> = Vec::with_capacity(kinds.len());
        for kind in kinds {
            if !unique.contains(kind) {
                unique.push(*kind);
            }
        }
        let mask = unique.iter().fold(0, |m, k| m | k.bit());
        let globals = globals()?;
        // Counters are read before the handlers are installed: a signal that arrives in between
        // is counted by a later dispatch, hence reported.
        let seen = unique
            .iter()
            .map(|k| globals.delivered[k.as_raw() as usize].load(SeqCst))
            .collect();
        globals.install(mask)?;
        Ok(InstalledSignals {
            id: globals.next_id.fetch_add(1, SeqCst),
            kinds: unique,
            mask,
            seen,
        })
    }

    /// The kinds this stream reports.
    pub fn kinds(&self) -> &[SignalKind] {
        &self.kinds
    }

    /// Waits for the next signal of this stream's kinds and says which it was.
    ///
    /// Errors only if reading the self-pipe fails (which does not happen on a healthy system).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: a signal not returned stays reported for the next call.
    pub async fn recv(&mut self) -> io::Result<SignalKind> {
        poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// Polls for the next signal; see [`recv`](Self::recv).
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<SignalKind>> {
        let globals = match globals() {
            Ok(g) => g,
            Err(e) => return Poll::Ready(Err(e)),
        };
        loop {
            if let Some(kind) = self.take_delivered(globals) {
                self.forget_waker(globals);
                return Poll::Ready(Ok(kind));
            }
            // Register before the final check, so a concurrent dispatch is never missed.
            globals
                .waiters
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(self.id, (self.mask, cx.waker().clone()));
            let pipe = &self.pipe;
            match self
                .registration
                .poll_io(cx, Direction::Read, || sys::signal::drain(pipe))
            {
                Poll::Ready(Ok(_)) => {
                    globals.dispatch();
                    continue;
                }
                Poll::Ready(Err(err)) => {
                    self.forget_waker(globals);
                    return Poll::Ready(Err(io::Error::new(
                        err.kind(),
                        format!("weft::signal: reading the self-pipe: {err}"),
                    )));
                }
                Poll::Pending => {}
            }
            if let Some(kind) = self.take_delivered(globals) {
                self.forget_waker(globals);
                return Poll::Ready(Ok(kind));
            }
            return Poll::Pending;
        }
    }

    fn take_delivered(&mut self, globals: &Globals) -> Option<SignalKind> {
        let n = self.kinds.len();
        for step in 0..n {
            let i = (self.next + step) % n;
            let now = globals.delivered[self.kinds[i].as_raw() as usize].load(SeqCst);
            if now != self.seen[i] {
                self.seen[i] = now;
                self.next = (i + 1) % n;
                return Some(self.kinds[i]);
            }
        }
        None
    }

    fn forget_waker(&self, globals: &Globals) {
        globals
            .waiters
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&self.id);
    }
}

/// The signals as a stream (never ends); the same as calling [`Signals::recv`] in a loop.
impl futures_core::Stream for Signals {
    type Item = io::Result<SignalKind>;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Self::Item>> {
        self.poll_recv(cx).map(Some)
    }
}

impl Drop for Signals {
    fn drop(&mut self) {
        if let Ok(globals) = globals() {
            self.forget_waker(globals);
        }
    }
}

/// Installed signal handlers not yet read by a loop: see [`Signals::install`].
#[derive(Debug)]
pub struct InstalledSignals {
    id: u64,
    kinds: Vec<SignalKind>,
    mask: u64,
    /// Per kind: the delivered count when the handlers were installed.
    seen: Vec<u64>,
}

impl InstalledSignals {
    /// The stream, on the current loop. It reports every signal of its kinds delivered since
    /// [`Signals::install`]. Must be called inside a weft loop.
    pub fn attach(self) -> io::Result<Signals> {
        let (registration, pipe) = pipe_on_this_loop()?;
        Ok(self.into_stream(registration, pipe))
    }

    fn into_stream(self, registration: Registration, pipe: OwnedFd) -> Signals {
        Signals {
            registration,
            pipe,
            id: self.id,
            kinds: self.kinds,
            mask: self.mask,
            seen: self.seen,
            next: 0,
        }
    }
}

/// A duplicate of the self-pipe's read end, registered with the current loop.
fn pipe_on_this_loop() -> io::Result<(Registration, OwnedFd)> {
    let globals = globals()?;
    let pipe = sys::signal::dup_cloexec(globals.read_end.as_raw_fd())?;
    let registration = Registration::new(pipe.as_raw_fd())?;
    Ok((registration, pipe))
}

/// A stream of one kind of signal: `signal(SignalKind::Hangup)?.recv().await`.
///
/// Shorthand for [`Signals::new`] with one kind.
pub fn signal(kind: SignalKind) -> io::Result<Signals> {
    Signals::new(&[kind])
}
