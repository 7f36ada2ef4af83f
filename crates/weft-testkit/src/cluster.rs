//! A cluster under test: the supervisor as a [`ServeChild`], and its workers' ready lines.

use std::collections::BTreeMap;

use crate::serve::ServeChild;

/// Reads one line of the supervisor's output: `Some((slot, pid))` if it says a worker is ready.
pub type ReadyLine = fn(&str) -> Option<(usize, u32)>;

/// A running supervisor (its start line read) and how to tell its workers' ready lines.
/// Waiting for lines, for the exit, signalling and the address are [`ServeChild`]'s (through
/// `Deref`).
#[derive(Debug)]
pub struct Cluster {
    supervisor: ServeChild,
    ready: ReadyLine,
}

impl Cluster {
    /// A cluster whose supervisor is `supervisor`, whose ready lines `ready` recognises.
    pub fn new(supervisor: ServeChild, ready: ReadyLine) -> Cluster {
        Cluster { supervisor, ready }
    }

    /// `weft serve` (the binary `bin`) with `args`, which include `--workers N`: its
    /// supervisor's "cluster worker ready" lines, with `slot=` and `pid=`, are the workers'.
    pub fn weft_serve<I, S>(bin: &str, args: I) -> Cluster
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        Cluster::new(ServeChild::weft_serve(bin, args), |line| {
            if !line.contains("cluster worker ready") {
                return None;
            }
            Some((log_field(line, "slot=")? as usize, log_field(line, "pid=")?))
        })
    }

    /// Waits until `n` distinct slots have reported ready (lines already read count); returns
    /// (slot, pid) pairs by slot, each with the pid of its latest ready line.
    pub fn wait_ready(&mut self, n: usize) -> Vec<(usize, u32)> {
        let ready = self.ready;
        let mut slots: BTreeMap<usize, u32> = self.log.iter().filter_map(|l| ready(l)).collect();
        while slots.len() < n {
            let line = self.wait_line(|l| ready(l).is_some(), &format!("{n} workers ready"));
            let (slot, pid) = ready(&line).expect("a ready line");
            slots.insert(slot, pid);
        }
        slots.into_iter().collect()
    }

    /// Lines printed so far that start with `prefix`.
    pub fn lines_with(&self, prefix: &str) -> Vec<&String> {
        self.log.iter().filter(|l| l.starts_with(prefix)).collect()
    }
}

impl std::ops::Deref for Cluster {
    type Target = ServeChild;
    fn deref(&self) -> &ServeChild {
        &self.supervisor
    }
}

impl std::ops::DerefMut for Cluster {
    fn deref_mut(&mut self) -> &mut ServeChild {
        &mut self.supervisor
    }
}

/// The number after `key` (`pid=`, `slot=`) in a log line, if one of its words starts so.
pub fn log_field(line: &str, key: &str) -> Option<u32> {
    line.split_whitespace()
        .find_map(|w| w.strip_prefix(key))
        .and_then(|v| v.parse().ok())
}
