//! `Action::CancelVictim`: the youngest task of a deadlock is cancelled, its guards released,
//! its `JoinHandle` says it was a deadlock victim, and the other member finishes.

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
