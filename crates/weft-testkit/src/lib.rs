//! What the integration tests of the weft crates share: a child process watched line by line,
//! and a bounded load of clients whose every request is recorded.
//!
//! Tests that start real processes (a cluster supervisor and its workers, `weft serve
//! --workers N`) read the child's output as it comes, wait for a line with a deadline, and on
//! failure print everything the child said. A dev-dependency only; not published.

use std::io::{self, BufRead, BufReader, Read};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Which output of the child is watched.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Watch {
    /// Standard output.
    Stdout,
    /// Standard error.
    Stderr,
}

/// A child process, its watched output line by line, and every line read so far.
///
/// Dropping it kills the child (SIGKILL) and reaps it.
#[derive(Debug)]
pub struct WatchedChild {
    child: Child,
    lines: mpsc::Receiver<String>,
    /// Every line read so far, in order.
    pub log: Vec<String>,
    /// How long any single wait may take before the test fails.
    deadline: Duration,
}

impl WatchedChild {
    /// Spawns `command` with the `watch`ed output piped, read on a thread of its own; every
    /// wait fails after `deadline`.
    pub fn spawn(mut command: Command, watch: Watch, deadline: Duration) -> WatchedChild {
        match watch {
            Watch::Stdout => command.stdout(Stdio::piped()),
            Watch::Stderr => command.stderr(Stdio::piped()),
        };
        let mut child = command
            .spawn()
            .unwrap_or_else(|e| panic!("starting {command:?}: {e}"));
        let output: Box<dyn Read + Send> = match watch {
            Watch::Stdout => Box::new(child.stdout.take().expect("stdout is piped")),
            Watch::Stderr => Box::new(child.stderr.take().expect("stderr is piped")),
        };
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(output).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        WatchedChild {
            child,
            lines,
            log: Vec::new(),
            deadline,
        }
    }

    /// The child's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits for a new line matching `pred` (one not read yet); panics with the log after the
    /// deadline.
    pub fn wait_line(&mut self, mut pred: impl FnMut(&str) -> bool, what: &str) -> String {
        let deadline = Instant::now() + self.deadline;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.log.push(line.clone());
                    if pred(&line) {
                        return line;
                    }
                }
                Err(_) => panic!(
                    "waited {:?} for {what}; the child printed:\n{}",
                    self.deadline,
                    self.log.join("\n")
                ),
            }
        }
    }

    /// Like [`wait_line`](Self::wait_line), but a line already read counts too.
    pub fn wait_logged(&mut self, mut pred: impl FnMut(&str) -> bool, what: &str) -> String {
        if let Some(line) = self.log.iter().find(|l| pred(l)) {
            return line.clone();
        }
        self.wait_line(pred, what)
    }

    /// Waits for the child to exit, reading its remaining output; panics after the deadline.
    pub fn wait_exit(&mut self) -> ExitStatus {
        let deadline = Instant::now() + self.deadline;
        loop {
            while let Ok(line) = self.lines.try_recv() {
                self.log.push(line);
            }
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(1)) {
                    self.log.push(line);
                }
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "the child did not exit within {:?}; it printed:\n{}",
                self.deadline,
                self.log.join("\n")
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Sends `signal` to the child.
    pub fn signal(&self, signal: i32) {
        send_signal(self.pid(), signal);
    }
}

impl Drop for WatchedChild {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Sends `signal` to process `pid`; panics (naming both) if it cannot be sent.
pub fn send_signal(pid: u32, signal: i32) {
    // SAFETY: kill has no memory-safety preconditions.
    let rc = unsafe { libc::kill(pid as libc::pid_t, signal) };
    assert_eq!(
        rc,
        0,
        "kill({pid}, {signal}): {}",
        io::Error::last_os_error()
    );
}

/// How one request of a [`Load`] ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Answered by this pid (or 0 when the answer names none).
    Answered(u32),
    /// The connection was refused: nothing was listening (not a request in flight).
    Refused,
    /// Connected, then no complete answer: a request in flight was lost.
    Failed(String),
}

