//! An accept loop that runs out of descriptors keeps its listener, backs off and recovers.
//!
//! This file is its own test binary because it lowers the process's descriptor limit.

mod common;

use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::Arc;
use std::time::{Duration, Instant};
use weft::net::TcpListener;
use weft::rt::Runtime;

fn set_fd_limit(soft: u64) {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit with a pointer to a live rlimit.
    unsafe {
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim);
        lim.rlim_cur = soft.min(lim.rlim_max);
        assert_eq!(libc::setrlimit(libc::RLIMIT_NOFILE, &lim), 0);
    }
}

fn cpu_time() -> Duration {
    // SAFETY: getrusage writes into a live rusage.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    Duration::from_micros((ru.ru_utime.tv_sec * 1_000_000 + ru.ru_utime.tv_usec) as u64)
        + Duration::from_micros((ru.ru_stime.tv_sec * 1_000_000 + ru.ru_stime.tv_usec) as u64)
}

#[test]
fn emfile_backs_off_without_spinning_and_accept_recovers() {
    let rt = Runtime::builder().current_thread().build().unwrap();
    rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        // Exhaust the descriptor table: limit it just above what is open now, then fill it.
        set_fd_limit(common::fd_count() as u64 + 8);
        let mut hogs = Vec::new();
        while let Ok(f) = std::fs::File::open("/dev/null") {
            hogs.push(f);
        }
        // Room for exactly the client's socket; the kernel completes the handshake and the
        // connection waits in the backlog, but accept has no descriptor to give it.
        drop(hogs.pop());
        let client = std::net::TcpStream::connect(addr).unwrap();
        let accepted = Arc::new(AtomicBool::new(false));
        let acceptor = weft::spawn({
            let accepted = accepted.clone();
            async move {
                let (s, peer) = listener.accept().await.unwrap();
                accepted.store(true, SeqCst);
                (s, peer, listener)
            }
        });
        // Let the accept loop hit EMFILE and back off for a while.
        let cpu_before = cpu_time();
        let wall_before = Instant::now();
        weft::time::sleep(Duration::from_millis(300)).await;
        let cpu_used = cpu_time() - cpu_before;
        let wall = wall_before.elapsed();
        assert!(
            !accepted.load(SeqCst),
            "accept succeeded with no descriptor free"
        );
        // A spinning accept loop would burn about one core for the whole window.
        assert!(
            cpu_used < wall / 2,
            "accept loop spun: {cpu_used:?} of CPU in {wall:?}"
        );
        // Free descriptors: the same listener accepts the waiting connection.
        drop(hogs);
        let (stream, peer, listener) = acceptor.await.unwrap();
        assert_eq!(peer, client.local_addr().unwrap());
        drop(stream);
        // And it keeps working for new connections.
        let again = std::net::TcpStream::connect(addr).unwrap();
        let (_s2, peer2) = listener.accept().await.unwrap();
        assert_eq!(peer2, again.local_addr().unwrap());
    });
}
