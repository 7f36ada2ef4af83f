//! What the deploy tests share: the system tools they drive (failing, never skipping, with
//! the install command when one is missing), the committed configs of `deploy/` with their
//! placeholders filled in, three `weft serve --workers 2` "hosts" on 127.0.0.11, .12 and .13
//! (one port for all), a keep-alive load through the balancer, and the tally of a run.

#![allow(dead_code)] // each test binary uses its own part

use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use weft_testkit::{
    send_signal, signal_group, tally, Cluster, KeepAlive, Load, Outcome, Record, ServeChild, Watch,
    WEFT_SERVE_START,
};

/// Linux's signal numbers (this crate has no libc dependency of its own).
pub const SIGHUP: i32 = 1;
pub const SIGKILL: i32 = 9;
pub const SIGTERM: i32 = 15;

/// The three "hosts": one loopback address each.
pub const HOSTS: [Ipv4Addr; 3] = [
    Ipv4Addr::new(127, 0, 0, 11),
    Ipv4Addr::new(127, 0, 0, 12),
    Ipv4Addr::new(127, 0, 0, 13),
];

/// Keep-alive clients of the balancer: enough to keep every instance busy on a 2-core machine.
pub const CLIENTS: usize = 8;

/// Pause between one client's answer and its next request: at most ~500 requests/s per
/// client, so that `LOAD_MAX` (20,000 per client) outlasts the longest test.
pub const PACE: Duration = Duration::from_millis(2);

/// How long the load may run at most (its clients stop by themselves then).
pub const LOAD_DEADLINE: Duration = Duration::from_secs(55);

/// Answers counted after each event before the next, so that every event happens under load
/// and the load survives it.
pub const ANSWERS_BETWEEN: usize = 200;

/// `weft serve --drain-grace` of the instances: well above the balancer's time to mark an
/// instance DOWN (HAProxy: fall 2 x inter 100 ms), short enough to keep the tests quick.
pub const DRAIN_GRACE: &str = "1s";

/// The repository root (two levels above this crate).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The path of system tool `name` (on PATH, or one of `also`), or the test fails with the
/// command that installs it.
pub fn tool(name: &str, also: &[&str], package: &str) -> PathBuf {
    let on_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|dir| dir.join(name));
    on_path
        .chain(also.iter().map(PathBuf::from))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!("{name} not found: apt-get install -y {package} (.ci/run installs it)")
        })
}

/// `deploy/<file>` as committed, with each `(placeholder, value)` replaced; fails if a
/// placeholder is missing from the file or one is left unreplaced.
pub fn config(file: &str, values: &[(&str, String)]) -> String {
    let path = repo_root().join("deploy").join(file);
    let mut text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    for (placeholder, value) in values {
        assert!(
            text.contains(placeholder),
            "{file} has no placeholder {placeholder}"
        );
        text = text.replace(placeholder, value);
    }
    let left: Vec<&str> = text
        .lines()
        .filter(|l| !l.trim_start().starts_with('#') && l.contains('@'))
        .collect();
    assert!(left.is_empty(), "{file}: placeholders left: {left:?}");
    text
}

/// A port free on every address of `ips` (and on 127.0.0.1): bound on the first, checked on
/// the others, then released for the instances.
pub fn common_port(ips: &[Ipv4Addr]) -> u16 {
    for _ in 0..100 {
        let probe = TcpListener::bind((ips[0], 0)).expect("bind a probe port");
        let port = probe.local_addr().unwrap().port();
        let rest: Vec<_> = ips[1..]
            .iter()
            .chain([&Ipv4Addr::LOCALHOST])
            .map(|ip| TcpListener::bind((*ip, port)))
            .collect();
        if rest.iter().all(Result::is_ok) {
            return port;
        }
    }
    panic!("no port free on all of {ips:?}")
}

/// A free port on 127.0.0.1, for the balancer.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Reads a supervisor's "cluster worker ready slot=K pid=P" lines.
pub fn ready_line(line: &str) -> Option<(usize, u32)> {
    if !line.contains("cluster worker ready") {
        return None;
    }
    let field = |key: &str| {
        line.split_whitespace()
            .find_map(|w| w.strip_prefix(key))
            .and_then(|v| v.parse::<u32>().ok())
    };
    Some((field("slot=")? as usize, field("pid=")?))
}

/// One "host": `weft serve --workers 2` on its own address, in its own process group (so
/// that `kill -9` of the group takes the supervisor and its workers at once).
#[derive(Debug)]
pub struct Instance {
    pub addr: SocketAddr,
    pub cluster: Cluster,
    /// Pids of the workers by slot, as their ready lines said.
    pub workers: Vec<u32>,
}

impl Instance {
    /// Starts the instance (the `weft` binary cargo built) and waits until both workers are
    /// ready.
    pub fn start(addr: SocketAddr) -> Instance {
        Instance::start_from(Path::new(env!("CARGO_BIN_EXE_weft")), addr)
    }

