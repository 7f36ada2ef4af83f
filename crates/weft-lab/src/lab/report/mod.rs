//! What a lab run found, as data: [`Report`] (machine, date, every scenario's figures and
//! recorded failures), saved as `report.json` and rendered by [`md`], [`html`] (with [`svg`]
//! charts) and [`table`] (the terminal). [`published`] holds the figures others published
//! that the report sets beside its own.

pub(crate) mod html;
pub(crate) mod md;
pub(crate) mod published;
pub(crate) mod svg;
pub(crate) mod table;

use std::io;
use std::path::Path;

use serde::{Deserialize, Serialize};

/// The unit of a figure that is a yes (1) or a no (0).
pub(crate) const YES_NO_UNIT: &str = "1 = yes";

/// File names inside a run's directory.
pub(crate) const JSON_FILE: &str = "report.json";
/// See [`JSON_FILE`].
pub(crate) const MD_FILE: &str = "report.md";
/// See [`JSON_FILE`].
pub(crate) const HTML_FILE: &str = "report.html";

/// One lab run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Report {
    /// `weft lab` and its version.
    pub(crate) tool: String,
    /// When the run started (HTTP date, UTC).
    pub(crate) date: String,
    /// The same, seconds since the Unix epoch.
    pub(crate) unix_time: u64,
    /// The command line.
    pub(crate) command: String,
    /// Whether it was a `--quick` run.
    pub(crate) quick: bool,
    /// How long the whole run took, seconds.
    pub(crate) elapsed_s: f64,
    /// The machine it ran on.
    pub(crate) machine: Machine,
    /// Every scenario run, in order.
    pub(crate) scenarios: Vec<ScenarioReport>,
}

/// The machine a run measured.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Machine {
    /// CPU model name.
    pub(crate) cpu_model: String,
    /// CPUs available to the lab.
    pub(crate) cpus: usize,
    /// Kernel release.
    pub(crate) kernel: String,
    /// Memory, MiB.
    pub(crate) memory_mb: u64,
    /// The limits that bound threads, processes, maps and descriptors.
    pub(crate) limits: Vec<(String, String)>,
    /// CPUs the model servers were pinned to.
    pub(crate) server_cpus: String,
    /// CPUs the load generator ran on.
    pub(crate) load_cpus: String,
}

/// One scenario's results.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ScenarioReport {
    /// The scenario's name.
    pub(crate) name: String,
    /// The seeds' claim it tests.
    pub(crate) claim: String,
    /// What it does, in one line.
    pub(crate) description: String,
    /// The metric its chart shows.
    pub(crate) headline: String,
    /// Whether a smaller headline value is better (for the chart's caption).
    pub(crate) lower_is_better: bool,
    /// How long it took, seconds.
    pub(crate) elapsed_s: f64,
    /// Every figure measured.
    pub(crate) figures: Vec<Figure>,
    /// Every failure, partial result, or part not done, with why.
    pub(crate) outcomes: Vec<Outcome>,
    /// How to read the figures (definitions, settings of the run).
    pub(crate) notes: Vec<String>,
    /// Reports of `weft::diag` the scenario caught (hazards), shown as preformatted text.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) diag_reports: Vec<DiagRecord>,
}

/// One `weft::diag` report a scenario caught, as the handler got it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub(crate) struct DiagRecord {
    /// The experiment it belongs to (the `model` of its figures).
    pub(crate) model: String,
    /// `Report::kind()`, as diag prints it (`deadlock`, `livelock`).
    pub(crate) kind: String,
    /// `Report::tasks()`: the tasks involved, in cycle order for a deadlock.
    pub(crate) tasks: Vec<String>,
    /// From the hazard's start (the cycle closing, the retrying starting) to the report, ms.
    pub(crate) latency_ms: Option<f64>,
    /// The report's `Display` text.
    pub(crate) text: String,
}

