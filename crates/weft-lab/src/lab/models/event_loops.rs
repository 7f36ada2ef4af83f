//! `loop` and `loops`: weft_http's server on one event loop thread, or on one per CPU the
//! server may use (each loop with its own `SO_REUSEPORT` listener, shared-nothing). Every
//! connection is an async task on its loop.

use std::io;
use std::net::SocketAddr;

/// Serves forever on `loops` event loops.
pub(super) fn serve(addr: SocketAddr, loops: usize) -> io::Result<()> {
    let running = weft_http::Server::bind(addr)
        .loops(loops)
        .start(super::http_app::handle)?;
    super::announce(running.local_addr());
    running.run_until(std::future::pending())
}
