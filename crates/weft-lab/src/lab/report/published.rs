//! The published figures the report sets beside its own (the list, sources named),
//! and the targets for weft's own models, each looked up in a run.

use super::{format_value, Report};

/// One row of "published vs measured here".
#[derive(Debug, Clone)]
pub(crate) struct Comparison {
    /// What is compared.
    pub(crate) what: &'static str,
    /// Who published it.
    pub(crate) source: &'static str,
    /// Their figure.
    pub(crate) published: &'static str,
    /// This run's figure, if the run measured it.
    pub(crate) measured: Option<String>,
}

/// One of the targets for weft's models.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    /// The target.
    pub(crate) what: &'static str,
    /// This run's figure(s), if measured.
    pub(crate) measured: Option<String>,
    /// Met (`Some(true)`), missed, or not measured in this run (`None`).
    pub(crate) met: Option<bool>,
}

fn get(report: &Report, scenario: &str, model: &str, variant: &str, metric: &str) -> Option<f64> {
    report.scenario(scenario)?.value(model, variant, metric)
}

fn with_unit(value: Option<f64>, unit: &str) -> Option<String> {
    value.map(|v| format!("{} {unit}", format_value(v)))
}

/// Several figures joined with ` / `, `–` where one is missing; `None` if all are.
fn joined(values: &[Option<f64>], unit: &str) -> Option<String> {
    if values.iter().all(Option::is_none) {
        return None;
    }
    let parts: Vec<String> = values
        .iter()
        .map(|v| v.map(format_value).unwrap_or_else(|| "–".into()))
        .collect();
    Some(format!("{} {unit}", parts.join(" / ")))
}

/// The spawn scenario's resident memory of `count` sleeping units of `unit`, MB.
fn spawn_mb(report: &Report, unit: &str, count: u64) -> Option<f64> {
    get(
        report,
        "spawn",
        unit,
        &format!("{count} sleeping"),
        "resident memory",
    )
}

/// The rows of "published vs measured here".
pub(crate) fn comparisons(report: &Report) -> Vec<Comparison> {
    let counts = [10_000, 100_000, 1_000_000];
    let mb = |unit: &str| -> Vec<Option<f64>> {
        counts.iter().map(|&c| spawn_mb(report, unit, c)).collect()
    };
    let switch_ns = |unit: &str| get(report, "switch", unit, "pinned", "switch");
    let create_us = |unit: &str| get(report, "spawn", unit, "", "create+join");
    let per_unit_kb = |unit: &str| get(report, "spawn", unit, "10000 sleeping", "memory per unit");
    vec![
        Comparison {
            what: "memory of 10k / 100k / 1M sleeping async tasks",
            source: "Kołaczkowski 2023 (tokio)",
            published: "4.6 / 23.7 / 213.6 MB",
            measured: joined(&mb("async task"), "MB (weft tasks)"),
        },
        Comparison {
            what: "memory of 10k / 100k / 1M green threads (goroutine-like)",
            source: "Kołaczkowski 2023 (Go)",
            published: "28.6 / 269 / 2658 MB",
            measured: joined(&mb("green thread"), "MB (weft green threads)"),
        },
        Comparison {
            what: "memory of 10k / 100k OS threads",
            source: "Kołaczkowski 2023 (Rust threads)",
            published: "48.3 MB at 10k; 100k could not launch",
            measured: joined(&mb("OS thread")[..2], "MB"),
        },
        Comparison {
            what: "memory of 10k / 100k / 1M tasks (Node promises)",
            source: "Kołaczkowski 2023 (Node.js)",
            published: "48.3 / 112.5 / 494 MB",
            measured: joined(&mb("async task"), "MB (weft tasks)"),
        },
        Comparison {
            what: "thread context switch, pinned to one CPU",
            source: "Bendersky 2018",
            published: "1.2–1.5 µs (2.2 µs unpinned)",
            measured: with_unit(switch_ns("thread (futex)").map(|ns| ns / 1000.0), "µs"),
        },
        Comparison {
            what: "process vs thread switch, pinned",
            source: "Tsuna 2010–13",
            published: "1.1–1.9 µs; threads 5–20% cheaper",
            measured: match (switch_ns("process (pipe)"), switch_ns("thread (futex)")) {
                (Some(p), Some(t)) => Some(format!(
                    "process {} µs, thread {} µs (threads {}% cheaper)",
                    format_value(p / 1000.0),
                    format_value(t / 1000.0),
                    format_value(100.0 * (p - t) / p)
                )),
                _ => None,
            },
        },
        Comparison {
            what: "create + join one thread vs one task",
            source: "Blandy, context-switch 2024",
            published: "17 µs vs 0.3 µs",
            measured: joined(&[create_us("OS thread"), create_us("async task")], "µs"),
        },
        Comparison {
            what: "memory per thread vs per task",
            source: "Blandy, context-switch 2024",
            published: "~9.5 KiB user + 10 KiB kernel vs 0.4 KiB",
            measured: match (per_unit_kb("OS thread"), per_unit_kb("async task")) {
                (Some(t), Some(k)) => Some(format!(
                    "{} KiB user + 16 KiB kernel vs {} KiB",
                    format_value(t),
                    format_value(k)
                )),
                (Some(t), None) => Some(format!(
                    "{} KiB user + 16 KiB kernel per thread",
                    format_value(t)
                )),
                (None, Some(k)) => Some(format!("{} KiB per task", format_value(k))),
                (None, None) => None,
            },
        },
        Comparison {
            what: "one green-thread switch (resume + yield)",
            source: "corosensei",
            published: "4.3 ns",
            measured: with_unit(
                switch_ns("green thread"),
                "ns (weft green threads, through the loop)",
            ),
        },
        Comparison {
            what: "10,000 idle keep-alive connections",
            source: "nginx",
            published: "about 2.5 MB (0.25 KB per connection)",
            measured: with_unit(
                get(report, "idle", "loop", "10000 conns", "KB per connection"),
                "KB per connection (weft loop)",
            ),
        },
    ]
}

