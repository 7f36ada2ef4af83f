//! One port, one server: `SO_REUSEPORT` shared only among a server's own listeners.
//!
//! Every loop of a [`Server`](super::Server) binds its own `SO_REUSEPORT`
//! listener on the same address. The kernel lets *any* socket of the same
//! user join such a group, so a second server started on a port the first
//! still serves would bind silently and take half of its connections. Before
//! its loops bind, a server therefore binds the address once *without*
//! `SO_REUSEPORT` ([`check_address_free`]): that bind fails with
//! `EADDRINUSE` whenever any socket listens there, whether or not it set
//! `SO_REUSEPORT`, and succeeds on a free port (the probe is closed at once,
//! before the loops bind theirs).
//!
//! Why a probing bind and not the alternatives: a lock file per port
//! catches only other weft processes (and needs a writable, shared
//! directory); a probing connect cannot tell our own listener from another's
//! and needs a timeout. The probe asks the kernel the exact question.
//!
//! Limit: between the probe and the loops' binds (microseconds) another
//! `SO_REUSEPORT` socket can still slip in; two servers started at that same
//! instant may both start. A port of 0 is never probed (the kernel picks a
//! free one for the first loop, and the others join it).

use std::io;
use std::net::SocketAddr;

/// Fails with [`io::ErrorKind::AddrInUse`] and a message naming `addr` if a
/// socket already listens on `addr` (with or without `SO_REUSEPORT`). A port
/// of 0 is always free.
///
/// [`Server`](crate::Server) calls it before its loops bind their
/// `SO_REUSEPORT` listeners, so that another process's server on the same
/// port is an error instead of a silent split of the traffic: it binds the
/// address once without `SO_REUSEPORT`, which the kernel refuses whenever
/// any socket listens there. Between this probe and the loops' binds
/// (microseconds) another socket can still slip in.
pub fn check_address_free(addr: SocketAddr) -> io::Result<()> {
    if addr.port() == 0 {
        return Ok(());
    }
    // std's bind sets SO_REUSEADDR (so a port in TIME_WAIT is free) and never
    // SO_REUSEPORT; the probe listener is dropped (closed) at once.
    match std::net::TcpListener::bind(addr) {
        Ok(_probe) => Ok(()),
        Err(error) if error.kind() == io::ErrorKind::AddrInUse => Err(io::Error::new(
            io::ErrorKind::AddrInUse,
            format!("address in use: {addr} is already served by another process ({error})"),
        )),
        Err(error) => Err(io::Error::new(
            error.kind(),
            format!("bind {addr}: {error}"),
        )),
    }
}
