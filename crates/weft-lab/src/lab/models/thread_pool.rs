//! `thread-pool`: [`POOL_THREADS`](super::POOL_THREADS) OS threads started up front, each
//! accepting one connection and serving it to its end. A connection holds its thread, so at
//! most that many clients are served at once; keep-alive connections are closed after
//! Apache's request limit so that waiting clients get their turn.

use std::io;
use std::net::SocketAddr;

use crate::lab::app::http1::{self, ConnPolicy, OsThreadWaits};

/// Serves forever.
pub(super) fn serve(addr: SocketAddr) -> io::Result<()> {
    let listener = super::bind_blocking(addr)?;
    let bound = listener.local_addr()?;
    let policy = ConnPolicy {
        max_requests: Some(http1::MAX_REQUESTS_PER_HELD_CONNECTION),
    };
    let mut threads = Vec::with_capacity(super::POOL_THREADS);
    for i in 0..super::POOL_THREADS {
        let listener = listener.try_clone()?;
        threads.push(
            std::thread::Builder::new()
                .name(format!("pool-{i}"))
                .spawn(move || {
                    super::accept_forever(&listener, |stream| {
                        let _ = stream.set_read_timeout(Some(http1::HELD_CONNECTION_IDLE_TIMEOUT));
                        let _ = stream.set_nodelay(true);
                        let _ = http1::serve_connection(&stream, &OsThreadWaits, policy);
                    })
                })?,
        );
    }
    super::announce(bound);
    for thread in threads {
        let _ = thread.join();
    }
    Ok(())
}
