//! The tables printed at the end of a run (and by `weft lab report`): one per scenario, plus
//! its recorded failures, then the targets.

use super::{published, Pivot, Report, ScenarioReport};

/// Every scenario's table, then the targets.
pub(crate) fn render_all(report: &Report) -> String {
    let mut out = String::new();
    for scenario in &report.scenarios {
        out.push_str(&render(scenario));
        out.push('\n');
    }
    out.push_str("targets\n");
    for target in published::targets(report) {
        let mark = match target.met {
            Some(true) => "met",
            Some(false) => "MISSED",
            None => "not measured",
        };
        out.push_str(&format!(
            "  [{mark}] {}: {}\n",
            target.what,
            target.measured.unwrap_or_else(|| "–".into())
        ));
    }
    out
}

/// One scenario's table.
pub(crate) fn render(scenario: &ScenarioReport) -> String {
    let pivot = Pivot::of(scenario);
    let mut header = vec!["model".to_string(), "variant".to_string()];
    header.extend(pivot.columns.iter().cloned());
    let mut rows = vec![header];
    for (model, variant, cells) in &pivot.rows {
        let mut row = vec![model.clone(), variant.clone()];
        row.extend(cells.iter().cloned());
        rows.push(row);
    }
    let widths: Vec<usize> = (0..rows[0].len())
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = format!(
        "== {} ({:.1} s): {}\n",
        scenario.name, scenario.elapsed_s, scenario.claim
    );
    for (i, row) in rows.iter().enumerate() {
        let line: Vec<String> = row
            .iter()
            .zip(&widths)
            .enumerate()
            .map(|(c, (cell, w))| {
                if c < 2 {
                    format!("{cell:<w$}")
                } else {
                    format!("{cell:>w$}")
                }
            })
            .collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
        if i == 0 {
            out.push_str(&"-".repeat(widths.iter().sum::<usize>() + 2 * (widths.len() - 1)));
            out.push('\n');
        }
    }
    for o in &scenario.outcomes {
        let variant = if o.variant.is_empty() {
            String::new()
        } else {
            format!(" ({})", o.variant)
        };
        out.push_str(&format!(
            "  {} {}{variant}: {}\n",
            o.status.word(),
            o.model,
            o.why
        ));
    }
    out
}
