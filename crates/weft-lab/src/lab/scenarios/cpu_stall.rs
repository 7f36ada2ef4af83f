//! `cpu-stall`: one client calls `/cpu?ms=50` in a loop while 64 others call `/` at a steady
//! rate; the p99 of the fast requests shows whether one long job stalls everyone else. The
//! models that run on a weft loop are measured twice: burning on the loop, and with
//! `&offload=1` (the burn runs on the worker pool and the loop stays free).

use std::time::Duration;

use crate::lab::catalog::{ModelKind, ScenarioKind};
use crate::lab::loadgen::LoadSpec;
use crate::lab::progress::ModelBar;
use crate::lab::report::{ScenarioReport, Status};

use super::{finish_bar, record_loadgen_cpu, sampled_load, Ctx};

/// Fast clients: 64, the count.
const FAST_CONNECTIONS: usize = 64;

/// Requests per second of each fast client: 20 (1,280/s in all): a steady load that leaves
/// the server mostly idle, so that what the percentiles show is the stall, not saturation.
const FAST_RATE: f64 = 20.0;

/// The slow client's burn: 50 ms per request.
const SLOW_PATH: &str = "/cpu?ms=50";

/// Load length, quick run: 2 s (≈ 40 burns).
const DURATION_QUICK: Duration = Duration::from_secs(2);

/// Load length, full run: 10 s.
const DURATION_FULL: Duration = Duration::from_secs(10);

/// Runs the scenario.
pub(super) fn run(ctx: &Ctx) -> ScenarioReport {
    let mut out = ScenarioReport::new(ScenarioKind::CpuStall, "fast p99", true);
    let duration = ctx.pick(DURATION_QUICK, DURATION_FULL);
    // Per model a run on the loop, and one with offload where the model has it; each run
    // is two steps (start the server, load it).
    let variants = |m: ModelKind| if m.has_offload() { 2usize } else { 1 };
    let bars = ctx.progress.models(
        ctx.models
            .iter()
            .map(|&m| (m.name(), 2 * variants(m) as u64)),
    );
    for (&model, bar) in ctx.models.iter().zip(&bars) {
        for offload in [false, true].into_iter().take(variants(model)) {
            run_one(ctx, model, offload, duration, bar, &mut out);
        }
        finish_bar(bar, &out);
    }
    out.note(format!(
        "1 connection on GET {SLOW_PATH} in a closed loop, {FAST_CONNECTIONS} on GET / at {FAST_RATE}/s each, for {duration:?}; fast latency counts from the intended send time (no coordinated omission). The server has one CPU: the pool thread of an offloaded burn shares it with the loop, so offload frees the loop but not the CPU."
    ));
    out
}

/// One run of `model`, with the burn on the loop or offloaded, recorded in `out`.
fn run_one(
    ctx: &Ctx,
    model: ModelKind,
    offload: bool,
    duration: Duration,
    bar: &ModelBar,
    out: &mut ScenarioReport,
) {
    let variant = if offload { "offload" } else { "" };
    let Some(server) = ctx.start(model, bar, out) else {
        bar.inc(1);
        return;
    };
    bar.step(if offload {
        "burns offloaded to the pool"
    } else {
        "burns on the loop"
    });
    let slow = LoadSpec {
        addr: server.addr,
        connections: 1,
        path: if offload {
            format!("{SLOW_PATH}&offload=1")
        } else {
            SLOW_PATH.into()
        },
        duration,
        rate: None,
        request_timeout: duration,
        marker: None,
    };
    let fast = LoadSpec {
        connections: FAST_CONNECTIONS,
        path: "/".into(),
        rate: Some(FAST_RATE),
        ..slow.clone()
    };
    match sampled_load(&server, vec![fast, slow]) {
        Ok((reports, _)) => {
            let (fast, slow) = (&reports[0], &reports[1]);
            let name = model.name();
            if fast.ok > 0 {
                out.figure(name, variant, "fast p50", fast.latency_ms(0.50), "ms");
                out.figure(name, variant, "fast p99", fast.latency_ms(0.99), "ms");
                out.figure(name, variant, "fast p999", fast.latency_ms(0.999), "ms");
            } else {
                out.outcome(
                    name,
                    variant,
                    Status::Failed,
                    "no fast request was answered",
                );
            }
            out.figure(
                name,
                variant,
                "fast requests/s",
                fast.requests_per_s(),
                "req/s",
            );
            out.figure(name, variant, "burns/s", slow.requests_per_s(), "req/s");
            out.figure(
                name,
                variant,
                "unserved fast conns",
                fast.unserved() as f64,
                "conns",
            );
            record_loadgen_cpu(out, name, variant, fast);
        }
        Err(error) => out.outcome(
            model.name(),
            variant,
            Status::Failed,
            format!("load: {error}"),
        ),
    }
    server.stop();
    bar.inc(1);
}
