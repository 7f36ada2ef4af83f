//! The kinds of work the pool keeps apart ([`Lane`]); each has its own queue and threads
//! (`queue`).

use std::fmt;

/// A kind of work, with its own queue and threads in the
/// [`WorkerPool`](crate::pool::WorkerPool).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Lane {
    /// File system calls (`weft::fs`).
    Fs,
    /// Name resolution (`weft::dns`), which can block for the resolver's
    /// whole timeout.
    Dns,
    /// CPU-heavy computation taken off the event loop.
    Cpu,
    /// Any other blocking call (`spawn_blocking`).
    Blocking,
}

impl Lane {
    /// Every lane, in the order [`PoolMetrics`](crate::pool::PoolMetrics) lists them.
    pub const ALL: [Lane; 4] = [Lane::Fs, Lane::Dns, Lane::Cpu, Lane::Blocking];

    /// The lane's lower-case name (`"fs"`, `"dns"`, `"cpu"`, `"blocking"`),
    /// also used in its threads' names and environment variables.
    pub fn name(self) -> &'static str {
        match self {
            Lane::Fs => "fs",
            Lane::Dns => "dns",
            Lane::Cpu => "cpu",
            Lane::Blocking => "blocking",
        }
    }

    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Lane {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
