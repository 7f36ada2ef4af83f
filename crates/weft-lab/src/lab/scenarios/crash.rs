//! `crash`: 100 busy keep-alive connections on `/`; one request hits `/crash`, which aborts the
//! process its handler runs in. Counted: requests that failed, clients left unserved after
//! the crash, and how long until the model serves again (the first request sent after the
//! crash that is answered). A thread or loop model loses the whole process, and nothing
//! restarts it; prefork and cluster lose one worker, which the supervisor replaces.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::lab::catalog::ScenarioKind;
use crate::lab::loadgen::{self, LoadSpec, Marker};
use crate::lab::report::{ScenarioReport, Status, YES_NO_UNIT};
use crate::lab::server::http_get;

use super::{finish_bar, record_loadgen_cpu, Ctx};

/// Busy connections: 100, the count.
const CONNECTIONS: usize = 100;

/// When the crash request is sent after the load starts: 0.5 s of steady service first.
const CRASH_AFTER: Duration = Duration::from_millis(500);

/// Load length, quick run: 2.5 s (2 s after the crash to recover).
const DURATION_QUICK: Duration = Duration::from_millis(2500);

/// Load length, full run: 6 s.
const DURATION_FULL: Duration = Duration::from_secs(6);

/// Longest wait for an answer before it counts as failed: 1 s.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(1);

/// Runs the scenario.
pub(super) fn run(ctx: &Ctx) -> ScenarioReport {
    let mut out = ScenarioReport::new(ScenarioKind::Crash, "clients unserved after", true);
    let duration = ctx.pick(DURATION_QUICK, DURATION_FULL);
    // A step to start the server, one for the load and its crash.
    let bars = ctx.model_bars(2);
    for (&model, bar) in ctx.models.iter().zip(&bars) {
        let Some(mut server) = ctx.start(model, bar, &mut out) else {
            finish_bar(bar, &out);
            continue;
        };
        bar.step(format!(
            "{CONNECTIONS} connections, /crash at {CRASH_AFTER:?}"
        ));
        let marker = Arc::new(Marker::new());
        let spec = LoadSpec {
            addr: server.addr,
            connections: CONNECTIONS,
            path: "/".into(),
            duration,
            rate: None,
            request_timeout: REQUEST_TIMEOUT,
            marker: Some(Arc::clone(&marker)),
        };
        let addr = server.addr;
        let (load, crashed) = std::thread::scope(|scope| {
            let load = scope.spawn(move || loadgen::run(spec));
            std::thread::sleep(CRASH_AFTER);
            let sent = Instant::now();
            let left = duration.saturating_sub(marker.origin.elapsed());
            // The answer never comes: the process serving it aborts, closing the connection.
            let crashed = match http_get(addr, "/crash", left) {
                Ok((status, _)) => Err(format!("/crash was answered with {status}")),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock || e.kind() == std::io::ErrorKind::TimedOut => {
                    Err(format!("/crash was not served within {left:?} (queued behind the busy connections)"))
                }
                Err(_) => Ok(sent.elapsed()),
            };
            if crashed.is_ok() {
                marker.mark(Instant::now());
            }
            (load.join(), crashed)
        });
        let name = model.name();
        let load = match load {
            Ok(Ok(load)) => load,
            _ => {
                out.outcome(name, "", Status::Failed, "the load generator failed");
                server.stop();
                finish_bar(bar, &out);
                continue;
            }
        };
        match (&crashed, marker.marked()) {
            (Ok(took), Some(at)) => {
                out.figure(
                    name,
                    "",
                    "crash request took",
                    took.as_secs_f64() * 1000.0,
                    "ms",
                );
                let unserved_after = load
                    .last_ok_sent
                    .iter()
                    .filter(|t| t.is_none_or(|t| t < at))
                    .count();
                out.figure(
                    name,
                    "",
                    "clients unserved after",
                    unserved_after as f64,
                    "conns",
                );
                match marker.recovered_after() {
                    Some(d) => out.figure(name, "", "serving again after", d.as_secs_f64() * 1000.0, "ms"),
                    None => out.outcome(
                        name,
                        "",
                        Status::Failed,
                        format!(
                            "not serving again within {:?} of the crash: {}",
                            duration.saturating_sub(at),
                            if server.is_alive() {
                                "the process lives but no request sent after the crash was answered".to_string()
                            } else {
                                "the process died with all its threads and connections, and no supervisor restarts it".to_string()
                            }
                        ),
                    ),
                }
            }
            (Err(why), _) => out.outcome(name, "", Status::Failed, why.clone()),
            (Ok(_), None) => out.outcome(name, "", Status::Failed, "the crash was not marked"),
        }
        out.figure(name, "", "ok requests", load.ok as f64, "requests");
        out.figure(name, "", "failed requests", load.failed as f64, "requests");
        let refused: u64 = load.connect_errors.values().sum();
        out.figure(name, "", "refused connects", refused as f64, "connects");
        out.figure(
            name,
            "",
            "server alive after",
            if server.is_alive() { 1.0 } else { 0.0 },
            YES_NO_UNIT,
        );
        record_loadgen_cpu(&mut out, name, "", &load);
        server.stop();
        bar.inc(1);
        finish_bar(bar, &out);
    }
    out.note(format!(
        "{CONNECTIONS} keep-alive connections on GET / in a closed loop for {duration:?}; GET /crash on a new connection at {CRASH_AFTER:?}. Failed = sent and never answered (reset, closed, or no answer within {REQUEST_TIMEOUT:?}); a connection whose connect is refused retries every 10 ms. Clients unserved after = connections none of whose requests sent after the crash was answered."
    ));
    out
}
