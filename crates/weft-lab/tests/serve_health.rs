//! `GET /healthz` and `GET /readyz` of `weft serve`, and the drain grace: from SIGTERM on,
//! `/readyz` answers 503 while new connections are still accepted and served; then the server
//! drains and exits. One process, and a cluster of two workers.

use std::time::Duration;

use weft_testkit::{wait_until, ServeChild};

const SIGTERM: i32 = 15;

/// The status of `GET path` on a new connection, or the error.
fn status(child: &ServeChild, path: &str) -> Result<u16, String> {
    let agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .new_agent();
    agent
        .get(&child.url(path))
        .header("Connection", "close")
        .call()
        .map(|r| r.status().as_u16())
        .map_err(|e| e.to_string())
}

fn grace_then_drain(extra: &[&str]) {
    let mut args = vec!["--port", "0", "--drain-grace", "3s"];
    args.extend_from_slice(extra);
    let mut child = ServeChild::weft_serve(env!("CARGO_BIN_EXE_weft"), &args);
    wait_until("/readyz 200", || status(&child, "/readyz") == Ok(200));
    assert_eq!(status(&child, "/healthz"), Ok(200));
    child.signal(SIGTERM);
    wait_until("/readyz 503 after SIGTERM", || {
        status(&child, "/readyz") == Ok(503)
    });
    // During the grace the listener still accepts and serves.
    assert_eq!(
        status(&child, "/"),
        Ok(200),
        "new connection during the grace"
    );
    assert_eq!(
        status(&child, "/healthz"),
        Ok(200),
        "/healthz during the grace"
    );
    let exit = child.wait_exit();
    assert!(
        exit.success(),
        "exit after the drain: {exit:?}\n{}",
        child.log.join("\n")
    );
}

#[test]
fn readyz_503_during_grace_one_process() {
    grace_then_drain(&["--loops", "2"]);
}

#[test]
fn readyz_503_during_grace_green() {
    grace_then_drain(&["--loops", "1", "--model", "green"]);
}

#[test]
fn readyz_503_during_grace_cluster() {
    grace_then_drain(&["--workers", "2"]);
}

#[test]
fn bad_drain_grace_is_refused_by_name() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_weft"))
        .args(["serve", "--port", "0", "--drain-grace", "soon"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--drain-grace"), "{err}");
}