/// One measured figure.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub(crate) struct Figure {
    /// The scenario it belongs to.
    pub(crate) scenario: String,
    /// The model (or unit, or variant of the experiment) it measures.
    pub(crate) model: String,
    /// A setting of the measurement (`1000 conns`, `offload`), or empty.
    pub(crate) variant: String,
    /// What is measured.
    pub(crate) metric: String,
    /// The value.
    pub(crate) value: f64,
    /// Its unit.
    pub(crate) unit: String,
}

/// How a part of a scenario ended when it did not simply give figures.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum Status {
    /// It could not be measured (the model failed to reach it, or errored).
    Failed,
    /// Part of it was measured (some connections not served).
    Partial,
    /// Not done by this lab yet, with the reason.
    NotDone,
    /// The hazard the scenario demonstrates happened, as the seeds say it would.
    Demonstrated,
}

impl Status {
    /// The word the reports print.
    pub(crate) fn word(self) -> &'static str {
        match self {
            Status::Failed => "FAILED",
            Status::Partial => "PARTIAL",
            Status::NotDone => "NOT DONE",
            Status::Demonstrated => "DEMONSTRATED",
        }
    }
}

/// A recorded failure, partial result or part not done.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub(crate) struct Outcome {
    /// The scenario.
    pub(crate) scenario: String,
    /// The model (or experiment).
    pub(crate) model: String,
    /// The setting, or empty.
    pub(crate) variant: String,
    /// How it ended.
    pub(crate) status: Status,
    /// What happened and why.
    pub(crate) why: String,
}

impl ScenarioReport {
    /// An empty report for `scenario`.
    pub(crate) fn new(
        scenario: super::catalog::ScenarioKind,
        headline: &str,
        lower_is_better: bool,
    ) -> ScenarioReport {
        ScenarioReport {
            name: scenario.name().into(),
            claim: scenario.claim().into(),
            description: scenario.describe().into(),
            headline: headline.into(),
            lower_is_better,
            elapsed_s: 0.0,
            figures: Vec::new(),
            outcomes: Vec::new(),
            notes: Vec::new(),
            diag_reports: Vec::new(),
        }
    }

    /// Records a figure.
    pub(crate) fn figure(
        &mut self,
        model: &str,
        variant: &str,
        metric: &str,
        value: f64,
        unit: &str,
    ) {
        self.figures.push(Figure {
            scenario: self.name.clone(),
            model: model.into(),
            variant: variant.into(),
            metric: metric.into(),
            value,
            unit: unit.into(),
        });
    }

    /// Records an outcome.
    pub(crate) fn outcome(
        &mut self,
        model: &str,
        variant: &str,
        status: Status,
        why: impl Into<String>,
    ) {
        self.outcomes.push(Outcome {
            scenario: self.name.clone(),
            model: model.into(),
            variant: variant.into(),
            status,
            why: why.into(),
        });
    }

    /// Records a note.
    pub(crate) fn note(&mut self, note: impl Into<String>) {
        self.notes.push(note.into());
    }

    /// The value of `metric` for `model` and `variant`, if measured.
    pub(crate) fn value(&self, model: &str, variant: &str, metric: &str) -> Option<f64> {
        self.figures
            .iter()
            .find(|f| f.model == model && f.variant == variant && f.metric == metric)
            .map(|f| f.value)
    }

