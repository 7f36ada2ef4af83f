//! Pool configuration: thread limit per lane, idle timeout, shutdown timeout.
//!
//! Each setting comes from, in order of precedence: the builder
//! ([`PoolBuilder`], or the runtime builder that forwards to it), then an
//! environment variable, then the default documented on its constant.
//! Precedence follows tokio's `TOKIO_WORKER_THREADS`: code that sets a value
//! explicitly knows best; the environment tunes a binary that left it open.
//!
//! | setting | variable | default |
//! |---|---|---|
//! | `fs` threads | `WEFT_POOL_FS_THREADS` | [`DEFAULT_FS_THREADS`] |
//! | `dns` threads | `WEFT_POOL_DNS_THREADS` | [`DEFAULT_DNS_THREADS`] |
//! | `cpu` threads | `WEFT_POOL_CPU_THREADS` | cores ([`default_cpu_threads`]) |
//! | `blocking` threads | `WEFT_POOL_BLOCKING_THREADS` | [`DEFAULT_BLOCKING_THREADS`] |
//! | idle timeout | `WEFT_POOL_IDLE_TIMEOUT_MS` | [`DEFAULT_IDLE_TIMEOUT`] |
//! | shutdown timeout | `WEFT_POOL_SHUTDOWN_TIMEOUT_MS` | [`DEFAULT_SHUTDOWN_TIMEOUT`] |
//! | `cpu` lane niceness | `WEFT_POOL_CPU_NICE` | [`DEFAULT_CPU_NICE`] |
//!
//! A malformed value (not a number, zero threads, more than
//! [`MAX_LANE_THREADS`]) is an `InvalidInput` error from `build()` naming the
//! variable and the value, never a silent fallback.

use std::io;
use std::time::Duration;

use super::lane::Lane;

/// Default `fs` lane threads: libuv's default pool size. File calls mostly hit
/// the page cache and return in microseconds; four threads overlap a few
/// cache misses on one device without contending for it.
pub const DEFAULT_FS_THREADS: usize = 4;

/// Default `dns` lane threads: `getaddrinfo` can block for the resolver's
/// whole timeout (glibc: 5 s per attempt). Four lookups in flight keep one
/// dead name from holding up the others, while a resolver outage cannot pile
/// up hundreds of stuck threads; the lane isolates the rest of the pool from
/// it either way.
pub const DEFAULT_DNS_THREADS: usize = 4;

/// Default `blocking` lane threads: tokio's `max_blocking_threads`. Arbitrary
/// blocking code may wait for other blocking jobs (a consumer waiting on a
/// producer), which a small limit turns into a deadlock; threads exist only
/// while there is work, so a high ceiling costs nothing when idle.
pub const DEFAULT_BLOCKING_THREADS: usize = 512;

/// Upper bound on any lane's thread limit. Far past any useful parallelism
/// on one machine; a larger value is taken for a typo and refused.
pub const MAX_LANE_THREADS: usize = 4096;

/// How long a worker thread waits for a job before it exits: tokio's default
/// keep-alive. A steady trickle of jobs keeps reusing threads; a burst's
/// extra threads are gone soon after it ends.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(10);

/// How long shutdown lets running jobs finish before it detaches their
/// threads and returns: long enough for a file write to complete or a DNS
/// lookup to hit glibc's 5 s resolver timeout, short enough that a stuck job
/// cannot noticeably delay process exit.
pub const DEFAULT_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(5);

/// Default niceness of the `cpu` lane's threads, relative to the process: 10, so that a loop
/// thread that wakes up takes the core from a CPU job at once, instead of waiting out the
/// job's time slice. Where loops and the pool share cores (one pinned CPU, a container's
/// quota, more jobs than cores) this is what keeps offloading worth it: the job frees the
/// loop, and the lower priority frees the core for the loop when it has something to do.
/// It costs a CPU job nothing while the core is otherwise idle; under contention the job gets
/// the time the loops do not use. 0 keeps the jobs at the loops' priority; 19 is the lowest.
pub const DEFAULT_CPU_NICE: i32 = 10;

/// Default `cpu` lane threads: one per core (as reported by
/// [`std::thread::available_parallelism`], which honours CPU affinity and
/// cgroup quotas), since more CPU-bound threads than cores only add context
/// switches. 1 if the count is unknown.
pub fn default_cpu_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

fn default_threads(lane: Lane) -> usize {
    match lane {
        Lane::Fs => DEFAULT_FS_THREADS,
        Lane::Dns => DEFAULT_DNS_THREADS,
        Lane::Cpu => default_cpu_threads(),
        Lane::Blocking => DEFAULT_BLOCKING_THREADS,
    }
}

