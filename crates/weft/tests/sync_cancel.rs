//! CancellationToken: cancel wakes every waiter (same loop, another loop, an OS thread);
//! cancelling a parent cancels children and grandchildren, not the other way; a child of a
//! cancelled token starts cancelled; a drop guard cancels on drop unless disarmed; a dropped
//! cancelled() future leaves nothing behind.

mod common;
mod sync_locks_support;

use common::DEADLINE;
use sync_locks_support::Probe;
use weft::rt::{Handle, Runtime};
use weft::sync::CancellationToken;
use weft::time::timeout;

#[test]
fn cancelling_a_parent_cancels_its_descendants_not_the_other_way() {
    let parent = CancellationToken::new();
    let child = parent.child_token();
    let grandchild = child.child_token();
    let sibling = parent.child_token();
    let mut waits: Vec<_> = [&child, &grandchild, &sibling]
        .map(|t| Probe::new(t.clone().cancelled_owned()))
        .into_iter()
        .collect();
    for w in &mut waits {
        w.pending();
    }
    grandchild.cancel();
    assert!(grandchild.is_cancelled());
    assert!(
        !child.is_cancelled() && !parent.is_cancelled(),
        "cancel does not go up"
    );
    child.cancel();
    assert!(!parent.is_cancelled() && !sibling.is_cancelled());
    waits[2].pending();
    parent.cancel();
    assert!(sibling.is_cancelled());
    assert_eq!(waits[2].wakes(), 1);
    for w in &mut waits {
        w.ready();
    }
}

#[test]
fn a_child_of_a_cancelled_token_starts_cancelled() {
    let parent = CancellationToken::new();
    parent.cancel();
    let child = parent.child_token();
    assert!(child.is_cancelled());
    Probe::new(child.cancelled()).ready();
}

#[test]
fn dropped_children_do_not_stop_cancellation_of_later_ones() {
    let parent = CancellationToken::new();
    for _ in 0..100 {
        drop(parent.child_token());
    }
    let kept: Vec<_> = (0..10).map(|_| parent.child_token()).collect();
    // A middle node dropped while its child lives still passes the cancel down.
    let middle = parent.child_token();
    let leaf = middle.child_token();
    drop(middle);
    parent.cancel();
    assert!(kept.iter().all(CancellationToken::is_cancelled));
    assert!(leaf.is_cancelled());
}

#[test]
fn a_drop_guard_cancels_unless_disarmed() {
    let token = CancellationToken::new();
    let guard = token.clone().drop_guard();
    let token2 = guard.disarm();
    assert!(!token.is_cancelled());
    {
        let _guard = token2.drop_guard();
    }
    assert!(token.is_cancelled());
}

#[test]
fn a_dropped_wait_leaves_the_others_waiting() {
    let token = CancellationToken::new();
    let mut a = Probe::new(token.cancelled());
    let mut b = Probe::new(token.cancelled());
    a.pending();
    b.pending();
    drop(a);
    token.cancel();
    assert_eq!(b.wakes(), 1);
    b.ready();
}

#[test]
fn cancel_reaches_tasks_on_other_loops_and_threads() {
    let rt = Runtime::builder().loops(2).build().unwrap();
    rt.block_on(async {
        let token = CancellationToken::new();
        let h = Handle::current();
        let tasks: Vec<_> = (0..4)
            .map(|i| {
                let child = token.child_token();
                h.spawn_on(i % 2, async move {
                    child.cancelled().await;
                    i
                })
            })
            .collect();
        let t = token.clone();
        std::thread::spawn(move || t.cancel());
        for (i, task) in tasks.into_iter().enumerate() {
            assert_eq!(
                timeout(DEADLINE, task)
                    .await
                    .expect("cancelled in time")
                    .unwrap(),
                i
            );
        }
        let out = token
            .run_until_cancelled(std::future::pending::<()>())
            .await;
        assert_eq!(out, None);
    });
}

/// With diagnostics on, a task parked in `cancelled()` is a waiter in the dump: the wait
/// names the token's creation site and the `cancelled()` call, and no holder (a token has
/// none); cancelling ends the wait.
#[test]
fn a_dump_shows_a_task_waiting_on_a_token() {
    let rt = Runtime::builder()
        .loops(1)
        .diagnostics(weft::diag::Config::default().livelock(1_000_000))
        .build()
        .unwrap();
    let token_line = line!() + 1;
    let token = CancellationToken::new();
    let child = token.child_token();
    let wait_line = line!() + 3;
    let spawn_line = line!() + 1;
    let waiter = rt.spawn_on(0, async move {
        child.cancelled().await;
    });
    let find = |dump: &weft::diag::TaskDump| {
        dump.iter()
            .find(|t| {
                t.spawn_site().file().ends_with("sync_cancel.rs")
                    && t.spawn_site().line() == spawn_line
            })
            .cloned()
    };
    let deadline = std::time::Instant::now() + DEADLINE;
    let (task, text) = loop {
        let dump = weft::diag::dump();
        if let Some(t) = find(&dump).filter(|t| t.wait_reason().is_some()) {
            break (t, dump.to_string());
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the waiter never showed a wait:\n{dump}"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    };
    let reason = task.wait_reason().unwrap();
    assert_eq!(task.state(), weft::diag::TaskState::Parked, "{text}");
    // The child was made on the line after the token: its own site is the one waited on.
    let child_site = format!("sync_cancel.rs:{}:", token_line + 1);
    assert!(
        reason.starts_with("CancellationToken::cancelled on ") && reason.contains(&child_site),
        "{text}"
    );
    assert!(
        reason.contains(&format!("waiting at {}", file!()))
            && reason.contains(&format!(":{wait_line}:")),
        "{text}"
    );
    assert!(!reason.contains("held by"), "a token has no holder: {text}");
    token.cancel();
    rt.block_on(async { timeout(DEADLINE, waiter).await })
        .expect("the waiter ends once cancelled")
        .unwrap();
    let after = weft::diag::dump();
    assert!(find(&after).is_none(), "{after}");
}
