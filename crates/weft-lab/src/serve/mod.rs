//! `weft serve`: the lab's HTTP server.
//!
//! Routes (`GET`, and `HEAD` too, unless marked otherwise):
//!
//! | path | answer |
//! |---|---|
//! | `/`, `/plaintext` | `Hello, World!` as `text/plain` |
//! | `/json` | `{"message":"Hello, World!"}` as `application/json` |
//! | `/pid` | the id of the process that answered (a worker, with `--workers`) |
//! | `/sleep?ms=N` | after an asynchronous sleep of N ms (the loop serves others meanwhile) |
//! | `/cpu?ms=N` | after burning N ms of CPU on the event loop (stalls that loop: the hazard made visible) |
//! | `/cpu?ms=N&offload=1` | after burning N ms on the worker pool's `cpu` lane (the loop stays free) |
//! | `POST /upload` | how many bytes the body had, read as it arrived (a streamed body: any size, one read at a time) |
//! | `/static/<path>` | the file under `--root` (see [`static_files`]); without `--root`, 404 |
//! | `/healthz` | 200 while the process serves |
//! | `/readyz` | 200 while it takes new work; 503 from SIGTERM on, for `--drain-grace`, before the drain |
//! | `/debug/tasks` | with `--diag`: the task dump of every loop (loopback clients only, others get 403) |
//! | `/metrics` | Prometheus text format: requests by route and status, latency histogram, open connections, per loop, per pool lane, cluster worker restarts (see [`weft_http::metrics`] and [`cluster`]) |
//!
//! `--access-log FILE|-` writes one JSON line per request (see [`access_log`]).
//!
//! `--loops N` event-loop threads each accept on their own `SO_REUSEPORT`
//! listener. One log line at start (with the bound address, so `--port 0`
//! is usable) and one at stop; SIGINT/SIGTERM drain and stop the server.
//!
//! `--workers N` runs it as a multi-process cluster instead (see [`cluster`]).
//!
//! Started by systemd socket activation (`LISTEN_FDS`, `LISTEN_PID`), with or without
//! `--workers`, it serves the inherited socket instead of binding `--host:--port` (see
//! [`activation`]).
//! `--tls-cert F --tls-key F` serves HTTPS instead of HTTP (see [`tls`]).

pub(crate) mod access_log;
mod activation;
mod cluster;
mod conditional;
mod drain_grace;
mod green;
mod routes;
pub(crate) mod static_files;
mod tls;

use std::io;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::path::PathBuf;

use clap::Args;
use std::time::Duration;

use weft_http::health::Readiness;
use weft_http::metrics::Metrics;
use weft_http::{Server, Timeouts};

use crate::signals::ShutdownSignals;

/// Options of `weft serve`.
#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// Address to listen on: an IP address, or a name resolved at start
    /// (`localhost`; its first address is used).
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// Port to listen on (0 picks a free one; the start line shows it).
    #[arg(long, short, default_value_t = 8080)]
    port: u16,
    /// Event-loop threads, each with its own listener [default: one per core].
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=1024))]
    loops: Option<u16>,
    /// Directory served under /static/ (dot-files and dot-directories never are)
    /// [default: none, /static/ answers 404].
    #[arg(long)]
    root: Option<PathBuf>,
    /// Log only warnings and errors (for benchmarks).
    #[arg(long, short)]
    pub(crate) quiet: bool,
    /// How connections are served: `async` tasks, or one `green` thread per
    /// connection in blocking style (see `serve::green`).
    #[arg(long, value_enum, default_value_t = Model::Async)]
    model: Model,
    /// Worker processes sharing the port, under a supervisor that restarts,
    /// drains and reloads them (SIGTERM, SIGHUP, SIGTTIN/SIGTTOU); each runs
    /// `--loops` event loops [default with --workers: 1].
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=1024))]
    workers: Option<u16>,
    /// Runtime diagnostics, as `WEFT_DIAG` items (`watchdog`, `watchdog=50ms`, `deadlocks`,
    /// `all`, ...); a bare `--diag` means `all`. Adds `GET /debug/tasks` and the task dump on
    /// SIGQUIT; with the watchdog, a stalled loop's waiting clients go to the other loops.
    #[arg(long, num_args = 0..=1, default_missing_value = "all", value_name = "LIST")]
    diag: Option<String>,
    /// Milliseconds from the first byte of a request head (or from accept) to
    /// its end, then 408 [default: weft_http's, 10 s].
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    header_timeout_ms: Option<u64>,
    /// Milliseconds from the end of a head to the end of its body, then 408
    /// [default: weft_http's, 30 s].
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    body_timeout_ms: Option<u64>,
    /// Milliseconds of keep-alive silence before an idle connection is closed
    /// [default: weft_http's, 60 s].
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    idle_timeout_ms: Option<u64>,
    /// After SIGTERM, how long `/readyz` answers 503 while the listener still accepts and
    /// serves (so a balancer's check takes the instance out first), before the drain:
    /// `5s`, `500ms`, or whole seconds.
    #[arg(long, default_value = "5s", value_parser = drain_grace::parse)]
    pub(crate) drain_grace: Duration,
    #[command(flatten)]
    pub(crate) tls: tls::TlsArgs,
    /// Log every request as one JSON line (time, remote address, method, path, status, bytes,
    /// duration) to FILE (appended to) or `-` (standard output); buffered per loop, written
    /// by a thread of its own, flushed at the stop. [default: no access log]
    #[arg(long, value_name = "FILE|-", value_parser = access_log::Target::parse)]
    pub(crate) access_log: Option<access_log::Target>,
    /// The kernel interface the event loops wait on: `epoll` or `uring` (io_uring; falls
    /// back to epoll, with a warning, where the kernel refuses it) [default: `WEFT_BACKEND`,
    /// else epoll].
    #[arg(long, value_name = "epoll|uring", value_parser = |s: &str| s.parse::<weft::rt::Backend>())]
    backend: Option<weft::rt::Backend>,
}

