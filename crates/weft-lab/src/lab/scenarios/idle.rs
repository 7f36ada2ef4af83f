//! `idle`: memory and threads at 100, 1,000 and 10,000 idle keep-alive connections per model.
//!
//! For each count the lab opens that many connections, sends `GET /` on each and waits for
//! the answer, then — every connection open and idle — reads the server's process tree:
//! RSS, PSS, threads, processes. KB per connection is the growth over the idle server of PSS
//! plus kernel stacks (threads × 16 KiB), divided by the connections that were answered. A
//! model that cannot answer them all (one connection at a time, a thread it cannot make) is
//! recorded as partial or failed with the errors seen, and larger counts are not tried.

use std::time::Duration;

use crate::lab::catalog::ScenarioKind;
use crate::lab::loadgen::{self, HoldReport};
use crate::lab::procfs::{TreeUsage, KERNEL_STACK_BYTES};
use crate::lab::report::{ScenarioReport, Status};

use super::{finish_bar, Ctx};

/// The connection counts, in order.
const COUNTS: [usize; 3] = [100, 1_000, 10_000];

/// How long the connections of one count may take to be answered, quick run: 3 s.
const WITHIN_QUICK: Duration = Duration::from_secs(3);

/// The same, full run: 10 s.
const WITHIN_FULL: Duration = Duration::from_secs(10);

/// Memory of the kernel stacks of a tree, KiB.
fn kernel_stacks_kb(u: &TreeUsage) -> f64 {
    (u.threads * KERNEL_STACK_BYTES) as f64 / 1024.0
}

/// Runs the scenario.
pub(super) fn run(ctx: &Ctx) -> ScenarioReport {
    let mut out = ScenarioReport::new(ScenarioKind::Idle, "KB per connection", true);
    let within = ctx.pick(WITHIN_QUICK, WITHIN_FULL);
    // A step to start the server, then one per count.
    let bars = ctx.model_bars(1 + COUNTS.len() as u64);
    for (&model, bar) in ctx.models.iter().zip(&bars) {
        let Some(server) = ctx.start(model, bar, &mut out) else {
            finish_bar(bar, &out);
            continue;
        };
        let base = server.usage();
        out.figure(model.name(), "idle server", "RSS", base.rss_kb as f64, "KB");
        out.figure(model.name(), "idle server", "PSS", base.pss_kb as f64, "KB");
        out.figure(
            model.name(),
            "idle server",
            "threads",
            base.threads as f64,
            "",
        );
        out.figure(
            model.name(),
            "idle server",
            "processes",
            base.processes as f64,
            "",
        );
        for count in COUNTS {
            let variant = format!("{count} conns");
            bar.step(format!("{count} idle connections"));
            let held = loadgen::hold(server.addr, count, within, |_| server.usage());
            let (hold, usage) = match held {
                Ok(held) => held,
                Err(error) => {
                    out.outcome(
                        model.name(),
                        &variant,
                        Status::Failed,
                        format!("load generator: {error}"),
                    );
                    break;
                }
            };
            record(&mut out, model.name(), &variant, &base, &usage, &hold);
            bar.inc(1);
            if hold.answered < count {
                out.outcome(
                    model.name(),
                    &variant,
                    if hold.answered == 0 {
                        Status::Failed
                    } else {
                        Status::Partial
                    },
                    why_short(&hold, within),
                );
                if count != *COUNTS.last().unwrap() {
                    out.outcome(
                        model.name(),
                        "larger counts",
                        Status::NotDone,
                        format!("not tried: the model already fell short at {count} connections"),
                    );
                }
                break;
            }
        }
        server.stop();
        finish_bar(bar, &out);
    }
    out.note("KB per connection = (PSS growth + kernel-stack growth) / connections answered; kernel stacks = threads × 16 KiB (not in RSS). Socket buffers in the kernel are in neither.");
    out.note(format!(
        "Each count: connections opened in waves of 1,000, one GET / each, answered within {within:?}, then held idle while measured. Thread and process models close a keep-alive connection after 5 s idle or 100 requests (Apache's defaults), so that waiting clients get a turn."
    ));
    out
}

fn record(
    out: &mut ScenarioReport,
    model: &str,
    variant: &str,
    base: &TreeUsage,
    usage: &TreeUsage,
    hold: &HoldReport,
) {
    out.figure(model, variant, "answered", hold.answered as f64, "conns");
    out.figure(model, variant, "RSS", usage.rss_kb as f64, "KB");
    out.figure(model, variant, "PSS", usage.pss_kb as f64, "KB");
    out.figure(
        model,
        variant,
        "kernel stacks",
        kernel_stacks_kb(usage),
        "KB",
    );
    out.figure(model, variant, "threads", usage.threads as f64, "");
    out.figure(model, variant, "processes", usage.processes as f64, "");
    if hold.answered > 0 {
        let grown = usage.pss_kb as f64 - base.pss_kb as f64 + kernel_stacks_kb(usage)
            - kernel_stacks_kb(base);
        out.figure(
            model,
            variant,
            "KB per connection",
            grown.max(0.0) / hold.answered as f64,
            "KB",
        );
    }
}

fn why_short(hold: &HoldReport, within: Duration) -> String {
    let mut why = format!(
        "{} of {} connections answered within {within:?}; {} open but waiting (the model serves one connection per thread or process, the rest sit in the accept queue)",
        hold.answered, hold.wanted, hold.waiting
    );
    if !hold.connect_errors.is_empty() {
        let errors: Vec<String> = hold
            .connect_errors
            .iter()
            .map(|(e, n)| format!("{n} × {e}"))
            .collect();
        why.push_str(&format!("; connect errors: {}", errors.join(", ")));
    }
    if let Some(first) = &hold.first_error {
        why.push_str(&format!("; first error: {first}"));
    }
    why
}
