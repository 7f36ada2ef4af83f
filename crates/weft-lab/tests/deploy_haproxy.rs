//! Three `weft serve --workers 2` "hosts" (127.0.0.11, .12, .13, one port) behind HAProxy,
//! run as a child on `deploy/haproxy.cfg` exactly as committed (placeholders filled in), under
//! a continuous keep-alive load through the balancer that counts every failure (connect
//! errors, resets, answers cut short, non-2xx):
//!
//! - (a) a rolling restart, instance by instance (SIGTERM, wait for the exit, start again,
//!   wait until HAProxy sees it UP): 0 failed requests;
//! - (b) a rolling binary upgrade (SIGHUP to each supervisor in turn): 0 failed;
//! - (c) `kill -9` of a whole instance (its process group: supervisor and workers): HAProxy
//!   routes around it; failed requests at most the ones in flight then, printed with how long
//!   HAProxy took to mark it DOWN; and 0 failed with the config's `WEFT_RETRY_SENT` switch
//!   on (idempotent requests that got no answer are retried on another instance).
//!
//! HAProxy retries only failed connects (`retry-on conn-failure`): readiness and the drain
//! make (a) and (b) clean, not retries of requests an instance received. The tests run one
//! at a time (each starts seven processes on a 2-core machine).

mod deploy_support;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::SocketAddr;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use deploy_support::*;
use weft_testkit::{wait_until, TempDir, WatchedChild};

/// One test at a time in this binary.
static SERIAL: Mutex<()> = Mutex::new(());

/// Names of the servers in `deploy/haproxy.cfg`, in the order of [`HOSTS`].
const SERVERS: [&str; 3] = ["weft1", "weft2", "weft3"];

/// HAProxy as a child on the committed config, and its admin socket.
struct Balancer {
    _child: WatchedChild,
    addr: SocketAddr,
    stats: PathBuf,
    _dir: TempDir,
}

impl Balancer {
    /// HAProxy on the committed config; `retry_sent` sets `WEFT_RETRY_SENT` in its
    /// environment (the config's one switch: retry idempotent requests that got no answer).
    fn start(instances: &[Instance], retry_sent: bool) -> Balancer {
        let haproxy = tool("haproxy", &["/usr/sbin/haproxy"], "haproxy");
        let dir = TempDir::new("deploy-haproxy");
        let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
        let stats = dir.path().join("admin.sock");
        let text = config(
            "haproxy.cfg",
            &[
                ("@LISTEN@", addr.to_string()),
                ("@STATS_SOCKET@", stats.display().to_string()),
                ("@WEFT1@", instances[0].addr.to_string()),
                ("@WEFT2@", instances[1].addr.to_string()),
                ("@WEFT3@", instances[2].addr.to_string()),
            ],
        );
        let cfg = dir.path().join("haproxy.cfg");
        std::fs::write(&cfg, text).unwrap();
        let mut command = Command::new(haproxy);
        command.arg("-db").arg("-f").arg(&cfg);
        if retry_sent {
            command.env("WEFT_RETRY_SENT", "1");
        } else {
            command.env_remove("WEFT_RETRY_SENT");
        }
        let child = spawn_watched(command);
        let balancer = Balancer {
            _child: child,
            addr,
            stats,
            _dir: dir,
        };
        for server in SERVERS {
            balancer.wait_status(server, "UP");
        }
        balancer
    }

    /// `show stat` of the admin socket: status by server name of backend `weft`.
    fn states(&self) -> Option<BTreeMap<String, String>> {
        states(&self.stats)
    }

    /// Waits until HAProxy reports `server`'s status as exactly `status`; returns the time.
    fn wait_status(&self, server: &str, status: &str) -> Instant {
        wait_until(&format!("HAProxy to see {server} {status}"), || {
            self.states()
                .is_some_and(|s| s.get(server).map(String::as_str) == Some(status))
        });
        Instant::now()
    }
}

