//! `weft serve --workers N`: the HTTP server as a multi-process cluster.
//!
//! The same command line runs in every process; [`weft::cluster::role`] says which part it
//! plays.
//!
//! - **Supervisor** (the process you start): takes the listening socket from systemd socket
//!   activation if there is one, else binds `--host:--port`; logs the start line (with the real
//!   port, so `--port 0` works); then runs a [`Supervisor`] of N workers until it stops. Signals:
//!   SIGTERM/SIGINT drain and stop (twice: kill at once), SIGHUP reloads without downtime,
//!   SIGTTIN/SIGTTOU add/remove a worker. Workers run the binary at the supervisor's own path
//!   (not `/proc/self/exe`), so a SIGHUP after installing a new binary there upgrades it.
//! - **Worker**: a weft runtime with `--loops` loop threads (default 1: the processes are the
//!   unit of parallelism), serving HTTP with [`weft_http::Server::from_listener`] (or, with
//!   `--model green`, the green server of `serve::green`): each loop on its own duplicate of
//!   the inherited socket (one accept queue shared by every loop of every worker, so a worker
//!   that stops or dies loses nothing that is still queued). It reports ready once every loop
//!   accepts. On stop (the supervisor's `Stop`, SIGTERM, SIGINT, or the supervisor gone) every
//!   loop takes the connections already queued, closes its listener, and drains within the
//!   drain timeout the supervisor grants; then the process exits.
//!
//! # `/metrics` with workers
//!
//! A scrape of the shared port is answered by whichever worker accepted the connection, with
//! that worker's figures: every sample carries a `worker` label (its slot, `"0"`, `"1"`, ...),
//! so a Prometheus server sees one series per worker and `sum by` adds them up; as scrapes
//! land on workers at random, each series is refreshed every few scrapes, which `rate()`
//! copes with. Why not one merged view: merging would need every worker's counters in shared
//! memory (as gunicorn's multiprocess mode does with files) or a scrape that asks every
//! worker, both far heavier than what a restart counter needs, and a worker's own figures are
//! the useful ones anyway (one stuck worker shows as one busy loop).
//!
//! `weft_cluster_worker_restarts_total` (workers started to replace one that died) is the
//! supervisor's count. The supervisor serves no HTTP, so it sends the count to the workers
//! ([`Down::Restarts`]) whenever a worker reports ready (which is also right after every
//! restart): every worker, the replacement included, then serves the same, current value.
//! A worker started by a reload that has not reported ready yet shows 0 until it does.

use std::io;
use std::net::SocketAddr;

use std::sync::atomic::Ordering::Relaxed;
use weft::cluster::ipc::IpcError;

use weft::cluster::{self, ClusterEvent, Role, StopReason, Supervisor, WorkerEvent, WorkerLink};
use weft::rt::Runtime;
use weft::signal::{SignalKind, Signals};
use weft_http::health::Readiness;
use weft_http::metrics::Metrics;
use weft_http::tls::TlsConfig;
use weft_http::{Server, ServerConfig};

use super::access_log;
use super::drain_grace::{self, Down};
use super::static_files::StaticRoot;
use super::{routes, Model, ServeArgs};

/// The signals a supervisor answers (see the module doc).
const SUPERVISOR_SIGNALS: [SignalKind; 5] = [
    SignalKind::Terminate,
    SignalKind::Interrupt,
    SignalKind::Hangup,
    SignalKind::TtyIn,
    SignalKind::TtyOut,
];

/// Event loops per worker when `--loops` is not given: one, as nginx runs one event loop per
/// worker process; N workers on N cores then use every core without oversubscribing them.
const DEFAULT_LOOPS_PER_WORKER: usize = 1;

