//! `report.html`: one self-contained page (inline CSS and SVG, nothing from the network):
//! per scenario the seeds' claim, a bar chart of its headline metric per model, latency
//! distributions where it has them, its table, failures and notes; then "published vs
//! measured here", the targets, and the machine.

use std::fmt::Write;

use super::svg::{bar_chart, escape, Row};
use super::{published, Pivot, Report, ScenarioReport};

/// Scenarios whose page also charts latency percentiles, with the metrics of each series.
const LATENCY_CHARTS: [(&str, [&str; 3]); 2] = [
    ("io-wait", ["p50", "p99", "p999"]),
    ("cpu-stall", ["fast p50", "fast p99", "fast p999"]),
];

/// Inline style of the page.
const STYLE: &str = "body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222;background:#fff}\
h1{margin-bottom:.2em}h2{border-bottom:2px solid #0072B2;padding-bottom:.2em;margin-top:2em}\
table{border-collapse:collapse;margin:.8em 0;font-size:13px}th,td{border:1px solid #ccc;padding:3px 8px}\
td.n{text-align:right;font-variant-numeric:tabular-nums}th{background:#eef3f8}\
.claim{font-style:italic;color:#444}.FAILED,.MISSED{color:#b00;font-weight:bold}.PARTIAL{color:#b60;font-weight:bold}\
.NOTDONE{color:#666;font-weight:bold}.DEMONSTRATED{color:#06a;font-weight:bold}.met{color:#070;font-weight:bold}\
svg.chart{display:block;margin:.6em 0;border:1px solid #ddd}\
pre.diag{background:#f6f6f6;border:1px solid #ddd;padding:.6em;font-size:12px;overflow-x:auto}";

/// The charts the page draws for `scenario`: (id, svg).
pub(crate) fn charts(scenario: &ScenarioReport) -> Vec<String> {
    let pivot = Pivot::of(scenario);
    let unit = scenario
        .figures
        .iter()
        .find(|f| f.metric == scenario.headline)
        .map_or("", |f| f.unit.as_str());
    let label = |model: &str, variant: &str| {
        if variant.is_empty() {
            model.to_string()
        } else {
            format!("{model} · {variant}")
        }
    };
    let rows: Vec<Row> = pivot
        .rows
        .iter()
        .filter(|(m, v, _)| {
            // A part whose result is a diag report (shown as text below) is not a bar.
            scenario.value(m, v, &scenario.headline).is_some()
                || (scenario
                    .outcomes
                    .iter()
                    .any(|o| &o.model == m && &o.variant == v)
                    && !scenario.diag_reports.iter().any(|d| &d.model == m))
        })
        .map(|(m, v, _)| Row {
            label: label(m, v),
            values: vec![scenario.value(m, v, &scenario.headline)],
        })
        .collect();
    let better = if scenario.lower_is_better {
        "lower is better"
    } else {
        "higher is better"
    };
    let mut out = vec![bar_chart(
        &format!("chart-{}", scenario.name),
        &format!(
            "{}: {} per model, {better}",
            scenario.name, scenario.headline
        ),
        unit,
        &[&scenario.headline],
        &rows,
    )];
    if let Some((_, metrics)) = LATENCY_CHARTS
        .iter()
        .find(|(name, _)| *name == scenario.name)
    {
        let rows: Vec<Row> = pivot
            .rows
            .iter()
            .map(|(m, v, _)| Row {
                label: label(m, v),
                values: metrics
                    .iter()
                    .map(|metric| scenario.value(m, v, metric))
                    .collect(),
            })
            .filter(|r| r.values.iter().any(Option::is_some))
            .collect();
        out.push(bar_chart(
            &format!("latency-{}", scenario.name),
            &format!("{}: latency distribution", scenario.name),
            "ms",
            metrics,
            &rows,
        ));
    }
    out
}

