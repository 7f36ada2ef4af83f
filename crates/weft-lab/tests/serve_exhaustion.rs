//! Resource exhaustion, bounded and on loopback: `weft serve` started under `ulimit -n 256`
//! with 1,000 clients connecting at once answers the requests it has descriptors for, does not
//! spin while at the limit (its CPU time over a second at the limit is printed: a figure, not
//! an assertion), and once the pressure ends serves every new client normally again.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use weft_testkit::{ServeChild, WEFT_SERVE_START};

const CLIENTS: usize = 1_000;
const FD_LIMIT: u32 = 256;
const REQUEST: &[u8] = b"GET /plaintext HTTP/1.1\r\nHost: t\r\n\r\n";

/// utime + stime of `pid` in clock ticks (fields 14 and 15 of /proc/<pid>/stat).
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let after_name = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = after_name.split(' ').collect();
    // after_name starts at field 3 (state): utime is field 14, stime 15.
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

/// One request on a fresh connection; true if answered 200.
fn answered(addr: std::net::SocketAddr) -> bool {
    let Ok(mut c) = TcpStream::connect(addr) else {
        return false;
    };
    let _ = c.set_read_timeout(Some(Duration::from_secs(2)));
    if c.write_all(REQUEST).is_err() {
        return false;
    }
    let mut buf = [0u8; 512];
    matches!(c.read(&mut buf), Ok(n) if n > 12 && buf.starts_with(b"HTTP/1.1 200"))
}

#[test]
fn at_the_descriptor_limit_weft_serve_answers_what_it_can_and_recovers() {
    let mut command = Command::new("sh");
    command
        .arg("-c")
        .arg(format!(
            "ulimit -n {FD_LIMIT} && exec \"$0\" serve --port 0 --loops 1 --drain-grace 0",
        ))
        .arg(env!("CARGO_BIN_EXE_weft"))
        .stdin(Stdio::null())
        .stdout(Stdio::null());
    let mut server = ServeChild::spawn(command, weft_testkit::Watch::Stderr, WEFT_SERVE_START);
    let addr = server.addr;
    let pid = server.pid();
    assert!(answered(addr), "not serving before the pressure");

    // The pressure: 1,000 connections held open, each with a request sent.
    let mut clients = Vec::with_capacity(CLIENTS);
    for _ in 0..CLIENTS {
        match TcpStream::connect(addr) {
            Ok(mut c) => {
                let _ = c.write_all(REQUEST);
                let _ = c.set_read_timeout(Some(Duration::from_millis(1)));
                clients.push(c);
            }
            Err(e) => panic!("connect under pressure failed on the client side: {e}"),
        }
    }
    // Some are answered: those the server had descriptors for.
    let mut answered_under_pressure = 0;
    let deadline = Instant::now() + weft_testkit::DEADLINE;
    let mut buf = [0u8; 512];
    while answered_under_pressure == 0 {
        for c in &mut clients {
            if matches!(c.read(&mut buf), Ok(n) if n > 0) {
                answered_under_pressure += 1;
            }
        }
        assert!(
            Instant::now() < deadline,
            "no client answered at the descriptor limit"
        );
    }
    // At the limit (clients held): CPU over one second.
    let ticks_before = cpu_ticks(pid);
    let wall = Instant::now();
    std::thread::sleep(Duration::from_secs(1));
    let ticks = cpu_ticks(pid) - ticks_before;
    let cpu_percent = ticks as f64 / (wall.elapsed().as_secs_f64() * 100.0) * 100.0;
    for c in &mut clients {
        if matches!(c.read(&mut buf), Ok(n) if n > 0) {
            answered_under_pressure += 1;
        }
    }
    // The pressure ends.
    drop(clients);
    let released = Instant::now();
    weft_testkit::wait_until(
        "weft serve to answer a fresh client after the pressure",
        || answered(addr),
    );
    let recovered_in = released.elapsed();
    // And every client after that is served normally.
    for i in 0..50 {
        assert!(answered(addr), "client {i} after recovery not answered");
    }
    eprintln!(
        "ulimit -n {FD_LIMIT}, {CLIENTS} clients: {answered_under_pressure} answered under pressure; \
         CPU at the limit {cpu_percent:.1} % over 1 s ({ticks} ticks); first answer \
         {recovered_in:?} after the pressure ended"
    );
    let status = server.terminate();
    assert!(status.success(), "exit {status}");
}

/// Slow clients that trickle a head.
const TRICKLERS: usize = 10_000;
/// Seconds of trickling (one byte per connection per second; the head deadline is 10 s).
const TRICKLE_SECONDS: usize = 5;

/// Resident set size of `pid` in KiB.
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap()
}