/// Runs this process's part of the cluster.
pub(crate) fn run(
    args: &ServeArgs,
    workers: usize,
    root: Option<StaticRoot>,
    tls: Option<TlsConfig>,
) -> io::Result<()> {
    let loops = args.loops.map_or(DEFAULT_LOOPS_PER_WORKER, usize::from);
    match cluster::role()? {
        Role::Supervisor => {
            if let Some(target) = &args.access_log {
                access_log::check(target)?;
            }
            supervise(
                args.drain_grace,
                args.addr()?,
                workers,
                loops,
                args.model,
                &super::static_files::describe(root.as_ref()),
                super::tls::scheme(&tls),
            )
        }
        Role::Worker(index) => work(
            index,
            loops,
            args.model,
            args.timeouts(),
            root,
            tls,
            args.access_log.as_ref(),
        ),
    }
}

fn supervise(
    grace: std::time::Duration,
    addr: SocketAddr,
    workers: usize,
    loops: usize,
    model: Model,
    root: &str,
    scheme: &str,
) -> io::Result<()> {
    // The supervisor's signals get their handlers before anything else, above all before the
    // start line: a SIGINT/SIGTERM/SIGHUP sent as soon as it is logged would otherwise meet
    // the default action (death) until `Supervisor::build` makes its stream. One sent in
    // between stays pending, undispatched (no stream reads the pipe yet), and the
    // supervisor's stream reports it.
    let early = Signals::install(&SUPERVISOR_SIGNALS)?;
    let runtime = Runtime::builder().current_thread().build()?;
    runtime.block_on(async {
        let inherited = super::activation::inherited_listener()?;
        let activated = inherited.is_some();
        let listener = match inherited {
            Some(listener) => listener,
            None => {
                weft_http::check_address_free(addr)?;
                cluster::bind(addr)?
            }
        };
        let model = match model {
            Model::Async => "",
            Model::Green => ", model=green",
        };
        tracing::info!(
            "weft serve listening on {scheme}://{} (workers={workers}, loops={loops} per worker\
             {model}, root={root}, supervisor pid {}{})",
            listener.local_addr()?,
            std::process::id(),
            if activated {
                ", socket from systemd"
            } else {
                ""
            }
        );
        let mut builder = Supervisor::builder();
        // Workers run the binary at the path this one was started from, not `/proc/self/exe`:
        // installing a new `weft` there (a rename over the old file) and sending SIGHUP is a
        // binary upgrade. New workers that fail to get ready abandon the reload; the old ones
        // keep serving.
        if let Some(path) = upgradable_exe() {
            builder = builder.program(path);
        }
        let supervisor = builder
            .workers(workers)
            .listener(listener)
            .handle_signals(false)
            .build::<Down, ()>()?;
        let signals = weft::spawn_local(drain_grace::supervise_signals(
            early.attach()?,
            supervisor.control(),
            grace,
        ));
        let result = run_counting_restarts(supervisor).await;
        signals.abort();
        result
    })?;
    tracing::info!("weft serve stopped");
    Ok(())
}

/// The path this binary was started from, if it still names it (`current_exe` reads
/// `/proc/self/exe`, which says "(deleted)" once the file was replaced or removed).
fn upgradable_exe() -> Option<std::path::PathBuf> {
    let path = std::env::current_exe().ok()?;
    (path.is_file() && !path.to_string_lossy().ends_with(" (deleted)")).then_some(path)
}

/// [`Supervisor::run`], counting restarts and telling the workers the count each time one
/// reports ready (see the module docs).
async fn run_counting_restarts(mut supervisor: Supervisor<Down, ()>) -> io::Result<()> {
    let mut restarts = 0u64;
    let mut outcome = Ok(());
    while let Some(event) = supervisor.next().await {
        match event {
            ClusterEvent::Started { restart: true, .. } => restarts += 1,
            ClusterEvent::Ready { .. } => {
                let control = supervisor.control();
                // Off the supervisor's own task: a broadcast may wait for outbox space, which
                // only the supervisor's progress makes.
                weft::spawn_local(async move {
                    let _ = control.broadcast(Down::Restarts(restarts)).await;
                })
                .detach();
            }
            ClusterEvent::Stopped {
                reason: StopReason::NoWorkers,
            } => {
                outcome = Err(io::Error::other(
                    "cluster stopped: every worker slot gave up (fatal exit or crash loop; see the log)",
                ));
            }
            _ => {}
        }
    }
    outcome
}

