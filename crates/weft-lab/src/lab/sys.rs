//! The few OS calls the lab needs that std does not offer: CPU pinning, raising the
//! descriptor limit, sending a signal, and the fork of the `fork` scenario.
//!
//! Each is a thin wrapper that turns the C return convention into an `io::Result`; the only
//! unsafe code of the lab is here.
#![allow(unsafe_code)]

use std::io;

/// The CPUs this process may run on (its affinity mask), in order.
pub(crate) fn allowed_cpus() -> Vec<usize> {
    // SAFETY: cpu_set_t is plain data; zeroed is a valid (empty) set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: `set` is a valid, writable cpu_set_t of the size passed.
    let rc = unsafe { libc::sched_getaffinity(0, std::mem::size_of_val(&set), &mut set) };
    if rc != 0 {
        return (0..std::thread::available_parallelism().map_or(1, |n| n.get())).collect();
    }
    (0..libc::CPU_SETSIZE as usize)
        // SAFETY: `cpu` is below CPU_SETSIZE, the set's capacity.
        .filter(|&cpu| unsafe { libc::CPU_ISSET(cpu, &set) })
        .collect()
}

/// Pins the calling thread (and what it spawns afterwards, threads and processes) to `cpus`.
pub(crate) fn pin_current_thread(cpus: &[usize]) -> io::Result<()> {
    // SAFETY: as above, zeroed is the empty set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    for &cpu in cpus {
        if cpu >= libc::CPU_SETSIZE as usize {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("cpu {cpu} is beyond CPU_SETSIZE"),
            ));
        }
        // SAFETY: `cpu` is below CPU_SETSIZE (checked above).
        unsafe { libc::CPU_SET(cpu, &mut set) };
    }
    // SAFETY: `set` is a valid cpu_set_t of the size passed; pid 0 is the calling thread.
    let rc = unsafe { libc::sched_setaffinity(0, std::mem::size_of_val(&set), &set) };
    if rc != 0 {
        let e = io::Error::last_os_error();
        return Err(io::Error::new(
            e.kind(),
            format!("pin to cpus {cpus:?}: {e}"),
        ));
    }
    Ok(())
}

/// Raises this process's soft descriptor limit to its hard limit (10,000 idle connections
/// need that many descriptors in the lab and in the server it starts, which inherits it).
/// Returns the soft limit now in force.
pub(crate) fn raise_nofile_limit() -> io::Result<u64> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `limit` is a valid, writable rlimit.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return Err(io::Error::last_os_error());
    }
    if limit.rlim_cur < limit.rlim_max {
        limit.rlim_cur = limit.rlim_max;
        // SAFETY: `limit` is a valid rlimit with cur <= max.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) } != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(limit.rlim_cur)
}

/// Sends `signal` to process `pid`.
pub(crate) fn send_signal(pid: u32, signal: i32) -> io::Result<()> {
    let pid = libc::pid_t::try_from(pid)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, format!("pid {pid}")))?;
    // SAFETY: kill has no memory-safety preconditions.
    if unsafe { libc::kill(pid, signal) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// The signal numbers the lab sends.
pub(crate) const SIGTERM: i32 = libc::SIGTERM;
/// See [`SIGTERM`].
pub(crate) const SIGKILL: i32 = libc::SIGKILL;

/// The outcome of [`fork_and_lock`].
#[derive(Debug)]
pub(crate) enum ForkOutcome {
    /// The child got the lock and exited 0 within the bound.
    ChildExited,
    /// The child was still blocked when the bound ran out; it was killed.
    ChildHung,
}

/// The seeds' fork problem: forks this (multi-threaded) process while `held` is locked by
/// another thread, and lets the child try to take it. The child has only the forking thread;
/// the lock's owner does not exist there, so the lock is never released. Waits up to `bound`
/// for the child, then kills and reaps it. Returns the outcome and how long fork() took.
pub(crate) fn fork_and_lock(
    held: &std::sync::Mutex<()>,
    bound: std::time::Duration,
) -> io::Result<(ForkOutcome, std::time::Duration)> {
    let started = std::time::Instant::now();
    // SAFETY: in the child only `Mutex::lock` (which never returns while the lock is held: a
    // futex wait, no allocation) and `_exit` run; nothing else of the parent's state is used.
    // That `lock` call is the point of the demonstration, and the child is killed by the
    // parent if it does not get the lock.
    let pid = unsafe { libc::fork() };
    let forked_in = started.elapsed();
    if pid < 0 {
        return Err(io::Error::last_os_error());
    }
    if pid == 0 {
        let guard = held.lock();
        drop(guard);
        // SAFETY: _exit ends the child without running the parent's atexit handlers.
        unsafe { libc::_exit(0) };
    }
    let deadline = started + bound;
    loop {
        let mut status = 0;
        // SAFETY: `status` is a valid, writable int; `pid` is our child.
        let reaped = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
        if reaped == pid {
            return Ok((ForkOutcome::ChildExited, forked_in));
        }
        if reaped < 0 {
            return Err(io::Error::last_os_error());
        }
        if std::time::Instant::now() >= deadline {
            // SAFETY: kill and a blocking waitpid on our own child have no memory preconditions.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
                libc::waitpid(pid, &mut status, 0);
            }
            return Ok((ForkOutcome::ChildHung, forked_in));
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}
