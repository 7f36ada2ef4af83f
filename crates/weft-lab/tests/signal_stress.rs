//! The `weft serve` half of the signal stress test (crates/weft/tests/signal_stress.rs has the
//! streams half): 50 starts of `weft serve` and 50 of `weft serve --workers 2`, each sent a
//! SIGINT or a SIGTERM (at random) at a random moment in the first 20 ms after its start line,
//! while a keep-alive client hammers it; every one exits cleanly within the deadline.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::process::ExitStatusExt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use weft_testkit::ServeChild;

/// Linux's signal numbers (this crate has no libc dependency of its own).
const SIGINT: i32 = 2;
const SIGTERM: i32 = 15;

const STARTS: usize = 50;
/// The window after the start line the signal lands in.
const WINDOW_US: u64 = 20_000;

/// A small xorshift: the moments need not be cryptographic, only varied per run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// A keep-alive client sending requests as fast as they are answered, until `stop` or an error
/// (the server going away).
fn hammer(addr: std::net::SocketAddr, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let Ok(mut stream) = TcpStream::connect(addr) else {
            return;
        };
        let _ = stream.set_read_timeout(Some(weft_testkit::DEADLINE));
        let mut buf = [0u8; 4096];
        while !stop.load(Ordering::Relaxed) {
            if stream
                .write_all(b"GET /plaintext HTTP/1.1\r\nHost: t\r\n\r\n")
                .is_err()
            {
                return;
            }
            match stream.read(&mut buf) {
                Ok(n) if n > 0 => {}
                _ => return,
            }
        }
    })
}

fn starts_and_stops(extra: &[&str]) {
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    eprintln!("{extra:?}: seed {seed}");
    let mut rng = Rng(seed);
    for start in 0..STARTS {
        let mut args = vec!["--port", "0", "--drain-grace", "0"];
        args.extend_from_slice(extra);
        let mut server = ServeChild::weft_serve(env!("CARGO_BIN_EXE_weft"), args);
        let stop = Arc::new(AtomicBool::new(false));
        let client = hammer(server.addr, Arc::clone(&stop));
        let signal = if rng.next() & 1 == 0 { SIGINT } else { SIGTERM };
        let delay = Duration::from_micros(rng.next() % WINDOW_US);
        std::thread::sleep(delay);
        server.signal(signal);
        let status = server.wait_exit();
        stop.store(true, Ordering::Relaxed);
        client.join().unwrap();
        assert!(
            status.success(),
            "{extra:?} start {start}: signal {signal} {delay:?} after the start line: exit {status} \
             (signal {:?}); log:\n{}",
            status.signal(),
            server.log.join("\n")
        );
    }
}

#[test]
fn a_signal_at_a_random_moment_after_start_stops_weft_serve() {
    starts_and_stops(&[]);
}

#[test]
fn a_signal_at_a_random_moment_after_start_stops_weft_serve_workers_2() {
    starts_and_stops(&["--workers", "2"]);
}
