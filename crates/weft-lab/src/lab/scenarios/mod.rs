//! The scenarios: each one of the seeds' claims, measured (see [`ScenarioKind`] for the list).
//!
//! [`run`] pins the lab (the load generator) away from the CPU the model servers get, prints
//! the limits, runs the chosen scenarios in order (a scenario line each, and under it a bar
//! per model or experiment: see [`progress`](super::progress)), and returns the [`Report`]. Every scenario bounds its loads in connections and time, and records what it
//! could not measure as an [`Outcome`](crate::lab::report::Outcome) with the reason instead
//! of leaving a hole.

mod cpu_stall;
mod crash;
mod fork;
mod hazards;
mod idle;
mod io_wait;
mod spawn;
mod switch;

use std::io;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::catalog::{ModelKind, ScenarioKind};
use super::loadgen::{self, LoadReport, LoadSpec};
use super::procfs::{self, TreeUsage};
use super::progress::{ModelBar, Progress, ScenarioProgress};
use super::report::{Report, ScenarioReport, Status};
use super::server::ModelServer;
use super::sys;

/// What `weft lab run` was asked to do.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    /// Scenarios, in order.
    pub(crate) scenarios: Vec<ScenarioKind>,
    /// Models for the scenarios that start servers.
    pub(crate) models: Vec<ModelKind>,
    /// Short loads and small counts.
    pub(crate) quick: bool,
}

/// What a scenario gets to run with.
#[derive(Debug)]
pub(crate) struct Ctx {
    /// `--quick`.
    pub(crate) quick: bool,
    /// The models to serve.
    pub(crate) models: Vec<ModelKind>,
    /// The CPU model servers are pinned to (`None` on one CPU).
    pub(crate) server_cpu: Option<usize>,
    /// The CPUs the lab runs on.
    pub(crate) load_cpus: Vec<usize>,
    /// Every CPU the lab was allowed at start.
    pub(crate) all_cpus: Vec<usize>,
    /// The scenario's progress lines (its runner adds a bar per model or experiment).
    pub(crate) progress: ScenarioProgress,
}

impl Ctx {
    /// Picks `quick` or `full` by the run's mode.
    pub(crate) fn pick<T>(&self, quick: T, full: T) -> T {
        if self.quick {
            quick
        } else {
            full
        }
    }

    /// One bar per model of the run, each of `steps` steps.
    pub(crate) fn model_bars(&self, steps: u64) -> Vec<ModelBar> {
        self.progress
            .models(self.models.iter().map(|m| (m.name(), steps)))
    }

    /// Starts `model`'s server (one step of `bar`), or records why it could not start.
    pub(crate) fn start(
        &self,
        model: ModelKind,
        bar: &ModelBar,
        out: &mut ScenarioReport,
    ) -> Option<ModelServer> {
        bar.step("starting the server");
        match ModelServer::start(model, self.server_cpu) {
            Ok(server) => {
                bar.inc(1);
                Some(server)
            }
            Err(error) => {
                out.outcome(
                    model.name(),
                    "",
                    Status::Failed,
                    format!("the server did not start: {error}"),
                );
                None
            }
        }
    }
}

/// Server usage sampled during a load: early, late, and the time between.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Samples {
    /// At a quarter of the load.
    pub(crate) early: TreeUsage,
    /// At most of the load.
    pub(crate) late: TreeUsage,
    /// Time between the two.
    pub(crate) between: Duration,
}

impl Samples {
    /// Context switches per second between the samples.
    pub(crate) fn switches_per_s(&self) -> f64 {
        self.late.switches.saturating_sub(self.early.switches) as f64
            / self.between.as_secs_f64().max(1e-9)
    }
}

