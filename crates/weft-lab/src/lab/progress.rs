//! Progress while `weft lab run` works: per scenario, a scenario line and under it one bar
//! per model (or experiment, for the scenarios without servers), each advancing as that
//! model's steps complete and ending with its headline figure or `failed: why`.
//!
//! # Two outputs
//!
//! - **Bars** (an indicatif [`MultiProgress`] on stderr) when a person is watching: stdout
//!   and stderr both terminals. While a scenario runs its lines are redrawn in place; when
//!   it ends they are cleared and printed once as plain lines (their final state), so that the
//!   terminal keeps a record and never holds more live lines than one scenario's models
//!   (indicatif redraws badly once the live lines outgrow the screen).
//! - **Log lines** otherwise (a pipe, a file, CI, a test): no escape codes, one line per
//!   scenario start, per model as it finishes (`[io-wait] loop in 2.3 s: requests/s =
//!   9512 req/s`) and per scenario end, on stderr. stdout keeps only the tables.
//!
//! A [`ModelBar`] dropped without [`ModelBar::finish`] (an early return, a panic) finishes
//! itself as failed, so that no model is left looking as if it were still running.

use std::borrow::Cow;
use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

/// How often a running line redraws its spinner and elapsed time.
const TICK: Duration = Duration::from_millis(200);

/// Mark of a model that gave its figures.
const OK_MARK: &str = "✓";
/// Mark of a model that failed (no headline figure, only the reason).
const FAILED_MARK: &str = "✗";

/// The progress output of one run.
#[derive(Debug)]
pub(crate) struct Progress {
    multi: MultiProgress,
    bars: bool,
}

impl Progress {
    /// Bars if stdout and stderr are both terminals, log lines otherwise.
    pub(crate) fn new() -> Progress {
        Progress::with_bars(std::io::stdout().is_terminal() && std::io::stderr().is_terminal())
    }

    /// Bars on stderr if `bars`, log lines otherwise.
    pub(crate) fn with_bars(bars: bool) -> Progress {
        let target = if bars {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        };
        Progress {
            multi: MultiProgress::with_draw_target(target),
            bars,
        }
    }

    /// Prints a line above the bars (or on stderr, without bars).
    pub(crate) fn println(&self, line: &str) {
        // Suspended: the bars are cleared, the line written, the bars drawn again below it.
        self.multi.suspend(|| eprintln!("{line}"));
    }

    /// The scenario line of `scenario` (its `claim` shown while it runs); its models' bars
    /// come from [`ScenarioProgress::models`].
    pub(crate) fn scenario(&self, scenario: &str, claim: &str) -> ScenarioProgress {
        let header = self.multi.add(ProgressBar::new(0));
        header.set_style(style(
            "{spinner} {prefix}  {pos}/{len} {elapsed:>4}  {wide_msg}",
        ));
        header.set_prefix(scenario.to_string());
        header.set_message(claim.to_string());
        if self.bars {
            header.enable_steady_tick(TICK);
        } else {
            eprintln!("[{scenario}] started");
        }
        ScenarioProgress {
            multi: self.multi.clone(),
            bars: self.bars,
            name: scenario.to_string(),
            header,
            slots: Arc::new(Mutex::new(Vec::new())),
        }
    }
}

/// A template the lab wrote; a bad one is a bug caught by the first run.
fn style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template)
        .expect("valid progress template")
        .progress_chars("=> ")
}

/// One model's line as the scenario keeps it: the bar, and its final text once finished.
#[derive(Debug)]
struct Slot {
    bar: ProgressBar,
    line: Option<String>,
}

/// The lines of one scenario: its scenario line and its models' bars.
#[derive(Debug)]
pub(crate) struct ScenarioProgress {
    multi: MultiProgress,
    bars: bool,
    name: String,
    header: ProgressBar,
    slots: Arc<Mutex<Vec<Slot>>>,
}