fn states(socket: &Path) -> Option<BTreeMap<String, String>> {
    let mut conn = UnixStream::connect(socket).ok()?;
    conn.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    conn.write_all(b"show stat\n").ok()?;
    let mut csv = String::new();
    conn.read_to_string(&mut csv).ok()?;
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next()?.trim_start_matches("# ").split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name);
    let (px, sv, st) = (col("pxname")?, col("svname")?, col("status")?);
    Some(
        lines
            .map(|l| l.split(',').collect::<Vec<_>>())
            .filter(|f| f.len() > st && f[px] == "weft")
            .map(|f| (f[sv].to_string(), f[st].to_string()))
            .collect(),
    )
}

/// The set-up of every test: instances (from `bin`), HAProxy, the load running and answered.
fn set_up(bin: &Path, retry_sent: bool) -> (Vec<Instance>, Balancer, weft_testkit::Load) {
    let instances = start_instances_from(bin);
    let balancer = Balancer::start(&instances, retry_sent);
    let load = balanced_load(balancer.addr);
    more_answers(&load, "answers through HAProxy before the first event");
    (instances, balancer, load)
}

#[test]
fn haproxy_rolling_restart_fails_no_request() {
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let (mut instances, balancer, load) = set_up(Path::new(env!("CARGO_BIN_EXE_weft")), false);
    let begun = Instant::now();
    let mut to_down = Vec::new();
    for (k, instance) in instances.iter_mut().enumerate() {
        let term = Instant::now();
        send_signal_term(instance);
        let down = balancer.wait_status(SERVERS[k], "DOWN");
        to_down.push(down - term);
        instance.stop_after_term();
        *instance = Instance::start(instance.addr);
        balancer.wait_status(SERVERS[k], "UP");
        load.wait_answer_from(
            &instance.workers,
            &format!("an answer from restarted {}", instance.addr),
        );
        more_answers(&load, "answers after the restart");
    }
    let took = begun.elapsed();
    let f = figures(&load.stop());
    println!(
        "FIGURE haproxy (a) rolling restart of 3 x `weft serve --workers 2` under keep-alive \
         load ({CLIENTS} clients): {} sent, {} answered, {} refused, {} failed; SIGTERM to \
         DOWN (readiness 503): {to_down:?}; took {took:.1?}",
        f.sent,
        f.answered,
        f.refused,
        f.failed.len()
    );
    assert!(f.failed.is_empty(), "failed requests: {:?}", f.failed);
    assert_eq!(f.refused, 0, "the balancer refused connections");
}

/// SIGTERM without waiting (the instance keeps serving during its grace).
fn send_signal_term(instance: &Instance) {
    weft_testkit::send_signal(instance.pid(), SIGTERM);
}

#[test]
fn haproxy_rolling_upgrade_by_sighup_fails_no_request() {
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    // The instances run an installed copy of weft; a new one is installed over it (renamed
    // into place) before the SIGHUPs, and each new worker must run the new file.
    let dir = TempDir::new("deploy-upgrade");
    let bin = dir.path().join("weft");
    install_weft(&bin);
    let (mut instances, _balancer, load) = set_up(&bin, false);
    install_weft(&bin);
    let installed = bin.display().to_string();
    let begun = Instant::now();
    let mut old_workers = Vec::new();
    for instance in instances.iter_mut() {
        old_workers.extend(instance.workers.iter().copied());
        let old = exe_of(instance.workers[0]);
        assert!(
            old.ends_with("(deleted)"),
            "the old binary was replaced: {old}"
        );
        instance.reload();
        for pid in &instance.workers {
            assert_eq!(exe_of(*pid), installed, "a new worker runs the new binary");
        }
        load.wait_answer_from(
            &instance.workers,
            &format!("an answer from the new workers of {}", instance.addr),
        );
        more_answers(&load, "answers after the reload");
    }
    // The old workers drain in the background: the load runs until the last one is gone.
    wait_until("every old worker to finish its drain and exit", || {
        old_workers
            .iter()
            .all(|pid| !Path::new(&format!("/proc/{pid}")).exists())
    });
    more_answers(&load, "answers after the old workers exited");
    let took = begun.elapsed();
    let f = figures(&load.stop());
    println!(
        "FIGURE haproxy (b) rolling binary upgrade (new binary, SIGHUP to each of 3 supervisors) under keep-alive \
         load ({CLIENTS} clients): {} sent, {} answered, {} refused, {} failed; took {took:.1?}",
        f.sent,
        f.answered,
        f.refused,
        f.failed.len()
    );
    assert!(f.failed.is_empty(), "failed requests: {:?}", f.failed);
    assert_eq!(f.refused, 0, "the balancer refused connections");
}