/// The targets for weft's own models.
pub(crate) fn targets(report: &Report) -> Vec<Target> {
    let idle = get(report, "idle", "loop", "10000 conns", "KB per connection");
    let million = spawn_mb(report, "async task", 1_000_000);
    let stall_off = get(report, "cpu-stall", "loop", "offload", "fast p99");
    let stall_on = get(report, "cpu-stall", "loop", "", "fast p99");
    let green = get(report, "io-wait", "green", "", "requests/s");
    let looped = get(report, "io-wait", "loop", "", "requests/s");
    vec![
        Target {
            what: "loop: at most 1 KB per connection at 10,000 idle connections",
            measured: with_unit(idle, "KB"),
            met: idle.map(|v| v <= 1.0),
        },
        Target {
            what: "spawn: 1,000,000 sleeping weft tasks below every row of Kołaczkowski's table (213.6 MB)",
            measured: with_unit(million, "MB"),
            met: million.map(|v| v < 213.6),
        },
        Target {
            what: "spawn: 1,000,000 sleeping weft tasks in at most 128 MB (the runtime's own target, issue #19)",
            measured: with_unit(million, "MB"),
            met: million.map(|v| v <= 128.0),
        },
        Target {
            what: "cpu-stall: loop with offload keeps the fast p99 under 5 ms; without offload it shows the stall",
            measured: match (stall_off, stall_on) {
                (Some(a), Some(b)) => Some(format!("{} ms with offload, {} ms without", format_value(a), format_value(b))),
                _ => None,
            },
            met: match (stall_off, stall_on) {
                (Some(a), Some(b)) => Some(a < 5.0 && b > a),
                _ => None,
            },
        },
        Target {
            what: "io-wait: green within 1.2x of loop in requests/s",
            measured: match (green, looped) {
                (Some(g), Some(l)) => Some(format!("green {} /s, loop {} /s", format_value(g), format_value(l))),
                _ => None,
            },
            met: match (green, looped) {
                (Some(g), Some(l)) => Some(g * 1.2 >= l),
                _ => None,
            },
        },
    ]
}
