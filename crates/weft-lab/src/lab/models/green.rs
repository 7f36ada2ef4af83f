//! `green`: a weft green thread per connection on one event loop (gevent's model). The
//! connection code is the same straight blocking-style loop as the thread models
//! ([`http1::serve_connection`]), but `read`, `write` and `/io`'s sleep park the green thread
//! instead of an OS thread; `/cpu&offload=1` parks it on the worker pool's job.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use weft::green;
use weft::rt::Runtime;

use crate::lab::app::{self, http1};

/// Waiting and burning in a green thread.
#[derive(Debug, Clone, Copy)]
struct GreenWaits;

impl http1::Waits for GreenWaits {
    fn sleep(&self, d: Duration) {
        green::sleep(d);
    }

    fn cpu(&self, d: Duration, offload: bool) -> Result<&'static str, String> {
        if !offload {
            app::burn(d);
            return Ok("the event loop (in a green thread)");
        }
        green::block_on(weft::spawn_cpu(move || app::burn(d)))
            .map(|()| "the worker pool")
            .map_err(|e| format!("cpu lane: {e}"))
    }
}

/// Serves forever.
pub(super) fn serve(addr: SocketAddr) -> io::Result<()> {
    let runtime = Runtime::builder().current_thread().build()?;
    runtime.block_on(async move {
        let acceptor = green::Builder::new().spawn(move || -> io::Result<()> {
            let listener = green::TcpListener::bind(addr)?;
            super::announce(listener.local_addr()?);
            let policy = http1::ConnPolicy { max_requests: None };
            loop {
                let conn = match listener.accept() {
                    Ok((conn, _)) => conn,
                    Err(error) => {
                        eprintln!("weft lab model green: accept: {error}");
                        green::sleep(super::ACCEPT_ERROR_PAUSE);
                        continue;
                    }
                };
                let spawned = green::Builder::new().spawn(move || {
                    let _ = conn.set_read_timeout(Some(http1::IDLE_TIMEOUT));
                    let _ = conn.set_nodelay(true);
                    let _ = http1::serve_connection(&conn, &GreenWaits, policy);
                });
                if let Err(error) = spawned {
                    eprintln!("weft lab model green: cannot start a green thread: {error}");
                }
            }
        })?;
        acceptor
            .await
            .map_err(|e| io::Error::other(format!("green acceptor: {e}")))?
    })
}
