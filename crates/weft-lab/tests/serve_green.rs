//! `weft serve --model green` end to end: the routes answer, pipelined
//! requests are answered in order, bad input gets a status, a parked
//! connection does not hold up others on the same loop, and SIGTERM stops
//! the server cleanly.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use weft_testkit::{ServeChild, DEADLINE};

/// Bound on every socket read, so a hung server fails the test instead of
/// hanging it.
const IO_DEADLINE: Duration = DEADLINE;

/// `weft serve --model green` on one loop, its log watched; killed if the test ends without
/// stopping it.
struct Server(ServeChild);

impl Server {
    fn start() -> Server {
        Server(ServeChild::weft_serve(
            env!("CARGO_BIN_EXE_weft"),
            ["--model", "green", "--port", "0", "--loops", "1"],
        ))
    }

    fn connect(&self) -> TcpStream {
        let s = TcpStream::connect(self.0.addr).unwrap();
        s.set_read_timeout(Some(IO_DEADLINE)).unwrap();
        s
    }

    /// Sends SIGTERM and waits (with the deadline) for the exit; returns the exit status and
    /// what the server logged.
    fn terminate(&mut self) -> (std::process::ExitStatus, Vec<String>) {
        let exit = self.0.terminate();
        (exit, self.0.log.clone())
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
fn request_bodies_are_decoded_like_the_async_server_does() {
    let server = Server::start();
    // A chunked body (the lab routes take none: 405, after the body was read
    // off the wire), a Content-Length body, then a plain GET, pipelined.
    let mut conn = server.connect();
    conn.write_all(
        b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n\
          4\r\nwxyz\r\n0\r\n\r\n\
          POST /json HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc\
          GET / HTTP/1.1\r\nHost: x\r\n\r\n",
    )
    .unwrap();
    let mut r = BufReader::new(conn);
    let (status, head, _) = read_response(&mut r);
    assert_eq!(status, 405, "{head}");
    assert!(head.contains("Allow: GET, HEAD"), "{head}");
    let (status, _, _) = read_response(&mut r);
    assert_eq!(status, 405);
    let (status, _, body) = read_response(&mut r);
    assert_eq!((status, body.as_str()), (200, "Hello, World!"));

    // A body over the limit is refused before it is read, and the
    // connection closes.
    let mut conn = server.connect();
    conn.write_all(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 999999999\r\n\r\n")
        .unwrap();
    let mut r = BufReader::new(conn);
    let (status, head, _) = read_response(&mut r);
    assert_eq!(status, 413, "{head}");
    let mut rest = Vec::new();
    r.read_to_end(&mut rest).unwrap();
    assert!(rest.is_empty(), "closed after the refusal");
}

#[test]
fn uploads_stream_through_a_green_thread_one_read_at_a_time() {
    let server = Server::start();
    // Eight times the buffered-body limit (1 MiB): refused with 413 if the
    // green model buffered it. A request pipelined behind it is answered after.
    let len = 8 << 20;
    let conn = server.connect();
    let mut writer = conn.try_clone().unwrap();
    writer
        .write_all(
            format!(
                "POST /upload HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n\
                 Content-Length: {len}\r\n\r\n"
            )
            .as_bytes(),
        )
        .unwrap();
    let mut r = BufReader::new(conn.try_clone().unwrap());
    // The reader asked: the client is invited to send.
    let (status, _, _) = read_response(&mut r);
    assert_eq!(status, 100);
    let sender = std::thread::spawn(move || {
        let block = vec![b'u'; 64 * 1024];
        for _ in 0..len / block.len() {
            writer.write_all(&block).unwrap();
        }
        writer
            .write_all(b"GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
    });
    let (status, _, body) = read_response(&mut r);
    sender.join().unwrap();
    assert_eq!(status, 200, "{body}");
    let chunks: usize = body
        .strip_prefix(&format!("received {len} bytes in "))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("unexpected answer {body:?}"));
    assert!(
        chunks >= len / (64 * 1024),
        "{chunks} chunks: the body was buffered"
    );
    let (status, _, body) = read_response(&mut r);
    assert_eq!((status, body.as_str()), (200, "Hello, World!"));
    conn.shutdown(std::net::Shutdown::Both).unwrap();
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
fn sigterm_closes_idle_connections_and_stops() {
    let mut server = Server::start();
    // A keep-alive connection that got its answer and now sits idle.
    let mut idle = server.connect();
    idle.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut idle = BufReader::new(idle);
    assert_eq!(read_response(&mut idle).0, 200);
    // A second connection served on the same loop (--loops 1) after that
    // answer: by then the first connection's green thread went straight
    // from its write to its next read, where it is parked, idle.
    let mut other = server.connect();
    other
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    assert_eq!(read_response(&mut BufReader::new(other)).0, 200);
    let (exit, log) = server.terminate();
    assert!(exit.success(), "clean exit after SIGTERM: {exit:?}");
    // Closed by the drain, not left to the drain deadline.
    assert!(
        !log.iter().any(|l| l.contains("still open")),
        "the idle connection was closed at once: {log:?}"
    );
    let mut rest = Vec::new();
    let closed = idle.read_to_end(&mut rest).map(|_| rest.is_empty());
    assert!(
        matches!(closed, Ok(true) | Err(_)),
        "no more data, connection closed"
    );
}

#[test]
fn a_head_partly_received_when_the_drain_begins_is_answered_after_the_quiet_period() {
    // As the async server's test of the same name (weft-http's http_shutdown): a slow client
    // has sent part of its head when SIGTERM begins the drain and the rest only after the
    // drain's 1 s quiet period. Its request is arriving, so it keeps its header deadline and
    // is answered; closing it at the quiet period's end failed such requests at every reload.
    let mut server = Server::start();
    let addr = server.0.addr;
    let mut slow = server.connect();
    let mut reader = BufReader::new(slow.try_clone().unwrap());
    slow.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    assert_eq!(read_response(&mut reader).0, 200);
    slow.write_all(b"GET / HTTP/1.1\r\nHo").unwrap();
    server.0.signal(libc::SIGTERM);
    weft_testkit::wait_until("the listener closed (the drain began)", || {
        TcpStream::connect(addr).is_err()
    });
    // More of the head during the drain (the green thread wakes and waits again, now with
    // the drain's quiet period in force), then, at the client's pace, not as a wait for the
    // server, the rest after the quiet period.
    slow.write_all(b"st: x\r\n").unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    slow.write_all(b"\r\n").unwrap();
    let (status, _, body) = read_response(&mut reader);
    assert_eq!(status, 200, "the slow request was answered");
    assert!(!body.is_empty());
    let exit = server.0.wait_exit();
    assert!(exit.success(), "clean exit after SIGTERM: {exit:?}");
}
