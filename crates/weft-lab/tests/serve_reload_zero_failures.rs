//! Zero failed requests through a reload and a graceful stop under
//! keep-alive load, measured as `wrk` would count them: every client keeps
//! its connection open and sends its next request as soon as it has read an
//! answer, so the server's "idle" connections very often carry a request on
//! the wire. A connection that ends without a complete answer to a request
//! sent is a failure; an answer with `Connection: close` is not (the client
//! reconnects, as wrk and browsers do).
//!
//! - `weft serve --workers 2` and `--workers 1`, async and green, SIGHUP twice:
//!   no failure, no refused connection (new connections go to the new workers).
//! - `weft serve` without `--workers` (async and green), SIGTERM: no request
//!   lost on a kept-alive connection; after the listener closed, connections
//!   are refused (a reconnect racing the close of a loop's listener can be
//!   reset by the kernel instead: at most once per client, printed).

use std::net::SocketAddr;

use weft_testkit::keep_alive::KEPT;
use weft_testkit::{tally, Cluster, KeepAlive, Load, Outcome, ServeChild, DEADLINE};

/// Linux's signal numbers (this crate has no libc dependency of its own).
const SIGHUP: i32 = 1;
const SIGTERM: i32 = 15;

/// Keep-alive clients: as many as wrk's `-c32` would be too many threads for
/// a 2-core test machine; 8 keep every loop busy.
const CLIENTS: usize = 8;

/// Answers counted before and after each event, so that the event happens
/// under load and the load survives it.
const ANSWERS_AROUND: usize = 300;

fn keep_alive_load(addr: SocketAddr) -> Load {
    let client = KeepAlive::new(addr, "/pid");
    Load::start(CLIENTS, DEADLINE, move || client.request())
}

fn answered(records: &[weft_testkit::Record]) -> usize {
    records
        .iter()
        .filter(|r| matches!(r.outcome, Outcome::Answered(_)))
        .count()
}

fn reload_twice_fails_nothing(workers: u16, model: &str) {
    let mut cluster = Cluster::weft_serve(
        env!("CARGO_BIN_EXE_weft"),
        [
            "--port",
            "0",
            "--workers",
            &workers.to_string(),
            "--model",
            model,
        ],
    );
    cluster.wait_ready(usize::from(workers));
    let load = keep_alive_load(cluster.addr);
    for round in 1..=2 {
        let before = answered(&load.records());
        load.wait_until("answers before the reload", |r| {
            answered(r) >= before + ANSWERS_AROUND
        });
        cluster.signal(SIGHUP);
        let mut seen = 0;
        cluster.wait_logged(
            |l| {
                seen += l.contains("cluster reload complete") as usize;
                seen == round
            },
            "the reload to complete",
        );
    }
    let after = answered(&load.records());
    load.wait_until("answers after the reloads", |r| {
        answered(r) >= after + ANSWERS_AROUND
    });
    let records = load.stop();
    let (sent, answered, refused, failed) = tally(&records);
    println!(
        "weft serve --workers {workers} --model {model}, 2 x SIGHUP under keep-alive load \
         ({CLIENTS} clients): {sent} sent, {answered} answered, {refused} refused, {} failed",
        failed.len()
    );
    assert!(failed.is_empty(), "failed requests: {failed:?}");
    assert_eq!(refused, 0, "connections refused during a reload");
    cluster.signal(SIGTERM);
    assert!(cluster.wait_exit().success());
}

#[test]
fn two_reloads_of_two_workers_under_keep_alive_load_fail_no_request() {
    reload_twice_fails_nothing(2, "async");
}

#[test]
fn two_reloads_of_one_worker_under_keep_alive_load_fail_no_request() {
    reload_twice_fails_nothing(1, "async");
}

#[test]
fn two_reloads_of_two_green_workers_under_keep_alive_load_fail_no_request() {
    reload_twice_fails_nothing(2, "green");
}

#[test]
fn two_reloads_of_one_green_worker_under_keep_alive_load_fail_no_request() {
    reload_twice_fails_nothing(1, "green");
}

fn stop_fails_nothing(model: &str) {
    let mut server = ServeChild::weft_serve(
        env!("CARGO_BIN_EXE_weft"),
        ["--port", "0", "--loops", "2", "--model", model],
    );
    let load = keep_alive_load(server.addr);
    load.wait_until("answers before the stop", |r| answered(r) >= ANSWERS_AROUND);
    server.signal(SIGTERM);
    let status = server.wait_exit();
    let records = load.stop();
    let (sent, answered, refused, failed) = tally(&records);
    println!(
        "weft serve --model {model}, SIGTERM under keep-alive load ({CLIENTS} clients): \
         {sent} sent, {answered} answered, {refused} refused (after the listener closed), {} failed \
         {failed:?}",
        failed.len()
    );
    assert!(status.success(), "{model}: exit {status}");
    // No request on a kept-alive connection is lost. A client that reconnects (after its
    // `Connection: close` answer) in the microseconds between a loop's last accept and the
    // close of its `SO_REUSEPORT` listener is reset by the kernel, as by nginx's stop: at most
    // once per client, since the next attempt is refused.
    let kept: Vec<&String> = failed.iter().filter(|f| f.starts_with(KEPT)).collect();
    assert!(
        kept.is_empty(),
        "{model}: requests lost on kept-alive connections: {kept:?}"
    );
    assert!(
        failed.len() <= CLIENTS,
        "{model}: more failures than clients reconnecting: {failed:?}"
    );
}

#[test]
fn a_graceful_stop_under_keep_alive_load_fails_no_request_async() {
    stop_fails_nothing("async");
}

#[test]
fn a_graceful_stop_under_keep_alive_load_fails_no_request_green() {
    stop_fails_nothing("green");
}
