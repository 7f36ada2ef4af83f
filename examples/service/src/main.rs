//! `service`: the proof of issue #17, a tokio-style service ported to weft.
//!
//! An axum JSON API (`/items`, `/jobs`, `/healthz`) served by `weft_http::hyper_rt` over
//! PostgreSQL (tokio-postgres on weft sockets through weft's `tokio-io` feature, a pool of
//! our own), a background job queue on `weft::sync::mpsc` whose worker runs one child process
//! per job (`weft::process`), HTTPS with rustls, and a graceful shutdown on SIGTERM/SIGINT
//! (`weft::signal`): new connections are refused, the requests and jobs in progress finish,
//! the process exits 0.
//!
//! # Modules
//!
//! - [`config`]: flags and their environment variables.
//! - [`db`]: connecting tokio-postgres over weft sockets; the pool; the schema.
//! - [`api`]: the router, its state, `/healthz`, the error answer.
//! - [`items`]: `/items` handlers. [`job_routes`]: `/jobs` handlers.
//! - [`jobs`]: the queue and its worker (child processes).
//! - [`tls`]: certificates, the handshake, plain HTTP on the TLS port.
//! - [`server`]: a listener per loop, plain or TLS, and the drain.
//!
//! # The shutdown, in order
//!
//! 1. SIGTERM (or SIGINT) arrives; `/healthz` starts answering 503.
//! 2. Every listener closes; connections finish the request in progress and close
//!    ([`server::Server::drained`]).
//! 3. The job queue runs what is queued and waits for running jobs ([`jobs::Jobs::shutdown`]).
//! 4. The process exits 0. If steps 2-3 take longer than `--shutdown-timeout`, it exits 1
//!    (running children are killed as the runtime drops them); a second signal exits 1 at once.
//!
//! The start line, on stderr, is `listening on https://ADDR` (or `http://`).

mod api;
mod config;
mod db;
mod items;
mod job_routes;
mod jobs;
mod server;
mod tls;

use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use weft::signal::{SignalKind, Signals};
use weft_http::ShutdownSignal;

use crate::config::{Config, Parsed, USAGE};

/// Exit status for a bad command line.
const USAGE_ERROR: u8 = 2;

#[weft::main]
async fn main() -> ExitCode {
    let config = match Config::parse(std::env::args().skip(1)) {
        Ok(Parsed::Run(config)) => config,
        Ok(Parsed::Help) => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(error) => {
            eprintln!("service: {error}");
            return ExitCode::from(USAGE_ERROR);
        }
    };
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_target(false)
        .init();
    match run(config).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("service: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn run(config: Config) -> Result<(), String> {
    // Before anything listens: a SIGTERM from now on is a graceful stop, not a kill.
    let mut signals = Signals::new(&[SignalKind::Terminate, SignalKind::Interrupt])
        .map_err(|e| format!("installing the SIGTERM/SIGINT handlers: {e}"))?;
    let tls = match &config.tls {
        Some((cert, key)) => Some(tls::load(cert, key)?),
        None => None,
    };
    let pool = db::Pool::new(&config.database_url, config.pool_size)?;
    pool.migrate()
        .await
        .map_err(|e| format!("preparing the database: {e}"))?;
    let jobs = Arc::new(jobs::Jobs::start(
        pool.clone(),
        config.job_workers,
        config.job_timeout,
    ));
    let draining = Arc::new(AtomicBool::new(false));
    let app = api::router(api::AppState {
        pool,
        jobs: jobs.clone(),
        allow_shell_jobs: config.allow_shell_jobs,
        draining: draining.clone(),
    });

    let stop = ShutdownSignal::new();
    let scheme = if tls.is_some() { "https" } else { "http" };
    let server = server::start(config.listen, app, tls, stop.clone())
        .await
        .map_err(|e| e.to_string())?;
    eprintln!("listening on {scheme}://{}", server.addr);

    let signal = signals
        .recv()
        .await
        .map_err(|e| format!("waiting for a signal: {e}"))?;
    eprintln!("received {}: draining connections and jobs", signal.name());
    draining.store(true, Ordering::Relaxed);
    stop.trigger();
    weft::spawn(async move {
        if let Ok(again) = signals.recv().await {
            eprintln!("received {} again: exiting now", again.name());
            std::process::exit(1);
        }
    })
    .detach();

    let deadline = Instant::now() + config.shutdown_timeout;
    let limit = config.shutdown_timeout;
    weft::time::timeout_at(deadline, server.drained())
        .await
        .map_err(|_| format!("connections still open after {limit:?}; exiting anyway"))?
        .map_err(|e| format!("serving: {e}"))?;
    eprintln!("connections drained");
    weft::time::timeout_at(deadline, jobs.shutdown())
        .await
        .map_err(|_| format!("jobs still running after {limit:?}; exiting anyway"))?;
    eprintln!("stopped: every request and job finished");
    Ok(())
}
