//! A green echo server (one green thread per connection, blocking-style
//! code) serving 1,000 concurrent green clients on one loop; and the same
//! over Unix sockets.

use std::cell::Cell;
use std::io::{Read, Write};
use std::rc::Rc;
use std::time::Duration;

use weft::green;

/// Clients connected at once (the issue asks for 1,000).
const CLIENTS: usize = 1_000;

/// Bytes each client sends and expects back: more than one TCP segment, so
/// reads come back in pieces and `read_exact`'s loop is exercised.
const MESSAGE_LEN: usize = 4_096;

/// Bound on the whole exchange, so a lost wake-up fails instead of hanging.
const DEADLINE: Duration = Duration::from_secs(120);

/// A message unique to client `id`.
fn message(id: usize) -> Vec<u8> {
    (0..MESSAGE_LEN).map(|i| (id * 31 + i) as u8).collect()
}

fn echo(mut conn: impl Read + Write) -> std::io::Result<u64> {
    let mut buf = [0u8; 1024];
    let mut total = 0;
    loop {
        let n = conn.read(&mut buf)?;
        if n == 0 {
            return Ok(total);
        }
        conn.write_all(&buf[..n])?;
        total += n as u64;
    }
}

#[test]
fn green_echo_server_with_1000_clients() {
    let rt = weft::rt::Runtime::builder()
        .current_thread()
        .build()
        .unwrap();
    rt.block_on(async {
        let listener = green::TcpListener::bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let addr = listener.local_addr().unwrap();
        let served = Rc::new(Cell::new(0usize));
        let server = {
            let served = served.clone();
            green::spawn(move || {
                for _ in 0..CLIENTS {
                    let (conn, _) = listener.accept().expect("accept");
                    let served = served.clone();
                    green::spawn(move || {
                        let echoed = echo(conn).expect("echo");
                        assert_eq!(echoed, MESSAGE_LEN as u64);
                        served.set(served.get() + 1);
                    });
                }
            })
        };
        let clients: Vec<_> = (0..CLIENTS)
            .map(|id| {
                green::spawn(move || {
                    let mut conn = green::TcpStream::connect(addr).expect("connect");
                    let msg = message(id);
                    conn.write_all(&msg).expect("write");
                    conn.shutdown(std::net::Shutdown::Write).expect("shutdown");
                    let mut back = Vec::new();
                    conn.read_to_end(&mut back).expect("read back");
                    assert!(back == msg, "client {id} got a different echo");
                })
            })
            .collect();
        let all = async {
            server.await.expect("server");
            for c in clients {
                c.await.expect("client");
            }
        };
        weft::time::timeout(DEADLINE, all)
            .await
            .expect("all clients done in time");
        // Every connection green thread finished once its client had the
        // whole echo; wait for the last ones to record it.
        let settle = async {
            while served.get() < CLIENTS {
                weft::yield_now().await;
            }
        };
        weft::time::timeout(DEADLINE, settle)
            .await
            .expect("all connections closed");
    });
}

#[test]
fn green_unix_echo_and_timeouts() {
    let dir = std::env::temp_dir().join(format!("weft-green-unix-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("echo.sock");
    let _ = std::fs::remove_file(&path);
    let rt = weft::rt::Runtime::builder()
        .current_thread()
        .build()
        .unwrap();
    rt.block_on(async {
        let listener = green::UnixListener::bind(&path).unwrap();
        let server = green::spawn(move || echo(listener.accept().expect("accept")).expect("echo"));
        let p = path.clone();
        let client = green::spawn(move || {
            let mut conn = green::UnixStream::connect(&p).expect("connect");
            conn.write_all(b"over unix").unwrap();
            let mut back = [0u8; 9];
            conn.read_exact(&mut back).unwrap();
            assert_eq!(&back, b"over unix");

            // A read with nothing to read times out with TimedOut; the
            // connection stays usable.
            conn.set_read_timeout(Some(Duration::from_millis(20)))
                .unwrap();
            let err = conn.read(&mut back).unwrap_err();
            assert_eq!(err.kind(), std::io::ErrorKind::TimedOut);
            conn.write_all(b"again").unwrap();
            conn.read_exact(&mut back[..5]).unwrap();
            assert_eq!(&back[..5], b"again");
            assert!(conn.set_read_timeout(Some(Duration::ZERO)).is_err());
        });
        weft::time::timeout(DEADLINE, client)
            .await
            .expect("in time")
            .expect("client");
        let echoed = weft::time::timeout(DEADLINE, server)
            .await
            .expect("in time")
            .expect("server");
        assert_eq!(echoed, 14);
    });
    let _ = std::fs::remove_dir_all(&dir);
}
