//! `weft serve --model green` end to end: the routes answer, pipelined
//! requests are answered in order, bad input gets a status, a parked
//! connection does not hold up others on the same loop, and SIGTERM stops
//! the server cleanly.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// Bound on every socket read, so a hung server fails the test instead of
/// hanging it.
const IO_DEADLINE: Duration = Duration::from_secs(30);

struct Server {
    child: Child,
    addr: SocketAddr,
}

impl Server {
    fn start() -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_weft"))
            .args(["serve", "--model", "green", "--port", "0", "--loops", "1"])
            .stderr(Stdio::piped())
            .spawn()
            .expect("start weft serve");
        let stderr = child.stderr.take().unwrap();
        let mut lines = BufReader::new(stderr).lines();
        let addr = loop {
            let line = lines.next().expect("start line").expect("stderr");
            if let Some(rest) = line.split("listening on http://").nth(1) {
                let addr = rest.split_whitespace().next().unwrap();
                break addr.parse().expect("address in the start line");
            }
        };
        // Keep draining stderr so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Server { child, addr }
    }

    fn connect(&self) -> TcpStream {
        let s = TcpStream::connect(self.addr).unwrap();
        s.set_read_timeout(Some(IO_DEADLINE)).unwrap();
        s
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Reads one response (head and `Content-Length` body) from `r`.
fn read_response(r: &mut BufReader<TcpStream>) -> (u16, String, String) {
    let mut head = String::new();
    loop {
        let mut line = String::new();
        assert!(
            r.read_line(&mut line).unwrap() > 0,
            "connection closed mid-response"
        );
        if line == "\r\n" {
            break;
        }
        head.push_str(&line);
    }
    let status = head[9..12].parse().unwrap();
    let len: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("Content-Length: "))
        .map_or(0, |v| v.trim().parse().unwrap());
    let mut body = vec![0; len];
    r.read_exact(&mut body).unwrap();
    (status, head, String::from_utf8(body).unwrap())
}

#[test]
fn serves_routes_pipelined_and_refuses_bad_input() {
    let server = Server::start();
    let mut conn = server.connect();
    conn.write_all(
        b"GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\nGET /json HTTP/1.1\r\nHost: x\r\n\r\nHEAD / HTTP/1.1\r\nHost: x\r\n\r\n",
    )
    .unwrap();
    let mut r = BufReader::new(conn);
    let (status, head, body) = read_response(&mut r);
    assert_eq!((status, body.as_str()), (200, "Hello, World!"));
    assert!(head.contains("Content-Type: text/plain"), "{head}");
    assert!(head.contains("Date: "), "{head}");
    let (status, _, body) = read_response(&mut r);
    assert_eq!(
        (status, body.as_str()),
        (200, r#"{"message":"Hello, World!"}"#)
    );
    // HEAD: the length of the body it would have, and no body.
    let mut head = String::new();
    loop {
        let mut line = String::new();
        r.read_line(&mut line).unwrap();
        if line == "\r\n" {
            break;
        }
        head.push_str(&line);
    }
    assert!(head.starts_with("HTTP/1.1 200 OK"), "{head}");
    assert!(head.contains("Content-Length: 13"), "{head}");

    let mut conn = server.connect();
    conn.write_all(b"GET /sleep?ms=oops HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let (status, _, body) = read_response(&mut BufReader::new(conn));
    assert_eq!(status, 400);
    assert!(body.contains("ms must be"), "{body}");

    let mut conn = server.connect();
    conn.write_all(b"NOT HTTP AT ALL\r\n\r\n").unwrap();
    let mut r = BufReader::new(conn);
    let (status, head, _) = read_response(&mut r);
    assert_eq!(status, 400);
    assert!(head.contains("Connection: close"), "{head}");
    let mut rest = Vec::new();
    r.read_to_end(&mut rest).unwrap();
    assert!(rest.is_empty(), "closed after the refusal");
}

#[test]
fn a_parked_connection_does_not_hold_up_the_loop() {
    let server = Server::start();
    // Half a request: its green thread parks in `read` (same loop: --loops 1).
    let mut parked = server.connect();
    parked.write_all(b"GET /sleep?ms=1 HTTP/1.1\r\nHo").unwrap();
    // Another connection is served meanwhile.
    let mut quick = server.connect();
    quick
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let (status, _, _) = read_response(&mut BufReader::new(quick));
    assert_eq!(status, 200);
    // The parked one has had no answer, and gets one once complete (its
    // handler parks again, in the sleep).
    parked.set_nonblocking(true).unwrap();
    let mut byte = [0u8; 1];
    let pending = parked.read(&mut byte).map_err(|e| e.kind());
    assert_eq!(
        pending,
        Err(std::io::ErrorKind::WouldBlock),
        "no answer yet"
    );
    parked.set_nonblocking(false).unwrap();
    parked.write_all(b"st: x\r\n\r\n").unwrap();
    let (status, _, body) = read_response(&mut BufReader::new(parked));
    assert_eq!(status, 200);
    assert_eq!(body, "slept 1 ms\n");
}

#[test]
fn sigterm_stops_the_server() {
    let mut server = Server::start();
    let pid = server.child.id();
    let status = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = server.child.wait().unwrap();
    assert!(exit.success(), "clean exit after SIGTERM: {exit:?}");
}
