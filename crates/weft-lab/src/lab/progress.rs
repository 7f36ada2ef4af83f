//! Progress while `weft lab run` works: one bar per scenario (a step per model or
//! experiment), its message naming the model running now. Hidden when stderr is not a
//! terminal (indicatif's default), so logs and tests stay clean.

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

/// How often a bar redraws its elapsed time while a step runs.
const TICK: std::time::Duration = std::time::Duration::from_millis(200);

/// The bars of one run.
#[derive(Debug, Default)]
pub(crate) struct Progress {
    multi: MultiProgress,
}

impl Progress {
    /// Bars on stderr.
    pub(crate) fn new() -> Progress {
        Progress::default()
    }

    /// A bar for `scenario` with `steps` steps.
    pub(crate) fn scenario(&self, scenario: &str, steps: u64) -> ProgressBar {
        let bar = self.multi.add(ProgressBar::new(steps));
        bar.set_style(
            ProgressStyle::with_template("{prefix:>10} [{bar:24}] {pos}/{len} {elapsed:>4} {msg}")
                .expect("valid progress template")
                .progress_chars("=> "),
        );
        bar.set_prefix(scenario.to_string());
        bar.enable_steady_tick(TICK);
        bar
    }

    /// Prints a line above the bars.
    pub(crate) fn println(&self, line: &str) {
        if self.multi.is_hidden() {
            eprintln!("{line}");
        } else {
            let _ = self.multi.println(line);
        }
    }
}
