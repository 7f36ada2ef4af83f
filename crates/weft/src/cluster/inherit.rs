//! What a process inherits: its role, its listening sockets and its IPC socket.
//!
//! # The worker protocol (supervisor → worker, through `exec`)
//!
//! | variable | value |
//! |---|---|
//! | `WEFT_CLUSTER_WORKER` | the worker's slot index `k` |
//! | `WEFT_CLUSTER_SUPERVISOR_PID` | the supervisor's pid; the worker checks it is its parent |
//! | `WEFT_CLUSTER_LISTEN_FDS` | comma-separated descriptor numbers of the listening sockets |
//! | `WEFT_CLUSTER_IPC_FD` | descriptor number of the worker's end of the IPC socketpair |
//! | `WEFT_CLUSTER_DRAIN_MS` | the drain timeout the supervisor grants on stop, in ms |
//!
//! The descriptors keep their numbers from the supervisor (their close-on-exec flag is cleared
//! in the child only, between `fork` and `exec`). The parent-pid check is what systemd's
//! `LISTEN_PID` does: a process that merely inherited the variables (a program the worker runs)
//! is not taken for a worker. Workers set close-on-exec again on the descriptors they adopt, so
//! their own children do not inherit them.
//!
//! # systemd socket activation
//!
//! A process started by systemd with `LISTEN_PID` equal to its pid finds `LISTEN_FDS`
//! listening sockets at descriptors 3, 4, …; [`listeners`](super::listeners) returns them. A
//! supervisor started that way hands them to its workers like sockets it bound itself.

use super::Role;
use crate::loom::Mutex;
use crate::sys::process::{self, SocketKind};
use std::ffi::OsString;
use std::io;
use std::net::TcpListener;
use std::os::fd::{FromRawFd, RawFd};
use std::sync::OnceLock;
use std::time::Duration;

pub(crate) const ENV_WORKER: &str = "WEFT_CLUSTER_WORKER";
pub(crate) const ENV_SUPERVISOR_PID: &str = "WEFT_CLUSTER_SUPERVISOR_PID";
pub(crate) const ENV_LISTEN_FDS: &str = "WEFT_CLUSTER_LISTEN_FDS";
pub(crate) const ENV_IPC_FD: &str = "WEFT_CLUSTER_IPC_FD";
pub(crate) const ENV_DRAIN_MS: &str = "WEFT_CLUSTER_DRAIN_MS";

/// systemd's variables (sd_listen_fds(3)).
pub(crate) const SYSTEMD_LISTEN_PID: &str = "LISTEN_PID";
pub(crate) const SYSTEMD_LISTEN_FDS: &str = "LISTEN_FDS";
pub(crate) const SYSTEMD_LISTEN_FDNAMES: &str = "LISTEN_FDNAMES";
/// First descriptor systemd passes (`SD_LISTEN_FDS_START`).
const SYSTEMD_FIRST_FD: RawFd = 3;

/// The environment of a worker, parsed and checked.
#[derive(Clone, Debug)]
pub(crate) struct WorkerEnv {
    pub(crate) index: usize,
    pub(crate) supervisor_pid: u32,
    pub(crate) listen_fds: Vec<RawFd>,
    pub(crate) ipc_fd: RawFd,
    pub(crate) drain_timeout: Duration,
}

fn invalid(what: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what)
}

fn var(name: &str) -> io::Result<Option<String>> {
    match std::env::var_os(name) {
        None => Ok(None),
        Some(value) => value
            .into_string()
            .map(Some)
            .map_err(|v: OsString| invalid(format!("{name}={v:?}: not valid UTF-8"))),
    }
}

fn required(name: &str) -> io::Result<String> {
    var(name)?.ok_or_else(|| {
        invalid(format!(
            "{name} is not set, but {ENV_WORKER} is: the cluster worker environment is incomplete"
        ))
    })
}

fn number<T: std::str::FromStr>(name: &str, value: &str, what: &str) -> io::Result<T> {
    value
        .trim()
        .parse()
        .map_err(|_| invalid(format!("{name}={value:?}: expected {what}")))
}

/// Parses the worker variables; `Ok(None)` if this process is not a cluster worker.
fn parse_worker_env() -> io::Result<Option<WorkerEnv>> {
    let Some(index) = var(ENV_WORKER)? else {
        return Ok(None);
    };
    let index = number(ENV_WORKER, &index, "a worker slot index")?;
    let supervisor_pid: u32 = number(
        ENV_SUPERVISOR_PID,
        &required(ENV_SUPERVISOR_PID)?,
        "a process id",
    )?;
    let fds = required(ENV_LISTEN_FDS)?;
    let listen_fds = if fds.trim().is_empty() {
        Vec::new()
    } else {
        fds.split(',')
            .map(|fd| number(ENV_LISTEN_FDS, fd, "comma-separated descriptor numbers"))
            .collect::<io::Result<Vec<RawFd>>>()?
    };
    let ipc_fd = number(ENV_IPC_FD, &required(ENV_IPC_FD)?, "a descriptor number")?;
    let drain_ms: u64 = number(ENV_DRAIN_MS, &required(ENV_DRAIN_MS)?, "milliseconds")?;
    if listen_fds.iter().chain([&ipc_fd]).any(|fd| *fd < 0) {
        return Err(invalid(format!(
            "{ENV_LISTEN_FDS}={fds:?}, {ENV_IPC_FD}={ipc_fd}: descriptor numbers cannot be negative"
        )));
    }
    let parent = process::parent_pid();
    if parent != supervisor_pid {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!(
                "this process was started as cluster worker {index} of supervisor {supervisor_pid}, \
                 but its parent is now process {parent}: the supervisor has exited \
                 (or {ENV_WORKER} leaked into a program the worker started)"
            ),
        ));
    }
    Ok(Some(WorkerEnv {
        index,
        supervisor_pid,
        listen_fds,
        ipc_fd,
        drain_timeout: Duration::from_millis(drain_ms),
    }))
}

