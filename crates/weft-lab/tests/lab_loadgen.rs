//! `weft lab load`, the lab's load generator: keep-alive connections in a closed loop or at a
//! fixed rate against a real model server, every answer counted, latency percentiles and its
//! own CPU reported; a dead address is counted as refused connects and the load still ends.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// Bound on a load command: the loads below last at most 1 s.
const DEADLINE: Duration = Duration::from_secs(30);

struct Server(Child, SocketAddr);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn server(model: &str) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_weft"))
        .args(["lab", "model", model, "--port", "0"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .split_whitespace()
        .nth(3)
        .expect("address")
        .parse()
        .unwrap();
    Server(child, addr)
}

fn load(args: &[&str]) -> Value {
    let started = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_weft"))
        .args(["lab", "load"])
        .args(args)
        .output()
        .unwrap();
    assert!(started.elapsed() < DEADLINE, "the load overran its bound");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON summary")
}

fn num(v: &Value, key: &str) -> f64 {
    v[key]
        .as_f64()
        .unwrap_or_else(|| panic!("{key} missing in {v}"))
}

#[test]
fn closed_loop_serves_every_connection_and_reports_latency_and_cpu() {
    let s = server("loop");
    let v = load(&[
        &s.1.to_string(),
        "--connections",
        "8",
        "--duration",
        "0.5",
        "--path",
        "/io?ms=2",
    ]);
    assert!(num(&v, "ok") >= 8.0, "{v}");
    assert_eq!(num(&v, "failed"), 0.0, "{v}");
    assert_eq!(num(&v, "unserved_connections"), 0.0, "{v}");
    assert_eq!(
        num(&v, "connects"),
        8.0,
        "keep-alive: one connect per connection: {v}"
    );
    // Every answer waited 2 ms on the server.
    assert!(num(&v, "p50_ms") >= 2.0, "{v}");
    assert!(
        num(&v, "p50_ms") <= num(&v, "p99_ms") && num(&v, "p99_ms") <= num(&v, "max_ms"),
        "{v}"
    );
    assert!(num(&v, "load_generator_cpu_percent") > 0.0, "{v}");
}

#[test]
fn fixed_rate_sends_no_more_than_the_rate() {
    let s = server("loop");
    // 4 connections × 20/s × 1 s: at most 80 requests (+1 per connection for the edges);
    // a closed loop on / would send thousands.
    let v = load(&[&s.1.to_string(), "-c", "4", "-d", "1", "--rate", "20"]);
    assert!(num(&v, "ok") <= 84.0, "{v}");
    assert!(num(&v, "ok") >= 4.0, "{v}");
    assert_eq!(num(&v, "failed"), 0.0, "{v}");
}

#[test]
fn a_dead_address_counts_refused_connects_and_ends() {
    // Bind and drop a listener: the port is (for now) closed.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let v = load(&[&port.to_string(), "-c", "2", "-d", "0.3"]);
    assert_eq!(num(&v, "ok"), 0.0);
    assert!(
        v["connect_errors"]["connection refused"]
            .as_f64()
            .unwrap_or(0.0)
            >= 2.0,
        "{v}"
    );
    assert_eq!(num(&v, "unserved_connections"), 2.0);
}

#[test]
fn bad_arguments_are_refused_with_the_reason() {
    let out = Command::new(env!("CARGO_BIN_EXE_weft"))
        .args(["lab", "load", "127.0.0.1:1", "--duration", "0"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--duration must be above 0"));
}
