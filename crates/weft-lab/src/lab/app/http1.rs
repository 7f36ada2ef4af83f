//! A tiny HTTP/1.1 server loop in blocking style, for the models whose connection is a
//! straight line of code: blocking, thread-per-conn, thread-pool, prefork (each on an OS
//! thread, std::net) and green (on a green thread, weft::green::TcpStream).
//!
//! It is enough for the lab's app and no more: `GET` requests without bodies, keep-alive
//! (HTTP/1.1 by default, `Connection: close` honoured, HTTP/1.0 closes), one request at a time,
//! heads up to [`MAX_HEAD_BYTES`]. Anything else is answered with its status (400, 405, 431)
//! and the connection closes. How the handler waits and burns is the model's: [`Waits`].

use std::io::{self, Read, Write};
use std::time::Duration;

use super::{burn, cpu_body, crash, io_body, Route, HELLO};

/// Largest request head: 8 KiB, nginx's default `large_client_header_buffers` size; the lab's
/// requests are under 100 bytes.
pub(crate) const MAX_HEAD_BYTES: usize = 8 * 1024;

/// Bytes read per `read` call: one request head fits many times over.
const READ_CHUNK: usize = 4096;

/// Requests served on one connection before it is closed, in the models where a connection
/// holds a thread or process for its whole life: 100, Apache's `MaxKeepAliveRequests`, which
/// exists so that a few keep-alive clients cannot keep the others waiting forever.
pub(crate) const MAX_REQUESTS_PER_HELD_CONNECTION: u32 = 100;

/// How a keep-alive connection idles in the models where it holds a thread or process:
/// closed after 5 s of silence, Apache's `KeepAliveTimeout`.
pub(crate) const HELD_CONNECTION_IDLE_TIMEOUT: Duration = Duration::from_secs(5);

/// How long any other blocking-style connection may idle: 60 s, weft-http's idle timeout.
pub(crate) const IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// How a model's handler waits (`/io`) and burns (`/cpu`).
pub(crate) trait Waits {
    /// Waits `d` in the model's own style.
    fn sleep(&self, d: Duration);
    /// Burns `d` of CPU, on the worker pool if `offload` and the model has one; returns where
    /// it ran, or why it could not.
    fn cpu(&self, d: Duration, offload: bool) -> Result<&'static str, String>;
}

/// Waiting and burning on the calling OS thread: the thread and process models.
#[derive(Debug, Clone, Copy)]
pub(crate) struct OsThreadWaits;

impl Waits for OsThreadWaits {
    fn sleep(&self, d: Duration) {
        std::thread::sleep(d);
    }

    fn cpu(&self, d: Duration, _offload: bool) -> Result<&'static str, String> {
        // These models have no worker pool: the handler's own thread burns.
        burn(d);
        Ok("the connection's own thread")
    }
}

/// Per-connection rules of a model.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ConnPolicy {
    /// Requests after which the connection is closed (`None`: no limit).
    pub(crate) max_requests: Option<u32>,
}

/// A parsed request head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Head {
    /// The request target (`/path?query`).
    pub(crate) target: String,
    /// Whether the client asked to close (or spoke HTTP/1.0 without keep-alive).
    pub(crate) close: bool,
}

/// What [`parse_head`] found at the start of a buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Parsed {
    /// No complete head yet.
    Incomplete,
    /// A head of `len` bytes.
    Complete(Head, usize),
    /// A refusal: status, reason.
    Refused(u16, &'static str),
}

/// Parses the request head at the start of `buf`.
pub(crate) fn parse_head(buf: &[u8]) -> Parsed {
    let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
        return if buf.len() > MAX_HEAD_BYTES {
            Parsed::Refused(431, "request head too large")
        } else {
            Parsed::Incomplete
        };
    };
    let Ok(text) = std::str::from_utf8(&buf[..end]) else {
        return Parsed::Refused(400, "request head is not UTF-8");
    };
    let mut lines = text.split("\r\n");
    let mut parts = lines.next().unwrap_or("").split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Parsed::Refused(400, "malformed request line");
    };
    let http10 = match version {
        "HTTP/1.1" => false,
        "HTTP/1.0" => true,
        _ => return Parsed::Refused(505, "HTTP version not supported"),
    };
    if method != "GET" {
        return Parsed::Refused(405, "the lab's app answers GET only");
    }
    let mut close = http10;
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            return Parsed::Refused(400, "malformed header line");
        };
        let (name, value) = (name.trim(), value.trim());
        if name.eq_ignore_ascii_case("connection") {
            if value.eq_ignore_ascii_case("close") {
                close = true;
            } else if value.eq_ignore_ascii_case("keep-alive") {
                close = false;
            }
        } else if (name.eq_ignore_ascii_case("content-length") && value != "0")
            || name.eq_ignore_ascii_case("transfer-encoding")
        {
            return Parsed::Refused(400, "the lab's app takes no request bodies");
        }
    }
    Parsed::Complete(
        Head {
            target: target.to_string(),
            close,
        },
        end + 4,
    )
}

/// The bytes of a `text/plain` response.
pub(crate) fn response(status: u16, body: &str, close: bool) -> Vec<u8> {
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        431 => "Request Header Fields Too Large",
        503 => "Service Unavailable",
        505 => "HTTP Version Not Supported",
        _ => "Unknown",
    };
    let connection = if close { "Connection: close\r\n" } else { "" };
    format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n{connection}\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// Runs `route` in blocking style: status and body.
