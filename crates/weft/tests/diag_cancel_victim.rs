//! `Action::CancelVictim`: the youngest task of a deadlock is cancelled, its guards released,
//! its `JoinHandle` says it was a deadlock victim, and the other member finishes.
//! `Action::Abort`: the report is printed and the process aborts (checked in a child process).

mod diag_support;

use diag_support::*;
use weft::diag::{Action, Config, ReportKind};

#[test]
fn cancel_victim_lets_the_other_member_finish() {
    let rt = runtime(
        2,
        Config::default()
            .deadlocks(true)
            .on_deadlock(Action::CancelVictim),
    );
    let seeds = Seeds::new();
    let a = rt.spawn_on(0, seeds.clone().a_task());
    // B is spawned second: the youngest, the victim.
    let b = rt.spawn_on(1, seeds.clone().b_task());
    let (a_out, b_out) = rt.block_on(async move { (a.await, b.await) });
    assert!(
        a_out.is_ok(),
        "A should finish once B is cancelled: {a_out:?}"
    );
    let err = b_out.expect_err("B is the victim");
    assert!(err.is_deadlock_victim() && err.is_cancelled(), "{err:?}");
    assert!(err.to_string().contains("deadlock"), "{err}");
    let (_, report) = expect_report(ReportKind::Deadlock, &[&seeds.sites[0]]);
    assert!(
        report.to_string().contains("Action: cancelling"),
        "{report}"
    );
    // The locks are free again.
    assert!(seeds.r1.try_lock().is_ok() && seeds.r2.try_lock().is_ok());
}

/// Set in the child process of [`abort_prints_the_report_and_aborts`].
const ABORT_CHILD: &str = "WEFT_TEST_DIAG_ABORT_CHILD";

#[test]
fn abort_prints_the_report_and_aborts() {
    use std::os::unix::process::ExitStatusExt;
    if std::env::var_os(ABORT_CHILD).is_some() {
        // The child: deadlock with Action::Abort; the process must die before the deadline.
        let rt = runtime(
            2,
            Config::default().deadlocks(true).on_deadlock(Action::Abort),
        );
        let seeds = Seeds::new();
        rt.spawn_on(0, seeds.clone().a_task());
        rt.spawn_on(1, seeds.clone().b_task());
        std::thread::sleep(REPORT_DEADLINE);
        panic!("Action::Abort did not abort within {REPORT_DEADLINE:?}");
    }
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "abort_prints_the_report_and_aborts",
            "--nocapture",
        ])
        .env(ABORT_CHILD, "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.signal(), Some(libc::SIGABRT), "{stderr}");
    assert!(stderr.contains("weft::diag: deadlock"), "{stderr}");
    assert!(stderr.contains("Action: aborting the process"), "{stderr}");
}
