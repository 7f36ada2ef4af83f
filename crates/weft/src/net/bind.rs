//! Binding to what std's `bind` accepts: a [`SocketAddr`], `"127.0.0.1:0"`, `("localhost", 80)`,
//! `(ip, port)`, a list of addresses.
//!
//! Like std, `bind` is synchronous: numeric addresses are parsed in place, and a host name is
//! resolved on the calling thread by the system resolver (`getaddrinfo`, which answers
//! `localhost` from `/etc/hosts` without the network). Each resolved address is tried in
//! order; the first that binds wins, else the last error is returned, naming its address.

use crate::dns::{self, ToSocketAddrs};
use std::io;
use std::net::SocketAddr;

/// Resolves `addr` and runs `bind_one` on each address until one succeeds.
pub(crate) fn bind_first<A, T>(
    addr: &A,
    mut bind_one: impl FnMut(SocketAddr) -> io::Result<T>,
) -> io::Result<T>
where
    A: ToSocketAddrs + ?Sized,
{
    let mut last_err = None;
    for addr in dns::resolve_blocking(addr)? {
        match bind_one(addr) {
            Ok(bound) => return Ok(bound),
            Err(err) => last_err = Some(err),
        }
    }
    Err(last_err.unwrap_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            "bind: the address resolved to no socket address",
        )
    }))
}
