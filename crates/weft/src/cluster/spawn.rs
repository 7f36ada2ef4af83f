//! Starting one worker process: exec of our own binary, never a bare `fork`.
//!
//! A multi-threaded process must not go on running Rust code in a forked child: only the
//! forking thread is copied, and a lock held by any other thread (the allocator's, say) stays
//! locked forever. So workers are started with `std::process::Command` (fork immediately
//! followed by exec), and the child runs only the `pre_exec` closure below in between.
//!
//! # The `pre_exec` closure (runs in the child, between fork and exec)
//!
//! It calls only async-signal-safe functions (see [`crate::sys::process`]) and allocates
//! nothing (the descriptor list it reads was allocated before the fork):
//!
//! 1. `prctl(PR_SET_PDEATHSIG, SIGTERM)`: if the supervisor dies, the kernel tells the worker,
//!    which then drains and exits (see [`WorkerLink`](super::WorkerLink)). It fires when the
//!    *thread* that spawned the worker exits, so the supervisor must run on a thread that lives
//!    as long as it does (the main thread, or a loop thread of a runtime that outlives it).
//! 2. `getppid()` against the supervisor's pid: if the supervisor died before step 1, the death
//!    signal will never come, so the spawn fails instead.
//! 3. `fcntl(F_SETFD)`: clear close-on-exec on the listening sockets and on the worker's end of
//!    the IPC socketpair, in the child only: the supervisor's own descriptors stay
//!    close-on-exec, so no other child (spawned concurrently by another thread) inherits them.
//! 4. `signal(SIGHUP | SIGTTIN | SIGTTOU, SIG_IGN)`: these are the supervisor's commands; a
//!    terminal that sends them to the whole process group must not stop or kill workers.

use super::inherit::{
    ENV_DRAIN_MS, ENV_IPC_FD, ENV_LISTEN_FDS, ENV_SUPERVISOR_PID, ENV_WORKER,
    SYSTEMD_LISTEN_FDNAMES, SYSTEMD_LISTEN_FDS, SYSTEMD_LISTEN_PID,
};
use super::ipc::SOCKET_BUFFER_BYTES;
use crate::net::UnixStream;
use crate::sys::process;
use std::ffi::OsString;
use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The signal a worker gets when its supervisor's spawning thread dies.
const PARENT_DEATH_SIGNAL: libc::c_int = libc::SIGTERM;

/// How to run a worker.
#[derive(Clone, Debug)]
pub(crate) struct Program {
    pub(crate) path: PathBuf,
    pub(crate) arg0: Option<OsString>,
    pub(crate) args: Vec<OsString>,
    pub(crate) envs: Vec<(OsString, OsString)>,
}

impl Program {
    /// This very binary (`/proc/self/exe`) with this process's arguments.
    pub(crate) fn current() -> Program {
        let mut args = std::env::args_os();
        Program {
            path: PathBuf::from("/proc/self/exe"),
            arg0: args.next(),
            args: args.collect(),
            envs: Vec::new(),
        }
    }
}

/// A started worker: its process and the supervisor's end of its IPC socketpair.
pub(crate) struct Spawned {
    pub(crate) child: Child,
    pub(crate) link: UnixStream,
}

/// Starts worker `slot`, handing it `listeners`. Must be called inside a weft loop.
pub(crate) fn spawn_worker(
    program: &Program,
    slot: usize,
    listeners: &[RawFd],
    drain_timeout: Duration,
) -> io::Result<Spawned> {
    let (ours, theirs) = crate::sys::socket::unix_pair(libc::SOCK_STREAM)?;
    for fd in [&ours, &theirs] {
        process::set_socket_buffers(fd.as_raw_fd(), SOCKET_BUFFER_BYTES)?;
    }
    let ipc_fd = theirs.as_raw_fd();
    let listen_list = listeners
        .iter()
        .map(|fd| fd.to_string())
        .collect::<Vec<_>>()
        .join(",");
    let supervisor_pid = std::process::id();

    let mut command = Command::new(&program.path);
    command
        .args(&program.args)
        .stdin(Stdio::null())
        .env_remove(SYSTEMD_LISTEN_PID)
        .env_remove(SYSTEMD_LISTEN_FDS)
        .env_remove(SYSTEMD_LISTEN_FDNAMES)
        .env(ENV_WORKER, slot.to_string())
        .env(ENV_SUPERVISOR_PID, supervisor_pid.to_string())
        .env(ENV_LISTEN_FDS, listen_list)
        .env(ENV_IPC_FD, ipc_fd.to_string())
        .env(ENV_DRAIN_MS, drain_timeout.as_millis().to_string());
    for (key, value) in &program.envs {
        command.env(key, value);
    }
    if let Some(arg0) = &program.arg0 {
        command.arg0(arg0);
    }
    // Allocated here, before the fork; the closure only reads it.
    let mut inherit: Vec<RawFd> = listeners.to_vec();
    inherit.push(ipc_fd);
    let pre_exec = move || -> io::Result<()> {
        process::set_parent_death_signal(PARENT_DEATH_SIGNAL)?;
        if process::parent_pid() != supervisor_pid {
            return Err(io::Error::from_raw_os_error(libc::ESRCH));
        }
        for &fd in &inherit {
            process::set_cloexec(fd, false)?;
        }
        for signal in [libc::SIGHUP, libc::SIGTTIN, libc::SIGTTOU] {
            process::ignore_signal(signal)?;
        }
        Ok(())
    };
    // SAFETY: the closure runs in the forked child before exec, where only async-signal-safe
    // calls are sound. It makes only the calls listed in the module docs (prctl, getppid,
    // fcntl, signal), each async-signal-safe, allocates nothing (`inherit` was allocated before
    // the fork and is only read; `io::Error::from_raw_os_error` and `last_os_error` do not
    // allocate) and takes no lock.
    unsafe { command.pre_exec(pre_exec) };
    let child = command.spawn().map_err(|e| {
        io::Error::new(
            e.kind(),
            format!("starting worker {slot} ({}): {e}", program.path.display()),
        )
    })?;
    // The child has its copy; ours must go, or the worker's end would never see EOF.
    drop(theirs);
    let link = UnixStream::from_std(std::os::unix::net::UnixStream::from(ours))?;
    Ok(Spawned { child, link })
}
