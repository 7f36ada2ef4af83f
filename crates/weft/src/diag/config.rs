//! What diagnostics are on: [`Config`], built in code or parsed from `WEFT_DIAG`.
//!
//! Everything is off by default. A runtime built with
//! [`Builder::diagnostics`](crate::rt::Builder::diagnostics) uses that configuration; a runtime
//! built without one reads `WEFT_DIAG` (so an operator can turn diagnostics on without a
//! rebuild). **The code wins**: a configuration given to the builder is used as given and the
//! variable is not read, as with `RUST_LOG` and an explicit `tracing` filter. A malformed
//! `WEFT_DIAG` makes `build()` fail with `InvalidInput` naming the bad item.

use std::fmt;
use std::time::Duration;

/// The environment variable [`Config::from_env`] reads.
pub const ENV_VAR: &str = "WEFT_DIAG";

/// The watchdog threshold `WEFT_DIAG=all` (or a bare `watchdog`) uses: long enough that a
/// healthy loop turn (a few hundred microseconds) never trips it, short enough that a human
/// notices a stall well before a client times out.
pub const DEFAULT_WATCHDOG: Duration = Duration::from_millis(100);

/// Self-wakes in a row without progress before a task is reported as a possible livelock
/// (`WEFT_DIAG=livelock`): far above what a fair `yield_now` loop does between real events.
pub const DEFAULT_LIVELOCK_WAKES: u32 = 10_000;

/// How long a waiter waits, while others take the resource, before it is reported as starved.
pub const DEFAULT_STARVATION_WAIT: Duration = Duration::from_secs(1);

/// How many times others take the resource while one waiter waits before it counts as starved.
pub const DEFAULT_STARVATION_OVERTAKES: u32 = 100;

/// What to do when a deadlock is found.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Action {
    /// Report it (handler and `tracing`); the members stay stuck.
    #[default]
    Report,
    /// Report it, then abort the youngest async task of the cycle (the largest id): its future
    /// is dropped on its loop, its guards are released, and its `JoinHandle` yields a
    /// [`JoinError`](crate::JoinError) for which
    /// [`is_deadlock_victim`](crate::JoinError::is_deadlock_victim) is true. Green threads and
    /// OS threads cannot be cancelled; a cycle of only those is reported.
    CancelVictim,
    /// Print the report to stderr and abort the process (like a failed assertion).
    Abort,
}

/// Which diagnostics are on; see the module doc. Built like
/// `Config::default().deadlocks(true).lock_order(true).watchdog(Duration::from_millis(100))`.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Config {
    pub(crate) deadlocks: bool,
    pub(crate) lock_order: bool,
    pub(crate) watchdog: Option<Duration>,
    pub(crate) on_deadlock: Action,
    pub(crate) livelock_wakes: Option<u32>,
    pub(crate) starvation: Option<(Duration, u32)>,
}

impl Config {
    /// Everything off (the same as `Config::default()`).
    pub fn new() -> Config {
        Config::default()
    }

    /// Everything on, with the default thresholds (`WEFT_DIAG=all`).
    pub fn all() -> Config {
        Config::default()
            .deadlocks(true)
            .lock_order(true)
            .watchdog(DEFAULT_WATCHDOG)
            .livelock(DEFAULT_LIVELOCK_WAKES)
            .starvation(DEFAULT_STARVATION_WAIT, DEFAULT_STARVATION_OVERTAKES)
    }

    /// Finds deadlocks in the wait-for graph as waiters park.
    pub fn deadlocks(mut self, on: bool) -> Config {
        self.deadlocks = on;
        self
    }

    /// Checks the order in which lock classes (keyed by creation site) are taken.
    pub fn lock_order(mut self, on: bool) -> Config {
        self.lock_order = on;
        self
    }

    /// Reports a loop whose current poll has run longer than `threshold`.
    pub fn watchdog(mut self, threshold: Duration) -> Config {
        self.watchdog = Some(threshold);
        self
    }

    /// What to do when a deadlock is found (default [`Action::Report`]).
    pub fn on_deadlock(mut self, action: Action) -> Config {
        self.on_deadlock = action;
        self
    }

    /// Reports a task that wakes itself more than `wakes` times in a row with no progress.
    pub fn livelock(mut self, wakes: u32) -> Config {
        self.livelock_wakes = Some(wakes);
        self
    }