pub(crate) fn answer(route: Route, waits: &impl Waits) -> (u16, String) {
    match route {
        Route::Hello => (200, HELLO.to_string()),
        Route::Io(d) => {
            waits.sleep(d);
            (200, io_body(d))
        }
        Route::Cpu { burn, offload } => match waits.cpu(burn, offload) {
            Ok(place) => (200, cpu_body(burn, place)),
            Err(why) => (503, why),
        },
        Route::Crash => crash(),
        Route::NotFound => (404, "not found\n".to_string()),
        Route::Bad(why) => (400, why),
    }
}

/// Serves one connection until the client closes, asks to close, errs, idles past the
/// stream's read timeout, or reaches the policy's request limit.
pub(crate) fn serve_connection<S: Read + Write>(
    mut stream: S,
    waits: &impl Waits,
    policy: ConnPolicy,
) -> io::Result<()> {
    // Bytes received are `buf[..filled]`; reads go into the rest. `buf` is zeroed when it
    // grows, once per connection in the common case: zeroing a fresh 4 KiB chunk before every
    // read cost the green model about a fifth of its io-wait throughput (a memset per request
    // that also pushed the connections' other data out of the cache). A buffer on the stack
    // instead would touch 4 KiB more of every green thread's and thread's stack.
    let mut buf: Vec<u8> = vec![0; READ_CHUNK];
    let mut filled = 0;
    let mut served: u32 = 0;
    loop {
        let (head, len) = loop {
            match parse_head(&buf[..filled]) {
                Parsed::Complete(head, len) => break (head, len),
                Parsed::Refused(status, why) => {
                    stream.write_all(&response(status, why, true))?;
                    return Ok(());
                }
                Parsed::Incomplete => {}
            }
            if filled == buf.len() {
                buf.resize(filled + READ_CHUNK, 0);
            }
            let n = match stream.read(&mut buf[filled..]) {
                Ok(n) => n,
                // Idle past the read timeout: close, as a keep-alive timeout does.
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) =>
                {
                    return Ok(());
                }
                Err(e) => return Err(e),
            };
            if n == 0 {
                return Ok(());
            }
            filled += n;
        };
        buf.copy_within(len..filled, 0);
        filled -= len;
        served += 1;
        let last = head.close || policy.max_requests.is_some_and(|max| served >= max);
        let (status, body) = answer(Route::of_target(&head.target), waits);
        stream.write_all(&response(status, &body, last))?;
        stream.flush()?;
        if last {
            return Ok(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heads_parse_and_refuse() {
        let raw = b"GET /io?ms=1 HTTP/1.1\r\nHost: x\r\n\r\nGET";
        match parse_head(raw) {
            Parsed::Complete(head, len) => {
                assert_eq!(head.target, "/io?ms=1");
                assert!(!head.close);
                assert_eq!(&raw[len..], b"GET");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(parse_head(b"GET / HTTP/1.1\r\n"), Parsed::Incomplete);
        assert!(matches!(
            parse_head(b"GET / HTTP/1.0\r\n\r\n"),
            Parsed::Complete(Head { close: true, .. }, _)
        ));
        assert!(matches!(
            parse_head(b"POST / HTTP/1.1\r\n\r\n"),
            Parsed::Refused(405, _)
        ));
        assert!(matches!(
            parse_head(b"GET / HTTP/1.1\r\nContent-Length: 3\r\n\r\n"),
            Parsed::Refused(400, _)
        ));
        assert!(matches!(
            parse_head(&[b'a'; MAX_HEAD_BYTES + 1]),
            Parsed::Refused(431, _)
        ));
    }

    /// A stream that hands out its input in the given pieces (one per read), then EOF, and
    /// keeps what is written.
    struct Pieces {
        reads: std::collections::VecDeque<Vec<u8>>,
        written: Vec<u8>,
    }

    impl Read for Pieces {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            let Some(mut piece) = self.reads.pop_front() else {
                return Ok(0);
            };
            let n = piece.len().min(out.len());
            out[..n].copy_from_slice(&piece[..n]);
            if n < piece.len() {
                self.reads.push_front(piece.split_off(n));
            }
            Ok(n)
        }
    }

    impl Write for Pieces {
        fn write(&mut self, data: &[u8]) -> io::Result<usize> {
            self.written.extend_from_slice(data);
            Ok(data.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn pipelined_and_split_requests_are_each_answered_in_order() {
        let get = |path: &str| format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").into_bytes();
        // Two requests in one read, a third split inside its head, a fourth longer than one
        // read chunk (a long target) arriving in pieces.
        let mut first = get("/");
        first.extend(get("/nope"));
        let third = get("/");
        let long = get(&format!("/{}", "a".repeat(READ_CHUNK + 100)));
        let (l1, l2) = long.split_at(READ_CHUNK - 10);
        let mut stream = Pieces {
            reads: [
                first,
                third[..7].to_vec(),
                third[7..].to_vec(),
                l1.to_vec(),
                l2.to_vec(),
            ]
            .into(),
            written: Vec::new(),
        };
        serve_connection(
            &mut stream,
            &OsThreadWaits,
            ConnPolicy { max_requests: None },
        )
        .unwrap();
        let out = String::from_utf8(stream.written).unwrap();
        let statuses: Vec<&str> = out
            .split("HTTP/1.1 ")
            .skip(1)
            .map(|answer| &answer[..3])
            .collect();
        assert_eq!(statuses, ["200", "404", "200", "404"], "{out}");
        assert!(out.contains(HELLO));
    }
}