#[test]
fn ten_thousand_trickling_heads_leave_a_fresh_client_answered() {
    // The slow connections and the other tests' clients (the server inherits it too).
    let want = (TRICKLERS + 3 * CLIENTS) as u64;
    let limit = weft_testkit::raise_fd_limit(want);
    assert!(
        limit >= want,
        "this test holds {TRICKLERS} sockets: the descriptor limit is {limit}, raise the hard \
         limit (ulimit -Hn {want}, or LimitNOFILE= for a service)"
    );
    let mut server = ServeChild::weft_serve(
        env!("CARGO_BIN_EXE_weft"),
        ["--port", "0", "--loops", "1", "--drain-grace", "0"],
    );
    let addr = server.addr;
    let pid = server.pid();
    assert!(answered(addr));
    let rss_before = rss_kib(pid);
    // A head that would be 15 KiB, sent one byte per second on each connection.
    let mut head = b"GET /plaintext HTTP/1.1\r\nHost: t\r\nX-Pad: ".to_vec();
    head.resize(15 * 1024, b'a');
    let mut slow = Vec::with_capacity(TRICKLERS);
    for i in 0..TRICKLERS {
        let c = TcpStream::connect(addr)
            .unwrap_or_else(|e| panic!("trickling connection {i} not accepted: {e}"));
        slow.push(c);
    }
    let mut fresh_latencies = Vec::new();
    let mut peak = rss_before;
    for second in 0..TRICKLE_SECONDS {
        let tick = Instant::now();
        for c in &mut slow {
            let _ = c.write_all(&head[second..second + 1]);
        }
        let asked = Instant::now();
        assert!(
            answered(addr),
            "a fresh client was not answered with {TRICKLERS} heads trickling (second {second})"
        );
        fresh_latencies.push(asked.elapsed());
        peak = peak.max(rss_kib(pid));
        if let Some(rest) = Duration::from_secs(1).checked_sub(tick.elapsed()) {
            // The trickle's pace: one byte per connection per second.
            std::thread::sleep(rest);
        }
    }
    let per_connection = (peak.saturating_sub(rss_before)) as f64 * 1024.0 / TRICKLERS as f64;
    eprintln!(
        "{TRICKLERS} connections trickling a head 1 byte/s for {TRICKLE_SECONDS} s: RSS \
         {rss_before} KiB -> peak {peak} KiB ({per_connection:.0} B per connection); fresh \
         client answered in {fresh_latencies:?}"
    );
    drop(slow);
    assert!(answered(addr));
    let status = server.terminate();
    assert!(status.success(), "exit {status}");
}

/// Connection attempts against the full accept queue.
const ATTEMPTS: usize = 100_000;
const ATTEMPT_THREADS: usize = 8;

#[test]
fn a_hundred_thousand_attempts_against_a_full_accept_queue_leave_it_serving() {
    let mut command = Command::new("sh");
    command
        .arg("-c")
        .arg(format!(
            "ulimit -n {FD_LIMIT} && exec \"$0\" serve --port 0 --loops 1 --drain-grace 0",
        ))
        .arg(env!("CARGO_BIN_EXE_weft"))
        .stdin(Stdio::null())
        .stdout(Stdio::null());
    let mut server = ServeChild::spawn(command, weft_testkit::Watch::Stderr, WEFT_SERVE_START);
    let addr = server.addr;
    // Hold the server's descriptors and then its accept queue: it cannot accept more.
    let held: Vec<TcpStream> = (0..CLIENTS)
        .map(|_| TcpStream::connect(addr).expect("connect while filling the queue"))
        .collect();
    let started = Instant::now();
    let attempts: Vec<_> = (0..ATTEMPT_THREADS)
        .map(|_| {
            std::thread::spawn(move || {
                let mut connected = 0usize;
                for _ in 0..ATTEMPTS / ATTEMPT_THREADS {
                    if TcpStream::connect_timeout(&addr, Duration::from_millis(1)).is_ok() {
                        connected += 1;
                    }
                }
                connected
            })
        })
        .collect();
    let connected: usize = attempts.into_iter().map(|t| t.join().unwrap()).sum();
    let took = started.elapsed();
    drop(held);
    let released = Instant::now();
    weft_testkit::wait_until("weft serve to answer after the attempts", || answered(addr));
    let recovered_in = released.elapsed();
    for i in 0..50 {
        assert!(answered(addr), "client {i} after the attempts not answered");
    }
    eprintln!(
        "{ATTEMPTS} connection attempts (1 ms timeout) against a full accept queue in {took:?}: \
         {connected} completed the handshake; first answer {recovered_in:?} after the queue \
         holders left"
    );
    let status = server.terminate();
    assert!(status.success(), "exit {status}");
}