    /// Reports an actor that kept trying to take a resource for longer than `wait` while others
    /// took it more than `overtakes` times (`WEFT_DIAG=starvation[=1s]`, with
    /// [`DEFAULT_STARVATION_OVERTAKES`]), as [`ReportKind::Starvation`](super::ReportKind):
    /// once per run of attempts, with its name, spawn site, how long, how many attempts and
    /// how many grants to others. An attempt is a failed `try_lock` / `try_read` /
    /// `try_write` / `try_acquire*`, or a wait that starts (again); attempts less than `wait`
    /// apart make one run, which ends when the actor gets the resource. Since `weft::sync` is
    /// FIFO with no barging, a waiter that stays queued is never reported (a long queue is
    /// contention, served in turn); what starves is a `try_*` retry loop, or a wait that keeps
    /// leaving the queue (a short `timeout`, a `select!` that re-creates the future) and going
    /// to its back.
    pub fn starvation(mut self, wait: Duration, overtakes: u32) -> Config {
        self.starvation = Some((wait, overtakes));
        self
    }

    /// True if deadlock detection is on.
    pub fn deadlocks_enabled(&self) -> bool {
        self.deadlocks
    }

    /// True if lock-order checking is on.
    pub fn lock_order_enabled(&self) -> bool {
        self.lock_order
    }

    /// The watchdog threshold, if the watchdog is on.
    pub fn watchdog_threshold(&self) -> Option<Duration> {
        self.watchdog
    }

    /// The action taken on a deadlock.
    pub fn deadlock_action(&self) -> Action {
        self.on_deadlock
    }

    /// The livelock threshold (self-wakes in a row), if livelock hints are on.
    pub fn livelock_threshold(&self) -> Option<u32> {
        self.livelock_wakes
    }

    /// The starvation thresholds (wait, overtakes), if starvation hints are on.
    pub fn starvation_threshold(&self) -> Option<(Duration, u32)> {
        self.starvation
    }

    /// True if anything at all is on.
    pub fn any(&self) -> bool {
        self.deadlocks
            || self.lock_order
            || self.watchdog.is_some()
            || self.livelock_wakes.is_some()
            || self.starvation.is_some()
    }

    /// True if a `weft::sync` primitive must record holders and waiters for this configuration.
    pub(crate) fn needs_trace(&self) -> bool {
        self.any()
    }

    /// Reads `WEFT_DIAG`: `Ok(None)` when unset or empty.
    ///
    /// # Errors
    ///
    /// [`ConfigError`] naming the first item that does not parse.
    pub fn from_env() -> Result<Option<Config>, ConfigError> {
        match std::env::var(ENV_VAR) {
            Ok(v) if !v.trim().is_empty() => Config::parse(&v).map(Some),
            Ok(_) => Ok(None),
            Err(std::env::VarError::NotPresent) => Ok(None),
            Err(std::env::VarError::NotUnicode(_)) => Err(ConfigError {
                item: "<not UTF-8>".into(),
                reason: "the value is not valid UTF-8",
            }),
        }
    }

