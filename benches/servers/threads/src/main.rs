//! Thread-per-connection peer of the side-by-side server benchmark.
//!
//! The classic blocking model: the main thread accepts, and every connection
//! gets an OS thread of its own (std's default stack size) that loops on a
//! blocking `read`, counts request ends (`\r\n\r\n`) and answers all the
//! requests of one read with one `write_all`. The HTTP handling is the same
//! minimal framing as the floor server's, so the difference between the two
//! is the cost of the model: a thread, its stack and a context switch per
//! connection instead of one epoll loop.
//!
//! An idle connection holds its thread and a 4 KiB stack buffer; the carry
//! buffer for a request head split across reads is heap-allocated only while
//! such a head is pending.
//!
//! Usage: `threads [--host 127.0.0.1] [--port 8080]`. It runs until killed.

use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::os::fd::AsRawFd;

/// The one response, sent for every request (same bytes as the floor's).
const RESPONSE: &[u8] =
    b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\nHello, World!";

/// The end of a request head.
const HEAD_END: &[u8] = b"\r\n\r\n";

/// Per-connection read buffer, on the thread's stack. 4 KiB holds dozens of
/// pipelined benchmark requests and keeps the touched stack small.
const READ_BUF_SIZE: usize = 4 * 1024;

/// Largest incomplete request head carried across reads before the
/// connection is closed (same limit as the floor's).
const MAX_HEAD: usize = 16 * 1024;

/// Listen backlog, the same for every peer (std's `bind` uses 128).
const BACKLOG: libc::c_int = 4096;

fn main() {
    let (host, port) = match parse_args() {
        Ok(hp) => hp,
        Err(msg) => {
            eprintln!("threads: {msg}\nusage: threads [--host 127.0.0.1] [--port 8080]");
            std::process::exit(2);
        }
    };
    let listener = match TcpListener::bind((host, port)) {
        Ok(l) => l,
        Err(err) => {
            eprintln!("threads: bind {host}:{port}: {err}");
            std::process::exit(1);
        }
    };
    // Calling listen() again on a listening socket only changes its backlog.
    // SAFETY: the fd belongs to `listener`, which is alive for the call.
    if unsafe { libc::listen(listener.as_raw_fd(), BACKLOG) } != 0 {
        eprintln!("threads: listen: {}", io::Error::last_os_error());
    }
    for stream in listener.incoming() {
        match stream {
            Ok(stream) => {
                let spawned = std::thread::Builder::new()
                    .name("conn".into())
                    .spawn(move || serve(stream));
                if let Err(err) = spawned {
                    // The stream was moved into the failed closure and is closed.
                    eprintln!("threads: spawn: {err}");
                }
            }
            Err(err) => eprintln!("threads: accept: {err}"),
        }
    }
}

fn parse_args() -> Result<(Ipv4Addr, u16), String> {
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
    Ok((host, port))
}

/// Serves one connection until the peer closes or an error occurs.
fn serve(mut stream: TcpStream) {
    let _ = stream.set_nodelay(true);
    let mut buf = [0u8; READ_BUF_SIZE];
    let mut head: Vec<u8> = Vec::new();
    let mut out: Vec<u8> = Vec::new();
    loop {
        let n = match stream.read(&mut buf) {
            Ok(0) => return,
            Ok(n) => n,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => return,
        };
        let data = &buf[..n];
        let requests = if head.is_empty() {
            let (count, end) = count_heads(data);
            head.extend_from_slice(&data[end..]);
            count
        } else {
            head.extend_from_slice(data);
            let (count, end) = count_heads(&head);
            head.drain(..end);
            count
        };
        if head.is_empty() {
            head = Vec::new();
        } else if head.len() > MAX_HEAD {
            return;
        }
        let bytes: &[u8] = match requests {
            0 => continue,
            1 => RESPONSE,
            _ => {
                out.clear();
                for _ in 0..requests {
                    out.extend_from_slice(RESPONSE);
                }
                &out
            }
        };
        if stream.write_all(bytes).is_err() {
            return;
        }
    }
}

/// Counts complete request heads in `buf`. Returns the count and the offset
/// just past the last `\r\n\r\n` (0 if there is none).
fn count_heads(buf: &[u8]) -> (usize, usize) {
    let mut count = 0;
    let mut end = 0;
    let mut from = 0;
    while let Some(i) = buf[from..].iter().position(|&b| b == b'\n') {
        let nl = from + i;
        if nl >= 3 && &buf[nl - 3..=nl] == HEAD_END {
            count += 1;
            end = nl + 1;
        }
        from = nl + 1;
    }
    (count, end)
}
