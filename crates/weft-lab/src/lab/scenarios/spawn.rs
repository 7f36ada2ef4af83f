//! `spawn`: what a unit of concurrency costs to create and to hold. For OS threads, weft green
//! threads and weft async tasks: create + join time per unit (a batch created, then joined),
//! and the memory of 10,000 / 100,000 / 1,000,000 of them sleeping, each count in a fresh
//! helper process (so only they are counted). Threads and green threads are created until
//! they fail; the failure is recorded with its errno.

use std::time::Duration;

use serde_json::Value;

use crate::lab::catalog::ScenarioKind;
use crate::lab::helper::run_helper;
use crate::lab::report::{ScenarioReport, Status};

use super::{finish_bar, Ctx};

/// Units per create + join batch, quick run.
const BATCH_QUICK: usize = 1_000;
/// The same, full run.
const BATCH_FULL: usize = 10_000;

/// How long one helper may take: 90 s (a million tasks start in about a second; threads
/// until they fail take longer).
const HELPER_TIMEOUT: Duration = Duration::from_secs(90);

/// The units, their report names, and the counts of a quick and of a full run.
const UNITS: [(&str, &str, &[usize], &[usize]); 3] = [
    ("thread", "OS thread", &[10_000], &[10_000, 100_000]),
    (
        "green",
        "green thread",
        &[10_000, 100_000],
        &[10_000, 100_000, 1_000_000],
    ),
    (
        "task",
        "async task",
        &[10_000, 100_000, 1_000_000],
        &[10_000, 100_000, 1_000_000],
    ),
];

/// Runs the scenario.
pub(super) fn run(ctx: &Ctx) -> ScenarioReport {
    let mut out = ScenarioReport::new(ScenarioKind::Spawn, "create+join", true);
    let batch = ctx.pick(BATCH_QUICK, BATCH_FULL);
    // A bar per unit, a step per count.
    let bars = ctx.progress.models(
        UNITS
            .iter()
            .map(|(_, name, q, f)| (*name, ctx.pick(q.len(), f.len()) as u64)),
    );
    for ((arg, name, quick, full), bar) in UNITS.into_iter().zip(&bars) {
        let counts = ctx.pick(quick, full);
        let mut cost_recorded = false;
        for (i, &count) in counts.iter().enumerate() {
            bar.step(format!("{count} sleeping, in a helper process"));
            let variant = format!("{count} sleeping");
            let answer = run_helper(
                &[
                    "spawn",
                    "--unit",
                    arg,
                    "--count",
                    &count.to_string(),
                    "--batch",
                    &batch.to_string(),
                ],
                HELPER_TIMEOUT,
            );
            bar.inc(1);
            let v = match answer {
                Ok(v) => v,
                Err(error) => {
                    out.outcome(name, &variant, Status::Failed, error.to_string());
                    break;
                }
            };
            let num = |key: &str| v.get(key).and_then(Value::as_f64).unwrap_or(0.0);
            if !cost_recorded {
                out.figure(
                    name,
                    "",
                    "create+join",
                    num("create_join_ns") / 1000.0,
                    "µs",
                );
                cost_recorded = true;
            }
            let created = num("created");
            let grown_kb = num("rss_kb") - num("rss_before_kb");
            out.figure(name, &variant, "created", created, "units");
            out.figure(
                name,
                &variant,
                "resident memory",
                num("rss_kb") / 1024.0,
                "MB",
            );
            out.figure(
                name,
                &variant,
                "peak memory",
                num("peak_rss_kb") / 1024.0,
                "MB",
            );
            out.figure(name, &variant, "PSS", num("pss_kb") / 1024.0, "MB");
            out.figure(name, &variant, "threads", num("threads"), "");
            if created > 0.0 {
                out.figure(name, &variant, "memory per unit", grown_kb / created, "KB");
            }
            out.figure(
                name,
                &variant,
                "time to start all",
                num("hold_spawn_s") * 1000.0,
                "ms",
            );
            if (created as usize) < count {
                let error = v
                    .get("error")
                    .and_then(Value::as_str)
                    .unwrap_or("unknown error");
                out.outcome(
                    name,
                    &variant,
                    Status::Failed,
                    format!("created {created} of {count}: {error} (see the limits: threads-max, vm.max_map_count — every stack is a mapping plus a guard — ulimit -u)"),
                );
                if i + 1 < counts.len() {
                    out.outcome(
                        name,
                        "larger counts",
                        Status::NotDone,
                        format!("not tried: creation already failed at {count}"),
                    );
                }
                break;
            }
        }
        finish_bar(bar, &out);
    }
    out.note(format!(
        "create+join: {batch} units created, then all joined, per unit. Memory: resident set of a helper process holding N sleeping units (OS threads with std's 2 MiB default stack, green threads with weft's 256 KiB default, tasks each a sleep on the timer wheel); memory per unit = RSS growth / N (kernel stacks, 16 KiB per thread, not included)."
    ));
    out
}
