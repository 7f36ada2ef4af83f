//! `thread-per-conn`: a new OS thread for every accepted connection (std's default 2 MiB
//! stack). When the kernel refuses a thread (threads-max, map count, memory), the connection
//! is closed and the error logged: the seeds' "a thread server cannot make more threads".

use std::io;
use std::net::SocketAddr;

use crate::lab::app::http1::{self, ConnPolicy, OsThreadWaits};

/// Serves forever.
pub(super) fn serve(addr: SocketAddr) -> io::Result<()> {
    let listener = super::bind_blocking(addr)?;
    super::announce(listener.local_addr()?);
    let policy = ConnPolicy { max_requests: None };
    super::accept_forever(&listener, |stream| {
        let spawned = std::thread::Builder::new()
            .name("conn".into())
            .spawn(move || {
                let _ = stream.set_read_timeout(Some(http1::IDLE_TIMEOUT));
                let _ = stream.set_nodelay(true);
                let _ = http1::serve_connection(&stream, &OsThreadWaits, policy);
            });
        if let Err(error) = spawned {
            eprintln!("weft lab model thread-per-conn: cannot start a thread: {error}");
        }
    });
    Ok(())
}