    /// What `model` gave, in one line, for its progress bar: its headline figures (every
    /// variant), or its first figure when it has no headline, then its failures, partial
    /// results and demonstrated hazards. `false` when it failed with no headline figure:
    /// the line is then `failed: why`.
    pub(crate) fn summary(&self, model: &str) -> (bool, String) {
        let mine: Vec<&Figure> = self.figures.iter().filter(|f| f.model == model).collect();
        let headline: Vec<&Figure> = mine
            .iter()
            .copied()
            .filter(|f| f.metric == self.headline)
            .collect();
        let shown = if headline.is_empty() {
            mine.first().map(|f| vec![*f]).unwrap_or_default()
        } else {
            headline.clone()
        };
        let value = |f: &Figure| {
            let variant = if f.variant.is_empty() {
                String::new()
            } else {
                format!(" ({})", f.variant)
            };
            if f.unit == YES_NO_UNIT {
                return format!("{}{variant}", if f.value == 1.0 { "yes" } else { "no" });
            }
            let unit = if f.unit.is_empty() {
                String::new()
            } else {
                format!(" {}", f.unit)
            };
            format!("{}{unit}{variant}", format_value(f.value))
        };
        let mut parts = Vec::new();
        match shown.as_slice() {
            [] => {}
            [one] => parts.push(format!("{} = {}", one.metric, value(one))),
            many => parts.push(format!(
                "{} = {}",
                many[0].metric,
                many.iter().map(|f| value(f)).collect::<Vec<_>>().join(", ")
            )),
        }
        let mut failed = false;
        for o in self.outcomes.iter().filter(|o| o.model == model) {
            let word = match o.status {
                Status::Failed => "failed",
                Status::Partial => "partial",
                Status::Demonstrated => "demonstrated",
                Status::NotDone => continue,
            };
            failed |= o.status == Status::Failed;
            let variant = if o.variant.is_empty() {
                String::new()
            } else {
                format!(" ({})", o.variant)
            };
            parts.push(format!("{word}{variant}: {}", o.why));
        }
        let ok = !(failed && headline.is_empty());
        if parts.is_empty() {
            return (false, "failed: no figure recorded".into());
        }
        if !ok && !parts[0].starts_with("failed") {
            // Figures but no headline: the failure comes first.
            let first_failed = parts
                .iter()
                .position(|p| p.starts_with("failed"))
                .unwrap_or(0);
            let failure = parts.remove(first_failed);
            parts.insert(0, failure);
        }
        (ok, parts.join("; "))
    }
}

impl Report {
    /// The scenario named `name`, if it ran.
    pub(crate) fn scenario(&self, name: &str) -> Option<&ScenarioReport> {
        self.scenarios.iter().find(|s| s.name == name)
    }

    /// Writes `DIR/report.json`.
    pub(crate) fn save(&self, dir: &Path) -> io::Result<()> {
        let path = dir.join(JSON_FILE);
        let text = serde_json::to_string_pretty(self).map_err(io::Error::other)?;
        std::fs::write(&path, text)
            .map_err(|e| io::Error::new(e.kind(), format!("write {}: {e}", path.display())))
    }

    /// Reads `DIR/report.json`.
    pub(crate) fn load(dir: &Path) -> io::Result<Report> {
        let path = dir.join(JSON_FILE);
        let text = std::fs::read_to_string(&path)
            .map_err(|e| io::Error::new(e.kind(), format!("read {}: {e}", path.display())))?;
        serde_json::from_str(&text).map_err(|e| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{} is not a weft lab report: {e}", path.display()),
            )
        })
    }
}

/// Writes `DIR/report.md` and `DIR/report.html` from `report`.
pub(crate) fn write_renderings(report: &Report, dir: &Path) -> io::Result<()> {
    for (file, text) in [
        (MD_FILE, md::render(report)),
        (HTML_FILE, html::render(report)),
    ] {
        let path = dir.join(file);
        std::fs::write(&path, text)
            .map_err(|e| io::Error::new(e.kind(), format!("write {}: {e}", path.display())))?;
    }
    Ok(())
}

/// Formats a figure's value for tables: integers as integers, others to 3 significant digits.
pub(crate) fn format_value(value: f64) -> String {
    if !value.is_finite() {
        return "–".into();
    }
    let abs = value.abs();
    if abs >= 1000.0 || (value.fract() == 0.0 && abs < 1e15) {
        format!("{:.0}", value)
    } else if abs >= 100.0 {
        format!("{value:.1}")
    } else if abs >= 1.0 {
        format!("{value:.2}")
    } else if abs == 0.0 {
        "0".into()
    } else {
        format!("{value:.3}")
    }
}

