//! What `weft lab run` shows while it works and when it ends.
//!
//! - Not on a terminal (captured here): one log line per scenario start, per model as it
//!   finishes (with its headline figure) and per scenario end, on stderr, with no escape
//!   codes; stdout holds the tables, one per scenario. `weft lab report DIR` then renders
//!   report.md and report.html again and prints the same tables.
//! - On a terminal (a pseudo-terminal from `script`): indicatif's bars, and once a scenario
//!   ends its final lines (a `✓ scenario: done` line, then a `✓ model  secs  figure` line per
//!   model) printed before the tables; no log lines. With stdout piped (and stderr still a
//!   terminal) the log lines come back.
//! - `weft lab run --help` documents `--quick`, `--models`, `--out` and `--open`.
//!
//! `script` (util-linux) is required: without it the test fails with the install command.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use weft_testkit::{run_to_end, TempDir};

/// Bound on one small run: a few seconds of load per model in a debug build; only a hang
/// comes near it.
const RUN_DEADLINE: Duration = Duration::from_secs(180);

/// The experiments of `switch`, each a bar of its own.
const SWITCH_EXPERIMENTS: [&str; 4] = [
    "process (pipe)",
    "thread (futex)",
    "green thread",
    "async task",
];

/// The two models `io-wait` serves here.
const MODELS: [&str; 2] = ["loop", "green"];

fn weft() -> Command {
    Command::new(env!("CARGO_BIN_EXE_weft"))
}

/// The arguments of the small run, into `out`.
fn run_args(out: &Path) -> Vec<String> {
    let mut args: Vec<String> = ["lab", "run", "switch", "io-wait", "--quick", "--models"]
        .map(String::from)
        .into();
    args.push(MODELS.join(","));
    args.push("--out".into());
    args.push(out.display().to_string());
    args
}

/// The lines of a table's rows for `model` (first column) in stdout's `scenario` table.
fn table_has_row(stdout: &str, scenario: &str, model: &str) -> bool {
    let Some(start) = stdout.find(&format!("== {scenario} (")) else {
        return false;
    };
    stdout[start..]
        .lines()
        .skip(3)
        .take_while(|l| !l.is_empty() && !l.starts_with("=="))
        .any(|l| l.starts_with(&format!("{model}  ")))
}

#[test]
fn run_logs_a_line_per_model_and_prints_a_table_per_scenario() {
    let dir = TempDir::new("lab-progress-log");
    let mut command = weft();
    command.args(run_args(dir.path()));
    let out = run_to_end(command, RUN_DEADLINE);
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    );
    assert!(out.status.success(), "weft lab run: {stderr}");
    assert!(
        !stderr.contains('\x1b') && !stdout.contains('\x1b'),
        "escape codes without a terminal:\n{stderr}"
    );

    let lines: Vec<&str> = stderr.lines().collect();
    let position = |prefix: &str| {
        lines
            .iter()
            .position(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("no line starting {prefix:?} in stderr:\n{stderr}"))
    };
    let switch_start = position("[switch] started");
    let switch_end = position("[switch] done in ");
    for name in SWITCH_EXPERIMENTS {
        let at = position(&format!("[switch] {name} in "));
        assert!(switch_start < at && at < switch_end, "{stderr}");
        assert!(
            lines[at].contains(": switch = ") && lines[at].contains(" ns (pinned)"),
            "no headline figure on {:?}",
            lines[at]
        );
        assert!(table_has_row(&stdout, "switch", name), "{name}:\n{stdout}");
    }
    let io_start = position("[io-wait] started");
    let io_end = position("[io-wait] done in ");
    assert!(switch_end < io_start, "{stderr}");
    for model in MODELS {
        let at = position(&format!("[io-wait] {model} in "));
        assert!(io_start < at && at < io_end, "{stderr}");
        assert!(
            lines[at].contains(": requests/s = ") && lines[at].contains(" req/s"),
            "no headline figure on {:?}",
            lines[at]
        );
        assert!(
            table_has_row(&stdout, "io-wait", model),
            "{model}:\n{stdout}"
        );
    }
    // stdout: the tables, in scenario order, then the targets and where the reports are.
    assert!(!stdout.contains("[switch]") && !stdout.contains("[io-wait]"));
    let (switch_table, io_table) = (
        stdout.find("== switch (").expect("switch table"),
        stdout.find("== io-wait (").expect("io-wait table"),
    );
    let targets = stdout.find("\ntargets\n").expect("targets");
    assert!(switch_table < io_table && io_table < targets, "{stdout}");
    assert!(
        stdout
            .trim_end()
            .ends_with("(report.json, report.md, report.html)"),
        "{stdout}"
    );

    // `weft lab report DIR` renders the pages again from report.json and prints the tables.
    for file in ["report.md", "report.html"] {
        std::fs::remove_file(dir.path().join(file)).unwrap();
    }
    let mut command = weft();
    command.args(["lab", "report"]).arg(dir.path());
    let again = run_to_end(command, Duration::from_secs(30));
    let again_out = String::from_utf8_lossy(&again.stdout);
    assert!(
        again.status.success(),
        "weft lab report: {}",
        String::from_utf8_lossy(&again.stderr)
    );
    assert_eq!(
        again_out[..targets],
        stdout[..targets],
        "the re-rendered tables differ from the run's"
    );
    assert!(again_out.contains("re-rendered "), "{again_out}");
    let md = std::fs::read_to_string(dir.path().join("report.md")).unwrap();
    let html = std::fs::read_to_string(dir.path().join("report.html")).unwrap();
    for name in SWITCH_EXPERIMENTS.iter().chain(&MODELS) {
        assert!(md.contains(name), "{name} not in report.md");
        assert!(html.contains(name), "{name} not in report.html");
    }
}

