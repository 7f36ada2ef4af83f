//! `io-wait`: every request waits 10 ms on a simulated backend, from 1,000 keep-alive
//! connections in a closed loop: requests/s, latency percentiles, threads, context switches
//! per request, and the connections the model never served in the time.

use std::time::Duration;

use crate::lab::catalog::ScenarioKind;
use crate::lab::loadgen::LoadSpec;
use crate::lab::report::{ScenarioReport, Status};

use super::{finish_bar, record_loadgen_cpu, sampled_load, Ctx};

/// Connections: 1,000, the count.
const CONNECTIONS: usize = 1_000;

/// The backend wait of every request: 10 ms.
const WAIT_PATH: &str = "/io?ms=10";

/// Load length, quick run: 2 s (≈ 200 waits per connection in a loop model).
const DURATION_QUICK: Duration = Duration::from_secs(2);

/// Load length, full run: 10 s.
const DURATION_FULL: Duration = Duration::from_secs(10);

/// Runs the scenario.
pub(super) fn run(ctx: &Ctx) -> ScenarioReport {
    let mut out = ScenarioReport::new(ScenarioKind::IoWait, "requests/s", false);
    let duration = ctx.pick(DURATION_QUICK, DURATION_FULL);
    // A step to start the server, one for the load.
    let bars = ctx.model_bars(2);
    for (&model, bar) in ctx.models.iter().zip(&bars) {
        let Some(server) = ctx.start(model, bar, &mut out) else {
            finish_bar(bar, &out);
            continue;
        };
        bar.step(format!("{CONNECTIONS} connections, {duration:?}"));
        let spec = LoadSpec {
            addr: server.addr,
            connections: CONNECTIONS,
            path: WAIT_PATH.into(),
            duration,
            rate: None,
            request_timeout: duration,
            marker: None,
        };
        match sampled_load(&server, vec![spec]) {
            Ok((mut reports, samples)) => {
                let r = reports.remove(0);
                let name = model.name();
                out.figure(name, "", "requests/s", r.requests_per_s(), "req/s");
                if r.ok > 0 {
                    out.figure(name, "", "p50", r.latency_ms(0.50), "ms");
                    out.figure(name, "", "p99", r.latency_ms(0.99), "ms");
                    out.figure(name, "", "p999", r.latency_ms(0.999), "ms");
                    let rps = r.requests_per_s();
                    out.figure(
                        name,
                        "",
                        "switches/request",
                        samples.switches_per_s() / rps.max(1e-9),
                        "",
                    );
                }
                out.figure(name, "", "threads", samples.late.threads as f64, "");
                out.figure(name, "", "unserved conns", r.unserved() as f64, "conns");
                out.figure(name, "", "failed", r.failed as f64, "requests");
                record_loadgen_cpu(&mut out, name, "", &r);
                if r.unserved() > 0 {
                    out.outcome(
                        name,
                        "",
                        Status::Partial,
                        format!(
                            "{} of {CONNECTIONS} connections got no answer in {duration:?} (the model serves a bounded number at once; the rest wait in the accept queue)",
                            r.unserved()
                        ),
                    );
                }
            }
            Err(error) => out.outcome(model.name(), "", Status::Failed, format!("load: {error}")),
        }
        server.stop();
        bar.inc(1);
        finish_bar(bar, &out);
    }
    out.note(format!("{CONNECTIONS} keep-alive connections in a closed loop on GET {WAIT_PATH} for {duration:?}; latency from send to whole answer; switches/request = the server tree's context switches per second (between 25% and 85% of the load) / requests per second."));
    out
}
