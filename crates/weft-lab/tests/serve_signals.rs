//! Signals are never lost by `weft serve`: a SIGINT or SIGTERM sent right
//! after the start line (many times over, in every model, with and without
//! `--workers`), or in the middle of keep-alive load, always stops it, and
//! with a clean exit (not the default action's death by signal).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::process::ExitStatusExt;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use weft_testkit::ServeChild;

/// Linux's signal numbers (this crate has no libc dependency of its own).
const SIGINT: i32 = 2;
const SIGTERM: i32 = 15;

/// Requests the load must have had answered before the signal goes out.
const WARM_UP_REQUESTS: usize = 200;

/// Starts per configuration: enough to catch a race that loses one signal in
/// twenty, few enough to stay a few seconds.
const ROUNDS: usize = 12;

const CONFIGS: [&[&str]; 4] = [
    &["--loops", "2"],
    &["--loops", "2", "--model", "green"],
    &["--workers", "1"],
    &["--workers", "2"],
];

/// `--drain-grace 0`: this file is about signals arriving, not about the
/// readiness grace (tests/serve_health.rs covers that), so the drain starts at once.
fn serve(extra: &[&str]) -> ServeChild {
    let mut args = vec!["--port", "0", "--drain-grace", "0"];
    args.extend_from_slice(extra);
    ServeChild::weft_serve(env!("CARGO_BIN_EXE_weft"), args)
}

fn stops_cleanly(server: &mut ServeChild, signal: i32, what: &str) {
    server.signal(signal);
    let status = server.wait_exit();
    assert!(
        status.success(),
        "{what}: exit {status} (signal {:?}); log:\n{}",
        status.signal(),
        server.log.join("\n")
    );
}

#[test]
fn a_signal_right_after_start_always_stops_weft_serve() {
    for config in CONFIGS {
        for round in 0..ROUNDS {
            let signal = if round % 2 == 0 { SIGINT } else { SIGTERM };
            let mut server = serve(config);
            stops_cleanly(&mut server, signal, &format!("{config:?} round {round}"));
        }
    }
}

#[test]
fn a_sigint_under_keep_alive_load_stops_weft_serve() {
    for config in CONFIGS {
        let mut server = serve(config);
        let addr = server.addr;
        let stop = Arc::new(AtomicBool::new(false));
        let answered = Arc::new(AtomicUsize::new(0));
        let clients: Vec<_> = (0..4)
            .map(|_| {
                let stop = Arc::clone(&stop);
                let answered = Arc::clone(&answered);
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
                            Ok(n) if n > 0 => drop(answered.fetch_add(1, Ordering::Relaxed)),
                            _ => return,
                        }
                    }
                })
            })
            .collect();
        weft_testkit::wait_until("the load to be answered", || {
            answered.load(Ordering::Relaxed) >= WARM_UP_REQUESTS
        });
        stops_cleanly(&mut server, SIGINT, &format!("{config:?} under load"));
        stop.store(true, Ordering::Relaxed);
        for client in clients {
            client.join().unwrap();
        }
    }
}
