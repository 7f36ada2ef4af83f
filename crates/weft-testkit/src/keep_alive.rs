//! A keep-alive HTTP/1.1 client for [`Load`](crate::Load), counting as `wrk` does: each client
//! keeps its connection open and sends its next request as soon as it read an answer. A
//! connect error (other than a refusal), a reset, a connection that ends without a complete
//! answer, or an answer that is not 2xx is a failure; an answer with `Connection: close` is not
//! (the client reconnects, as wrk and browsers do).

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Mutex;
use std::time::Duration;

use crate::load::Outcome;
use crate::wait::DEADLINE;

/// How a failure on a connection that had been answered before is labelled.
pub const KEPT: &str = "kept-alive connection";
/// How a failure on a new connection's first request is labelled.
pub const FRESH: &str = "new connection";

/// One client's keep-alive connection to `addr`, `GET path` on it again and again. A clone is
/// a fresh, unconnected client (one per load thread).
#[derive(Debug)]
pub struct KeepAlive {
    addr: SocketAddr,
    path: String,
    pause: Duration,
    /// The connection, and whether it has been answered before (is a kept-alive one).
    conn: Mutex<Option<(BufReader<TcpStream>, bool)>>,
}

impl Clone for KeepAlive {
    fn clone(&self) -> Self {
        KeepAlive {
            addr: self.addr,
            path: self.path.clone(),
            pause: self.pause,
            conn: Mutex::new(None),
        }
    }
}

impl KeepAlive {
    /// A client of `GET path` on `addr`; the answer's body, if it is a number, is the pid the
    /// outcome names (`weft serve`'s `/pid`), else 0.
    pub fn new(addr: SocketAddr, path: &str) -> KeepAlive {
        KeepAlive {
            addr,
            path: path.to_string(),
            pause: Duration::ZERO,
            conn: Mutex::new(None),
        }
    }

    /// Waits `pause` after each answer before the next request (a bounded request rate, so
    /// that [`LOAD_MAX`](crate::LOAD_MAX) lasts through a long test).
    pub fn pause(mut self, pause: Duration) -> KeepAlive {
        self.pause = pause;
        self
    }

    /// One request on the kept connection (connecting first if there is none).
    pub fn request(&self) -> Outcome {
        let mut slot = self.conn.lock().unwrap();
        if slot.is_none() {
            match TcpStream::connect_timeout(&self.addr, DEADLINE) {
                Ok(stream) => {
                    let _ = stream.set_read_timeout(Some(DEADLINE));
                    let _ = stream.set_nodelay(true);
                    *slot = Some((BufReader::new(stream), false));
                }
                Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => return Outcome::Refused,
                Err(e) => return Outcome::Failed(format!("connect: {e}")),
            }
        }
        let (conn, kept) = slot.as_mut().unwrap();
        let outcome = match exchange(conn, &self.path) {
            Ok((pid, close)) => {
                *kept = true;
                if close {
                    *slot = None;
                }
                Outcome::Answered(pid)
            }
            Err(e) => {
                let which = if *kept { KEPT } else { FRESH };
                *slot = None;
                Outcome::Failed(format!("{which}: {e}"))
            }
        };
        if !self.pause.is_zero() {
            std::thread::sleep(self.pause);
        }
        outcome
    }
}

/// Writes one request and reads its whole answer: (pid in the body or 0, whether the server
/// said `Connection: close`). A status other than 2xx is an error naming the status line.
fn exchange(conn: &mut BufReader<TcpStream>, path: &str) -> io::Result<(u32, bool)> {
    conn.get_mut()
        .write_all(format!("GET {path} HTTP/1.1\r\nHost: weft\r\n\r\n").as_bytes())?;
    let mut line = String::new();
    if conn.read_line(&mut line)? == 0 {
        return Err(io::Error::other("closed before the answer"));
    }
    let status_ok = line
        .strip_prefix("HTTP/1.1 ")
        .is_some_and(|rest| rest.starts_with('2'));
    let status_line = line.trim_end().to_string();
    let (mut length, mut close) = (0usize, false);
    loop {
        line.clear();
        if conn.read_line(&mut line)? == 0 {
            return Err(io::Error::other("closed in the answer's head"));
        }
        let lower = line.trim_end().to_ascii_lowercase();
        if lower.is_empty() {
            break;
        }
        if let Some(v) = lower.strip_prefix("content-length:") {
            length = v.trim().parse().unwrap_or(0);
        }
        close |= lower == "connection: close";
    }
    let mut body = vec![0; length];
    conn.read_exact(&mut body)?;
    if !status_ok {
        return Err(io::Error::other(format!("not a 2xx: {status_line:?}")));
    }
    let pid = String::from_utf8_lossy(&body).trim().parse().unwrap_or(0);
    Ok((pid, close))
}