/// Renders `report` as one HTML page.
pub(crate) fn render(report: &Report) -> String {
    let m = &report.machine;
    let mut page = String::new();
    let _ = write!(
        page,
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>weft lab report</title><style>{STYLE}</style></head><body>"
    );
    let _ = write!(
        page,
        "<h1>weft lab</h1><p>One app under every concurrency model of the seeds, measured side by side on this machine.</p>\
         <p>{} · <code>{}</code>{} · {:.1} s · {} ({} CPUs, {} MiB, Linux {}) · servers on CPU {}, load on CPU {}</p>",
        escape(&report.date),
        escape(&report.command),
        if report.quick { " (quick: short loads, noisy figures)" } else { "" },
        report.elapsed_s,
        escape(&m.cpu_model),
        m.cpus,
        m.memory_mb,
        escape(&m.kernel),
        escape(&m.server_cpus),
        escape(&m.load_cpus)
    );
    for scenario in &report.scenarios {
        let _ = write!(
            page,
            "<section id=\"{0}\"><h2>{0}</h2><p class=\"claim\">{1}</p><p>{2} ({3:.1} s)</p>",
            escape(&scenario.name),
            escape(&scenario.claim),
            escape(&scenario.description),
            scenario.elapsed_s
        );
        for chart in charts(scenario) {
            page.push_str(&chart);
        }
        let pivot = Pivot::of(scenario);
        if !pivot.rows.is_empty() {
            page.push_str("<table><tr><th>model</th><th>variant</th>");
            for c in &pivot.columns {
                let _ = write!(page, "<th>{}</th>", escape(c));
            }
            page.push_str("</tr>");
            for (model, variant, cells) in &pivot.rows {
                let _ = write!(
                    page,
                    "<tr><td>{}</td><td>{}</td>",
                    escape(model),
                    escape(variant)
                );
                for cell in cells {
                    let _ = write!(page, "<td class=\"n\">{}</td>", escape(cell));
                }
                page.push_str("</tr>");
            }
            page.push_str("</table>");
        }
        if !scenario.outcomes.is_empty() || !scenario.notes.is_empty() {
            page.push_str("<ul>");
            for o in &scenario.outcomes {
                let variant = if o.variant.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", o.variant)
                };
                let _ = write!(
                    page,
                    "<li><span class=\"{}\">{}</span> {}{}: {}</li>",
                    o.status.word().replace(' ', ""),
                    o.status.word(),
                    escape(&o.model),
                    escape(&variant),
                    escape(&o.why)
                );
            }
            for note in &scenario.notes {
                let _ = write!(page, "<li>{}</li>", escape(note));
            }
            page.push_str("</ul>");
        }
        for d in &scenario.diag_reports {
            let _ = write!(
                page,
                "<h3>weft::diag report ({})</h3><p>{}</p><pre class=\"diag\">{}</pre>",
                escape(&d.model),
                escape(&super::md::diag_caption(d)),
                escape(d.text.trim_end())
            );
        }
        page.push_str("</section>");
    }
    page.push_str("<section id=\"published\"><h2>Published vs measured here</h2><table><tr><th>what</th><th>source</th><th>published</th><th>measured here</th></tr>");
    for c in published::comparisons(report) {
        let _ = write!(
            page,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(c.what),
            escape(c.source),
            escape(c.published),
            escape(
                &c.measured
                    .unwrap_or_else(|| "not measured in this run".into())
            )
        );
    }
    page.push_str("</table></section><section id=\"targets\"><h2>Targets</h2><ul>");
    for t in published::targets(report) {
        let (class, word) = match t.met {
            Some(true) => ("met", "met"),
            Some(false) => ("MISSED", "missed"),
            None => ("NOTDONE", "not measured"),
        };
        let _ = write!(
            page,
            "<li><span class=\"{class}\">{word}</span> {}: {}</li>",
            escape(t.what),
            escape(&t.measured.unwrap_or_else(|| "–".into()))
        );
    }
    page.push_str("</ul></section><section id=\"machine\"><h2>Machine and limits</h2><table>");
    for (k, v) in &m.limits {
        let _ = write!(
            page,
            "<tr><td>{}</td><td>{}</td></tr>",
            escape(k),
            escape(v)
        );
    }
    page.push_str("</table></section></body></html>\n");
    page
}