/// A scenario's figures as a table: one row per (model, variant), one column per metric, in
/// the order they were first measured. Shared by the terminal, Markdown and HTML renderers.
#[derive(Debug, Clone)]
pub(crate) struct Pivot {
    /// Column headers after `model` and `variant`: metric (unit).
    pub(crate) columns: Vec<String>,
    /// Rows: model, variant, then one cell per column (empty where not measured).
    pub(crate) rows: Vec<(String, String, Vec<String>)>,
}

impl Pivot {
    /// The pivot of `scenario`'s figures.
    pub(crate) fn of(scenario: &ScenarioReport) -> Pivot {
        let mut metrics: Vec<(String, String)> = Vec::new();
        let mut keys: Vec<(String, String)> = Vec::new();
        for f in &scenario.figures {
            if !metrics.iter().any(|(m, _)| *m == f.metric) {
                metrics.push((f.metric.clone(), f.unit.clone()));
            }
            let key = (f.model.clone(), f.variant.clone());
            if !keys.contains(&key) {
                keys.push(key);
            }
        }
        let rows = keys
            .into_iter()
            .map(|(model, variant)| {
                let cells = metrics
                    .iter()
                    .map(|(metric, _)| {
                        scenario
                            .value(&model, &variant, metric)
                            .map(format_value)
                            .unwrap_or_default()
                    })
                    .collect();
                (model, variant, cells)
            })
            .collect();
        Pivot {
            columns: metrics
                .into_iter()
                .map(|(m, u)| {
                    if u.is_empty() {
                        m
                    } else {
                        format!("{m} ({u})")
                    }
                })
                .collect(),
            rows,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lab::catalog::ScenarioKind;

    #[test]
    fn summary_gives_the_headline_of_every_variant_and_what_went_wrong() {
        let mut s = ScenarioReport::new(ScenarioKind::CpuStall, "fast p99", true);
        s.figure("loop", "", "fast p50", 1.0, "ms");
        s.figure("loop", "", "fast p99", 52.0, "ms");
        s.figure("loop", "offload", "fast p99", 1.5, "ms");
        s.figure("green", "", "fast p99", 3.25, "ms");
        s.outcome("green", "", Status::Partial, "2 of 64 unserved");
        s.outcome(
            "blocking",
            "",
            Status::Failed,
            "the server did not start: EPERM",
        );
        assert_eq!(
            s.summary("loop"),
            (true, "fast p99 = 52 ms, 1.50 ms (offload)".to_string())
        );
        assert_eq!(
            s.summary("green"),
            (
                true,
                "fast p99 = 3.25 ms; partial: 2 of 64 unserved".to_string()
            )
        );
        assert_eq!(
            s.summary("blocking"),
            (false, "failed: the server did not start: EPERM".to_string())
        );
        s.figure("fork", "", "child took its lock", 0.0, YES_NO_UNIT);
        assert_eq!(
            s.summary("fork"),
            (true, "child took its lock = no".to_string())
        );
        assert_eq!(
            s.summary("nobody"),
            (false, "failed: no figure recorded".to_string())
        );
    }

    #[test]
    fn summary_without_a_headline_puts_the_failure_first() {
        let mut s = ScenarioReport::new(ScenarioKind::Idle, "KB per connection", true);
        s.figure("loop", "idle server", "RSS", 2048.0, "KB");
        s.outcome(
            "loop",
            "100 conns",
            Status::Failed,
            "load generator: EMFILE",
        );
        s.outcome("loop", "larger counts", Status::NotDone, "not tried");
        assert_eq!(
            s.summary("loop"),
            (
                false,
                "failed (100 conns): load generator: EMFILE; RSS = 2048 KB (idle server)"
                    .to_string()
            )
        );
    }
}