/// One request of a load run.
#[derive(Clone, Debug)]
pub struct Record {
    /// When the request began (before connecting).
    pub started: Instant,
    /// When its outcome was known.
    pub ended: Instant,
    /// How it ended.
    pub outcome: Outcome,
}

/// Hard cap on requests per load client, so a test can never flood the machine.
pub const LOAD_MAX: usize = 20_000;

/// A load client pauses this long after a refused connection (the port may be closed for good).
const REFUSED_PAUSE: Duration = Duration::from_millis(10);

/// A bounded load: client threads each sending requests in a loop until stopped, or after
/// [`LOAD_MAX`] requests, or after the deadline.
#[derive(Debug)]
pub struct Load {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    records: std::sync::Arc<std::sync::Mutex<Vec<Record>>>,
    threads: Vec<std::thread::JoinHandle<()>>,
    deadline: Duration,
}

impl Load {
    /// Starts `clients` threads, each calling `request` in a loop (one request, one outcome);
    /// none runs longer than `deadline`.
    pub fn start<F>(clients: usize, deadline: Duration, request: F) -> Load
    where
        F: Fn() -> Outcome + Clone + Send + 'static,
    {
        use std::sync::atomic::Ordering::SeqCst;
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let records = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let threads = (0..clients)
            .map(|_| {
                let (stop, records, request) = (stop.clone(), records.clone(), request.clone());
                std::thread::spawn(move || {
                    let begun = Instant::now();
                    for _ in 0..LOAD_MAX {
                        if stop.load(SeqCst) || begun.elapsed() > deadline {
                            break;
                        }
                        let started = Instant::now();
                        let outcome = request();
                        let refused = outcome == Outcome::Refused;
                        records.lock().unwrap().push(Record {
                            started,
                            ended: Instant::now(),
                            outcome,
                        });
                        if refused {
                            std::thread::sleep(REFUSED_PAUSE);
                        }
                    }
                })
            })
            .collect();
        Load {
            stop,
            records,
            threads,
            deadline,
        }
    }

    /// The records so far.
    pub fn records(&self) -> Vec<Record> {
        self.records.lock().unwrap().clone()
    }

    /// Waits until `cond` holds for the records so far; panics after the deadline.
    pub fn wait_until(&self, what: &str, mut cond: impl FnMut(&[Record]) -> bool) {
        let deadline = Instant::now() + self.deadline;
        while !cond(&self.records.lock().unwrap()) {
            assert!(
                Instant::now() < deadline,
                "waited {:?} for {what}",
                self.deadline
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Waits until some request was answered by a pid in `pids`.
    pub fn wait_answer_from(&self, pids: &[u32], what: &str) {
        self.wait_until(what, |records| answered_by(records, pids));
    }

    /// Stops the clients and returns every record.
    pub fn stop(self) -> Vec<Record> {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        for t in self.threads {
            t.join().unwrap();
        }
        let records = self.records.lock().unwrap();
        records.clone()
    }
}

/// Whether some request was answered by a pid in `pids`.
pub fn answered_by(records: &[Record], pids: &[u32]) -> bool {
    records
        .iter()
        .any(|r| matches!(r.outcome, Outcome::Answered(p) if pids.contains(&p)))
}

/// Counts (sent, answered, refused, failed) and lists the failures.
pub fn tally(records: &[Record]) -> (usize, usize, usize, Vec<String>) {
    let answered = records
        .iter()
        .filter(|r| matches!(r.outcome, Outcome::Answered(_)))
        .count();
    let refused = records
        .iter()
        .filter(|r| r.outcome == Outcome::Refused)
        .count();
    let failed = records
        .iter()
        .filter_map(|r| match &r.outcome {
            Outcome::Failed(why) => Some(why.clone()),
            _ => None,
        })
        .collect();
    (records.len(), answered, refused, failed)
}
