//! The service's settings: command-line flags, each with an environment variable as its
//! fallback (flag first, then the variable, then the default), so the same binary runs from a
//! shell, a container or a unit file.
//!
//! A bad value is an error naming the flag and the value; `--help` prints [`USAGE`].

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// What `--help` prints.
pub const USAGE: &str = "\
service: an axum JSON API over PostgreSQL on weft, with a job queue of child processes

USAGE:
    service [OPTIONS]

OPTIONS (each falls back to the environment variable shown):
    --database-url URL       PostgreSQL to use: postgres://user@host:port/db or
                             \"host=... port=... user=...\" [DATABASE_URL; required]
    --listen ADDR            address to listen on [LISTEN_ADDR; default 127.0.0.1:8080]
    --tls-cert FILE          PEM certificate chain; with --tls-key, serve HTTPS [TLS_CERT]
    --tls-key FILE           PEM private key (PKCS#8, PKCS#1 or SEC1) [TLS_KEY]
    --pool-size N            PostgreSQL connections at most [POOL_SIZE; default 8]
    --job-workers N          jobs run at once [JOB_WORKERS; default 2]
    --job-timeout SECS       a job still running then is killed [JOB_TIMEOUT; default 60]
    --allow-shell-jobs       accept jobs of kind \"shell\" (sh -c SCRIPT) [ALLOW_SHELL_JOBS=1]
    --shutdown-timeout SECS  on SIGTERM, how long connections and jobs may take to finish
                             before the service gives up on them and exits 1
                             [SHUTDOWN_TIMEOUT; default 30]
    -h, --help               print this help

ROUTES:
    GET /healthz            200 when PostgreSQL answers, 503 when not or while draining
    GET /items              every item, by id
    POST /items             {\"name\": \"..\", \"quantity\": N} -> 201 and the item
    GET /items/{id}         one item, or 404
    POST /jobs              {\"kind\": \"sha256\", \"input\": \"..\"} or
                            {\"kind\": \"shell\", \"script\": \"..\", \"input\": \"..\"} -> 202
    GET /jobs/{id}          the job's status, exit code and output

SIGTERM or SIGINT: stop accepting, finish the requests and jobs in progress, exit 0.
";

/// The service's settings.
#[derive(Clone, Debug)]
pub struct Config {
    /// PostgreSQL to connect to, as `tokio_postgres::Config` parses it.
    pub database_url: String,
    /// Where to listen.
    pub listen: SocketAddr,
    /// Certificate chain and key (PEM): HTTPS when set, plain HTTP otherwise.
    pub tls: Option<(PathBuf, PathBuf)>,
    /// Pool size.
    pub pool_size: usize,
    /// Jobs that run at the same time.
    pub job_workers: usize,
    /// A job's time limit.
    pub job_timeout: Duration,
    /// Whether `shell` jobs are accepted.
    pub allow_shell_jobs: bool,
    /// How long a graceful shutdown may take.
    pub shutdown_timeout: Duration,
}

/// What the command line asks for.
#[derive(Debug)]
pub enum Parsed {
    /// Run with these settings.
    Run(Config),
    /// Print [`USAGE`] and exit 0.
    Help,
}

impl Config {
    /// Parses `args` (without the program name), falling back to the process environment.
    pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Parsed, String> {
        Config::parse_with(args, |name| std::env::var(name).ok())
    }

    /// Parses `args`, with `env` as the environment (for tests).
    pub fn parse_with(
        args: impl IntoIterator<Item = String>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Parsed, String> {
        let mut flags = Flags::default();
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            let (name, inline) = match arg.split_once('=') {
                Some((name, value)) if name.starts_with("--") => (name.to_string(), Some(value)),
                _ => (arg.clone(), None),
            };
            let mut value = |flag: &str| -> Result<String, String> {
                match inline {
                    Some(v) => Ok(v.to_string()),
                    None => args.next().ok_or_else(|| format!("{flag} needs a value")),
                }
            };
            match name.as_str() {
                "-h" | "--help" => return Ok(Parsed::Help),
                "--database-url" => flags.database_url = Some(value("--database-url")?),
                "--listen" => flags.listen = Some(value("--listen")?),
                "--tls-cert" => flags.tls_cert = Some(value("--tls-cert")?),
                "--tls-key" => flags.tls_key = Some(value("--tls-key")?),
                "--pool-size" => flags.pool_size = Some(value("--pool-size")?),
                "--job-workers" => flags.job_workers = Some(value("--job-workers")?),
                "--job-timeout" => flags.job_timeout = Some(value("--job-timeout")?),
                "--shutdown-timeout" => flags.shutdown_timeout = Some(value("--shutdown-timeout")?),
                "--allow-shell-jobs" => flags.allow_shell_jobs = true,
                other => return Err(format!("unknown argument {other:?} (see --help)")),
            }
        }
        let pick = |flag: Option<String>, var: &str| flag.or_else(|| env(var));
        let database_url = pick(flags.database_url, "DATABASE_URL")
            .ok_or("--database-url (or DATABASE_URL) is required")?;
        let listen = pick(flags.listen, "LISTEN_ADDR").unwrap_or_else(|| "127.0.0.1:8080".into());
        let listen = listen
            .parse()
            .map_err(|e| format!("--listen {listen:?}: {e} (expected IP:PORT)"))?;
        let tls = match (
            pick(flags.tls_cert, "TLS_CERT"),
            pick(flags.tls_key, "TLS_KEY"),
        ) {
            (Some(cert), Some(key)) => Some((PathBuf::from(cert), PathBuf::from(key))),
            (None, None) => None,
            (Some(_), None) => return Err("--tls-cert needs --tls-key".into()),
            (None, Some(_)) => return Err("--tls-key needs --tls-cert".into()),
        };
        let allow_shell_jobs = flags.allow_shell_jobs
            || env("ALLOW_SHELL_JOBS").is_some_and(|v| v == "1" || v == "true");
        Ok(Parsed::Run(Config {
            database_url,
            listen,
            tls,
            pool_size: count(pick(flags.pool_size, "POOL_SIZE"), "--pool-size", 8)?,
            job_workers: count(pick(flags.job_workers, "JOB_WORKERS"), "--job-workers", 2)?,
            job_timeout: seconds(pick(flags.job_timeout, "JOB_TIMEOUT"), "--job-timeout", 60)?,
            allow_shell_jobs,
            shutdown_timeout: seconds(
                pick(flags.shutdown_timeout, "SHUTDOWN_TIMEOUT"),
                "--shutdown-timeout",
                30,
            )?,
        }))
    }
}

/// The flags as given, before the environment and the defaults.
#[derive(Default)]
struct Flags {
    database_url: Option<String>,
    listen: Option<String>,
    tls_cert: Option<String>,
    tls_key: Option<String>,
    pool_size: Option<String>,
    job_workers: Option<String>,
    job_timeout: Option<String>,
    shutdown_timeout: Option<String>,
    allow_shell_jobs: bool,
}

/// A count of at least 1.
fn count(value: Option<String>, flag: &str, default: usize) -> Result<usize, String> {
    match value {
        None => Ok(default),
        Some(v) => match v.parse::<usize>() {
            Ok(n) if n >= 1 => Ok(n),
            _ => Err(format!(
                "{flag} {v:?}: expected a whole number of at least 1"
            )),
        },
    }
}

/// Whole seconds, at least 1.
fn seconds(value: Option<String>, flag: &str, default: u64) -> Result<Duration, String> {
    match value {
        None => Ok(Duration::from_secs(default)),
        Some(v) => match v.parse::<u64>() {
            Ok(n) if n >= 1 => Ok(Duration::from_secs(n)),
            _ => Err(format!("{flag} {v:?}: expected whole seconds, at least 1")),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str], env: &[(&str, &str)]) -> Result<Parsed, String> {
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::parse_with(args.iter().map(|a| a.to_string()), move |name| {
            env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
        })
    }

    fn run(args: &[&str], env: &[(&str, &str)]) -> Config {
        match parse(args, env).unwrap() {
            Parsed::Run(config) => config,
            Parsed::Help => panic!("help"),
        }
    }

    #[test]
    fn flags_win_over_the_environment_which_wins_over_defaults() {
        let config = run(
            &["--listen", "127.0.0.1:9000", "--pool-size=3"],
            &[
                ("DATABASE_URL", "postgres://x@h/db"),
                ("LISTEN_ADDR", "0.0.0.0:1"),
            ],
        );
        assert_eq!(config.database_url, "postgres://x@h/db");
        assert_eq!(config.listen, "127.0.0.1:9000".parse().unwrap());
        assert_eq!(config.pool_size, 3);
        assert_eq!(config.job_workers, 2);
        assert!(config.tls.is_none());
        assert!(!config.allow_shell_jobs);
    }

    #[test]
    fn bad_values_are_named() {
        let url = [("DATABASE_URL", "postgres://x@h/db")];
        let err = parse(&["--listen", "nowhere"], &url).unwrap_err();
        assert!(err.contains("--listen \"nowhere\""), "{err}");
        let err = parse(&["--pool-size", "0"], &url).unwrap_err();
        assert!(err.contains("--pool-size"), "{err}");
        let err = parse(&["--tls-cert", "c.pem"], &url).unwrap_err();
        assert!(err.contains("--tls-key"), "{err}");
        let err = parse(&[], &[]).unwrap_err();
        assert!(err.contains("--database-url"), "{err}");
        let err = parse(&["--bogus"], &url).unwrap_err();
        assert!(err.contains("\"--bogus\""), "{err}");
        assert!(matches!(parse(&["--help"], &[]), Ok(Parsed::Help)));
    }
}
