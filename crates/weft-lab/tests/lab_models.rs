//! Every model of `weft lab model NAME` serves the lab's app: `/`, `/io?ms=N`, `/cpu?ms=N`
//! (and `&offload=1`), refuses bad parameters with 400 and unknown paths with 404, keeps the
//! connection alive between requests, and `/crash` aborts the process serving it (the
//! supervised models serve on through another worker).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Bound on every wait, so that a broken model fails the test instead of hanging it.
const DEADLINE: Duration = Duration::from_secs(20);

struct Model {
    child: Child,
    addr: SocketAddr,
}

impl Drop for Model {
    fn drop(&mut self) {
        // The supervised models: SIGTERM lets the supervisor stop its workers.
        let _ = Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(name: &str) -> Model {
    let mut child = Command::new(env!("CARGO_BIN_EXE_weft"))
        .args(["lab", "model", name, "--port", "0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the model");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .strip_prefix("weft-lab-model listening on ")
        .and_then(|r| r.split_whitespace().next())
        .unwrap_or_else(|| panic!("{name}: unexpected first line {line:?}"))
        .parse()
        .unwrap();
    let model = Model { child, addr };
    // Supervised workers start after the supervisor's line: wait until `/` answers.
    let deadline = Instant::now() + DEADLINE;
    while get_once(model.addr, "/").map(|(s, _)| s) != Some(200) {
        assert!(Instant::now() < deadline, "{name} never answered GET /");
        std::thread::sleep(Duration::from_millis(20));
    }
    model
}

/// Reads one answer (head + Content-Length body) from `stream`.
fn read_answer(stream: &mut TcpStream) -> Option<(u16, String, String)> {
    let mut raw = Vec::new();
    let mut byte = [0u8; 1];
    while !raw.ends_with(b"\r\n\r\n") {
        if stream.read(&mut byte).ok()? == 0 {
            return None;
        }
        raw.push(byte[0]);
    }
    let head = String::from_utf8(raw).ok()?;
    let status = head.split(' ').nth(1)?.parse().ok()?;
    let length: usize = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-length:")
                .map(|v| v.trim().parse().unwrap())
        })
        .unwrap_or(0);
    let mut body = vec![0u8; length];
    stream.read_exact(&mut body).ok()?;
    Some((status, head, String::from_utf8(body).ok()?))
}

fn connect(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(DEADLINE)).unwrap();
    s
}

fn get_once(addr: SocketAddr, path: &str) -> Option<(u16, String)> {
    let mut s = TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(DEADLINE)).ok()?;
    write!(s, "GET {path} HTTP/1.1\r\nHost: t\r\n\r\n").ok()?;
    read_answer(&mut s).map(|(status, _, body)| (status, body))
}

fn check_routes(name: &str) {
    let model = start(name);
    // One keep-alive connection for every route.
    let mut conn = connect(model.addr);
    let mut ask = |path: &str| {
        write!(conn, "GET {path} HTTP/1.1\r\nHost: t\r\n\r\n").unwrap();
        let (status, _, body) =
            read_answer(&mut conn).unwrap_or_else(|| panic!("{name}: no answer to {path}"));
        (status, body)
    };
    assert_eq!(ask("/"), (200, "Hello, World!".to_string()), "{name}");
    let (status, body) = ask("/io?ms=5");
    assert_eq!((status, body.as_str()), (200, "waited 5 ms\n"), "{name}");
    let (status, body) = ask("/cpu?ms=2");
    assert!(
        status == 200 && body.starts_with("burned 2 ms on "),
        "{name}: {body}"
    );
    let (status, body) = ask("/cpu?ms=2&offload=1");
    assert_eq!(status, 200, "{name}: {body}");
    let (status, body) = ask("/io?ms=abc");
    assert!(
        status == 400 && body.contains("whole number"),
        "{name}: {status} {body}"
    );
    let (status, _) = ask("/io");
    assert_eq!(status, 400, "{name}");
    let (status, _) = ask("/nope");
    assert_eq!(status, 404, "{name}");
    drop(conn);

    // /crash: the connection ends without an answer.
    let mut crash = connect(model.addr);
    write!(crash, "GET /crash HTTP/1.1\r\nHost: t\r\n\r\n").unwrap();
    assert!(
        read_answer(&mut crash).is_none(),
        "{name}: /crash was answered"
    );
    let supervised = matches!(name, "prefork" | "cluster");
    let deadline = Instant::now() + DEADLINE;
    let mut model = model;
    loop {
        let exited = matches!(model.child.try_wait(), Ok(Some(_)));
        if supervised {
            assert!(!exited, "{name}: the supervisor died with its worker");
            if get_once(model.addr, "/").map(|(s, _)| s) == Some(200) {
                break;
            }
        } else if exited {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{name}: after /crash, neither exited nor served"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn blocking_serves_the_app() {
    check_routes("blocking");
}

#[test]
fn thread_per_conn_serves_the_app() {
    check_routes("thread-per-conn");
}

#[test]
fn thread_pool_serves_the_app() {
    check_routes("thread-pool");
}

#[test]
fn prefork_serves_the_app_and_survives_a_crash() {
    check_routes("prefork");
}

#[test]
fn loop_serves_the_app() {
    check_routes("loop");
}

#[test]
fn loops_serves_the_app() {
    check_routes("loops");
}

#[test]
fn green_serves_the_app() {
    check_routes("green");
}

#[test]
fn callback_serves_the_app() {
    check_routes("callback");
}

#[test]
fn cluster_serves_the_app_and_survives_a_crash() {
    check_routes("cluster");
}

#[test]
fn blocking_serves_one_connection_at_a_time() {
    let model = start("blocking");
    let mut first = connect(model.addr);
    write!(first, "GET / HTTP/1.1\r\nHost: t\r\n\r\n").unwrap();
    assert_eq!(read_answer(&mut first).unwrap().0, 200);
    // The first connection is still open: a second one is not served until it closes.
    let mut second = connect(model.addr);
    second
        .set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    write!(second, "GET / HTTP/1.1\r\nHost: t\r\n\r\n").unwrap();
    assert!(
        read_answer(&mut second).is_none(),
        "blocking served two connections at once"
    );
    drop(first);
    // Nothing of the answer was read before the timeout: once the first closes, it comes.
    second.set_read_timeout(Some(DEADLINE)).unwrap();
    assert_eq!(read_answer(&mut second).unwrap().0, 200);
}
