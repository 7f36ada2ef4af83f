//! monoio peer of the side-by-side server benchmark (issue #19's io_uring peer).
//!
//! A hello-world HTTP/1.1 server on monoio, ByteDance's thread-per-core io_uring runtime: one
//! thread, its io_uring driver, a task per connection. monoio ships no HTTP server in the
//! runtime crate, so this is its own, written the way monoio's examples are: owned-buffer reads
//! (`read` hands the buffer to the kernel and gets it back), httparse for the request heads, every
//! complete request of one read answered, the answers of one read sent with one write (as weft
//! and may_minihttp do). `GET /` and `GET /plaintext` answer `Hello, World!` (`text/plain`),
//! anything else 404; a malformed head gets 400 and the connection is closed. The response has
//! `Server` and `Date` headers like weft's and may_minihttp's; `Date` is formatted once per second.
//! Listen backlog 4096 and `TCP_NODELAY`, like the other peers.
//!
//! Usage: `monoio [--host 127.0.0.1] [--port 8080]`. It runs until killed; it fails at start-up
//! with the reason if io_uring is unavailable (`kernel.io_uring_disabled`, seccomp).

use std::cell::RefCell;

use std::net::{Ipv4Addr, SocketAddr};
use std::time::{SystemTime, UNIX_EPOCH};

use monoio_rt::buf::SliceMut;
use monoio_rt::io::{AsyncReadRent, AsyncWriteRentExt};
use monoio_rt::net::{ListenerOpts, TcpListener, TcpStream};
use monoio_rt::{IoUringDriver, RuntimeBuilder};

/// Listen backlog, the same for every peer.
const BACKLOG: i32 = 4096;
/// Submission queue entries of the ring.
const RING_ENTRIES: u32 = 4096;
/// A connection's read buffer; a head that does not fit is refused.
const READ_BUF: usize = 16 * 1024;
/// Most headers a request may have.
const MAX_HEADERS: usize = 32;

fn main() {
    let addr = match parse_args() {
        Ok(a) => a,
        Err(msg) => {
            eprintln!("monoio: {msg}\nusage: monoio [--host 127.0.0.1] [--port 8080]");
            std::process::exit(2);
        }
    };
    let mut rt = match RuntimeBuilder::<IoUringDriver>::new()
        .with_entries(RING_ENTRIES)
        .build()
    {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("monoio: cannot start the io_uring driver: {err}");
            std::process::exit(1);
        }
    };
    rt.block_on(async move {
        let opts = ListenerOpts::default().backlog(BACKLOG).reuse_addr(true);
        let listener = match TcpListener::bind_with_config(addr, &opts) {
            Ok(l) => l,
            Err(err) => {
                eprintln!("monoio: {addr}: {err}");
                std::process::exit(1);
            }
        };
        loop {
            match listener.accept().await {
                Ok((stream, _)) => {
                    monoio_rt::spawn(serve(stream));
                }
                // Out of descriptors or a connection reset before accept: keep serving.
                Err(err) => eprintln!("monoio: accept: {err}"),
            }
        }
    });
}

/// Serves one keep-alive connection until the client closes it or sends a bad head.
async fn serve(stream: TcpStream) {
    let _ = stream.set_nodelay(true);
    let mut stream = stream;
    let mut buf: Vec<u8> = Vec::with_capacity(READ_BUF);
    let mut out: Vec<u8> = Vec::with_capacity(4096);
    loop {
        let filled = buf.len();
        if filled == buf.capacity() {
            let _ = stream.write_all(BAD_REQUEST).await;
            return;
        }
        // Read into the free tail of the buffer, after any partial head left from the last read.
        let (res, slice) = stream.read(SliceMut::new(buf, filled, READ_BUF)).await;
        buf = slice.into_inner();
        match res {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let mut start = 0;
        let mut close = false;
        while start < buf.len() {
            let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
            let mut req = httparse::Request::new(&mut headers);
            match req.parse(&buf[start..]) {
                Ok(httparse::Status::Complete(len)) => {
                    respond(&mut out, req.path.unwrap_or(""));
                    start += len;
                }
                Ok(httparse::Status::Partial) => break,
                Err(_) => {
                    out.extend_from_slice(BAD_REQUEST);
                    close = true;
                    break;
                }
            }
        }
        buf.drain(..start);
        if !out.is_empty() {
            let (res, written) = stream.write_all(out).await;
            out = written;
            out.clear();
            if res.is_err() {
                return;
            }
        }
        if close {
            return;
        }
    }
}

const BAD_REQUEST: &[u8] =
    b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";

/// Appends the answer to a request for `path`.
fn respond(out: &mut Vec<u8>, path: &str) {
    let (status, body): (&[u8], &[u8]) = match path {
        "/" | "/plaintext" => (b"200 OK", b"Hello, World!"),
        _ => (b"404 Not Found", b"Not Found"),
    };
    out.extend_from_slice(b"HTTP/1.1 ");
    out.extend_from_slice(status);
    out.extend_from_slice(b"\r\nServer: monoio\r\nContent-Type: text/plain\r\nContent-Length: ");
    out.extend_from_slice(body.len().to_string().as_bytes());
    out.extend_from_slice(b"\r\nDate: ");
    DATE.with(|d| out.extend_from_slice(d.borrow_mut().now()));
    out.extend_from_slice(b"\r\n\r\n");
    out.extend_from_slice(body);
}

thread_local! {
    static DATE: RefCell<DateCache> = const { RefCell::new(DateCache { second: u64::MAX, text: [0; 29] }) };
}

/// The IMF-fixdate of the current second, formatted when the second changes.
struct DateCache {
    second: u64,
    text: [u8; 29],
}

impl DateCache {
    fn now(&mut self) -> &[u8] {
        let secs = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        if secs != self.second {
            self.second = secs;
            self.text = imf_fixdate(secs);
        }
        &self.text
    }
}

/// `Sun, 06 Nov 1994 08:49:37 GMT` for `secs` since the epoch.
fn imf_fixdate(secs: u64) -> [u8; 29] {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Civil from days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let text = format!(
        "{}, {:02} {} {:04} {:02}:{:02}:{:02} GMT",
        DAYS[(days % 7) as usize],
        day,
        MONTHS[(month - 1) as usize],
        year,
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    );
    let mut out = [b' '; 29];
    out.copy_from_slice(&text.as_bytes()[..29]);
    out
}

fn parse_args() -> Result<SocketAddr, String> {
    let mut host: Ipv4Addr = Ipv4Addr::LOCALHOST;
    let mut port: u16 = 8080;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let value = args.next().ok_or(format!("{a} needs a value"))?;
        match a.as_str() {
            "--host" => host = value.parse().map_err(|e| format!("--host {value}: {e}"))?,
            "--port" => port = value.parse().map_err(|e| format!("--port {value}: {e}"))?,
            _ => return Err(format!("unknown argument {a}")),
        }
    }
    Ok(SocketAddr::from((host, port)))
}

