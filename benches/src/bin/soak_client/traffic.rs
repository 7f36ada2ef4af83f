//! The soak's clients: one std thread per client, each on one blocking connection at a time.
//!
//! Every kind of client loops until the stop: open a connection (`GET /pid` first, see
//! [`Conn::open`]), then repeat its request until the server says `Connection: close` (a
//! drain) or a request fails; then a new connection. A request fails if it errs (reset, early
//! close, 20 s without an answer) or its answer is wrong (status or body). The deliberate
//! resets and the stalled head are not requests: their outcomes are counted, not judged.

use std::io::Read;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::http::{Answer, Conn};
use crate::{pause, Config, Failure, Rng, Shared};

/// What one step of a client did: requests answered correctly, and whether the connection
/// stays open for the next.
type Step = Result<(u64, bool), String>;

/// The clients: (kind, how many, pause between steps in ms).
const CLIENTS: [(&str, usize, u64); 8] = [
    ("plain", 3, 2),
    ("pipelined", 1, 5),
    ("upload", 1, 5),
    ("range", 1, 5),
    ("sleep", 3, 0),
    ("slowloris", 3, 0),
    ("stall", 1, 0),
    ("reset", 1, 20),
];

/// Bytes of one upload chunk and chunks per upload.
const UPLOAD_CHUNK: usize = 8192;
const UPLOAD_CHUNKS: usize = 32;
/// Requests per pipelined batch.
const PIPELINE: usize = 8;
/// The slowloris head's delay between bytes: its ~60 bytes take about 3 s, well inside the
/// 10 s header deadline.
const SLOW_BYTE_MS: u64 = 50;
/// The stalled head: a byte every 500 ms, never finished; the server must answer 408 or
/// close within its 10 s header deadline (a failure if it is still open after this).
const STALL_LIMIT: Duration = Duration::from_secs(16);

pub fn spawn_all(
    shared: &Arc<Shared>,
    config: &Arc<Config>,
    content: &Arc<Vec<u8>>,
) -> Vec<JoinHandle<()>> {
    let mut handles = Vec::new();
    for (kind, n, pause_ms) in CLIENTS {
        for _ in 0..n {
            let (shared, config, content) = (shared.clone(), config.clone(), content.clone());
            handles.push(std::thread::spawn(move || {
                client(&shared, &config, kind, pause_ms, &content)
            }));
        }
    }
    handles
}

fn client(shared: &Shared, config: &Config, kind: &'static str, pause_ms: u64, content: &[u8]) {
    let mut rng = Rng::default();
    let name = config
        .file
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("file")
        .to_owned();
    let mut conn: Option<Conn> = None;
    while !shared.stopped() {
        let mut c = match conn.take() {
            Some(c) => c,
            None => match Conn::open(shared, config.addr) {
                Ok(c) => c,
                Err((opened_at, what)) => {
                    // Judged against the kills between the connect and now: one that hit the
                    // worker which had accepted it excuses it (`judge`).
                    shared.fail(Failure {
                        at: shared.now(),
                        conn_at: opened_at,
                        kind: "probe",
                        pid: None,
                        what,
                    });
                    pause(shared, 10);
                    continue;
                }
            },
        };
        let step = match kind {
            "plain" => plain(&mut c, &mut rng),
            "pipelined" => pipelined(&mut c),
            "upload" => upload(&mut c),
            "range" => range(&mut c, &mut rng, &name, content),
            "sleep" => sleep(&mut c, &mut rng),
            "slowloris" => slowloris(&mut c),
            "stall" => match stall(&mut c) {
                failed if failed.contains("FAILED") => Err(failed.to_owned()),
                outcome => {
                    shared.outcome(outcome);
                    Ok((0, false))
                }
            },
            _ => {
                shared.outcome(reset(&mut c, &mut rng));
                c.reset(shared);
                pause(shared, pause_ms);
                continue;
            }
        };
        match step {
            Ok((n, keep)) => {
                shared.count_ok(kind, n);
                if keep {
                    conn = Some(c);
                } else {
                    c.close(shared);
                }
            }
            Err(what) => {
                shared.fail(Failure {
                    at: shared.now(),
                    conn_at: c.opened_at,
                    kind,
                    pid: c.pid,
                    what,
                });
                c.close(shared);
            }
        }
        pause(shared, pause_ms);
    }
    if let Some(c) = conn {
        c.close(shared);
    }
}

/// Checks an answer's status and body.
fn expect(answer: &Answer, status: u16, body: impl FnOnce(&[u8]) -> bool) -> Result<(), String> {
    if answer.status != status {
        return Err(format!(
            "status {} (wanted {status}): {:?}",
            answer.status,
            String::from_utf8_lossy(&answer.body[..answer.body.len().min(120)])
        ));
    }
    if !body(&answer.body) {
        return Err(format!(
            "wrong body ({} bytes): {:?}",
            answer.body.len(),
            String::from_utf8_lossy(&answer.body[..answer.body.len().min(120)])
        ));
    }
    Ok(())
}

fn exchange(c: &mut Conn, request: &[u8]) -> Result<Answer, String> {
    c.send(request).map_err(|e| format!("write: {e}"))?;
    c.read()
}

fn plain(c: &mut Conn, rng: &mut Rng) -> Step {
    let (request, body): (&[u8], &[u8]) = if rng.below(4) == 0 {
        (
            b"GET /json HTTP/1.1\r\nHost: soak\r\n\r\n",
            br#"{"message":"Hello, World!"}"#,
        )
    } else {
        (b"GET / HTTP/1.1\r\nHost: soak\r\n\r\n", b"Hello, World!")
    };
    let answer = exchange(c, request)?;
    expect(&answer, 200, |b| b == body)?;
    Ok((1, !answer.close))
}

