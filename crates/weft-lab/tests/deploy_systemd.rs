//! systemd socket activation of `weft serve`, with `systemd-socket-activate` (systemd's tool
//! for exactly this: it binds the socket and starts the program with `LISTEN_FDS=1`,
//! `LISTEN_PID` = its pid, the socket at descriptor 3):
//!
//! - requests are served through the inherited socket, with and without `--workers`
//!   (the start line says "socket from systemd", and the port is the one the tool bound);
//! - restarting the service while the socket stays open refuses no connection: a tiny
//!   service manager (a shell loop, started by `systemd-socket-activate`, holding the socket as
//!   systemd does) starts `weft serve` on it again each time it exits; the test SIGTERMs it
//!   three times while a client keeps opening new connections, and counts the refused ones
//!   (0) and the failed ones (0).

mod deploy_support;

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::os::unix::process::CommandExt;
use std::process::Command;

use deploy_support::*;
use weft_testkit::{send_signal, signal_group, KeepAlive, Load, Outcome, TempDir, WatchedChild};

/// Restarts of the service in the restart test.
const RESTARTS: usize = 3;

/// Clients opening a new connection for every request.
const CONNECTING_CLIENTS: usize = 4;

/// The tiny service manager: `service-loop.sh RUNS WEFT ARGS...` runs `WEFT ARGS...` on the
/// inherited socket (descriptor 3) RUNS times in a row, each with `LISTEN_PID` set to its own pid (systemd sets it for the
/// process it starts; the shell holds the socket, as systemd does, between runs).
const SERVICE_LOOP: &str = r#"runs="$1"; weft="$2"; shift 2
for run in $(seq "$runs"); do
    sh -c 'LISTEN_PID=$$ exec "$0" "$@"' "$weft" "$@"
done
"#;

/// Kills the process group of the activation tree if the test fails half-way (the shell loop
/// would start `weft serve` again otherwise).
struct GroupGuard(u32);

impl Drop for GroupGuard {
    fn drop(&mut self) {
        if std::thread::panicking() {
            signal_group(self.0, SIGKILL);
        }
    }
}

fn activate(port: u16, program: &[&str]) -> (WatchedChild, GroupGuard) {
    let tool = tool(
        "systemd-socket-activate",
        &["/usr/bin/systemd-socket-activate"],
        "systemd",
    );
    let mut command = Command::new(tool);
    command
        .arg("-l")
        .arg(format!("127.0.0.1:{port}"))
        .args(program)
        .process_group(0);
    let child = spawn_watched(command);
    let guard = GroupGuard(child.pid());
    (child, guard)
}

/// A client that opens a new connection for each `GET /pid`.
fn connecting_load(addr: SocketAddr) -> Load {
    Load::start(CONNECTING_CLIENTS, LOAD_DEADLINE, move || {
        KeepAlive::new(addr, "/pid").pause(PACE).request()
    })
}

/// The pid in a start line "... pid N ..." (`weft serve`) or "... supervisor pid N ...".
fn start_pid(line: &str) -> u32 {
    let words: Vec<&str> = line.split_whitespace().collect();
    words
        .windows(2)
        .find(|w| w[0] == "pid")
        .and_then(|w| w[1].trim_end_matches([',', ')']).parse().ok())
        .unwrap_or_else(|| panic!("no pid in the start line {line:?}"))
}

fn is_start(line: &str) -> bool {
    line.contains("listening on http://")
}

fn served_through_the_inherited_socket(extra: &[&str]) {
    let port = free_port();
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let weft = env!("CARGO_BIN_EXE_weft");
    let mut program = vec![weft, "serve", "--port", "1", "--drain-grace", "0"];
    program.extend_from_slice(extra);
    let (mut child, _guard) = activate(port, &program);
    child.wait_line(
        |l| l.contains("Listening on"),
        "systemd-socket-activate to listen",
    );
    // The tool starts the program at the first connection.
    let load = connecting_load(addr);
    let start = child.wait_line(is_start, "weft serve's start line");
    assert!(
        start.contains(&format!("http://{addr} ")) && start.contains("socket from systemd"),
        "{start}"
    );
    more_answers(&load, "answers through the inherited socket");
    let f = figures(&load.stop());
    assert!(f.failed.is_empty(), "{:?}", f.failed);
    send_signal(child.pid(), SIGTERM);
    assert!(child.wait_exit().success(), "{}", child.log.join("\n"));
}

#[test]
fn socket_activated_weft_serve_serves_the_inherited_socket() {
    served_through_the_inherited_socket(&["--loops", "2"]);
}

#[test]
fn socket_activated_cluster_serves_the_inherited_socket() {
    served_through_the_inherited_socket(&["--workers", "2"]);
}