fn work(
    index: usize,
    loops: usize,
    model: Model,
    timeouts: weft_http::Timeouts,
    root: Option<StaticRoot>,
    tls: Option<TlsConfig>,
    access_log: Option<&access_log::Target>,
) -> io::Result<()> {
    // As in the supervisor: a SIGTERM/SIGINT (a Ctrl-C reaches the whole process group) that
    // arrives while the worker starts is reported by its link's stream, not fatal.
    let _early = Signals::install(&[SignalKind::Terminate, SignalKind::Interrupt])?;
    let listener = cluster::listeners()?.into_iter().next().ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::NotFound,
            "cluster worker: no listening socket was inherited",
        )
    })?;
    let runtime = match model {
        Model::Async => Runtime::builder()
            .loops(loops)
            .thread_name("weft-http")
            .build()?,
        Model::Green => super::green::runtime(loops)?,
    };
    // The link is registered on the runtime's caller loop, which `run_until` (or the green
    // server's `block_on`) drives below.
    let mut link = runtime.block_on(async { WorkerLink::<(), Down>::connect() })?;
    let drain_timeout = link.drain_timeout();
    // Every loop adopts its own duplicate of the inherited socket; `start_on` returns once
    // each accepts.
    let readiness = Readiness::new();
    let metrics = Metrics::new().with_label("worker", &index.to_string());
    let restarts = metrics.counter(
        "weft_cluster_worker_restarts_total",
        "Workers the cluster supervisor started to replace one that died (the supervisor's count).",
    );
    // Each worker appends to the file (or stdout) itself, in whole-line writes.
    let log = access_log.map(access_log::AccessLog::open).transpose()?;
    let app = routes::app(root, &readiness, &metrics, log.as_ref());
    let mut not_ready = None;
    let until_stop = async {
        if let Err(error) = link.ready().await {
            not_ready = Some(io::Error::other(error));
            return;
        }
        tracing::info!(
            worker = index,
            pid = std::process::id(),
            loops,
            "weft serve worker ready"
        );
        loop {
            match link.recv().await {
                Ok(WorkerEvent::Stop(cause)) => {
                    tracing::info!(
                        worker = index,
                        pid = std::process::id(),
                        "weft serve worker draining: {cause}"
                    );
                    break;
                }
                Ok(WorkerEvent::Message(Down::NotReady)) => readiness.set_not_ready(),
                Ok(WorkerEvent::Message(Down::Restarts(n))) => restarts.store(n, Relaxed),
                Err(error @ IpcError::Decode { .. }) => {
                    tracing::warn!(worker = index, "supervisor link: {error}")
                }
                Err(error) => {
                    tracing::error!(worker = index, "supervisor link failed ({error}); draining");
                    break;
                }
            }
        }
    };
    let served = match model {
        Model::Async => {
            let config = ServerConfig {
                drain_timeout,
                timeouts,
                ..ServerConfig::default()
            };
            super::tls::apply(Server::from_listener(listener), tls)
                .config(config)
                .start_on(runtime, app)?
                .run_until(until_stop)
        }
        // `serve` refused TLS with the green model before the cluster started.
        Model::Green => super::green::run(
            runtime,
            super::green::Listen::Inherited(listener),
            app,
            timeouts,
            drain_timeout,
            until_stop,
            |_| {},
        ),
    };
    // The loops are joined: every line is in the writer's hands.
    if let Some(log) = log {
        log.finish();
    }
    if let Some(error) = not_ready {
        return Err(error);
    }
    served?;
    tracing::info!(
        worker = index,
        pid = std::process::id(),
        "weft serve worker stopped"
    );
    Ok(())
}