impl ServeArgs {
    /// `--host` (resolved if it is a name) and `--port`.
    pub(crate) fn addr(&self) -> io::Result<SocketAddr> {
        if let Ok(ip) = self.host.parse::<IpAddr>() {
            return Ok(SocketAddr::new(ip, self.port));
        }
        let resolved = (self.host.as_str(), self.port)
            .to_socket_addrs()
            .map_err(|e| io::Error::new(e.kind(), format!("--host {}: {e}", self.host)))?;
        // Prefer IPv4, as `localhost` clients usually connect to 127.0.0.1 first.
        let all: Vec<SocketAddr> = resolved.collect();
        all.iter()
            .find(|a| a.is_ipv4())
            .or(all.first())
            .copied()
            .ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::NotFound,
                    format!("--host {}: the name has no address", self.host),
                )
            })
    }

    /// The client time limits: weft_http's defaults, with the ones given on the command line.
    pub(crate) fn timeouts(&self) -> Timeouts {
        let mut timeouts = Timeouts::default();
        let ms = Duration::from_millis;
        if let Some(n) = self.header_timeout_ms {
            timeouts.header_read = ms(n);
        }
        if let Some(n) = self.body_timeout_ms {
            timeouts.body_read = ms(n);
        }
        if let Some(n) = self.idle_timeout_ms {
            timeouts.idle = ms(n);
        }
        timeouts
    }
}

/// The serving model of `weft serve --model`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Model {
    /// weft-http's async connection driver, one task per connection.
    Async,
    /// One green thread per connection, blocking-style reads and writes.
    Green,
}

/// Runs the server until SIGINT or SIGTERM.
pub(crate) fn run(args: ServeArgs) -> io::Result<()> {
    let root = match &args.root {
        Some(dir) => Some(
            static_files::StaticRoot::new(dir)
                .map_err(|e| io::Error::new(e.kind(), format!("--root {}: {e}", dir.display())))?,
        ),
        None => None,
    };
    let root_shown = static_files::describe(root.as_ref());
    let tls = args.tls.load()?;
    if let Some(list) = &args.diag {
        weft::diag::Config::parse(list)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, format!("--diag: {e}")))?;
        // weft-http's Server builds its runtime without a diagnostics config, so the runtime
        // reads the variable (and the workers of a cluster inherit it).
        std::env::set_var(weft::diag::config::ENV_VAR, list);
    }
    if let Some(backend) = args.backend {
        // Every runtime of the server (weft-http's, the green model's, a cluster's workers)
        // is built without a backend, so it reads the variable.
        std::env::set_var(weft::rt::BACKEND_ENV_VAR, backend.name());
    }
    if args.model == Model::Green && tls.is_some() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "--tls-cert needs the async model (drop --model green)",
        ));
    }
    if let Some(workers) = args.workers {
        return cluster::run(&args, usize::from(workers), root, tls);
    }
    let loops = args
        .loops
        .map(usize::from)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let signals = ShutdownSignals::install()?;
    let readiness = Readiness::new();
    let grace = args.drain_grace;
    let metrics = Metrics::new();
    let log = args
        .access_log
        .as_ref()
        .map(access_log::AccessLog::open)
        .transpose()?;
    let app = routes::app(root.clone(), &readiness, &metrics, log.as_ref());

    let inherited = activation::inherited_listener()?;
    if args.model == Model::Green {
        if inherited.is_some() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "--model green cannot serve a socket-activated listener yet (use --model async)",
            ));
        }
        let graced = drain_grace::Graced {
            signals,
            readiness: readiness.clone(),
            grace,
        };
        let served = green::run(
            green::runtime(loops)?,
            green::Listen::Bind(args.addr()?),
            app,
            args.timeouts(),
            green::DRAIN_TIMEOUT,
            graced.recv(),
            |bound| {
                tracing::info!(
                "weft serve listening on http://{bound} (loops={loops}, model=green, root={root_shown})"
            );
            },
        );
        if let Some(log) = log {
            log.finish();
        }
        return served.map(|()| tracing::info!("weft serve stopped"));
    }
    let activated = inherited.is_some();
    let server = match inherited {
        Some(listener) => Server::from_listener(listener),
        None => Server::bind(args.addr()?),
    };
    let scheme = tls::scheme(&tls);
    let running = tls::apply(server, tls)
        .loops(loops)
        .timeouts(args.timeouts())
        .start(app)?;
    tracing::info!(
        "weft serve listening on {scheme}://{} (loops={loops}, root={root_shown}, pid {}{})",
        running.local_addr(),
        std::process::id(),
        if activated {
            ", socket from systemd"
        } else {
            ""
        },
    );
    let graced = drain_grace::Graced {
        signals,
        readiness,
        grace,
    };
    let served = running.run_until(graced.recv());
    // The loops are joined: every line is in the writer's hands.
    if let Some(log) = log {
        log.finish();
    }
    served?;
    tracing::info!("weft serve stopped");
    Ok(())
}
