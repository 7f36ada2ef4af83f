//! Thread placement.

use super::cvt;
use std::io;

/// Pins the calling thread to CPU `cpu`.
pub(crate) fn pin_to_cpu(cpu: usize) -> io::Result<()> {
    // SAFETY: cpu_set_t is a plain bit array; all-zero is the empty set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: CPU_SET only writes inside `set`; `cpu` is reduced modulo the set's capacity.
    unsafe { libc::CPU_SET(cpu % libc::CPU_SETSIZE as usize, &mut set) };
    // SAFETY: passes a pointer to a live cpu_set_t with its exact size; 0 means this thread.
    cvt(unsafe { libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) })?;
    Ok(())
}

/// Lowers the calling thread's priority by `by` nice steps (Linux: a thread's niceness is its
/// own, so the process's other threads keep theirs), clamped at 19, the lowest.
pub(crate) fn lower_priority(by: i32) -> io::Result<()> {
    // SAFETY: gettid has no preconditions.
    let tid = unsafe { libc::gettid() } as libc::id_t;
    // getpriority can return -1 legitimately, so success is told by errno, cleared first.
    // SAFETY: errno is this thread's; writing it is what the call's contract asks for.
    unsafe { *libc::__errno_location() = 0 };
    // SAFETY: plain syscall on this thread's id.
    let now = unsafe { libc::getpriority(libc::PRIO_PROCESS, tid) };
    if now == -1 {
        let err = io::Error::last_os_error();
        if err.raw_os_error() != Some(0) {
            return Err(err);
        }
    }
    let target = (now + by).min(19);
    // SAFETY: plain syscall on this thread's id; raising niceness needs no privilege.
    cvt(unsafe { libc::setpriority(libc::PRIO_PROCESS, tid, target) })?;
    Ok(())
}
