//! Workers share one listening socket and all answer; SIGTTIN and SIGTTOU change how many.

mod cluster_support;

use cluster_support::{parse_slot_pid, request, start_cluster, wait_until, Cluster, Outcome};
use std::collections::HashSet;

fn main() {
    cluster_support::main(&[
        (
            "workers_share_one_port_and_all_answer",
            workers_share_one_port_and_all_answer,
        ),
        (
            "ttin_and_ttou_change_the_worker_count",
            ttin_and_ttou_change_the_worker_count,
        ),
    ]);
}

/// Sends `PID` requests until every pid in `pids` has answered (or the deadline passes).
fn wait_all_answer(cluster: &Cluster, pids: &[u32]) {
    let mut seen = HashSet::new();
    wait_until(&format!("answers from every worker {pids:?}"), || {
        match request(cluster.addr, "PID") {
            Outcome::Answered(pid) => {
                seen.insert(pid);
            }
            other => panic!("request failed: {other:?}"),
        }
        pids.iter().all(|p| seen.contains(p))
    });
}

fn workers_share_one_port_and_all_answer() {
    let mut cluster = start_cluster(3, &[]);
    let ready = cluster.wait_ready(3);
    let pids: Vec<u32> = ready.iter().map(|(_, pid)| *pid).collect();
    let distinct: HashSet<u32> = pids.iter().copied().collect();
    assert_eq!(distinct.len(), 3, "three processes: {ready:?}");
    assert!(
        !distinct.contains(&cluster.pid()),
        "the supervisor serves no request"
    );
    wait_all_answer(&cluster, &pids);
    cluster.signal(libc::SIGTERM);
    assert!(cluster.wait_exit().success());
}

fn ttin_and_ttou_change_the_worker_count() {
    let mut cluster = start_cluster(2, &[]);
    cluster.wait_ready(2);
    cluster.signal(libc::SIGTTIN);
    cluster.wait_line(|l| l == "SCALED 3", "three workers after SIGTTIN");
    let added = cluster.wait_line(|l| l.starts_with("READY 2 "), "the added worker");
    let (_, added_pid) = parse_slot_pid(&added, "READY").unwrap();
    let pids: Vec<u32> = cluster.wait_ready(3).iter().map(|(_, p)| *p).collect();
    wait_all_answer(&cluster, &pids);

    cluster.signal(libc::SIGTTOU);
    cluster.wait_line(|l| l == "SCALED 2", "two workers after SIGTTOU");
    let exited = cluster.wait_line(|l| l.starts_with("EXITED 2 "), "the removed worker to exit");
    assert_eq!(
        exited,
        format!("EXITED 2 {added_pid} code=0 true"),
        "drained and exited cleanly"
    );
    cluster.signal(libc::SIGTTOU);
    cluster.wait_line(|l| l == "SCALED 1", "one worker after the second SIGTTOU");
    cluster.wait_line(
        |l| l.starts_with("EXITED 1 "),
        "the second removed worker to exit",
    );
    // The last worker still serves; a third SIGTTOU is refused (the cluster keeps one).
    cluster.signal(libc::SIGTTOU);
    assert!(matches!(request(cluster.addr, "PID"), Outcome::Answered(p) if p == pids[0]));
    cluster.signal(libc::SIGTERM);
    assert!(cluster.wait_exit().success());
    assert!(
        cluster.lines_with("SCALED 0").is_empty(),
        "never below one worker"
    );
}
