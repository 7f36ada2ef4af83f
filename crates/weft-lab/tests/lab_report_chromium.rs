//! The report page as a person sees it: a small `weft lab run --quick` writes report.json,
//! report.md and report.html; headless Chromium renders the page; the screenshot is not
//! blank and the DOM holds one chart per scenario plus the latency charts, every one with
//! bars. `weft lab report DIR` then renders the same page again from report.json.
//!
//! Chromium is required: without it the test fails with the command that installs it.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// Where Debian's `chromium` package puts the browser.
const CHROMIUM: &str = "/usr/bin/chromium";

/// Bound on one Chromium run.
const CHROMIUM_DEADLINE: Duration = Duration::from_secs(120);

/// The scenarios of the small run (a latency chart comes with io-wait).
const SCENARIOS: [&str; 5] = ["idle", "io-wait", "switch", "hazards", "fork"];

/// Scenarios whose section has a second chart (latency distribution).
const WITH_LATENCY_CHART: [&str; 2] = ["io-wait", "cpu-stall"];

/// Share of the screenshot's pixels that must differ from the background for it to count
/// as drawn: 2% (the page's text and bars cover far more).
const MIN_INK: f64 = 0.02;

fn chromium() -> PathBuf {
    let path = std::env::var_os("CHROMIUM").map_or_else(|| PathBuf::from(CHROMIUM), PathBuf::from);
    assert!(
        path.exists(),
        "headless Chromium is needed at {} to check report.html; install it with: \
         apt-get update && apt-get install -y chromium",
        path.display()
    );
    path
}

/// Runs Chromium headless on `page` with `extra` arguments; its stdout.
fn run_chromium(page: &Path, profile: &Path, extra: &[String]) -> Vec<u8> {
    let mut child = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            "--window-size=1200,3000",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .arg(format!("file://{}", page.display()))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromium");
    let stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut out = Vec::new();
        let _ = std::io::Read::read_to_end(&mut { stdout }, &mut out);
        out
    });
    let deadline = Instant::now() + CHROMIUM_DEADLINE;
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            assert!(status.success(), "chromium failed: {status}");
            break;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("chromium did not finish within {CHROMIUM_DEADLINE:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    reader.join().unwrap()
}

/// The share of pixels that differ from the top-left (background) pixel.
fn ink(png_path: &Path) -> f64 {
    let decoder = png::Decoder::new(std::fs::File::open(png_path).expect("screenshot written"));
    let mut reader = decoder.read_info().expect("a PNG");
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).expect("a frame");
    let channels = info.color_type.samples();
    let pixels: Vec<&[u8]> = buf[..info.buffer_size()].chunks(channels).collect();
    let background = pixels[0];
    let drawn = pixels.iter().filter(|p| p[..3] != background[..3]).count();
    drawn as f64 / pixels.len() as f64
}

#[test]
fn quick_report_renders_every_chart_in_chromium() {
    chromium();
    let dir = std::env::temp_dir().join(format!("weft-lab-chromium-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let out = Command::new(env!("CARGO_BIN_EXE_weft"))
        .args(["lab", "run"])
        .args(SCENARIOS)
        .args(["--quick", "--models", "loop", "--out"])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "weft lab run: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    for s in SCENARIOS {
        assert!(
            stdout.contains(&format!("== {s} ")),
            "no table for {s} in:\n{stdout}"
        );
    }

    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).unwrap()).unwrap();
    let scenarios = report["scenarios"].as_array().unwrap();
    assert_eq!(scenarios.len(), SCENARIOS.len());
    assert!(report["machine"]["cpus"].as_u64().unwrap() >= 1 && report["date"].is_string());
    for s in scenarios {
        let figures = s["figures"].as_array().unwrap();
        assert!(!figures.is_empty(), "{} has no figures", s["name"]);
        for f in figures {
            assert!(
                f["unit"].is_string() && f["model"].is_string() && f["scenario"] == s["name"],
                "{f}"
            );
        }
    }
    let hazards = scenarios.iter().find(|s| s["name"] == "hazards").unwrap();
    let not_done = hazards["outcomes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["status"] == "not-done")
        .count();
    // weft::diag exists: deadlock and livelock are run and caught (lab_hazards checks how).
    assert_eq!(not_done, 0, "hazards has parts not done: {hazards:#}");
    assert!(
        hazards["diag_reports"]
            .as_array()
            .is_some_and(|d| d.iter().any(|r| r["kind"] == "deadlock")),
        "no deadlock report kept: {hazards:#}"
    );
    assert!(dir.join("report.md").exists());

    let expected_charts = scenarios.len()
        + scenarios
            .iter()
            .filter(|s| WITH_LATENCY_CHART.contains(&s["name"].as_str().unwrap()))
            .count();
    let html = dir.join("report.html");
    let text = std::fs::read_to_string(&html).unwrap();
    // The only URL in the page is the SVG namespace (a name, never fetched).
    assert_eq!(
        text.matches("http://").count(),
        text.matches("http://www.w3.org/2000/svg").count(),
        "report.html must not load anything from the network"
    );
    assert!(
        !text.contains("https://"),
        "report.html must not load anything from the network"
    );

    let profile = dir.join("chromium-profile");
    let dom = String::from_utf8(run_chromium(&html, &profile, &["--dump-dom".into()])).unwrap();
    let charts: Vec<&str> = dom
        .split("<svg")
        .skip(1)
        .filter(|c| c.contains("class=\"chart\""))
        .collect();
    assert_eq!(charts.len(), expected_charts, "charts in the rendered DOM");
    for chart in &charts {
        let bars: usize = chart
            .split("data-bars=\"")
            .nth(1)
            .and_then(|r| r.split('"').next())
            .and_then(|n| n.parse().ok())
            .expect("data-bars");
        assert!(
            bars > 0,
            "a chart without data: {}",
            &chart[..chart.len().min(200)]
        );
        let head = &chart[..chart.find("</svg>").unwrap_or(chart.len())];
        assert_eq!(
            head.matches("class=\"bar\"").count(),
            bars,
            "drawn bars differ from data-bars"
        );
    }

    let shot = dir.join("report.png");
    run_chromium(
        &html,
        &profile,
        &[format!("--screenshot={}", shot.display())],
    );
    let inked = ink(&shot);
    assert!(
        inked > MIN_INK,
        "the screenshot is blank ({:.2}% drawn)",
        inked * 100.0
    );
    if let Some(keep) = std::env::var_os("WEFT_LAB_SCREENSHOT") {
        std::fs::copy(&shot, keep).unwrap();
    }

    // `weft lab report DIR` renders the page again from report.json alone.
    std::fs::remove_file(&html).unwrap();
    std::fs::remove_file(dir.join("report.md")).unwrap();
    let again = Command::new(env!("CARGO_BIN_EXE_weft"))
        .args(["lab", "report"])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(
        again.status.success(),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    let rerendered = std::fs::read_to_string(&html).unwrap();
    assert_eq!(
        rerendered.matches("<svg class=\"chart\"").count(),
        expected_charts
    );
    assert!(dir.join("report.md").exists());
    let _ = std::fs::remove_dir_all(&dir);
}
