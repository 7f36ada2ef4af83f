//! Each model of the seeds as a server process: `weft lab model NAME --port P [--cpu C]`.
//!
//! Every model serves the same app ([`crate::lab::app`]) on 127.0.0.1 and, once it listens,
//! prints one line to stdout, `weft-lab-model listening on ADDR pid PID`, which is how the lab
//! learns the port. They are honest: each really is what its name says.
//!
//! | model | module | concurrency |
//! |---|---|---|
//! | `blocking` | [`blocking`] | one OS thread, accept → serve that connection to its end → accept |
//! | `thread-per-conn` | [`thread_per_conn`] | a new OS thread per accepted connection |
//! | `thread-pool` | [`thread_pool`] | [`POOL_THREADS`] OS threads, each accept → serve one connection |
//! | `prefork` | [`prefork`] | [`PREFORK_WORKERS`] processes, each accept → serve one connection |
//! | `loop`, `loops` | [`event_loops`] | weft_http on 1 loop / one loop per CPU the server may use |
//! | `green` | [`green`] | a weft green thread per connection on one loop |
//! | `callback` | [`callback`] | weft::callback sockets and timers on one loop |
//! | `cluster` | [`cluster`] | [`CLUSTER_WORKERS`] processes with one loop each |
//!
//! prefork and cluster are supervised by weft::cluster (workers are the same binary executed
//! again, and a dead worker is replaced); the others have no supervisor.

mod blocking;
mod callback;
mod cluster;
mod event_loops;
mod green;
mod http_app;
mod prefork;
mod thread_per_conn;
mod thread_pool;

use std::io::{self, Write};
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use super::catalog::ModelKind;
use super::cli::ModelArgs;

/// OS threads of the `thread-pool` model: 8, a small fixed pool (the size a blocking server
/// would pick for a 2–4 core machine); a connection holds one for its whole life.
pub(crate) const POOL_THREADS: usize = 8;

/// Worker processes of the `prefork` model: 8, the same budget as [`POOL_THREADS`] so that the
/// two differ only in threads against processes (Apache starts 5 and grows to 256).
pub(crate) const PREFORK_WORKERS: usize = 8;

/// Worker processes of the `cluster` model: 2, so that a crash of one worker leaves another
/// serving even on a machine where the server has one CPU.
pub(crate) const CLUSTER_WORKERS: usize = 2;

/// The processes a model runs once it has started: its supervisor and workers, or one.
pub(crate) fn processes(model: ModelKind) -> u64 {
    match model {
        ModelKind::Prefork => PREFORK_WORKERS as u64 + 1,
        ModelKind::Cluster => CLUSTER_WORKERS as u64 + 1,
        _ => 1,
    }
}

/// Pause after an accept error (descriptor exhaustion, a reset in the queue), so that a
/// persistent error does not spin the CPU.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(10);

/// The prefix of the line a model prints once it listens.
pub(crate) const LISTENING_PREFIX: &str = "weft-lab-model listening on ";

/// Serves `model` until the process is killed.
pub(crate) fn serve(model: ModelKind, args: &ModelArgs) -> io::Result<()> {
    if let Some(cpu) = args.cpu {
        super::sys::pin_current_thread(&[cpu])?;
    }
    // Ten thousand idle connections need as many descriptors.
    let _ = super::sys::raise_nofile_limit();
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, args.port));
    match model {
        ModelKind::Blocking => blocking::serve(addr),
        ModelKind::ThreadPerConn => thread_per_conn::serve(addr),
        ModelKind::ThreadPool => thread_pool::serve(addr),
        ModelKind::Prefork => prefork::serve(addr),
        ModelKind::Loop => event_loops::serve(addr, 1),
        ModelKind::Loops => event_loops::serve(
            addr,
            std::thread::available_parallelism().map_or(1, |n| n.get()),
        ),
        ModelKind::Green => green::serve(addr),
        ModelKind::Callback => callback::serve(addr),
        ModelKind::Cluster => cluster::serve(addr),
    }
}

/// Prints the line the lab waits for.
fn announce(addr: SocketAddr) {
    let mut out = io::stdout().lock();
    let _ = writeln!(out, "{LISTENING_PREFIX}{addr} pid {}", std::process::id());
    let _ = out.flush();
}

/// A blocking std listener with weft's backlog (4096, as every model gets the same accept
/// queue).
fn bind_blocking(addr: SocketAddr) -> io::Result<std::net::TcpListener> {
    let listener = weft::cluster::bind(addr)?;
    listener.set_nonblocking(false)?;
    Ok(listener)
}

/// Accepts on `listener` forever, handing each connection to `serve`.
fn accept_forever(listener: &std::net::TcpListener, mut serve: impl FnMut(std::net::TcpStream)) {
    loop {
        match listener.accept() {
            Ok((stream, _)) => serve(stream),
            Err(error) => {
                eprintln!("weft lab model: accept: {error}");
                std::thread::sleep(ACCEPT_ERROR_PAUSE);
            }
        }
    }
}