#[test]
fn haproxy_kill_9_of_an_instance_is_routed_around() {
    kill_9_of_an_instance(false);
}

#[test]
fn haproxy_kill_9_with_retry_of_idempotent_requests_fails_none() {
    kill_9_of_an_instance(true);
}

fn kill_9_of_an_instance(retry_sent: bool) {
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let bin = Path::new(env!("CARGO_BIN_EXE_weft"));
    let (mut instances, balancer, load) = set_up(bin, retry_sent);
    let victim = &mut instances[1];
    let killed = Instant::now();
    victim.kill_all();
    let down = balancer.wait_status(SERVERS[1], "DOWN");
    more_answers(&load, "answers after the kill");
    let survivors: Vec<u32> = [&instances[0], &instances[2]]
        .iter()
        .flat_map(|i| i.workers.clone())
        .collect();
    load.wait_answer_from(&survivors, "answers from the surviving instances");
    let records = load.stop();
    let failed: Vec<&weft_testkit::Record> = records
        .iter()
        .filter(|r| matches!(r.outcome, weft_testkit::Outcome::Failed(_)))
        .collect();
    // Every client has one request outstanding at a time, so at most `CLIENTS` requests are
    // in flight anywhere when the instance dies: a bound on what its death may fail.
    let in_flight = CLIENTS;
    let after_down = records
        .iter()
        .filter(|r| r.started > down && matches!(r.outcome, weft_testkit::Outcome::Failed(_)))
        .count();
    // When each failed request began and ended, relative to the kill (ms).
    let ms = |t: Instant| {
        if t >= killed {
            (t - killed).as_secs_f64() * 1e3
        } else {
            -((killed - t).as_secs_f64() * 1e3)
        }
    };
    let when: Vec<String> = failed
        .iter()
        .map(|r| format!("{:+.1}..{:+.1} ms", ms(r.started), ms(r.ended)))
        .collect();
    let f = figures(&records);
    println!(
        "FIGURE haproxy (c) kill -9 of 1 of 3 instances under keep-alive load ({CLIENTS} \
         clients, retry-on {}): {} sent, {} answered, {} refused, {} failed (at most {} in flight); \
         HAProxy marked it DOWN {:.0?} after the kill; failures: {:?}, begun..ended around the \
         kill: {when:?}",
        if retry_sent {
            "conn-failure empty-response"
        } else {
            "conn-failure"
        },
        f.sent,
        f.answered,
        f.refused,
        f.failed.len(),
        in_flight,
        down - killed,
        f.failed
    );
    assert!(
        f.failed.len() <= in_flight,
        "more failures ({}) than requests in flight ({in_flight}): {:?}",
        f.failed.len(),
        f.failed
    );
    assert_eq!(
        after_down, 0,
        "requests failed after HAProxy marked it DOWN"
    );
    if retry_sent {
        assert!(
            f.failed.is_empty(),
            "failures with idempotent requests retried: {:?}",
            f.failed
        );
    }
    assert_eq!(f.refused, 0, "the balancer refused connections");
}