    /// Starts the instance from the `weft` binary at `bin`.
    pub fn start_from(bin: &Path, addr: SocketAddr) -> Instance {
        let mut command = Command::new(bin);
        command
            .arg("serve")
            .args(["--workers", "2", "--drain-grace", DRAIN_GRACE])
            .args(["--host", &addr.ip().to_string()])
            .args(["--port", &addr.port().to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .process_group(0);
        let supervisor = ServeChild::spawn(command, Watch::Stderr, WEFT_SERVE_START);
        assert_eq!(supervisor.addr, addr, "the instance listens where asked");
        let mut cluster = Cluster::new(supervisor, ready_line);
        let workers = cluster
            .wait_ready(2)
            .into_iter()
            .map(|(_, pid)| pid)
            .collect();
        Instance {
            addr,
            cluster,
            workers,
        }
    }

    /// The supervisor's pid (also its process group).
    pub fn pid(&self) -> u32 {
        self.cluster.pid()
    }

    /// SIGTERM, and waits for the exit (readiness 503 for the grace, then the drain).
    pub fn stop(&mut self) {
        send_signal(self.pid(), SIGTERM);
        self.stop_after_term();
    }

    /// Waits for the exit after a SIGTERM already sent; it must be a clean one.
    pub fn stop_after_term(&mut self) {
        let status = self.cluster.wait_exit();
        assert!(
            status.success(),
            "instance {} exit {status}:\n{}",
            self.addr,
            self.cluster.log.join("\n")
        );
    }

    /// SIGHUP (a rolling binary upgrade of this instance), and waits for the reload to
    /// complete; the workers' pids are the new ones afterwards.
    pub fn reload(&mut self) {
        let from = self.cluster.log.len();
        let done = |l: &str| l.contains("cluster reload complete");
        send_signal(self.pid(), SIGHUP);
        self.cluster.wait_line(done, "the reload to complete");
        let fresh: Vec<u32> = self.cluster.log[from..]
            .iter()
            .filter_map(|l| ready_line(l))
            .map(|(_, pid)| pid)
            .collect();
        assert!(
            !fresh.is_empty(),
            "no new worker ready in the reload:\n{}",
            self.cluster.log[from..].join("\n")
        );
        self.workers = fresh;
    }

    /// `kill -9` of the whole instance: the supervisor's process group.
    pub fn kill_all(&mut self) {
        signal_group(self.pid(), SIGKILL);
        let _ = self.cluster.wait_exit();
    }
}

/// The three instances on [`HOSTS`], one port.
pub fn start_instances() -> Vec<Instance> {
    start_instances_from(Path::new(env!("CARGO_BIN_EXE_weft")))
}

/// The three instances on [`HOSTS`], one port, from the `weft` binary at `bin`.
pub fn start_instances_from(bin: &Path) -> Vec<Instance> {
    let port = common_port(&HOSTS);
    HOSTS
        .iter()
        .map(|ip| Instance::start_from(bin, SocketAddr::new(IpAddr::V4(*ip), port)))
        .collect()
}

/// Installs a fresh copy of the built `weft` at `path` as a package manager does: written
/// beside it, then renamed over it (running processes keep the old file).
pub fn install_weft(path: &Path) {
    let staged = path.with_extension("new");
    std::fs::copy(env!("CARGO_BIN_EXE_weft"), &staged)
        .unwrap_or_else(|e| panic!("copying weft to {}: {e}", staged.display()));
    std::fs::rename(&staged, path).unwrap();
}

/// The file process `pid` runs (`/proc/PID/exe`; "... (deleted)" once replaced).
pub fn exe_of(pid: u32) -> String {
    std::fs::read_link(format!("/proc/{pid}/exe"))
        .map(|p| p.display().to_string())
        .unwrap_or_else(|e| format!("/proc/{pid}/exe: {e}"))
}

/// `CLIENTS` keep-alive clients of `GET /pid` through the balancer at `addr`.
pub fn balanced_load(addr: SocketAddr) -> Load {
    let client = KeepAlive::new(addr, "/pid").pause(PACE);
    Load::start(CLIENTS, LOAD_DEADLINE, move || client.request())
}

/// Answers so far.
pub fn answered(records: &[Record]) -> usize {
    records
        .iter()
        .filter(|r| matches!(r.outcome, Outcome::Answered(_)))
        .count()
}

/// Waits for [`ANSWERS_BETWEEN`] more answers than there are now.
pub fn more_answers(load: &Load, what: &str) {
    let now = answered(&load.records());
    load.wait_until(what, |r| answered(r) >= now + ANSWERS_BETWEEN);
}

/// The figures of one run: (sent, answered, refused, failures).
pub struct Figures {
    pub sent: usize,
    pub answered: usize,
    pub refused: usize,
    pub failed: Vec<String>,
}

pub fn figures(records: &[Record]) -> Figures {
    let (sent, answered, refused, failed) = tally(records);
    Figures {
        sent,
        answered,
        refused,
        failed,
    }
}

/// A child process run in the foreground with its stderr watched, killed when dropped.
pub fn spawn_watched(mut command: Command) -> weft_testkit::WatchedChild {
    command.stdin(Stdio::null()).stdout(Stdio::null());
    weft_testkit::WatchedChild::spawn(command, Watch::Stderr, weft_testkit::DEADLINE)
}