impl ScenarioProgress {
    /// One bar per `(model, steps)`, in order, all shown at once (waiting until their turn).
    pub(crate) fn models<S: Into<String>>(
        &self,
        models: impl IntoIterator<Item = (S, u64)>,
    ) -> Vec<ModelBar> {
        let models: Vec<(String, u64)> = models.into_iter().map(|(m, n)| (m.into(), n)).collect();
        let width = models
            .iter()
            .map(|(m, _)| m.chars().count())
            .max()
            .unwrap_or(0);
        let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        let first = slots.len();
        let mut out = Vec::with_capacity(models.len());
        for (i, (model, steps)) in models.into_iter().enumerate() {
            let bar = self.multi.add(ProgressBar::new(steps.max(1)));
            bar.set_style(style(&format!("  {{prefix:<{width}}}  · waiting")));
            bar.set_prefix(model.clone());
            slots.push(Slot {
                bar: bar.clone(),
                line: None,
            });
            out.push(ModelBar {
                bar,
                model,
                scenario: self.name.clone(),
                width,
                bars: self.bars,
                index: first + i,
                slots: Arc::clone(&self.slots),
                header: self.header.clone(),
                begun: AtomicBool::new(false),
                finished: AtomicBool::new(false),
            });
        }
        self.header.inc_length(out.len() as u64);
        out
    }

    /// Ends the scenario after `elapsed`: its lines are printed for good (bars) or its end is
    /// logged (log lines).
    pub(crate) fn finish(&self, elapsed: Duration) {
        let secs = elapsed.as_secs_f64();
        if !self.bars {
            eprintln!("[{}] done in {secs:.1} s", self.name);
            return;
        }
        let slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        let mut lines = vec![format!("{} {}: done in {secs:.1} s", OK_MARK, self.name)];
        for slot in slots.iter() {
            lines.push(slot.line.clone().unwrap_or_default());
            slot.bar.finish_and_clear();
            self.multi.remove(&slot.bar);
        }
        self.header.finish_and_clear();
        self.multi.remove(&self.header);
        self.multi.suspend(|| eprintln!("{}", lines.join("\n")));
    }
}

/// The bar of one model in one scenario.
#[derive(Debug)]
pub(crate) struct ModelBar {
    bar: ProgressBar,
    model: String,
    scenario: String,
    width: usize,
    bars: bool,
    index: usize,
    slots: Arc<Mutex<Vec<Slot>>>,
    header: ProgressBar,
    begun: AtomicBool,
    finished: AtomicBool,
}

impl ModelBar {
    /// The model's name (as its figures name it).
    pub(crate) fn model(&self) -> &str {
        &self.model
    }

    /// Shows what the model does now; the first call starts its bar and its clock.
    pub(crate) fn step(&self, what: impl Into<Cow<'static, str>>) {
        if !self.begun.swap(true, Ordering::Relaxed) {
            self.bar.set_style(style(&format!(
                "  {{prefix:<{}}}  [{{bar:20}}] {{pos}}/{{len}} {{elapsed:>4}}  {{wide_msg}}",
                self.width
            )));
            self.bar.reset_elapsed();
            if self.bars {
                self.bar.enable_steady_tick(TICK);
            }
        }
        self.bar.set_message(what);
    }

    /// `n` more of its steps are done.
    pub(crate) fn inc(&self, n: u64) {
        self.bar.inc(n);
    }

    /// Ends the bar with `summary` (its headline figure, or `failed: why` when not `ok`).
    pub(crate) fn finish(&self, ok: bool, summary: &str) {
        if self.finished.swap(true, Ordering::Relaxed) {
            return;
        }
        let secs = if self.begun.load(Ordering::Relaxed) {
            self.bar.elapsed().as_secs_f64()
        } else {
            0.0
        };
        let line = format!(
            "  {} {:<w$}  {secs:>5.1} s  {summary}",
            if ok { OK_MARK } else { FAILED_MARK },
            self.model,
            w = self.width
        );
        if self.bars {
            self.bar.disable_steady_tick();
            self.bar.set_style(style("{wide_msg}"));
            if ok {
                self.bar.finish_with_message(line.clone());
            } else {
                self.bar.abandon_with_message(line.clone());
            }
        } else {
            self.bar.finish();
            eprintln!(
                "[{}] {} in {secs:.1} s: {summary}",
                self.scenario, self.model
            );
        }
        let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(slot) = slots.get_mut(self.index) {
            slot.line = Some(line);
        }
        self.header.inc(1);
    }
}

impl Drop for ModelBar {
    fn drop(&mut self) {
        if !self.finished.load(Ordering::Relaxed) {
            self.finish(false, "failed: ended without a result");
        }
    }
}
