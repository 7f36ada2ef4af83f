//! `weft lab run hazards`: besides the race, the seeds' two-resource deadlock is caught by
//! `weft::diag` (detected, two tasks named, the report's text kept and shown) and the polite
//! livelock is reported as one; report.md and report.html show the report text as a block.

use std::process::Command;
use std::time::Duration;

use serde_json::Value;
use weft_testkit::{run_to_end, TempDir};

/// How long the quick hazards run may take: its race part is 4 × 20M increments three times
/// (seconds in a debug build on a shared 2-core machine), and each diag helper is bounded at
/// a few seconds; only a hang comes near this.
const RUN_DEADLINE: Duration = Duration::from_secs(300);

const DEADLOCK: &str = "deadlock (two resources, opposite order)";
const LIVELOCK: &str = "livelock (polite retry)";

fn figure(scenario: &Value, model: &str, metric: &str) -> Option<f64> {
    scenario["figures"]
        .as_array()?
        .iter()
        .find(|f| f["model"] == model && f["metric"] == metric)?["value"]
        .as_f64()
}

#[test]
fn hazards_records_diags_deadlock_and_livelock_reports() {
    let dir = TempDir::new("lab-hazards");
    let mut command = Command::new(env!("CARGO_BIN_EXE_weft"));
    command
        .args(["lab", "run", "hazards", "--quick", "--out"])
        .arg(dir.path());
    let out = run_to_end(command, RUN_DEADLINE);
    assert!(
        out.status.success(),
        "weft lab run hazards: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(dir.path().join("report.json")).unwrap();
    let report: Value = serde_json::from_str(&text).unwrap();
    let hazards = report["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "hazards")
        .expect("a hazards scenario");
    let outcome = |model: &str| {
        hazards["outcomes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["model"] == model)
            .cloned()
            .unwrap_or_else(|| panic!("no outcome for {model}: {hazards:#}"))
    };
    let diag: Vec<&Value> = hazards["diag_reports"]
        .as_array()
        .map(|a| a.iter().collect())
        .unwrap_or_default();

    // The deadlock: detected, with both tasks, the report kept as diag printed it.
    assert_eq!(
        figure(hazards, DEADLOCK, "detected"),
        Some(1.0),
        "{hazards:#}"
    );
    assert_eq!(outcome(DEADLOCK)["status"], "demonstrated", "{hazards:#}");
    let deadlock = diag
        .iter()
        .find(|d| d["model"] == DEADLOCK)
        .unwrap_or_else(|| panic!("no deadlock report kept: {hazards:#}"));
    assert_eq!(deadlock["kind"], "deadlock");
    let mut tasks: Vec<&str> = deadlock["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    tasks.sort_unstable();
    assert_eq!(tasks, ["A", "B"], "{deadlock:#}");
    assert_eq!(figure(hazards, DEADLOCK, "tasks reported"), Some(2.0));
    assert!(figure(hazards, DEADLOCK, "detection latency").is_some());
    let deadlock_text = deadlock["text"].as_str().unwrap();
    for part in ["Cycle:", "waiting on Mutex created at", "which is held by"] {
        assert!(deadlock_text.contains(part), "{deadlock_text}");
    }

    // The livelock: at least one report of kind livelock, naming a polite task.
    assert_eq!(
        figure(hazards, LIVELOCK, "detected"),
        Some(1.0),
        "{hazards:#}"
    );
    assert_eq!(outcome(LIVELOCK)["status"], "demonstrated", "{hazards:#}");
    let livelocks: Vec<&&Value> = diag.iter().filter(|d| d["model"] == LIVELOCK).collect();
    assert!(!livelocks.is_empty(), "{hazards:#}");
    for l in &livelocks {
        assert_eq!(l["kind"], "livelock", "{l:#}");
        assert_eq!(l["tasks"].as_array().unwrap().len(), 1, "{l:#}");
        assert!(l["text"].as_str().unwrap().contains("livelock"), "{l:#}");
    }

    // Both renderings show the report's text as a preformatted block.
    let md = std::fs::read_to_string(dir.path().join("report.md")).unwrap();
    assert!(md.contains("```text\nweft::diag: deadlock"), "{md}");
    let html = std::fs::read_to_string(dir.path().join("report.html")).unwrap();
    assert!(
        html.contains("<pre class=\"diag\">weft::diag: deadlock"),
        "no deadlock block in report.html"
    );
    assert!(html.contains("<pre class=\"diag\">weft::diag: possible livelock"));
}
