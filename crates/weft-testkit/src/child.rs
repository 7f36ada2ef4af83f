//! A child process watched line by line: wait for a line with a deadline, and on failure
//! print everything the child said.

use std::io::{self, BufRead, BufReader, Read};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// After the child exited, how long to wait for the last of its output to be read.
const LAST_OUTPUT: Duration = Duration::from_secs(1);

/// Polling period while waiting for the child to exit.
const EXIT_POLL: Duration = Duration::from_millis(10);

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
                while let Ok(line) = self.lines.recv_timeout(LAST_OUTPUT) {
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
            std::thread::sleep(EXIT_POLL);
        }
    }

    /// The child's exit status if it has exited (reaping it), `None` while it runs.
    pub fn try_wait(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().expect("try_wait")
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

/// Sends `signal` to every process of process group `pgid` (a child started with
/// `process_group(0)` and its descendants); panics if it cannot be sent.
pub fn signal_group(pgid: u32, signal: i32) {
    // SAFETY: kill has no memory-safety preconditions; a negative pid names a process group.
    let rc = unsafe { libc::kill(-(pgid as libc::pid_t), signal) };
    assert_eq!(
        rc,
        0,
        "kill(-{pgid}, {signal}): {}",
        io::Error::last_os_error()
    );
}

/// Runs `command` to its end with stdout and stderr captured, as [`Command::output`] does, but
/// within `deadline`: a child still running then is killed and the test fails with what it
/// printed so far.
pub fn run_to_end(mut command: Command, deadline: Duration) -> Output {
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command
        .spawn()
        .unwrap_or_else(|e| panic!("starting {command:?}: {e}"));
    let read_all = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = pipe.read_to_end(&mut bytes);
            bytes
        })
    };
    let stdout = read_all(Box::new(child.stdout.take().expect("stdout is piped")));
    let stderr = read_all(Box::new(child.stderr.take().expect("stderr is piped")));
    let end = Instant::now() + deadline;
    let status = loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            break status;
        }
        if Instant::now() >= end {
            let _ = child.kill();
            let _ = child.wait();
            let (out, err) = (stdout.join().unwrap(), stderr.join().unwrap());
            panic!(
                "{command:?} did not end within {deadline:?}; stdout:\n{}\nstderr:\n{}",
                String::from_utf8_lossy(&out),
                String::from_utf8_lossy(&err)
            );
        }
        std::thread::sleep(EXIT_POLL);
    };
    Output {
        status,
        stdout: stdout.join().unwrap(),
        stderr: stderr.join().unwrap(),
    }
}
