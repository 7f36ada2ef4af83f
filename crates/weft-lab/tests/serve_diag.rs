//! `weft serve --diag`: with the watchdog, a loop stuck in `/cpu` is reported and its waiting
//! clients are served by the other loop; `GET /debug/tasks` and SIGQUIT print the task dump and
//! the server goes on.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

/// Longest any wait may take before the test fails (a hang detector, not a timing assertion).
const GUARD: Duration = Duration::from_secs(30);

/// How long `/cpu` keeps one loop stuck: long enough for every fast request below to be
/// answered many times over by a healthy loop, so only a missing hand-off fails the test.
const STALL_MS: u64 = 6_000;

/// New connections opened while the loop is stuck: with two `SO_REUSEPORT` listeners about
/// half land on the stuck loop's queue, so 24 miss it with a chance of 2^-24.
const FAST_CLIENTS: usize = 24;

struct Serve {
    child: Child,
    addr: SocketAddr,
    log: mpsc::Receiver<String>,
}

impl Serve {
    fn start(diag: &str) -> Serve {
        Serve::start_on("127.0.0.1", diag)
    }

    fn start_on(host: &str, diag: &str) -> Serve {
        let mut child = Command::new(env!("CARGO_BIN_EXE_weft"))
            .args(["serve", "--host", host, "--port", "0", "--loops", "2"])
            .args(["--diag", diag])
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .expect("weft binary runs");
        let (tx, log) = mpsc::channel();
        let stderr = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut serve = Serve {
            child,
            addr: "127.0.0.1:1".parse().unwrap(),
            log,
        };
        let line = serve.wait_for("listening on http://");
        serve.addr = line
            .split("listening on http://")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|a| a.parse().ok())
            .unwrap_or_else(|| panic!("no address in start line {line:?}"));
        serve
    }

    fn wait_for(&self, needle: &str) -> String {
        let deadline = Instant::now() + GUARD;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.log.recv_timeout(left) {
                Ok(line) if line.contains(needle) => return line,
                Ok(_) => {}
                Err(_) => panic!("weft serve never logged {needle:?}"),
            }
        }
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One `GET path` on a new connection; the status line and body, or the error.
fn get(addr: SocketAddr, path: &str, timeout: Duration) -> std::io::Result<(String, String)> {
    let mut stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(timeout))?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n"
    )?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer)?;
    let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
    Ok((
        head.lines().next().unwrap_or("").to_string(),
        body.to_string(),
    ))
}

#[test]
fn a_stuck_loop_keeps_new_clients_answered() {
    let serve = Serve::start("watchdog=50ms");
    let addr = serve.addr;
    let cpu_done = Arc::new(AtomicBool::new(false));
    let done = cpu_done.clone();
    let cpu = std::thread::spawn(move || {
        let answer = get(addr, &format!("/cpu?ms={STALL_MS}"), GUARD);
        done.store(true, SeqCst);
        answer
    });
    serve.wait_for("is stalled");
    for i in 0..FAST_CLIENTS {
        let (status, body) = get(addr, "/", GUARD).unwrap_or_else(|e| panic!("client {i}: {e}"));
        assert!(status.contains("200"), "client {i}: {status}");
        assert_eq!(body, "Hello, World!");
    }
    assert!(
        !cpu_done.load(SeqCst),
        "the stall ended before the fast clients were served; the test proves nothing"
    );
    let (status, _) = cpu.join().unwrap().unwrap();
    assert!(status.contains("200"), "{status}");
    serve.wait_for("running again");
}

#[test]
fn debug_tasks_and_sigquit_print_the_dump() {
    let serve = Serve::start("watchdog");
    let (status, body) = get(serve.addr, "/debug/tasks", GUARD).unwrap();
    assert!(status.contains("200"), "{status}");
    assert!(body.starts_with("weft task dump"), "{body}");
    assert!(body.contains("loop 0") && body.contains("loop 1"), "{body}");

    let killed = Command::new("kill")
        .args(["-QUIT", &serve.child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    serve.wait_for("weft task dump");
    // The process goes on.
    let (status, _) = get(serve.addr, "/", GUARD).unwrap();
    assert!(status.contains("200"), "{status}");
}

/// This machine's address on its default route, if it has one (no packet is sent: a UDP
/// `connect` only picks the route).
fn non_loopback_address() -> Option<std::net::IpAddr> {
    let socket = std::net::UdpSocket::bind("0.0.0.0:0").ok()?;
    socket.connect("192.0.2.1:9").ok()?;
    let ip = socket.local_addr().ok()?.ip();
    (!ip.is_loopback() && !ip.is_unspecified()).then_some(ip)
}

#[test]
fn debug_tasks_refuses_clients_that_are_not_on_loopback() {
    let Some(ip) = non_loopback_address() else {
        eprintln!("no non-loopback address on this machine; nothing to check");
        return;
    };
    let serve = Serve::start_on("0.0.0.0", "watchdog");
    let outside = SocketAddr::new(ip, serve.addr.port());
    let (status, body) = get(outside, "/debug/tasks", GUARD).unwrap();
    assert!(status.contains("403"), "{status} {body}");
    let local = SocketAddr::new("127.0.0.1".parse().unwrap(), serve.addr.port());
    let (status, _) = get(local, "/debug/tasks", GUARD).unwrap();
    assert!(status.contains("200"), "{status}");
}
