//! `report.md`: the same tables as the terminal, in Markdown, with the claims, the recorded
//! failures, "published vs measured here" and the targets.

use super::{published, DiagRecord, Pivot, Report};

/// `deadlock of A, B, 4.8 ms after the hazard began`: the line above a diag report's text.
pub(crate) fn diag_caption(d: &DiagRecord) -> String {
    let latency = d.latency_ms.map_or(String::new(), |ms| {
        format!(", {ms:.1} ms after the hazard began")
    });
    format!("{} of {}{latency}", d.kind, d.tasks.join(", "))
}

fn longest_backtick_run(text: &str) -> usize {
    text.split(|c| c != '`').map(str::len).max().unwrap_or(0)
}

/// Renders `report` as Markdown.
pub(crate) fn render(report: &Report) -> String {
    let m = &report.machine;
    let mut out = format!(
        "# weft lab report\n\n{} · {} · {}{}\n\nMachine: {} ({} CPUs, {} MiB, Linux {}); servers on CPU {}, load on CPU {}. Run took {:.1} s.\n\n",
        report.date,
        report.tool,
        report.command,
        if report.quick { " (quick)" } else { "" },
        m.cpu_model,
        m.cpus,
        m.memory_mb,
        m.kernel,
        m.server_cpus,
        m.load_cpus,
        report.elapsed_s
    );
    out.push_str("Limits: ");
    let limits: Vec<String> = m.limits.iter().map(|(k, v)| format!("{k} = {v}")).collect();
    out.push_str(&limits.join(", "));
    out.push_str("\n\n");
    for scenario in &report.scenarios {
        out.push_str(&format!(
            "## {}\n\n*{}* {}\n\n",
            scenario.name, scenario.claim, scenario.description
        ));
        let pivot = Pivot::of(scenario);
        if !pivot.rows.is_empty() {
            out.push_str(&format!(
                "| model | variant | {} |\n",
                pivot.columns.join(" | ")
            ));
            out.push_str(&format!(
                "|---|---|{}\n",
                "---:|".repeat(pivot.columns.len())
            ));
            for (model, variant, cells) in &pivot.rows {
                out.push_str(&format!(
                    "| {model} | {variant} | {} |\n",
                    cells.join(" | ")
                ));
            }
            out.push('\n');
        }
        for o in &scenario.outcomes {
            let variant = if o.variant.is_empty() {
                String::new()
            } else {
                format!(" ({})", o.variant)
            };
            out.push_str(&format!(
                "- **{}** {}{variant}: {}\n",
                o.status.word(),
                o.model,
                o.why
            ));
        }
        for note in &scenario.notes {
            out.push_str(&format!("- {note}\n"));
        }
        out.push('\n');
        for d in &scenario.diag_reports {
            out.push_str(&format!(
                "**weft::diag report** ({}): {}\n\n",
                d.model,
                diag_caption(d)
            ));
            // A fence longer than any run of backticks in the text keeps it one block.
            let fence = "`".repeat(3.max(longest_backtick_run(&d.text) + 1));
            out.push_str(&format!("{fence}text\n{}\n{fence}\n\n", d.text.trim_end()));
        }
    }
    out.push_str("## Published vs measured here\n\n| what | source | published | measured here |\n|---|---|---|---|\n");
    for c in published::comparisons(report) {
        out.push_str(&format!(
            "| {} | {} | {} | {} |\n",
            c.what,
            c.source,
            c.published,
            c.measured
                .unwrap_or_else(|| "not measured in this run".into())
        ));
    }
    out.push_str("\n## Targets\n\n");
    for t in published::targets(report) {
        let mark = match t.met {
            Some(true) => "met",
            Some(false) => "**missed**",
            None => "not measured",
        };
        out.push_str(&format!(
            "- {mark}: {} — {}\n",
            t.what,
            t.measured.unwrap_or_else(|| "–".into())
        ));
    }
    out
}
