//! `blocking`: the seeds' synchronous server. One thread accepts a connection, serves it to
//! its end, then accepts the next; every other client waits in the kernel's accept queue.

use std::io;
use std::net::SocketAddr;

use crate::lab::app::http1::{self, ConnPolicy, OsThreadWaits};

/// Serves forever.
pub(super) fn serve(addr: SocketAddr) -> io::Result<()> {
    let listener = super::bind_blocking(addr)?;
    super::announce(listener.local_addr()?);
    let policy = ConnPolicy {
        max_requests: Some(http1::MAX_REQUESTS_PER_HELD_CONNECTION),
    };
    super::accept_forever(&listener, |stream| {
        let _ = stream.set_read_timeout(Some(http1::HELD_CONNECTION_IDLE_TIMEOUT));
        let _ = stream.set_nodelay(true);
        let _ = http1::serve_connection(&stream, &OsThreadWaits, policy);
    });
    Ok(())
}
