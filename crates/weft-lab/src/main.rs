//! `weft`: the weft platform's command-line tool.
//!
//! Two commands: `weft serve`, the HTTP server that the lab and the
//! side-by-side benchmark measure (see [`serve`]), and `weft lab`, which runs
//! one app under every concurrency model of the seeds, measures them side by
//! side and writes the reports (see [`lab`]).

// The lab needs a few OS calls std lacks (lab::sys, the fork demo); everything else stays safe.
#![deny(unsafe_code)]
#![warn(missing_docs, missing_debug_implementations, unreachable_pub)]

mod serve;
mod signals;
// The lab (`weft lab`): its own tree of modules under lab/.
mod lab;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// weft: an event-loop runtime and server platform.
#[derive(Debug, Parser)]
#[command(name = "weft", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve HTTP (HTTPS with --tls-cert/--tls-key): /, /plaintext, /json, /sleep?ms=N, /cpu?ms=N[&offload=1], /static/<path>, POST /upload,
    /// /pid, /healthz, /readyz, /metrics (Prometheus), /debug/tasks (with --diag); --access-log for
    /// a JSON line per request.
    Serve(serve::ServeArgs),
    /// The lab: one app under every concurrency model, measured side by side.
    Lab(lab::LabArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Lab(args) => lab::main(args),
        Command::Serve(args) => {
            init_logging(args.quiet);
            match serve::run(args) {
                Ok(()) => ExitCode::SUCCESS,
                Err(error) => {
                    tracing::error!("weft serve: {error}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}

/// Log lines go to stderr; `--quiet` keeps only warnings and errors.
fn init_logging(quiet: bool) {
    let level = if quiet {
        tracing::Level::WARN
    } else {
        tracing::Level::INFO
    };
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_max_level(level)
        .with_target(false)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
}
