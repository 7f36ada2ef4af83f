//! `fork`: the seeds' fork problem. In a helper process, one thread holds a lock while the
//! main thread calls `fork()`; the child (which has only the forking thread) tries to take
//! the lock and never can, since its owner does not exist there. The lab bounds the wait and
//! reports the hang. Against it: exec of self (what weft's cluster does to start workers),
//! whose child starts with fresh state and takes its lock at once.

use std::time::Duration;

use serde_json::Value;

use crate::lab::catalog::ScenarioKind;
use crate::lab::helper::run_helper;
use crate::lab::report::{ScenarioReport, Status, YES_NO_UNIT};

use super::{finish_bar, Ctx};

/// How long the forked child may try to take the lock, quick run: 1 s.
const BOUND_QUICK: Duration = Duration::from_secs(1);
/// The same, full run: 3 s.
const BOUND_FULL: Duration = Duration::from_secs(3);

/// Bound on the whole helper: 30 s.
const HELPER_TIMEOUT: Duration = Duration::from_secs(30);

/// The experiments' names in the report.
const FORKED: &str = "fork() while a thread holds a lock";
/// See [`FORKED`].
const EXECED: &str = "exec of self (weft::cluster's way)";

/// Runs the scenario.
pub(super) fn run(ctx: &Ctx) -> ScenarioReport {
    let mut out = ScenarioReport::new(ScenarioKind::Fork, "child took its lock", false);
    let bound = ctx.pick(BOUND_QUICK, BOUND_FULL);
    // One helper runs both experiments: both bars start, and end, together.
    let bars = ctx.progress.models([(FORKED, 1), (EXECED, 1)]);
    for bar in &bars {
        bar.step("in a helper process");
    }
    match run_helper(
        &["fork", "--bound-ms", &bound.as_millis().to_string()],
        HELPER_TIMEOUT,
    ) {
        Ok(v) => {
            let hung = v.get("fork_outcome").and_then(Value::as_str) == Some("hung");
            let num = |key: &str| v.get(key).and_then(Value::as_f64).unwrap_or(0.0);
            out.figure(
                FORKED,
                "",
                "child took its lock",
                if hung { 0.0 } else { 1.0 },
                YES_NO_UNIT,
            );
            out.figure(FORKED, "", "fork() call", num("fork_us"), "µs");
            out.figure(
                FORKED,
                "",
                "waited for the child",
                if hung {
                    bound.as_secs_f64() * 1000.0
                } else {
                    0.0
                },
                "ms",
            );
            if hung {
                out.outcome(
                    FORKED,
                    "",
                    Status::Demonstrated,
                    format!("the child blocked on a lock whose owner thread does not exist in it; still blocked after {bound:?}, killed"),
                );
            } else {
                out.outcome(
                    FORKED,
                    "",
                    Status::Failed,
                    "the child took the lock: the hazard did not show on this run",
                );
            }
            let ok = v.get("exec_ok").and_then(Value::as_bool).unwrap_or(false);
            out.figure(
                EXECED,
                "",
                "child took its lock",
                if ok { 1.0 } else { 0.0 },
                YES_NO_UNIT,
            );
            out.figure(EXECED, "", "start to exit", num("exec_ms"), "ms");
        }
        Err(error) => out.outcome(FORKED, "", Status::Failed, error.to_string()),
    }
    for bar in &bars {
        bar.inc(1);
        finish_bar(bar, &out);
    }
    out.note("The forked child only calls Mutex::lock and _exit; the exec'd child is this binary run again (`weft lab helper exec-child`), with fresh threads and locks.");
    out
}