/// Runs `specs` at once against `server` while sampling its usage at 25% and 85% of the
/// first load's duration.
pub(crate) fn sampled_load(
    server: &ModelServer,
    specs: Vec<LoadSpec>,
) -> io::Result<(Vec<LoadReport>, Samples)> {
    let duration = specs[0].duration;
    std::thread::scope(|scope| {
        let load = scope.spawn(move || loadgen::run_many(specs));
        let start = Instant::now();
        std::thread::sleep(duration.mul_f64(0.25));
        let early = server.usage();
        let t_early = start.elapsed();
        std::thread::sleep(duration.mul_f64(0.85).saturating_sub(start.elapsed()));
        let late = server.usage();
        let between = start.elapsed() - t_early;
        let reports = load
            .join()
            .map_err(|_| io::Error::other("load generator panicked"))??;
        Ok((
            reports,
            Samples {
                early,
                late,
                between,
            },
        ))
    })
}

/// Records the load generator's own CPU as a figure, so that a reader sees it was not the
/// bottleneck.
pub(crate) fn record_loadgen_cpu(
    out: &mut ScenarioReport,
    model: &str,
    variant: &str,
    report: &LoadReport,
) {
    out.figure(
        model,
        variant,
        "load generator CPU",
        report.cpu_percent(),
        "% of a core",
    );
}

/// Ends `bar` with what `out` recorded for its model (headline figure, or `failed: why`).
pub(crate) fn finish_bar(bar: &ModelBar, out: &ScenarioReport) {
    let (ok, summary) = out.summary(bar.model());
    bar.finish(ok, &summary);
}

/// Runs `plan`.
pub(crate) fn run(plan: &Plan) -> io::Result<Report> {
    let started = Instant::now();
    let unix_time = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let all_cpus = sys::allowed_cpus();
    let (server_cpu, load_cpus) = if all_cpus.len() >= 2 {
        (Some(all_cpus[0]), all_cpus[1..].to_vec())
    } else {
        (None, all_cpus.clone())
    };
    // Pin before any thread exists, so that every thread of the lab inherits it.
    sys::pin_current_thread(&load_cpus)?;
    let nofile = sys::raise_nofile_limit().ok();
    let mut machine = procfs::machine();
    machine.cpus = all_cpus.len();
    machine.server_cpus =
        server_cpu.map_or_else(|| "(not pinned: one CPU)".into(), |c| c.to_string());
    machine.load_cpus = load_cpus
        .iter()
        .map(|c| c.to_string())
        .collect::<Vec<_>>()
        .join(",");
    let progress = Progress::new();
    progress.println(&format!(
        "weft lab: {} CPUs ({}), servers on CPU {}, load on CPU {}; descriptor limit {}",
        machine.cpus,
        machine.cpu_model,
        machine.server_cpus,
        machine.load_cpus,
        nofile.map_or_else(|| "?".into(), |n| n.to_string())
    ));
    for (name, value) in &machine.limits {
        progress.println(&format!("  {name} = {value}"));
    }
    let mut report = Report {
        tool: format!("weft lab {}", env!("CARGO_PKG_VERSION")),
        date: weft_http::http_date(SystemTime::now()),
        unix_time,
        command: std::env::args().collect::<Vec<_>>().join(" "),
        quick: plan.quick,
        elapsed_s: 0.0,
        machine,
        scenarios: Vec::new(),
    };
    for &scenario in &plan.scenarios {
        let ctx = Ctx {
            quick: plan.quick,
            models: plan.models.clone(),
            server_cpu,
            load_cpus: load_cpus.clone(),
            all_cpus: all_cpus.clone(),
            progress: progress.scenario(scenario.name(), scenario.claim()),
        };
        let begun = Instant::now();
        let mut result = match scenario {
            ScenarioKind::Idle => idle::run(&ctx),
            ScenarioKind::IoWait => io_wait::run(&ctx),
            ScenarioKind::CpuStall => cpu_stall::run(&ctx),
            ScenarioKind::Switch => switch::run(&ctx),
            ScenarioKind::Spawn => spawn::run(&ctx),
            ScenarioKind::Crash => crash::run(&ctx),
            ScenarioKind::Hazards => hazards::run(&ctx),
            ScenarioKind::Fork => fork::run(&ctx),
        };
        result.elapsed_s = begun.elapsed().as_secs_f64();
        ctx.progress.finish(begun.elapsed());
        report.scenarios.push(result);
    }
    report.elapsed_s = started.elapsed().as_secs_f64();
    Ok(report)
}