type Cached<T> = Result<T, (io::ErrorKind, String)>;

fn cached<T: Clone>(
    cell: &OnceLock<Cached<T>>,
    init: impl FnOnce() -> io::Result<T>,
) -> io::Result<T> {
    cell.get_or_init(|| init().map_err(|e| (e.kind(), e.to_string())))
        .clone()
        .map_err(|(kind, msg)| io::Error::new(kind, msg))
}

/// The worker environment, read and checked once (so that the answer does not change if the
/// supervisor exits later and the parent pid changes).
pub(crate) fn worker_env() -> io::Result<Option<WorkerEnv>> {
    static ENV: OnceLock<Cached<Option<WorkerEnv>>> = OnceLock::new();
    cached(&ENV, parse_worker_env)
}

/// See [`super::role`].
pub(crate) fn role() -> io::Result<Role> {
    Ok(match worker_env()? {
        Some(env) => Role::Worker(env.index),
        None => Role::Supervisor,
    })
}

fn check_tcp_listener(fd: RawFd, origin: &str) -> io::Result<()> {
    let kind = process::socket_kind(fd)
        .map_err(|e| io::Error::new(e.kind(), format!("{origin}: descriptor {fd}: {e}")))?;
    let SocketKind {
        family,
        ty,
        listening,
    } = kind;
    if !matches!(family, libc::AF_INET | libc::AF_INET6) || ty != libc::SOCK_STREAM || !listening {
        return Err(invalid(format!(
            "{origin}: descriptor {fd} is not a listening TCP socket \
             (family {family}, type {ty}, listening {listening}); only TCP listeners are supported"
        )));
    }
    Ok(())
}

/// Takes ownership of inherited listening sockets, once per process.
fn adopt(fds: &[RawFd], origin: &str) -> io::Result<Vec<TcpListener>> {
    for &fd in fds {
        check_tcp_listener(fd, origin)?;
    }
    let mut adopted = Vec::with_capacity(fds.len());
    for &fd in fds {
        process::set_cloexec(fd, true)?;
        // SAFETY: the descriptor was handed to this process by its parent for exactly this use
        // (the protocol above), it is open and a listening TCP socket (checked above), and this
        // function runs at most once per process (its caller caches the result), so nothing
        // else owns it.
        adopted.push(unsafe { TcpListener::from_raw_fd(fd) });
    }
    Ok(adopted)
}

fn systemd_listeners() -> io::Result<Vec<TcpListener>> {
    let Some(pid) = var(SYSTEMD_LISTEN_PID)? else {
        return Ok(Vec::new());
    };
    let pid: u32 = number(SYSTEMD_LISTEN_PID, &pid, "a process id")?;
    if pid != std::process::id() {
        // Meant for another process (our parent was socket-activated): not ours.
        return Ok(Vec::new());
    }
    let count = var(SYSTEMD_LISTEN_FDS)?.ok_or_else(|| {
        invalid(format!(
            "{SYSTEMD_LISTEN_PID} is set but {SYSTEMD_LISTEN_FDS} is not"
        ))
    })?;
    let count: RawFd = number(SYSTEMD_LISTEN_FDS, &count, "a count of descriptors")?;
    let fds: Vec<RawFd> = (SYSTEMD_FIRST_FD..SYSTEMD_FIRST_FD + count.max(0)).collect();
    let names = var(SYSTEMD_LISTEN_FDNAMES)?.unwrap_or_default();
    adopt(
        &fds,
        &format!("systemd socket activation (LISTEN_FDS={count}, LISTEN_FDNAMES={names:?})"),
    )
}

/// See [`super::listeners`].
pub(crate) fn listeners() -> io::Result<Vec<TcpListener>> {
    // Ownership moves to the caller: when it closes them, no copy stays open in this process
    // (a copy would keep accepting connections into a queue nobody reads after a drain).
    static TAKEN: Mutex<bool> = Mutex::new(false);
    let mut taken = TAKEN.lock().unwrap_or_else(|p| p.into_inner());
    if *taken {
        return Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            "cluster::listeners: the inherited listeners were already taken by this process",
        ));
    }
    let adopted = match worker_env()? {
        Some(env) => adopt(&env.listen_fds, ENV_LISTEN_FDS)?,
        None => systemd_listeners()?,
    };
    *taken = true;
    Ok(adopted)
}