fn restarts_refuse_nothing(extra: &[&str]) {
    let dir = TempDir::new("deploy-systemd");
    let script = dir.path().join("service-loop.sh");
    std::fs::write(&script, SERVICE_LOOP).unwrap();
    let port = free_port();
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let weft = env!("CARGO_BIN_EXE_weft");
    let script = script.display().to_string();
    let runs = (RESTARTS + 1).to_string();
    let mut program = vec![
        "/bin/sh",
        &script,
        &runs,
        weft,
        "serve",
        "--drain-grace",
        "0",
    ];
    program.extend_from_slice(extra);
    let (mut child, _guard) = activate(port, &program);
    child.wait_line(
        |l| l.contains("Listening on"),
        "systemd-socket-activate to listen",
    );
    let load = connecting_load(addr);
    let mut pid = start_pid(&child.wait_line(is_start, "the first start line"));
    for round in 1..=RESTARTS {
        more_answers(&load, "answers before the restart");
        let seen: BTreeSet<u32> = load
            .records()
            .iter()
            .filter_map(|r| match r.outcome {
                Outcome::Answered(p) => Some(p),
                _ => None,
            })
            .collect();
        send_signal(pid, SIGTERM);
        let next = start_pid(&child.wait_line(is_start, &format!("start line {}", round + 1)));
        assert_ne!(next, pid, "a new process serves");
        pid = next;
        load.wait_until("an answer from the restarted service", |records| {
            records
                .iter()
                .any(|r| matches!(r.outcome, Outcome::Answered(p) if !seen.contains(&p)))
        });
    }
    more_answers(&load, "answers after the last restart");
    let records = load.stop();
    // The longest request: one that waited in the socket's queue while no process served it.
    let longest = records
        .iter()
        .map(|r| r.ended - r.started)
        .max()
        .unwrap_or_default();
    let f = figures(&records);
    println!(
        "FIGURE systemd socket activation, {RESTARTS} restarts of `weft serve {}` on the \
         held socket, {CONNECTING_CLIENTS} clients opening a connection per request: {} sent, \
         {} answered, {} refused, {} failed; longest request {longest:.1?}",
        extra.join(" "),
        f.sent,
        f.answered,
        f.refused,
        f.failed.len()
    );
    assert_eq!(f.refused, 0, "connections refused across restarts");
    assert!(f.failed.is_empty(), "failed requests: {:?}", f.failed);
    send_signal(pid, SIGTERM);
    let status = child.wait_exit();
    assert!(status.success(), "{status}: {}", child.log.join("\n"));
}

#[test]
fn restarting_a_socket_activated_service_refuses_no_connection() {
    restarts_refuse_nothing(&["--loops", "2"]);
}

#[test]
fn restarting_a_socket_activated_cluster_refuses_no_connection() {
    restarts_refuse_nothing(&["--workers", "2"]);
}

/// `ExecStart=` of the committed `deploy/weft.service`, split into words, with the installed
/// path of weft replaced by the one cargo built.
fn unit_exec_start() -> Vec<String> {
    let path = repo_root().join("deploy/weft.service");
    let unit = std::fs::read_to_string(&path).unwrap();
    let line = unit
        .lines()
        .find_map(|l| l.strip_prefix("ExecStart="))
        .unwrap_or_else(|| panic!("no ExecStart= in {}", path.display()));
    let mut words: Vec<String> = line.split_whitespace().map(String::from).collect();
    assert!(words[0].ends_with("/weft"), "ExecStart runs weft: {line}");
    words[0] = env!("CARGO_BIN_EXE_weft").to_string();
    words
}

#[test]
fn the_units_exec_start_serves_a_socket_activated_listener() {
    let port = free_port();
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let words = unit_exec_start();
    let program: Vec<&str> = words.iter().map(String::as_str).collect();
    let (mut child, _guard) = activate(port, &program);
    child.wait_line(
        |l| l.contains("Listening on"),
        "systemd-socket-activate to listen",
    );
    let load = connecting_load(addr);
    more_answers(&load, "answers from the unit's command line");
    let f = figures(&load.stop());
    assert!(f.failed.is_empty(), "{:?}", f.failed);
    // systemctl stop: SIGTERM; /readyz turns 503 for the unit's --drain-grace while the
    // socket is still served; a second SIGTERM ends the grace at once.
    send_signal(child.pid(), SIGTERM);
    weft_testkit::wait_until("/readyz 503 after SIGTERM", || {
        let probe = KeepAlive::new(addr, "/readyz");
        matches!(probe.request(), Outcome::Failed(why) if why.contains("503"))
    });
    send_signal(child.pid(), SIGTERM);
    assert!(child.wait_exit().success(), "{}", child.log.join("\n"));
}

#[test]
fn the_green_model_refuses_a_socket_activated_listener_by_name() {
    let port = free_port();
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let weft = env!("CARGO_BIN_EXE_weft");
    let (mut child, _guard) = activate(port, &[weft, "serve", "--model", "green"]);
    child.wait_line(
        |l| l.contains("Listening on"),
        "systemd-socket-activate to listen",
    );
    // The first connection starts the program, which refuses and exits.
    let _ = std::net::TcpStream::connect(addr);
    let status = child.wait_exit();
    assert!(!status.success(), "{}", child.log.join("\n"));
    assert!(
        child.log.iter().any(|l| l.contains("--model green")),
        "the error names --model green:\n{}",
        child.log.join("\n")
    );
}