    /// Parses a `WEFT_DIAG` value: comma-separated items among `all`, `deadlocks`,
    /// `lock-order`, `watchdog[=DURATION]`, `livelock[=WAKES]`, `starvation[=DURATION]`,
    /// `on-deadlock=report|cancel-victim|abort`. Durations are `100ms`, `2s`, `500us`.
    ///
    /// # Errors
    ///
    /// [`ConfigError`] naming the first item that does not parse.
    pub fn parse(value: &str) -> Result<Config, ConfigError> {
        let mut config = Config::default();
        for raw in value.split(',') {
            let item = raw.trim();
            if item.is_empty() {
                continue;
            }
            let (name, arg) = match item.split_once('=') {
                Some((n, a)) => (n.trim(), Some(a.trim())),
                None => (item, None),
            };
            let bad = |reason| ConfigError {
                item: item.to_string(),
                reason,
            };
            let no_arg = |c: Config| match arg {
                None => Ok(c),
                Some(_) => Err(bad("this item takes no value")),
            };
            config = match name {
                "all" => no_arg(merge(config, Config::all()))?,
                "deadlocks" | "deadlock" => no_arg(config.deadlocks(true))?,
                "lock-order" | "lockdep" => no_arg(config.lock_order(true))?,
                "watchdog" => config.watchdog(match arg {
                    None => DEFAULT_WATCHDOG,
                    Some(a) => parse_duration(a).ok_or_else(|| bad(DURATION_HELP))?,
                }),
                "livelock" => config.livelock(match arg {
                    None => DEFAULT_LIVELOCK_WAKES,
                    Some(a) => a
                        .parse()
                        .ok()
                        .filter(|&n| n > 0)
                        .ok_or_else(|| bad("expected a positive count of wakes"))?,
                }),
                "starvation" => config.starvation(
                    match arg {
                        None => DEFAULT_STARVATION_WAIT,
                        Some(a) => parse_duration(a).ok_or_else(|| bad(DURATION_HELP))?,
                    },
                    DEFAULT_STARVATION_OVERTAKES,
                ),
                "on-deadlock" => config.on_deadlock(match arg {
                    Some("report") => Action::Report,
                    Some("cancel-victim") => Action::CancelVictim,
                    Some("abort") => Action::Abort,
                    _ => return Err(bad("expected on-deadlock=report|cancel-victim|abort")),
                }),
                _ => return Err(bad(UNKNOWN_HELP)),
            };
        }
        Ok(config)
    }
}

const DURATION_HELP: &str = "expected a duration such as 100ms, 2s or 500us";
const UNKNOWN_HELP: &str = "unknown item; expected all, deadlocks, lock-order, \
     watchdog[=100ms], livelock[=N], starvation[=1s], on-deadlock=report|cancel-victim|abort";

/// `all` turns things on without undoing thresholds or an action given earlier.
fn merge(mut base: Config, all: Config) -> Config {
    base.deadlocks = true;
    base.lock_order = true;
    base.watchdog = base.watchdog.or(all.watchdog);
    base.livelock_wakes = base.livelock_wakes.or(all.livelock_wakes);
    base.starvation = base.starvation.or(all.starvation);
    base
}

/// `100ms`, `2s`, `500us`, `1m`; a bare number is not accepted (its unit would be a guess).
fn parse_duration(s: &str) -> Option<Duration> {
    let split = s.find(|c: char| !c.is_ascii_digit())?;
    let (digits, unit) = s.split_at(split);
    let n: u64 = digits.parse().ok()?;
    let d = match unit {
        "us" => Duration::from_micros(n),
        "ms" => Duration::from_millis(n),
        "s" => Duration::from_secs(n),
        "m" => Duration::from_secs(n.checked_mul(60)?),
        _ => return None,
    };
    (!d.is_zero()).then_some(d)
}

/// A `WEFT_DIAG` item that does not parse.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    item: String,
    reason: &'static str,
}

impl ConfigError {
    /// The item as written.
    pub fn item(&self) -> &str {
        &self.item
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{ENV_VAR}: bad item `{}`: {}", self.item, self.reason)
    }
}

impl std::error::Error for ConfigError {}

impl From<ConfigError> for std::io::Error {
    fn from(e: ConfigError) -> std::io::Error {
        std::io::Error::new(std::io::ErrorKind::InvalidInput, e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_issue_examples() {
        let c = Config::parse("deadlocks,lock-order,watchdog=100ms").unwrap();
        assert_eq!(
            c,
            Config::default()
                .deadlocks(true)
                .lock_order(true)
                .watchdog(Duration::from_millis(100))
        );
        assert_eq!(Config::parse("all").unwrap(), Config::all());
        assert_eq!(
            Config::parse("all,on-deadlock=cancel-victim")
                .unwrap()
                .deadlock_action(),
            Action::CancelVictim
        );
    }

    #[test]
    fn a_bad_item_is_named() {
        let e = Config::parse("deadlocks,watchdog=fast").unwrap_err();
        assert_eq!(e.item(), "watchdog=fast");
        assert!(e.to_string().contains("`watchdog=fast`"), "{e}");
        assert_eq!(Config::parse("deadlock,bogus").unwrap_err().item(), "bogus");
        assert!(Config::parse("watchdog=100").is_err());
        assert!(Config::parse("deadlocks=yes").is_err());
    }
}
