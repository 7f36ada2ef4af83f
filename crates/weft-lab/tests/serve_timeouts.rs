//! `weft serve`'s client deadlines, in both models, against real trickling
//! clients: a head (or a body) must be complete within its limit however
//! slowly its bytes arrive (a byte now and then never extends it) and is
//! answered 408 and closed; an idle keep-alive connection is closed silently;
//! other clients are served meanwhile.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::mpsc;
use std::time::Duration;

use weft_testkit::{ServeChild, DEADLINE};

/// The limits the server is started with: short, so that the test is short.
const HEADER_MS: &str = "600";
const BODY_MS: &str = "600";
const IDLE_MS: &str = "600";

/// Gap between two trickled bytes: well inside every limit, so a deadline
/// re-armed per read would never fire.
const TRICKLE_GAP: Duration = Duration::from_millis(50);

fn serve(model: &str) -> ServeChild {
    ServeChild::weft_serve(
        env!("CARGO_BIN_EXE_weft"),
        [
            "--port",
            "0",
            "--loops",
            "1",
            "--model",
            model,
            "--header-timeout-ms",
            HEADER_MS,
            "--body-timeout-ms",
            BODY_MS,
            "--idle-timeout-ms",
            IDLE_MS,
        ],
    )
}

/// Sends `prefix` at once, then trickles `trickle` one byte per
/// [`TRICKLE_GAP`] (repeating it) until the server has answered and closed;
/// returns everything the server sent. Fails if it has not closed within
/// [`DEADLINE`].
fn trickle(addr: SocketAddr, prefix: &[u8], trickle: &[u8]) -> String {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(DEADLINE)).unwrap();
    let mut reader = stream.try_clone().unwrap();
    let (done_tx, done_rx) = mpsc::channel();
    let reading = std::thread::spawn(move || {
        let mut answer = Vec::new();
        let _ = reader.read_to_end(&mut answer);
        let _ = done_tx.send(());
        String::from_utf8_lossy(&answer).into_owned()
    });
    stream.write_all(prefix).unwrap();
    let started = std::time::Instant::now();
    for byte in trickle.iter().cycle() {
        match done_rx.recv_timeout(TRICKLE_GAP) {
            Ok(()) | Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Err(mpsc::RecvTimeoutError::Timeout) => {}
        }
        assert!(
            started.elapsed() < DEADLINE,
            "the server kept a trickling connection open for {DEADLINE:?}"
        );
        if stream.write_all(&[*byte]).is_err() {
            break;
        }
    }
    reading.join().unwrap()
}

fn plaintext_status(addr: SocketAddr) -> String {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(DEADLINE)).unwrap();
    stream
        .write_all(b"GET /plaintext HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    answer.lines().next().unwrap_or_default().to_owned()
}

fn head_trickle_gets_408(model: &str) {
    let mut server = serve(model);
    let addr = server.addr;
    let other = std::thread::spawn(move || {
        std::thread::sleep(TRICKLE_GAP);
        plaintext_status(addr)
    });
    let answer = trickle(addr, b"GET / HTTP/1.1\r\nHost: t\r\nX-Pad: ", b"a");
    assert!(answer.starts_with("HTTP/1.1 408"), "{model}: {answer:?}");
    assert_eq!(other.join().unwrap(), "HTTP/1.1 200 OK", "{model}");
    assert!(server.terminate().success());
}

#[test]
fn async_a_head_trickled_byte_by_byte_gets_408_and_a_close() {
    head_trickle_gets_408("async");
}

#[test]
fn green_a_head_trickled_byte_by_byte_gets_408_and_a_close() {
    head_trickle_gets_408("green");
}

fn body_trickle_gets_408(model: &str) {
    let mut server = serve(model);
    // A buffered body must be whole within the limit (a streamed one, of any
    // size, is limited by its longest silence instead, as in weft-http).
    let head = "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 100000\r\n\r\n";
    let answer = trickle(server.addr, head.as_bytes(), b"x");
    assert!(answer.starts_with("HTTP/1.1 408"), "{model}: {answer:?}");
    assert!(server.terminate().success());
}

#[test]
fn async_a_body_trickled_byte_by_byte_gets_408() {
    body_trickle_gets_408("async");
}

#[test]
fn green_a_body_trickled_byte_by_byte_gets_408() {
    body_trickle_gets_408("green");
}

fn idle_connection_is_closed_silently(model: &str) {
    let mut server = serve(model);
    let mut stream = TcpStream::connect(server.addr).unwrap();
    stream.set_read_timeout(Some(DEADLINE)).unwrap();
    stream
        .write_all(b"GET /plaintext HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    let mut answer = Vec::new();
    // The answer, then (after the idle limit) the end of the stream.
    let _ = stream.read_to_end(&mut answer);
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 200"), "{model}: {answer:?}");
    assert_eq!(answer.matches("HTTP/1.1").count(), 1, "{model}: {answer:?}");
    assert!(server.terminate().success());
}

#[test]
fn async_an_idle_connection_is_closed_silently() {
    idle_connection_is_closed_silently("async");
}

#[test]
fn green_an_idle_connection_is_closed_silently() {
    idle_connection_is_closed_silently("green");
}