/// `script`, or the failure that says how to install it.
fn script() -> &'static str {
    let found = Command::new("script")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        found,
        "`script` (util-linux) is needed to run weft under a pseudo-terminal; install it with: \
         apt-get update && apt-get install -y bsdutils"
    );
    "script"
}

/// Quotes `arg` for `sh`.
fn sh_quote(arg: &str) -> String {
    format!("'{}'", arg.replace('\'', r"'\''"))
}

/// Runs `shell` under a pseudo-terminal of 160 columns; what the terminal got, with escape
/// sequences removed and each line as it was last drawn (the text after its last `\r`).
fn on_a_terminal(shell: &str) -> Vec<String> {
    let mut command = Command::new(script());
    command
        .args(["-q", "-e", "-c"])
        .arg(format!("stty cols 160 rows 50; {shell}"))
        .arg("/dev/null");
    let out = run_to_end(command, RUN_DEADLINE);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "under script: {text}");
    strip_escapes(&text)
        .replace("\r\n", "\n")
        .split('\n')
        .map(|l| l.rsplit('\r').next().unwrap_or("").trim_end().to_string())
        .collect()
}

/// `text` without its CSI escape sequences (`ESC [ params letter`).
fn strip_escapes(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\x1b' && chars.peek() == Some(&'[') {
            chars.next();
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[test]
fn run_on_a_terminal_draws_bars_and_keeps_their_final_lines() {
    let dir = TempDir::new("lab-progress-tty");
    let exe = env!("CARGO_BIN_EXE_weft");
    let args: Vec<String> = run_args(dir.path()).iter().map(|a| sh_quote(a)).collect();
    let lines = on_a_terminal(&format!("{} {}", sh_quote(exe), args.join(" ")));
    let all = lines.join("\n");
    assert!(
        !lines
            .iter()
            .any(|l| l.starts_with("[switch]") || l.starts_with("[io-wait]")),
        "log lines on a terminal:\n{all}"
    );
    // A bar was drawn while a model ran.
    assert!(
        lines.iter().any(|l| l.contains("] 1/2 ")),
        "no bar of a model drawn:\n{all}"
    );
    let position = |what: &str, from: usize| {
        lines[from..]
            .iter()
            .position(|l| l.starts_with(what))
            .map(|p| p + from)
            .unwrap_or_else(|| panic!("no line starting {what:?} after line {from}:\n{all}"))
    };
    let switch_done = position("✓ switch: done in ", 0);
    for (i, name) in SWITCH_EXPERIMENTS.iter().enumerate() {
        let line = &lines[switch_done + 1 + i];
        assert!(
            line.starts_with(&format!("  ✓ {name} "))
                && line.contains("switch = ")
                && line.contains(" ns (pinned)"),
            "final line of {name}: {line:?}\n{all}"
        );
    }
    let io_done = position("✓ io-wait: done in ", switch_done);
    for (i, model) in MODELS.iter().enumerate() {
        let line = &lines[io_done + 1 + i];
        assert!(
            line.starts_with(&format!("  ✓ {model} "))
                && line.contains("requests/s = ")
                && line.contains(" req/s"),
            "final line of {model}: {line:?}\n{all}"
        );
    }
    // Then the tables.
    let table = position("== switch (", io_done);
    position("== io-wait (", table);

    // stdout piped, stderr still the terminal: log lines, no bars.
    let lines = on_a_terminal(&format!(
        "{} lab run switch --quick --out {} | cat",
        sh_quote(exe),
        sh_quote(&dir.path().display().to_string())
    ));
    let all = lines.join("\n");
    for name in SWITCH_EXPERIMENTS {
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with(&format!("[switch] {name} in "))),
            "no log line of {name} with stdout piped:\n{all}"
        );
    }
    assert!(
        !lines.iter().any(|l| l.starts_with("✓ switch: done")),
        "bars with stdout piped:\n{all}"
    );
}

#[test]
fn run_help_documents_its_options() {
    let out = weft().args(["lab", "run", "--help"]).output().unwrap();
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    for (flag, says) in [
        ("--quick", "under 3 minutes"),
        ("--models <MODELS>", "comma separated"),
        ("--out <OUT>", "report.json"),
        ("--open", "browser"),
    ] {
        // Long help: the flag on its line, what it does on the next.
        let lines: Vec<&str> = help.lines().collect();
        let at = lines
            .iter()
            .position(|l| l.trim() == flag)
            .unwrap_or_else(|| panic!("{flag} not in `weft lab run --help`:\n{help}"));
        assert!(
            lines.get(at + 1).is_some_and(|l| l.contains(says)),
            "{flag} is not described:\n{help}"
        );
    }
    assert!(
        help.contains("progress bar per") && help.contains("a table per"),
        "{help}"
    );
}
