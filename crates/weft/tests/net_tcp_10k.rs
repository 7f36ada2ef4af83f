//! 10,000 concurrent TCP connections echoing on one loop.
//!
//! The server runs on one loop thread of this process; the clients run in a child process (the
//! same test binary, re-executed), because both ends of 10,000 connections in one process would
//! need more descriptors than a default hard limit of 20,000 allows.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use weft::net::{ListenOptions, TcpListener, TcpStream};
use weft::rt::Runtime;
use weft_testkit::{Watch, WatchedChild};

const CONNECTIONS: usize = 10_000;
const CLIENT_ENV: &str = "WEFT_TEST_10K_CLIENT_OF";

/// Raises the soft descriptor limit to the hard one.
fn raise_fd_limit() -> u64 {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit with a pointer to a live rlimit.
    unsafe {
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim);
        lim.rlim_cur = lim.rlim_max;
        libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
    }
    lim.rlim_cur
}

/// Child side: open every connection, wait until all are open, then echo a unique message on
/// each and check the answer.
fn run_clients(addr: std::net::SocketAddr) {
    let rt = Runtime::builder().current_thread().build().unwrap();
    rt.block_on(async move {
        let mut streams = Vec::with_capacity(CONNECTIONS);
        // Connect in waves so the listen backlog is never overrun.
        for wave in (0..CONNECTIONS).collect::<Vec<_>>().chunks(500) {
            let pending: Vec<_> = wave
                .iter()
                .map(|_| weft::spawn(TcpStream::connect(addr)))
                .collect();
            for p in pending {
                streams.push(p.await.unwrap().unwrap());
            }
        }
        let tasks: Vec<_> = streams
            .into_iter()
            .enumerate()
            .map(|(i, s)| {
                weft::spawn(async move {
                    let msg = format!("connection {i:05}");
                    s.write_all(msg.as_bytes()).await.unwrap();
                    let mut buf = vec![0u8; msg.len()];
                    s.read_exact(&mut buf).await.unwrap();
                    assert_eq!(buf, msg.as_bytes());
                    s
                })
            })
            .collect();
        let mut open = Vec::with_capacity(CONNECTIONS);
        for t in tasks {
            open.push(t.await.unwrap());
        }
        assert_eq!(open.len(), CONNECTIONS);
    });
}

#[test]
fn ten_thousand_connections_echo_on_one_loop() {
    raise_fd_limit();
    if let Ok(addr) = std::env::var(CLIENT_ENV) {
        return run_clients(addr.parse().unwrap());
    }
    let rt = Runtime::builder().loops(1).build().unwrap();
    let live = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let echoed = Arc::new(AtomicUsize::new(0));
    let (addr_tx, addr_rx) = std::sync::mpsc::channel();
    let server = rt.spawn_on(0, {
        let (live, peak, echoed) = (live.clone(), peak.clone(), echoed.clone());
        async move {
            let opts = ListenOptions::default().backlog(4096);
            let listener = TcpListener::bind_with("127.0.0.1:0", &opts).unwrap();
            addr_tx.send(listener.local_addr().unwrap()).unwrap();
            let loop_thread = std::thread::current().id();
            for _ in 0..CONNECTIONS {
                let (s, _) = listener.accept().await.unwrap();
                let (live, peak, echoed) = (live.clone(), peak.clone(), echoed.clone());
                weft::spawn(async move {
                    assert_eq!(std::thread::current().id(), loop_thread);
                    let now = live.fetch_add(1, SeqCst) + 1;
                    peak.fetch_max(now, SeqCst);
                    let mut buf = [0u8; 64];
                    loop {
                        match s.read(&mut buf).await {
                            Ok(0) | Err(_) => break,
                            Ok(n) => {
                                s.write_all(&buf[..n]).await.unwrap();
                                echoed.fetch_add(n, SeqCst);
                            }
                        }
                    }
                    live.fetch_sub(1, SeqCst);
                });
            }
        }
    });
    let addr = addr_rx
        .recv_timeout(common::DEADLINE)
        .expect("the server listens");
    let mut clients = std::process::Command::new(std::env::current_exe().unwrap());
    clients
        .args([
            "ten_thousand_connections_echo_on_one_loop",
            "--exact",
            "--nocapture",
        ])
        .env(CLIENT_ENV, addr.to_string());
    // Waited for with the deadline (and killed after it), so a stuck client fails the test.
    let mut clients = WatchedChild::spawn(clients, Watch::Stdout, common::DEADLINE);
    let status = clients.wait_exit();
    assert!(
        status.success(),
        "client process failed: {status}; it printed:\n{}",
        clients.log.join("\n")
    );
    rt.block_on(weft::time::timeout(common::DEADLINE, server))
        .expect("the server accepted every connection")
        .unwrap();
    assert_eq!(
        peak.load(SeqCst),
        CONNECTIONS,
        "not all connections were open at once"
    );
    let expected: usize = (0..CONNECTIONS)
        .map(|i| format!("connection {i:05}").len())
        .sum();
    weft_testkit::wait_until("every echo done and every connection closed", || {
        echoed.load(SeqCst) == expected && live.load(SeqCst) == 0
    });
}
