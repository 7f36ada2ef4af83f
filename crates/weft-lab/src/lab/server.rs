//! A model server as the lab sees it: a child process (`weft lab model NAME`) started, asked
//! whether it serves, measured through `/proc`, and stopped — SIGTERM first (the supervised
//! models drain their workers), SIGKILL to the whole tree if it does not go in time.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use super::catalog::ModelKind;
use super::models::{self, LISTENING_PREFIX};
use super::procfs::{self, TreeUsage};
use super::sys;

/// How long a model may take to print its listening line: 10 s (a cold start of a cluster on
/// a busy 2-core machine takes well under one).
const START_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a model may take, once listening, to answer `GET /` (cluster workers start after
/// the supervisor's line): 10 s.
const SERVE_TIMEOUT: Duration = Duration::from_secs(10);

/// How long SIGTERM may take before SIGKILL: 3 s.
const STOP_TIMEOUT: Duration = Duration::from_secs(3);

/// Pause between polls of a condition with a deadline.
const POLL: Duration = Duration::from_millis(10);

/// A running model server.
#[derive(Debug)]
pub(crate) struct ModelServer {
    child: Option<Child>,
    /// Where it listens.
    pub(crate) addr: SocketAddr,
    /// Its (supervisor's) process id.
    pub(crate) pid: u32,
    /// Its stderr, for the report when it fails.
    log: PathBuf,
}

impl ModelServer {
    /// Starts `model`, pinned to `cpu` if given, and waits until it answers `GET /`.
    pub(crate) fn start(model: ModelKind, cpu: Option<usize>) -> io::Result<ModelServer> {
        let exe = std::env::current_exe()?;
        static STARTED: AtomicU64 = AtomicU64::new(0);
        let log = std::env::temp_dir().join(format!(
            "weft-lab-{}-{}-{}.log",
            model.name(),
            std::process::id(),
            STARTED.fetch_add(1, Ordering::Relaxed)
        ));
        let mut command = Command::new(exe);
        command.args(["lab", "model", model.name(), "--port", "0"]);
        if let Some(cpu) = cpu {
            command.args(["--cpu", &cpu.to_string()]);
        }
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(File::create(&log)?))
            .spawn()
            .map_err(|e| io::Error::new(e.kind(), format!("start model {model}: {e}")))?;
        let stdout = child.stdout.take().expect("stdout is piped");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            let first = lines.next();
            let _ = tx.send(first);
            // Keep draining so that the model never blocks on a full pipe.
            for _ in lines {}
        });
        let pid = child.id();
        let mut server = ModelServer {
            child: Some(child),
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            pid,
            log,
        };
        let line = match rx.recv_timeout(START_TIMEOUT) {
            Ok(Some(Ok(line))) => line,
            _ => {
                return Err(io::Error::other(format!(
                    "model {model} did not say where it listens within {START_TIMEOUT:?}: {}",
                    server.log_tail()
                )))
            }
        };
        server.addr = line
            .strip_prefix(LISTENING_PREFIX)
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|a| a.parse().ok())
            .ok_or_else(|| {
                io::Error::other(format!("model {model}: unexpected first line {line:?}"))
            })?;
        let deadline = Instant::now() + SERVE_TIMEOUT;
        loop {
            let serving = matches!(
                http_get(server.addr, "/", Duration::from_secs(1)),
                Ok((200, _))
            );
            // Supervised models: every worker, not just the first, before measuring.
            if serving && server.usage().processes >= models::processes(model) {
                return Ok(server);
            }
            if Instant::now() >= deadline || !server.is_alive() {
                return Err(io::Error::other(format!(
                    "model {model} listens on {} but did not answer GET / with all its processes up within {SERVE_TIMEOUT:?}: {}",
                    server.addr,
                    server.log_tail()
                )));
            }
            std::thread::sleep(POLL);
        }
    }

    /// Memory, threads, switches and CPU of the server's process tree.
    pub(crate) fn usage(&self) -> TreeUsage {
        procfs::tree_usage(self.pid)
    }

    /// Whether the (supervisor) process still runs.
    pub(crate) fn is_alive(&mut self) -> bool {
        match self.child.as_mut() {
            Some(child) => matches!(child.try_wait(), Ok(None)),
            None => false,
        }
    }

    /// The last lines the server wrote to stderr.
    pub(crate) fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        let tail = lines[lines.len().saturating_sub(3)..].join(" / ");
        if tail.is_empty() {
            "(nothing on stderr)".into()
        } else {
            tail
        }
    }

    /// Stops the server and every process it started.
    pub(crate) fn stop(mut self) {
        self.stop_now();
    }

    fn stop_now(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let tree = procfs::process_tree(self.pid);
        let _ = sys::send_signal(self.pid, sys::SIGTERM);
        let deadline = Instant::now() + STOP_TIMEOUT;
        while Instant::now() < deadline {
            if matches!(child.try_wait(), Ok(Some(_))) {
                break;
            }
            std::thread::sleep(POLL);
        }
        for pid in tree.into_iter().rev() {
            let _ = sys::send_signal(pid, sys::SIGKILL);
        }
        let _ = child.kill();
        let _ = child.wait();
        let _ = std::fs::remove_file(&self.log);
    }
}

impl Drop for ModelServer {
    fn drop(&mut self) {
        self.stop_now();
    }
}

/// One `GET path` on a fresh connection, every step bounded by `timeout`: status and body.
pub(crate) fn http_get(
    addr: SocketAddr,
    path: &str,
    timeout: Duration,
) -> io::Result<(u16, String)> {
    let mut stream = TcpStream::connect_timeout(&addr, timeout)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    let text = String::from_utf8_lossy(&raw);
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| io::Error::new(io::ErrorKind::UnexpectedEof, "no HTTP status line"))?;
    let body = text
        .split_once("\r\n\r\n")
        .map_or("", |(_, b)| b)
        .to_string();
    Ok((status, body))
}
