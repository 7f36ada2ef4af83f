//! `weft lab list` names every scenario and model of the issue, one line each, and `weft lab
//! run` refuses unknown names with the list of known ones.

use std::process::Command;

const SCENARIOS: [&str; 8] = [
    "idle",
    "io-wait",
    "cpu-stall",
    "switch",
    "spawn",
    "crash",
    "hazards",
    "fork",
];
const MODELS: [&str; 9] = [
    "blocking",
    "thread-per-conn",
    "thread-pool",
    "prefork",
    "loop",
    "loops",
    "green",
    "callback",
    "cluster",
];

fn weft(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_weft"))
        .args(args)
        .output()
        .expect("run weft")
}

#[test]
fn list_names_every_scenario_and_model_once() {
    let out = weft(&["lab", "list"]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let names: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    let expected: Vec<&str> = SCENARIOS.iter().chain(MODELS.iter()).copied().collect();
    assert_eq!(names, expected, "listing:\n{text}");
    for line in text.lines().filter(|l| l.starts_with("  ")) {
        assert!(
            line.split_whitespace().count() > 2,
            "no description on {line:?}"
        );
    }
}

#[test]
fn run_refuses_unknown_scenario_and_model() {
    let out = weft(&[
        "lab",
        "run",
        "nosuch",
        "--out",
        "/nonexistent-never-created",
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("unknown scenario `nosuch`") && err.contains("io-wait"),
        "{err}"
    );

    let out = weft(&["lab", "run", "idle", "--models", "loop,nosuch"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("unknown model `nosuch`") && err.contains("thread-per-conn"),
        "{err}"
    );
}

#[test]
fn report_of_a_missing_run_says_which_file() {
    let out = weft(&["lab", "report", "/nonexistent-weft-lab-dir"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("/nonexistent-weft-lab-dir/report.json"),
        "{err}"
    );
}
