//! `prefork`: [`PREFORK_WORKERS`](super::PREFORK_WORKERS) processes, each accepting one
//! connection and serving it to its end, as Apache's prefork MPM does. The supervisor is
//! weft::cluster's (workers are this binary executed again, never a bare fork of a threaded
//! process; a dead worker is replaced).
//!
//! Each worker process has two threads: the one that serves (blocking std::net, one
//! connection at a time) and its main thread, which only keeps the supervisor link (ready,
//! stop) as Apache's children listen for their parent's signals.

use std::io;
use std::net::SocketAddr;

use weft::cluster::{self, Role, WorkerLink};
use weft::rt::Runtime;

use crate::lab::app::http1::{self, ConnPolicy, OsThreadWaits};

/// Serves forever (supervisor), or serves as one worker.
pub(super) fn serve(addr: SocketAddr) -> io::Result<()> {
    match cluster::role()? {
        Role::Supervisor => super::cluster::supervise(addr, super::PREFORK_WORKERS),
        Role::Worker(_) => work(),
    }
}

fn work() -> io::Result<()> {
    let listener = cluster::listeners()?.into_iter().next().ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::NotFound,
            "prefork worker: no listening socket inherited",
        )
    })?;
    listener.set_nonblocking(false)?;
    let policy = ConnPolicy {
        max_requests: Some(http1::MAX_REQUESTS_PER_HELD_CONNECTION),
    };
    std::thread::Builder::new()
        .name("prefork-serve".into())
        .spawn(move || {
            super::accept_forever(&listener, |stream| {
                let _ = stream.set_read_timeout(Some(http1::HELD_CONNECTION_IDLE_TIMEOUT));
                let _ = stream.set_nodelay(true);
                let _ = http1::serve_connection(&stream, &OsThreadWaits, policy);
            })
        })?;
    let runtime = Runtime::builder().current_thread().build()?;
    runtime.block_on(async {
        let mut link = WorkerLink::<(), ()>::connect()?;
        link.ready().await.map_err(io::Error::other)?;
        super::cluster::until_stopped(&mut link).await;
        io::Result::Ok(())
    })?;
    // Stop: the connection in progress is cut, as Apache's graceless stop does.
    std::process::exit(0)
}
