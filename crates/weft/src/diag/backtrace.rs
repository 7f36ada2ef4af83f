//! A stuck loop thread's stack, taken from a signal handler on that thread.
//!
//! # What the handler does, and why it is safe there
//!
//! The watchdog arms the one capture slot with the target thread's id and sends it
//! `capture_signal()`. The handler, on the stuck thread:
//!
//! 1. returns at once unless the slot is armed for this very thread (a reused thread id, a
//!    stray signal);
//! 2. walks its own stack with `backtrace::trace_unsynchronized`, storing each return address
//!    into the slot's preallocated array (no allocation, no lock of ours). The walk is
//!    libgcc's `_Unwind_Backtrace`; with glibc 2.35 or later (this platform's floor) libgcc
//!    finds unwind tables with `_dl_find_object`, which takes no lock, so the walk cannot
//!    deadlock on a loader lock held by the interrupted code. A frame-pointer walk would be
//!    safer still but sees nothing through code built without frame pointers (std, and every
//!    crate in a default release build), so it would miss the very function that burns the CPU
//!    when it calls into std;
//! 3. copies the id, spawn site and name of the task being polled (the poll holds a reference to
//!    it for as long as the handler runs, so reading its header is sound), then publishes the
//!    slot with a release store.
//!
//! Symbolizing (`backtrace::resolve`, which allocates and reads debug info) and formatting run
//! later on the watchdog's thread.

use super::hooks;
use std::fmt::Write;
use std::panic::Location;
// Not the loom shim: these are touched in signal context, which no model checker interleaves,
// and need const initialisers.
use std::sync::atomic::{AtomicI32, AtomicPtr, AtomicU8, AtomicUsize, Ordering::*};
use std::time::{Duration, Instant};

/// The signal that asks a loop thread for its stack: a real-time signal (queued, never merged
/// with another sender's, no default meaning to any library). glibc keeps the first two for
/// itself; `SIGRTMIN + 4` leaves room for others' conventional picks.
pub(crate) fn capture_signal() -> libc::c_int {
    libc::SIGRTMIN() + CAPTURE_SIGNAL
}

/// Offset of the capture signal above `SIGRTMIN`; see [`capture_signal`].
pub(crate) const CAPTURE_SIGNAL: libc::c_int = 4;

/// Return addresses kept: deep enough for a handler under a runtime under an application.
const MAX_FRAMES: usize = 128;

/// Bytes of the task name kept (longer names are cut).
const NAME_BYTES: usize = 96;

/// How long the watchdog waits for the handler: it runs as soon as the thread is scheduled,
/// which on a loaded machine can take a few scheduler ticks.
const ANSWER_TIMEOUT: Duration = Duration::from_millis(200);

const IDLE: u8 = 0;
const ARMED: u8 = 1;
const DONE: u8 = 2;

/// The one capture slot (the watchdog thread is its only user).
struct Slot {
    state: AtomicU8,
    target: AtomicI32,
    frames: [AtomicUsize; MAX_FRAMES],
    len: AtomicUsize,
    task_id: AtomicUsize,
    site: AtomicPtr<Location<'static>>,
    name: [AtomicU8; NAME_BYTES],
    name_len: AtomicUsize,
}

static SLOT: Slot = Slot {
    state: AtomicU8::new(IDLE),
    target: AtomicI32::new(0),
    frames: [const { AtomicUsize::new(0) }; MAX_FRAMES],
    len: AtomicUsize::new(0),
    task_id: AtomicUsize::new(0),
    site: AtomicPtr::new(std::ptr::null_mut()),
    name: [const { AtomicU8::new(0) }; NAME_BYTES],
    name_len: AtomicUsize::new(usize::MAX),
};

/// The task a capture found being polled.
#[derive(Debug, Clone)]
pub(crate) struct CapturedTask {
    pub(crate) id: u64,
    pub(crate) site: &'static Location<'static>,
    pub(crate) name: Option<String>,
}

/// What one capture recorded.
#[derive(Debug, Clone)]
pub(crate) struct Captured {
    pub(crate) frames: Vec<usize>,
    pub(crate) task: Option<CapturedTask>,
}

/// Installs the handler for the capture signal (once).
pub(crate) fn install_handler() {
    static INSTALLED: std::sync::OnceLock<()> = std::sync::OnceLock::new();
    INSTALLED.get_or_init(|| {
        if let Err(error) =
            crate::sys::thread_signal::install_info(capture_signal(), on_capture_signal)
        {
            tracing::warn!(%error, "weft::diag: stall reports will have no backtrace");
        }
    });
}

