//! Zero failed requests through a reload and a graceful stop under
//! keep-alive load, measured as `wrk` would count them: every client keeps
//! its connection open and sends its next request as soon as it has read an
//! answer, so the server's "idle" connections very often carry a request on
//! the wire. A connection that ends without a complete answer to a request
//! sent is a failure; an answer with `Connection: close` is not (the client
//! reconnects, as wrk and browsers do).
//!
//! - `weft serve --workers 2` and `--workers 1`, SIGHUP twice: no failure,
//!   no refused connection (new connections go to the new workers).
//! - `weft serve` without `--workers` (async and green), SIGTERM: no request
//!   lost on a kept-alive connection; after the listener closed, connections
//!   are refused (a reconnect racing the close of a loop's listener can be
//!   reset by the kernel instead: at most once per client, printed).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Mutex;

use weft_testkit::{tally, Cluster, Load, Outcome, ServeChild, DEADLINE};

/// Linux's signal numbers (this crate has no libc dependency of its own).
const SIGHUP: i32 = 1;
const SIGTERM: i32 = 15;

/// Keep-alive clients: as many as wrk's `-c32` would be too many threads for
/// a 2-core test machine; 8 keep every loop busy.
const CLIENTS: usize = 8;

/// Answers counted before and after each event, so that the event happens
/// under load and the load survives it.
const ANSWERS_AROUND: usize = 300;

/// How a failure on a connection that had been answered before is labelled: a request lost on
/// a kept-alive connection, what a drain must never cause.
const KEPT: &str = "kept-alive connection";
/// How a failure on a new connection's first request is labelled.
const FRESH: &str = "new connection";

/// One client's keep-alive connection (a fresh, unconnected one per clone: one per thread).
#[derive(Debug)]
struct KeepAlive {
    addr: SocketAddr,
    /// The connection, and whether it has been answered before (is a kept-alive one).
    conn: Mutex<Option<(BufReader<TcpStream>, bool)>>,
}

impl Clone for KeepAlive {
    fn clone(&self) -> Self {
        KeepAlive {
            addr: self.addr,
            conn: Mutex::new(None),
        }
    }
}

impl KeepAlive {
    fn new(addr: SocketAddr) -> KeepAlive {
        KeepAlive {
            addr,
            conn: Mutex::new(None),
        }
    }

    /// One GET /pid on the kept connection (connecting first if there is none).
    fn request(&self) -> Outcome {
        let mut slot = self.conn.lock().unwrap();
        if slot.is_none() {
            match TcpStream::connect_timeout(&self.addr, DEADLINE) {
                Ok(stream) => {
                    let _ = stream.set_read_timeout(Some(DEADLINE));
                    *slot = Some((BufReader::new(stream), false));
                }
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
                    return Outcome::Refused
                }
                Err(e) => return Outcome::Failed(format!("connect: {e}")),
            }
        }
        let (conn, kept) = slot.as_mut().unwrap();
        match exchange(conn) {
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
        }
    }
}

