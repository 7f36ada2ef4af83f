//! may_minihttp peer of the side-by-side server benchmark.
//!
//! may_minihttp's hello world on may's stackful coroutines: a coroutine per
//! connection, written like blocking code, scheduled over epoll. It is the
//! green-thread peer of `weft serve --model green`, and the server #4's
//! targets quote (about 1.2x the floor without pipelining, 1.3x with).
//!
//! One worker thread (`may::config().set_workers(1)`), like the other
//! single-loop peers; may may still start helper threads, which the
//! benchmark counts. The service answers `GET /` and `GET /plaintext` with
//! `Hello, World!` (`Content-Type: text/plain`) and anything else with 404.
//! may_minihttp adds `Server` and `Date` itself; it answers the requests of
//! one read with one write, as weft does.
//!
//! Two settings differ from the other peers because may_minihttp does not
//! expose them: it leaves `TCP_NODELAY` off, and may listens with a backlog
//! of 1024. The backlog is raised to the peers' 4096 after start-up by
//! calling `listen` again on the listening socket, as the `threads` peer
//! does; `TCP_NODELAY` stays off (each batch of responses is one write, so
//! Nagle's algorithm has nothing to hold back).
//!
//! Usage: `may-minihttp [--host 127.0.0.1] [--port 8080]`. It runs until
//! killed.

use std::io;
use std::net::{Ipv4Addr, SocketAddr};

use may_minihttp::{HttpServer, HttpService, Request, Response};

/// Listen backlog, the same for every peer.
const BACKLOG: i32 = 4096;

/// The service: one value per connection (may_minihttp clones it).
#[derive(Clone)]
struct Hello;

impl HttpService for Hello {
    fn call(&mut self, req: Request, rsp: &mut Response) -> io::Result<()> {
        match req.path() {
            "/" | "/plaintext" => {
                rsp.header("Content-Type: text/plain");
                rsp.body("Hello, World!");
            }
            _ => {
                rsp.status_code(404, "Not Found");
                rsp.header("Content-Type: text/plain");
                rsp.body("Not Found");
            }
        }
        Ok(())
    }
}

fn main() {
    let addr = match parse_args() {
        Ok(a) => a,
        Err(msg) => {
            eprintln!("may-minihttp: {msg}\nusage: may-minihttp [--host 127.0.0.1] [--port 8080]");
            std::process::exit(2);
        }
    };
    may::config().set_workers(1);
    let server = match HttpServer(Hello).start(addr) {
        Ok(s) => s,
        Err(err) => {
            eprintln!("may-minihttp: {addr}: {err}");
            std::process::exit(1);
        }
    };
    if let Err(err) = raise_backlog() {
        eprintln!("may-minihttp: raising the listen backlog: {err}");
        std::process::exit(1);
    }
    server.wait();
}

/// Calls `listen(fd, BACKLOG)` on this process's listening socket, found
/// among its open descriptors (`listen` on a listening socket only changes
/// its backlog).
fn raise_backlog() -> io::Result<()> {
    for entry in std::fs::read_dir("/proc/self/fd")? {
        let Ok(fd) = entry?.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let mut listening: libc::c_int = 0;
        let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
        // SAFETY: `listening` and `len` are valid for writes of the sizes
        // given; on a descriptor that is not a socket the call fails with
        // ENOTSOCK and writes nothing.
        let rc = unsafe {
            libc::getsockopt(
                fd,
                libc::SOL_SOCKET,
                libc::SO_ACCEPTCONN,
                (&mut listening as *mut libc::c_int).cast(),
                &mut len,
            )
        };
        if rc == 0 && listening == 1 {
            // SAFETY: `fd` is an open listening socket of this process.
            if unsafe { libc::listen(fd, BACKLOG) } != 0 {
                return Err(io::Error::last_os_error());
            }
            return Ok(());
        }
    }
    Err(io::Error::new(
        io::ErrorKind::NotFound,
        "no listening socket",
    ))
}

fn parse_args() -> Result<SocketAddr, String> {
    let mut host = Ipv4Addr::LOCALHOST;
    let mut port = 8080;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let value = args.next().ok_or(format!("{arg} needs a value"))?;
        match arg.as_str() {
            "--host" => host = value.parse().map_err(|e| format!("--host {value}: {e}"))?,
            "--port" => port = value.parse().map_err(|e| format!("--port {value}: {e}"))?,
            _ => return Err(format!("unknown argument {arg}")),
        }
    }
    Ok(SocketAddr::from((host, port)))
}