extern "C" fn on_capture_signal(_: libc::c_int, _: *mut libc::siginfo_t, _: *mut libc::c_void) {
    if SLOT.state.load(Acquire) != ARMED
        || SLOT.target.load(Relaxed) != crate::sys::thread_signal::gettid()
    {
        return;
    }
    // SAFETY: __errno_location returns this thread's errno slot; saved and restored so the
    // interrupted code sees no change.
    let errno = unsafe { libc::__errno_location() };
    // SAFETY: as above.
    let saved = unsafe { *errno };
    let mut n = 0;
    // SAFETY: trace_unsynchronized must not race another unsynchronized trace on this thread;
    // the slot is armed for one capture at a time and this handler is its only caller. See
    // the module doc for why the walk is sound in a signal handler.
    unsafe {
        ::backtrace::trace_unsynchronized(|frame| {
            SLOT.frames[n].store(frame.ip() as usize, Relaxed);
            n += 1;
            n < MAX_FRAMES
        })
    };
    SLOT.len.store(n, Relaxed);
    let header = hooks::polling();
    if header.is_null() {
        SLOT.task_id.store(0, Relaxed);
    } else {
        // SAFETY: POLLING names the task whose poll this signal interrupted; the poll holds a
        // reference, so the header and its name live until the handler returns.
        let meta = unsafe { &(*header).meta };
        SLOT.task_id.store(meta.id as usize, Relaxed);
        SLOT.site.store(meta.site() as *const _ as *mut _, Relaxed);
        match meta.name() {
            Some(name) => {
                let bytes = name.as_bytes();
                let len = bytes.len().min(NAME_BYTES);
                for (i, b) in bytes[..len].iter().enumerate() {
                    SLOT.name[i].store(*b, Relaxed);
                }
                SLOT.name_len.store(len, Relaxed);
            }
            None => SLOT.name_len.store(usize::MAX, Relaxed),
        }
    }
    SLOT.state.store(DONE, Release);
    // SAFETY: as above.
    unsafe { *errno = saved };
}

/// Asks thread `tid` for its stack and task; `None` if it did not answer in time.
pub(crate) fn capture(tid: i32) -> Option<Captured> {
    if tid == 0 {
        return None;
    }
    SLOT.target.store(tid, Relaxed);
    SLOT.state.store(ARMED, Release);
    if crate::sys::thread_signal::tgkill(tid, capture_signal()).is_err() {
        SLOT.state.store(IDLE, Relaxed);
        return None;
    }
    let deadline = Instant::now() + ANSWER_TIMEOUT;
    while SLOT.state.load(Acquire) != DONE {
        if Instant::now() >= deadline {
            // Disarm; if the handler runs late it finds the slot idle and does nothing.
            if SLOT
                .state
                .compare_exchange(ARMED, IDLE, AcqRel, Acquire)
                .is_ok()
            {
                return None;
            }
            // It finished just now.
            break;
        }
        std::thread::sleep(Duration::from_micros(200));
    }
    let len = SLOT.len.load(Relaxed);
    let frames = (0..len).map(|i| SLOT.frames[i].load(Relaxed)).collect();
    let id = SLOT.task_id.load(Relaxed) as u64;
    let task = (id != 0).then(|| {
        let site = SLOT.site.load(Relaxed);
        let name_len = SLOT.name_len.load(Relaxed);
        let name = (name_len != usize::MAX).then(|| {
            let bytes: Vec<u8> = (0..name_len).map(|i| SLOT.name[i].load(Relaxed)).collect();
            String::from_utf8_lossy(&bytes).into_owned()
        });
        CapturedTask {
            id,
            // SAFETY: the handler stored a `&'static Location`.
            site: unsafe { &*site },
            name,
        }
    });
    SLOT.state.store(IDLE, Release);
    Some(Captured { frames, task })
}

/// Loads the symbol tables once (they are parsed on first use, which takes a second or more in
/// a large unoptimized binary), so that the first stall report is not late by that much.
pub(crate) fn warm_up() {
    // Resolving a whole stack parses the tables of std and of the runtime's own code, which
    // every stuck loop's stack passes through.
    let _ = ::backtrace::Backtrace::new();
}

type Symbols = Vec<(String, Option<String>)>;

thread_local! {
    /// Symbols already resolved, by address (only the diagnostics thread formats): a loop that
    /// stalls again in the same code is reported without reading debug info again.
    static SYMBOLS: std::cell::RefCell<std::collections::HashMap<usize, Symbols>> =
        std::cell::RefCell::new(std::collections::HashMap::new());
}

/// The function names (inlined ones first) and places of one return address.
fn resolve(ip: usize) -> Symbols {
    let mut symbols = Vec::new();
    ::backtrace::resolve(ip as *mut std::ffi::c_void, |symbol| {
        let name = symbol
            .name()
            .map(|n| format!("{n:#}"))
            .unwrap_or_else(|| format!("{ip:#x}"));
        let place = match (symbol.filename(), symbol.lineno()) {
            (Some(file), Some(line)) => Some(format!("{}:{line}", file.display())),
            _ => None,
        };
        symbols.push((name, place));
    });
    if symbols.is_empty() {
        symbols.push((format!("{ip:#x}"), None));
    }
    symbols
}

/// Symbolizes `frames` and lays them out one per line, from the interrupted function outwards
/// (the handler's own frames and the signal trampoline are left out).
pub(crate) fn format(frames: &[usize]) -> String {
    let mut lines: Vec<(String, Option<String>)> = Vec::new();
    let mut start = None;
    for &ip in frames {
        let symbols = SYMBOLS.with(|cache| {
            cache
                .borrow_mut()
                .entry(ip)
                .or_insert_with(|| resolve(ip))
                .clone()
        });
        for symbol in symbols {
            if symbol.0.contains("on_capture_signal") {
                start = Some(lines.len() + 1);
            }
            lines.push(symbol);
        }
    }
    let mut from = start.unwrap_or(0);
    // The signal trampoline (`__restore_rt`, often without a symbol) sits right above.
    if lines
        .get(from)
        .is_some_and(|(n, _)| n.contains("restore_rt") || n.starts_with("0x"))
    {
        from += 1;
    }
    let mut out = String::new();
    for (i, (name, place)) in lines[from.min(lines.len())..].iter().enumerate() {
        let _ = writeln!(out, "  {i:>3}: {name}");
        if let Some(place) = place {
            let _ = writeln!(out, "           at {place}");
        }
    }
    out
}