fn pipelined(c: &mut Conn) -> Step {
    let batch = b"GET /plaintext HTTP/1.1\r\nHost: soak\r\n\r\n".repeat(PIPELINE);
    c.send(&batch).map_err(|e| format!("write: {e}"))?;
    for i in 0..PIPELINE {
        let answer = c
            .read()
            .map_err(|e| format!("answer {} of {PIPELINE}: {e}", i + 1))?;
        expect(&answer, 200, |b| b == b"Hello, World!")?;
        // `Connection: close` (a drain) marks the last answer: the rest were not taken, as
        // HTTP/1.1 allows; a client sends them again elsewhere.
        if answer.close {
            return Ok((i as u64 + 1, false));
        }
    }
    Ok((PIPELINE as u64, true))
}

fn upload(c: &mut Conn) -> Step {
    c.send(b"POST /upload HTTP/1.1\r\nHost: soak\r\nTransfer-Encoding: chunked\r\n\r\n")
        .map_err(|e| format!("write head: {e}"))?;
    let mut chunk = format!("{UPLOAD_CHUNK:x}\r\n").into_bytes();
    chunk.extend(std::iter::repeat_n(b'u', UPLOAD_CHUNK));
    chunk.extend_from_slice(b"\r\n");
    for i in 0..UPLOAD_CHUNKS {
        c.send(&chunk)
            .map_err(|e| format!("write chunk {i}: {e}"))?;
        if i % 8 == 7 {
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    let answer = exchange(c, b"0\r\n\r\n")?;
    let want = format!("received {} bytes in ", UPLOAD_CHUNK * UPLOAD_CHUNKS);
    expect(&answer, 200, |b| b.starts_with(want.as_bytes()))?;
    Ok((1, !answer.close))
}

fn range(c: &mut Conn, rng: &mut Rng, name: &str, content: &[u8]) -> Step {
    let len = content.len() as u64;
    let dice = rng.below(16);
    let (header, status, want) = if dice == 0 {
        (String::new(), 200, content)
    } else if dice < 3 {
        let n = 1 + rng.below(len.min(65536));
        (
            format!("Range: bytes=-{n}\r\n"),
            206,
            &content[(len - n) as usize..],
        )
    } else {
        let a = rng.below(len);
        let b = (a + rng.below(65536)).min(len - 1);
        (
            format!("Range: bytes={a}-{b}\r\n"),
            206,
            &content[a as usize..=b as usize],
        )
    };
    let request = format!("GET /static/{name} HTTP/1.1\r\nHost: soak\r\n{header}\r\n");
    let answer = exchange(c, request.as_bytes())?;
    expect(&answer, status, |b| b == want)?;
    Ok((1, !answer.close))
}

fn sleep(c: &mut Conn, rng: &mut Rng) -> Step {
    let ms = rng.below(400);
    let answer = exchange(
        c,
        format!("GET /sleep?ms={ms} HTTP/1.1\r\nHost: soak\r\n\r\n").as_bytes(),
    )?;
    expect(&answer, 200, |b| b == format!("slept {ms} ms\n").as_bytes())?;
    Ok((1, !answer.close))
}

fn slowloris(c: &mut Conn) -> Step {
    let head = b"GET /json HTTP/1.1\r\nHost: soak\r\nX-Slow: trickled-one-byte-at-a-time\r\n\r\n";
    for (i, byte) in head.iter().enumerate() {
        c.send(std::slice::from_ref(byte))
            .map_err(|e| format!("write byte {i}: {e}"))?;
        std::thread::sleep(Duration::from_millis(SLOW_BYTE_MS));
    }
    let answer = c.read()?;
    expect(&answer, 200, |b| b == br#"{"message":"Hello, World!"}"#)?;
    Ok((1, !answer.close))
}

/// A head that never ends, a byte every 500 ms: the outcome the server chose.
fn stall(c: &mut Conn) -> &'static str {
    let start = Instant::now();
    if c.send(b"GET / HTTP/1.1\r\nHost: soak\r\nX-Stall: ")
        .is_err()
    {
        return "stall: closed";
    }
    c.stream
        .set_read_timeout(Some(Duration::from_millis(500)))
        .ok();
    let mut buf = [0u8; 512];
    while start.elapsed() < STALL_LIMIT {
        match c.reader.read(&mut buf) {
            Ok(0) => return "stall: closed",
            Ok(n) if buf[..n].starts_with(b"HTTP/1.1 408") => return "stall: 408",
            Ok(_) => return "stall: FAILED (an answer other than 408)",
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                if c.send(b"a").is_err() {
                    return "stall: closed";
                }
            }
            Err(_) => return "stall: closed",
        }
    }
    "stall: FAILED (still open past the header deadline)"
}

/// Sends part of a request (or all of one) and leaves it to `Conn::reset`.
fn reset(c: &mut Conn, rng: &mut Rng) -> &'static str {
    let (what, bytes): (&'static str, Vec<u8>) = match rng.below(3) {
        0 => (
            "reset: mid-head",
            b"GET /sleep?ms=5 HTTP/1.1\r\nHo".to_vec(),
        ),
        1 => {
            let mut b =
                b"POST /upload HTTP/1.1\r\nHost: soak\r\nContent-Length: 100000\r\n\r\n".to_vec();
            b.extend(std::iter::repeat_n(b'r', 5000));
            ("reset: mid-body", b)
        }
        _ => (
            "reset: before the answer",
            b"GET /sleep?ms=100 HTTP/1.1\r\nHost: soak\r\n\r\n".to_vec(),
        ),
    };
    let _ = c.send(&bytes);
    std::thread::sleep(Duration::from_millis(2 + rng.below(20)));
    what
}
