//! systemd socket activation for `weft serve`: the listening socket a service manager hands
//! over through `LISTEN_FDS`/`LISTEN_PID` (sd_listen_fds(3)), with and without `--workers`.
//!
//! `weft::cluster::listeners` implements the protocol (descriptors 3, 4, … when `LISTEN_PID`
//! is this process; each checked to be a listening TCP socket). This module decides what
//! `weft serve` does with them:
//!
//! - none inherited: bind `--host:--port` as usual;
//! - one: serve it, and ignore `--host`/`--port` (the unit's `ListenStream=` decides);
//! - more than one: serve the first, and say that the others are closed (one HTTP port per
//!   instance; a `.socket` unit with several `ListenStream=` lines wants several instances).
//!
//! Why it matters for restarts: the socket belongs to systemd (or to whatever parent holds
//! it), not to `weft serve`. When the service restarts, the old process closes its copy after
//! its drain while the kernel keeps queueing new connections on the socket that stays open,
//! and the new process accepts them: no connection is refused in between.

use std::io;
use std::net::TcpListener;

/// The listening socket inherited by socket activation, if any (see the module docs).
///
/// Call it once per process, before binding anything: the listeners are handed over once.
pub(crate) fn inherited_listener() -> io::Result<Option<TcpListener>> {
    let mut inherited = weft::cluster::listeners()
        .map_err(|e| io::Error::new(e.kind(), format!("socket activation: {e}")))?;
    if inherited.len() > 1 {
        tracing::warn!(
            "socket activation passed {} listening sockets; weft serve serves the first \
             and closes the others",
            inherited.len()
        );
    }
    Ok((!inherited.is_empty()).then(|| inherited.swap_remove(0)))
}
