//! A minimal blocking HTTP/1.1 client connection: enough to send what the soak sends and to
//! read `Content-Length` and chunked answers strictly (a short or malformed answer is an error).

use std::io::{self, BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use crate::Shared;

/// Longest wait for any read: a stalled answer is a failure, not a hang.
pub const READ_TIMEOUT: Duration = Duration::from_secs(20);

/// An answer.
pub struct Answer {
    pub status: u16,
    /// The server said `Connection: close` (or the answer has no length: read to the end).
    pub close: bool,
    pub body: Vec<u8>,
}

/// A connection whose `GET /pid` told which worker serves it.
pub struct Conn {
    pub reader: BufReader<TcpStream>,
    pub stream: TcpStream,
    pub pid: Option<u32>,
    /// Seconds since the start when it was opened.
    pub opened_at: f64,
}

impl Conn {
    /// Connects and asks `/pid`. `Err` carries when the connection was opened (before the
    /// connect, so that a kill of the worker that accepted it falls after) and the failure's
    /// description (the pid is unknown).
    pub fn open(shared: &Shared, addr: SocketAddr) -> Result<Conn, (f64, String)> {
        let opened_at = shared.now();
        Self::open_at(shared, addr, opened_at).map_err(|what| (opened_at, what))
    }

    fn open_at(shared: &Shared, addr: SocketAddr, opened_at: f64) -> Result<Conn, String> {
        let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))
            .map_err(|e| format!("connect: {e}"))?;
        stream.set_nodelay(true).ok();
        stream.set_read_timeout(Some(READ_TIMEOUT)).ok();
        stream.set_write_timeout(Some(READ_TIMEOUT)).ok();
        let reader = BufReader::new(stream.try_clone().map_err(|e| e.to_string())?);
        let mut conn = Conn {
            reader,
            stream,
            pid: None,
            opened_at,
        };
        conn.send(b"GET /pid HTTP/1.1\r\nHost: soak\r\n\r\n")
            .map_err(|e| format!("GET /pid: write: {e}"))?;
        let answer = conn.read().map_err(|e| format!("GET /pid: {e}"))?;
        let pid = std::str::from_utf8(&answer.body)
            .ok()
            .and_then(|s| s.trim().parse::<u32>().ok());
        match (answer.status, pid) {
            (200, Some(pid)) => {
                conn.pid = Some(pid);
                shared.opened(pid, 1);
                Ok(conn)
            }
            (status, _) => Err(format!("GET /pid: status {status}")),
        }
    }

    pub fn send(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.stream.write_all(bytes)
    }

    /// Reads one answer.
    pub fn read(&mut self) -> Result<Answer, String> {
        read_answer(&mut self.reader)
    }

    /// Closes with `SO_LINGER` 0: the kernel sends RST instead of FIN.
    pub fn reset(self, shared: &Shared) {
        use std::os::fd::AsRawFd;
        let linger = libc::linger {
            l_onoff: 1,
            l_linger: 0,
        };
        // SAFETY: setsockopt on a socket this connection owns, with a valid `linger` and its
        // size; the kernel copies it before returning.
        unsafe {
            libc::setsockopt(
                self.stream.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_LINGER,
                (&linger as *const libc::linger).cast(),
                std::mem::size_of::<libc::linger>() as libc::socklen_t,
            );
        }
        self.close(shared);
    }

    /// Drops the connection, keeping the per-pid count of open connections right.
    pub fn close(self, shared: &Shared) {
        if let Some(pid) = self.pid {
            shared.opened(pid, -1);
        }
    }
}

fn read_answer(r: &mut impl BufRead) -> Result<Answer, String> {
    let mut line = String::new();
    let read_line = |r: &mut dyn BufRead, line: &mut String| -> Result<(), String> {
        line.clear();
        match r.read_line(line) {
            Ok(0) => Err("connection closed before an answer".into()),
            Ok(_) if !line.ends_with("\r\n") => Err(format!("truncated line {line:?}")),
            Ok(_) => Ok(()),
            Err(e) => Err(format!("read: {e}")),
        }
    };
    read_line(r, &mut line)?;
    let status = line
        .strip_prefix("HTTP/1.1 ")
        .and_then(|s| s.get(..3))
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or_else(|| format!("bad status line {line:?}"))?;
    let (mut length, mut chunked, mut close) = (None, false, false);
    loop {
        read_line(r, &mut line)?;
        if line == "\r\n" {
            break;
        }
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| format!("bad header {line:?}"))?;
        let value = value.trim();
        match name.to_ascii_lowercase().as_str() {
            "content-length" => length = value.parse::<usize>().ok(),
            "transfer-encoding" => chunked = value.eq_ignore_ascii_case("chunked"),
            "connection" => close = value.eq_ignore_ascii_case("close"),
            _ => {}
        }
    }
    let mut body = Vec::new();
    if chunked {
        loop {
            read_line(r, &mut line)?;
            let size = usize::from_str_radix(line.trim().split(';').next().unwrap_or(""), 16)
                .map_err(|_| format!("bad chunk size {line:?}"))?;
            let start = body.len();
            body.resize(start + size, 0);
            r.read_exact(&mut body[start..])
                .map_err(|e| format!("chunk: {e}"))?;
            read_line(r, &mut line)?;
            if size == 0 {
                break;
            }
        }
    } else if let Some(length) = length {
        body.resize(length, 0);
        r.read_exact(&mut body).map_err(|e| format!("body: {e}"))?;
    } else if status >= 200 && status != 204 && status != 304 {
        r.read_to_end(&mut body).map_err(|e| format!("body: {e}"))?;
        close = true;
    }
    Ok(Answer {
        status,
        close,
        body,
    })
}
