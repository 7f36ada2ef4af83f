//! `weft lab`: one application served under every concurrency model of the seeds, measured
//! side by side on this machine, charted, and set against the published figures.
//!
//! # Roles
//!
//! - [`cli`]: the command line (`list`, `run`, `report`, and the hidden `model` / `helper`
//!   that the lab re-executes itself with).
//! - [`catalog`]: the scenarios and models by name, with the one line `weft lab list` prints.
//! - [`app`]: the one application (routes `/`, `/io`, `/cpu`, `/crash`) and the tiny blocking
//!   HTTP/1.1 connection loop the thread, process and green models share.
//! - [`models`]: each model as a server process (`weft lab model NAME`); [`server`] starts and
//!   stops one from the lab.
//! - [`loadgen`]: the lab's own load generator (keep-alive connections on a weft loop, HDR
//!   latency histograms, its own CPU time).
//! - [`scenarios`]: one module per claim of the seeds; [`helper`]: the child processes some of
//!   them measure in (spawn, switch, fork).
//! - [`report`]: `report.json`, `report.md`, `report.html` (SVG charts) and the terminal tables.
//! - [`procfs`] reads memory, threads, switches and limits from `/proc`; [`sys`] holds the few
//!   OS calls std lacks (pinning, limits, signals, fork).
//!
//! Imports go one way: `cli` → `scenarios` → (`server`, `loadgen`, `helper`, `report`) →
//! (`procfs`, `sys`, `app`); `models` → `app`, `sys`.

mod app;
mod catalog;
mod cli;
mod helper;
mod loadgen;
mod models;
mod procfs;
mod progress;
mod report;
mod scenarios;
mod server;
mod sys;

use std::process::ExitCode;

pub(crate) use cli::LabArgs;

/// Runs `weft lab ...`; errors are printed with what failed.
pub(crate) fn main(args: LabArgs) -> ExitCode {
    match cli::run(args) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("weft lab: {error}");
            ExitCode::FAILURE
        }
    }
}