fn threads_var(lane: Lane) -> &'static str {
    match lane {
        Lane::Fs => "WEFT_POOL_FS_THREADS",
        Lane::Dns => "WEFT_POOL_DNS_THREADS",
        Lane::Cpu => "WEFT_POOL_CPU_THREADS",
        Lane::Blocking => "WEFT_POOL_BLOCKING_THREADS",
    }
}

const IDLE_TIMEOUT_VAR: &str = "WEFT_POOL_IDLE_TIMEOUT_MS";
const SHUTDOWN_TIMEOUT_VAR: &str = "WEFT_POOL_SHUTDOWN_TIMEOUT_MS";
const CPU_NICE_VAR: &str = "WEFT_POOL_CPU_NICE";

/// The settings a [`WorkerPool`](crate::pool::WorkerPool) was built with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PoolConfig {
    threads: [usize; 4],
    /// How long an idle worker thread lives.
    pub idle_timeout: Duration,
    /// How long shutdown waits for running jobs.
    pub shutdown_timeout: Duration,
    /// How much lower than the process the `cpu` lane's threads run (see
    /// [`DEFAULT_CPU_NICE`]).
    pub cpu_nice: i32,
}

impl PoolConfig {
    /// The thread limit of `lane`.
    pub fn threads(&self, lane: Lane) -> usize {
        self.threads[lane.index()]
    }
}

/// Builds a [`WorkerPool`](crate::pool::WorkerPool); see the [pool docs](crate::pool#settings) for
/// settings, precedence and defaults.
///
/// ```
/// # use weft::pool::{Lane, PoolBuilder};
/// # use std::time::Duration;
/// let pool = PoolBuilder::new()
///     .threads(Lane::Fs, 8)
///     .shutdown_timeout(Duration::from_secs(1))
///     .build()?;
/// assert_eq!(pool.config().threads(Lane::Fs), 8);
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone, Debug, Default)]
pub struct PoolBuilder {
    threads: [Option<usize>; 4],
    idle_timeout: Option<Duration>,
    shutdown_timeout: Option<Duration>,
    cpu_nice: Option<i32>,
}

impl PoolBuilder {
    /// A builder with nothing set: every setting comes from the environment
    /// or its default.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the thread limit of `lane` (1..=[`MAX_LANE_THREADS`]; checked by
    /// `build`).
    pub fn threads(&mut self, lane: Lane, n: usize) -> &mut Self {
        self.threads[lane.index()] = Some(n);
        self
    }

    /// Sets how long an idle worker thread waits for a job before exiting.
    pub fn idle_timeout(&mut self, timeout: Duration) -> &mut Self {
        self.idle_timeout = Some(timeout);
        self
    }

    /// Sets how long shutdown waits for running jobs before detaching them.
    pub fn shutdown_timeout(&mut self, timeout: Duration) -> &mut Self {
        self.shutdown_timeout = Some(timeout);
        self
    }

    /// Sets how much lower than the process the `cpu` lane's threads run, 0..=19 (checked by
    /// `build`); see [`DEFAULT_CPU_NICE`] for why they run lower by default.
    pub fn cpu_nice(&mut self, nice: i32) -> &mut Self {
        self.cpu_nice = Some(nice);
        self
    }

    /// Resolves the settings against the process environment.
    ///
    /// # Errors
    ///
    /// `InvalidInput` if a thread limit (set here or in the environment) is 0
    /// or above [`MAX_LANE_THREADS`], or an environment value is not a
    /// non-negative integer.
    pub fn config(&self) -> io::Result<PoolConfig> {
        self.config_with_env(|name| std::env::var(name).ok())
    }

    fn config_with_env(&self, env: impl Fn(&str) -> Option<String>) -> io::Result<PoolConfig> {
        let mut threads = [0; 4];
        for lane in Lane::ALL {
            let var = threads_var(lane);
            let (n, source) = match self.threads[lane.index()] {
                Some(n) => (n, format!("Builder::threads(Lane::{lane:?}, {n})")),
                None => match parse_env(&env, var)? {
                    Some(n) => (n, format!("{var}={n}")),
                    None => (default_threads(lane), String::new()),
                },
            };
            if !(1..=MAX_LANE_THREADS).contains(&n) {
                return Err(invalid(format!(
                    "weft pool: {source}: a lane needs 1..={MAX_LANE_THREADS} threads"
                )));
            }
            threads[lane.index()] = n;
        }
        let millis =
            |var| parse_env(&env, var).map(|v| v.map(|ms| Duration::from_millis(ms as u64)));
        Ok(PoolConfig {
            threads,
            idle_timeout: match self.idle_timeout {
                Some(d) => d,
                None => millis(IDLE_TIMEOUT_VAR)?.unwrap_or(DEFAULT_IDLE_TIMEOUT),
            },
            shutdown_timeout: match self.shutdown_timeout {
                Some(d) => d,
                None => millis(SHUTDOWN_TIMEOUT_VAR)?.unwrap_or(DEFAULT_SHUTDOWN_TIMEOUT),
            },
            cpu_nice: self.resolve_cpu_nice(&env)?,
        })
    }

