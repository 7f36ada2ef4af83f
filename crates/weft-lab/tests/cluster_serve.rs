//! `weft serve --workers N` end to end, with a real HTTP client on loopback: the workers share
//! the port and all answer; `kill -9` of a worker under load, SIGHUP (reload) under load and
//! SIGTERM (stop) under load, each with the requests sent and failed printed (the figures of
//! the cluster issue). Every request uses its own connection (`Connection: close`), so no
//! failure can hide behind a client's retry of a kept-alive connection.

use std::collections::HashSet;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use weft_testkit::{
    answered_by, log_field, send_signal, tally, wait_until, Cluster, Load, Outcome, DEADLINE,
};

/// `weft serve --workers N`, once it logged its start line. The supervisor's "cluster worker
/// ready" lines (with `slot=` and `pid=`) are the workers' ready lines.
fn start(workers: u16) -> Cluster {
    start_model(workers, "async")
}

/// [`start`] with `--model model`.
fn start_model(workers: u16, model: &str) -> Cluster {
    Cluster::weft_serve(
        env!("CARGO_BIN_EXE_weft"),
        [
            "--port",
            "0",
            "--workers",
            &workers.to_string(),
            "--model",
            model,
        ],
    )
}

/// Pids of the first `n` workers ready, by slot.
fn ready_pids(cluster: &mut Cluster, n: usize) -> Vec<u32> {
    cluster
        .wait_ready(n)
        .into_iter()
        .map(|(_, pid)| pid)
        .collect()
}

/// One GET on a new connection.
fn get(addr: SocketAddr, path: &str) -> Outcome {
    let stream = match TcpStream::connect_timeout(&addr, DEADLINE) {
        Ok(s) => s,
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => return Outcome::Refused,
        Err(e) => return Outcome::Failed(format!("connect: {e}")),
    };
    let run = || -> std::io::Result<u32> {
        stream.set_read_timeout(Some(DEADLINE))?;
        (&stream).write_all(
            format!("GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n").as_bytes(),
        )?;
        let mut response = String::new();
        (&stream).read_to_string(&mut response)?;
        if !response.starts_with("HTTP/1.1 200") {
            return Err(std::io::Error::other(format!("not a 200: {response:?}")));
        }
        let body = response.split("\r\n\r\n").nth(1).unwrap_or("");
        Ok(body.trim().parse().unwrap_or(0))
    };
    match run() {
        Ok(pid) => Outcome::Answered(pid),
        Err(e) => Outcome::Failed(e.to_string()),
    }
}

/// A bounded load (see [`Load`]): `clients` threads sending GET `path` on new connections.
fn load(addr: SocketAddr, clients: usize, path: &'static str) -> Load {
    Load::start(clients, DEADLINE, move || get(addr, path))
}

#[test]
fn workers_share_the_port_and_all_answer() {
    every_worker_answers(start(2));
}

#[test]
fn green_workers_share_the_port_and_all_answer() {
    every_worker_answers(start_model(2, "green"));
}

/// Every worker of a 2-worker cluster answers `/pid` on the shared port; SIGTERM stops it.
fn every_worker_answers(mut cluster: Cluster) {
    let pids = ready_pids(&mut cluster, 2);
    let mut seen = HashSet::new();
    wait_until(&format!("an answer from every worker of {pids:?}"), || {
        match get(cluster.addr, "/pid") {
            Outcome::Answered(pid) => {
                assert!(
                    pids.contains(&pid),
                    "answered by {pid}, not a worker of {pids:?}"
                );
                seen.insert(pid);
            }
            other => panic!("{other:?}"),
        }
        pids.iter().all(|p| seen.contains(p))
    });
    cluster.signal(libc_sig::TERM);
    assert!(cluster.wait_exit().success());
}

#[test]
fn kill_9_of_a_worker_under_load() {
    const CLIENTS: usize = 2;
    let mut cluster = start(2);
    let pids = ready_pids(&mut cluster, 2);
    let load = load(cluster.addr, CLIENTS, "/pid");
    load.wait_until("answers from both workers", |r| {
        answered_by(r, &pids[..1]) && answered_by(r, &pids[1..])
    });
    let killed_at = Instant::now();
    send_signal(pids[0], libc_sig::KILL);
    let mut replacement = 0;
    cluster.wait_logged(
        |l| {
            let hit = l.contains("cluster worker ready")
                && log_field(l, "pid=").is_some_and(|p| !pids.contains(&p));
            if hit {
                replacement = log_field(l, "pid=").unwrap();
            }
            hit
        },
        "the replacement worker",
    );
    let back_after = killed_at.elapsed();
    load.wait_until("an answer from the replacement", |r| {
        answered_by(r, &[replacement])
    });
    let records = load.stop();
    let (sent, answered, refused, failed) = tally(&records);
    println!(
        "weft serve --workers 2, kill -9 of one worker under load ({CLIENTS} clients, GET /pid, \
         one connection per request): {sent} sent, {answered} answered, {} failed, {refused} \
         refused; back within {back_after:?} (the replacement ready after the kill)",
        failed.len()
    );
    assert_eq!(refused, 0);
    assert!(
        failed.len() <= CLIENTS,
        "more failures than requests in flight: {failed:?}"
    );
    cluster.signal(libc_sig::TERM);
    assert!(cluster.wait_exit().success());
}