/// Writes one request and reads its whole answer: (pid in the body, whether
/// the server said `Connection: close`).
fn exchange(conn: &mut BufReader<TcpStream>) -> std::io::Result<(u32, bool)> {
    conn.get_mut()
        .write_all(b"GET /pid HTTP/1.1\r\nHost: t\r\n\r\n")?;
    let mut line = String::new();
    if conn.read_line(&mut line)? == 0 {
        return Err(std::io::Error::other("closed before the answer"));
    }
    if !line.starts_with("HTTP/1.1 200") {
        return Err(std::io::Error::other(format!("not a 200: {line:?}")));
    }
    let (mut length, mut close) = (0usize, false);
    loop {
        line.clear();
        if conn.read_line(&mut line)? == 0 {
            return Err(std::io::Error::other("closed in the answer's head"));
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
    let pid = String::from_utf8_lossy(&body).trim().parse().unwrap_or(0);
    Ok((pid, close))
}

fn keep_alive_load(addr: SocketAddr) -> Load {
    let client = KeepAlive::new(addr);
    Load::start(CLIENTS, DEADLINE, move || client.request())
}

fn answered(records: &[weft_testkit::Record]) -> usize {
    records
        .iter()
        .filter(|r| matches!(r.outcome, Outcome::Answered(_)))
        .count()
}

fn reload_twice_fails_nothing(workers: u16) {
    let supervisor = ServeChild::weft_serve(
        env!("CARGO_BIN_EXE_weft"),
        ["--port", "0", "--workers", &workers.to_string()],
    );
    let mut cluster = Cluster::new(supervisor, |line| {
        if !line.contains("cluster worker ready") {
            return None;
        }
        let field = |key: &str| {
            line.split_whitespace()
                .find_map(|w| w.strip_prefix(key))
                .and_then(|v| v.parse::<u32>().ok())
        };
        Some((field("slot=")? as usize, field("pid=")?))
    });
    cluster.wait_ready(usize::from(workers));
    let load = keep_alive_load(cluster.addr);
    for round in 1..=2 {
        let before = answered(&load.records());
        load.wait_until("answers before the reload", |r| {
            answered(r) >= before + ANSWERS_AROUND
        });
        cluster.signal(SIGHUP);
        let mut seen = 0;
        cluster.wait_logged(
            |l| {
                seen += l.contains("cluster reload complete") as usize;
                seen == round
            },
            "the reload to complete",
        );
    }
    let after = answered(&load.records());
    load.wait_until("answers after the reloads", |r| {
        answered(r) >= after + ANSWERS_AROUND
    });
    let records = load.stop();
    let (sent, answered, refused, failed) = tally(&records);
    println!(
        "weft serve --workers {workers}, 2 x SIGHUP under keep-alive load ({CLIENTS} clients): \
         {sent} sent, {answered} answered, {refused} refused, {} failed",
        failed.len()
    );
    assert!(failed.is_empty(), "failed requests: {failed:?}");
    assert_eq!(refused, 0, "connections refused during a reload");
    cluster.signal(SIGTERM);
    assert!(cluster.wait_exit().success());
}

#[test]
fn two_reloads_of_two_workers_under_keep_alive_load_fail_no_request() {
    reload_twice_fails_nothing(2);
}

#[test]
fn two_reloads_of_one_worker_under_keep_alive_load_fail_no_request() {
    reload_twice_fails_nothing(1);
}

fn stop_fails_nothing(model: &str) {
    let mut server = ServeChild::weft_serve(
        env!("CARGO_BIN_EXE_weft"),
        ["--port", "0", "--loops", "2", "--model", model],
    );
    let load = keep_alive_load(server.addr);
    load.wait_until("answers before the stop", |r| answered(r) >= ANSWERS_AROUND);
    server.signal(SIGTERM);
    let status = server.wait_exit();
    let records = load.stop();
    let (sent, answered, refused, failed) = tally(&records);
    println!(
        "weft serve --model {model}, SIGTERM under keep-alive load ({CLIENTS} clients): \
         {sent} sent, {answered} answered, {refused} refused (after the listener closed), {} failed \
         {failed:?}",
        failed.len()
    );
    assert!(status.success(), "{model}: exit {status}");
    // No request on a kept-alive connection is lost. A client that reconnects (after its
    // `Connection: close` answer) in the microseconds between a loop's last accept and the
    // close of its `SO_REUSEPORT` listener is reset by the kernel, as by nginx's stop: at most
    // once per client, since the next attempt is refused.
    let kept: Vec<&String> = failed.iter().filter(|f| f.starts_with(KEPT)).collect();
    assert!(
        kept.is_empty(),
        "{model}: requests lost on kept-alive connections: {kept:?}"
    );
    assert!(
        failed.len() <= CLIENTS,
        "{model}: more failures than clients reconnecting: {failed:?}"
    );
}

#[test]
fn a_graceful_stop_under_keep_alive_load_fails_no_request_async() {
    stop_fails_nothing("async");
}

#[test]
fn a_graceful_stop_under_keep_alive_load_fails_no_request_green() {
    stop_fails_nothing("green");
}