    fn resolve_cpu_nice(&self, env: &impl Fn(&str) -> Option<String>) -> io::Result<i32> {
        let (nice, source) = match self.cpu_nice {
            Some(n) => (i64::from(n), format!("Builder::cpu_nice({n})")),
            None => match parse_env(env, CPU_NICE_VAR)? {
                Some(n) => (n as i64, format!("{CPU_NICE_VAR}={n}")),
                None => return Ok(DEFAULT_CPU_NICE),
            },
        };
        if !(0..=19).contains(&nice) {
            return Err(invalid(format!(
                "weft pool: {source}: the cpu lane's niceness must be 0..=19"
            )));
        }
        Ok(nice as i32)
    }
}

fn invalid(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg)
}

/// Reads `var` as a non-negative integer; unset or empty means "not set".
fn parse_env(env: &impl Fn(&str) -> Option<String>, var: &str) -> io::Result<Option<usize>> {
    match env(var) {
        None => Ok(None),
        Some(v) if v.trim().is_empty() => Ok(None),
        Some(v) => v.trim().parse().map(Some).map_err(|_| {
            invalid(format!(
                "weft pool: {var}={v:?} is not a non-negative integer"
            ))
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_of(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn defaults_without_env() {
        let c = PoolBuilder::new().config_with_env(env_of(&[])).unwrap();
        assert_eq!(c.threads(Lane::Fs), DEFAULT_FS_THREADS);
        assert_eq!(c.threads(Lane::Dns), DEFAULT_DNS_THREADS);
        assert_eq!(c.threads(Lane::Cpu), default_cpu_threads());
        assert_eq!(c.threads(Lane::Blocking), DEFAULT_BLOCKING_THREADS);
        assert_eq!(c.idle_timeout, DEFAULT_IDLE_TIMEOUT);
        assert_eq!(c.shutdown_timeout, DEFAULT_SHUTDOWN_TIMEOUT);
        assert_eq!(c.cpu_nice, DEFAULT_CPU_NICE);
    }

    #[test]
    fn cpu_nice_from_env_builder_wins_and_out_of_range_is_refused() {
        let env = env_of(&[("WEFT_POOL_CPU_NICE", "0")]);
        assert_eq!(
            PoolBuilder::new().config_with_env(&env).unwrap().cpu_nice,
            0
        );
        let c = PoolBuilder::new()
            .cpu_nice(19)
            .config_with_env(&env)
            .unwrap();
        assert_eq!(c.cpu_nice, 19);
        let err = PoolBuilder::new()
            .config_with_env(env_of(&[("WEFT_POOL_CPU_NICE", "20")]))
            .unwrap_err();
        assert!(err.to_string().contains("WEFT_POOL_CPU_NICE=20"), "{err}");
        let err = PoolBuilder::new()
            .cpu_nice(-1)
            .config_with_env(&env)
            .unwrap_err();
        assert!(err.to_string().contains("cpu_nice(-1)"), "{err}");
    }

    #[test]
    fn env_sets_and_builder_overrides() {
        let env = env_of(&[
            ("WEFT_POOL_FS_THREADS", "7"),
            ("WEFT_POOL_DNS_THREADS", "9"),
            ("WEFT_POOL_IDLE_TIMEOUT_MS", "250"),
            ("WEFT_POOL_SHUTDOWN_TIMEOUT_MS", " "),
        ]);
        let c = PoolBuilder::new()
            .threads(Lane::Dns, 2)
            .config_with_env(env)
            .unwrap();
        assert_eq!(c.threads(Lane::Fs), 7);
        assert_eq!(c.threads(Lane::Dns), 2);
        assert_eq!(c.idle_timeout, Duration::from_millis(250));
        assert_eq!(c.shutdown_timeout, DEFAULT_SHUTDOWN_TIMEOUT);
    }

    #[test]
    fn bad_values_are_refused_with_the_source() {
        let err = PoolBuilder::new()
            .config_with_env(env_of(&[("WEFT_POOL_CPU_THREADS", "lots")]))
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        assert!(
            err.to_string().contains("WEFT_POOL_CPU_THREADS=\"lots\""),
            "{err}"
        );

        let err = PoolBuilder::new()
            .config_with_env(env_of(&[("WEFT_POOL_BLOCKING_THREADS", "0")]))
            .unwrap_err();
        assert!(
            err.to_string().contains("WEFT_POOL_BLOCKING_THREADS=0"),
            "{err}"
        );

        let err = PoolBuilder::new()
            .threads(Lane::Fs, MAX_LANE_THREADS + 1)
            .config_with_env(env_of(&[]))
            .unwrap_err();
        assert!(err.to_string().contains("Lane::Fs"), "{err}");
    }
}