/// Reloads in a row in the SIGHUP test: each replaces every worker.
const RELOADS: usize = 3;

#[test]
fn sighup_under_load_fails_no_request() {
    const CLIENTS: usize = 4;
    let mut cluster = start(2);
    let mut current = ready_pids(&mut cluster, 2);
    let load = load(cluster.addr, CLIENTS, "/pid");
    load.wait_until("answers before the reload", |r| r.len() >= 20);
    let mut reload_time = Duration::ZERO;
    let mut during = 0;
    for round in 1..=RELOADS {
        let hup_at = Instant::now();
        cluster.signal(libc_sig::HUP);
        let mut seen = 0;
        cluster.wait_logged(
            |l| {
                seen += l.contains("cluster reload complete") as usize;
                seen == round
            },
            "the reload to complete",
        );
        let took = hup_at.elapsed();
        reload_time += took;
        during += load
            .records()
            .iter()
            .filter(|r| r.ended >= hup_at && r.started <= hup_at + took)
            .count();
        // Every old worker drained and exited 0, and two new ones serve.
        for pid in &current {
            assert!(
                cluster
                    .log
                    .iter()
                    .any(|l| l.contains("cluster worker exited")
                        && l.contains(&format!("pid={pid} "))
                        && l.ends_with("exit code 0")),
                "old worker {pid} exited cleanly; log:\n{}",
                cluster.log.join("\n")
            );
        }
        let ready: Vec<u32> = cluster
            .log
            .iter()
            .filter(|l| l.contains("cluster worker ready"))
            .filter_map(|l| log_field(l, "pid="))
            .collect();
        let new: Vec<u32> = ready[ready.len() - 2..].to_vec();
        assert!(
            new.iter().all(|p| !current.contains(p)),
            "{new:?} vs {current:?}"
        );
        current = new;
    }
    let done_at = Instant::now();
    load.wait_until("answers after the reloads", |r| {
        r.iter().filter(|r| r.started > done_at).count() >= 20
    });
    let records = load.stop();
    let (sent, answered, refused, failed) = tally(&records);
    println!(
        "weft serve --workers 2, {RELOADS} SIGHUP reloads under load ({CLIENTS} clients, GET /pid, \
         one connection per request): {sent} sent, {answered} answered, {} failed, {refused} \
         refused; {during} requests overlapped the reloads, which took {reload_time:?} in all",
        failed.len()
    );
    assert!(
        failed.is_empty() && refused == 0,
        "failed {failed:?}, refused {refused}"
    );
    // Every worker's pid changed: /pid names only the newest workers.
    for _ in 0..20 {
        match get(cluster.addr, "/pid") {
            Outcome::Answered(pid) => assert!(current.contains(&pid), "old worker {pid} answered"),
            other => panic!("{other:?}"),
        }
    }
    cluster.signal(libc_sig::TERM);
    assert!(cluster.wait_exit().success());
}

#[test]
fn sigterm_under_load_fails_no_request_in_flight() {
    const CLIENTS: usize = 4;
    let mut cluster = start(2);
    ready_pids(&mut cluster, 2);
    let load = load(cluster.addr, CLIENTS, "/sleep?ms=100");
    load.wait_until("answers before the stop", |r| r.len() >= 8);
    let term_at = Instant::now();
    cluster.signal(libc_sig::TERM);
    let status = cluster.wait_exit();
    let stopped_after = term_at.elapsed();
    load.wait_until("clients to see the port closed", |r| {
        r.iter()
            .any(|r| r.started > term_at && r.outcome == Outcome::Refused)
    });
    let records = load.stop();
    assert!(status.success(), "{status:?}");
    let (sent, answered, refused, failed) = tally(&records);
    let in_flight = records
        .iter()
        .filter(|r| r.started < term_at && r.ended > term_at)
        .count();
    println!(
        "weft serve --workers 2, SIGTERM under load ({CLIENTS} clients, GET /sleep?ms=100, one \
         connection per request): {sent} sent, {answered} answered, {} failed, {refused} refused \
         after the port closed; {in_flight} in flight at the signal; exited {stopped_after:?} after it",
        failed.len()
    );
    assert!(failed.is_empty(), "requests in flight failed: {failed:?}");
    assert!(in_flight > 0);
}

/// Signal numbers (Linux), without a libc dependency in this crate's tests.
mod libc_sig {
    pub const HUP: i32 = 1;
    pub const KILL: i32 = 9;
    pub const TERM: i32 = 15;
}
