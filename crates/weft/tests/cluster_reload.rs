//! Zero-downtime reload: SIGHUP under a steady load replaces every worker, new ones first, with
//! no failed request.

mod cluster_support;

use cluster_support::{parse_slot_pid, tally, wait_until, Cluster, Load, Outcome};
use std::collections::HashSet;
use std::time::Instant;

fn main() {
    cluster_support::main(&[(
        "sighup_under_load_replaces_every_worker_with_no_failed_request",
        sighup_under_load_replaces_every_worker_with_no_failed_request,
    )]);
}

const CLIENTS: usize = 4;

fn sighup_under_load_replaces_every_worker_with_no_failed_request() {
    let workers = 2;
    let mut cluster = Cluster::start(workers, &[]);
    let old: Vec<u32> = cluster
        .wait_ready(workers)
        .iter()
        .map(|(_, p)| *p)
        .collect();
    let load = Load::start(cluster.addr, CLIENTS, "SLEEP 20");
    load.wait_answer_from(&old, "answers from the old workers");
    let hup_at = Instant::now();
    cluster.signal(libc::SIGHUP);
    let reloaded = cluster.wait_line(|l| l.starts_with("RELOADED "), "the reload to complete");
    assert_eq!(reloaded, format!("RELOADED {workers}"));
    let reload_took = hup_at.elapsed();
    // New workers were ready before any old one was asked to stop, and every old one exited.
    let new: Vec<u32> = cluster
        .log
        .iter()
        .filter_map(|l| parse_slot_pid(l, "READY"))
        .map(|(_, p)| p)
        .filter(|p| !old.contains(p))
        .collect();
    assert_eq!(new.len(), workers, "{:#?}", cluster.log);
    for pid in &old {
        assert!(
            cluster
                .log
                .iter()
                .any(|l| l.contains(&format!(" {pid} code=0 true")) && l.starts_with("EXITED")),
            "old worker {pid} drained and exited: {:#?}",
            cluster.log
        );
    }
    let first_old_exit = cluster
        .log
        .iter()
        .position(|l| l.starts_with("EXITED"))
        .unwrap();
    let last_new_ready = cluster
        .log
        .iter()
        .rposition(|l| parse_slot_pid(l, "READY").is_some_and(|(_, p)| new.contains(&p)))
        .unwrap();
    assert!(
        last_new_ready < first_old_exit,
        "new workers first: {:#?}",
        cluster.log
    );
    load.wait_answer_from(&new, "answers from the new workers");
    let after = Instant::now();
    wait_until("more answers after the reload", || {
        load.records().iter().filter(|r| r.started > after).count() >= 20
    });
    let records = load.stop();
    let (sent, answered, refused, failed) = tally(&records);
    let during = records
        .iter()
        .filter(|r| r.ended >= hup_at && r.started <= hup_at + reload_took)
        .count();
    println!(
        "SIGHUP under load ({CLIENTS} clients, SLEEP 20 requests): {sent} sent, {answered} \
         answered, {} failed, {refused} refused; {during} during the {reload_took:?} reload",
        failed.len()
    );
    assert!(
        failed.is_empty() && refused == 0,
        "failed: {failed:?}, refused: {refused}"
    );
    let late: HashSet<u32> = records
        .iter()
        .filter(|r| r.started > after)
        .filter_map(|r| match r.outcome {
            Outcome::Answered(p) => Some(p),
            _ => None,
        })
        .collect();
    assert!(
        late.iter().all(|p| new.contains(p)),
        "only new workers answer: {late:?} vs {new:?}"
    );
    cluster.signal(libc::SIGTERM);
    assert!(cluster.wait_exit().success());
}
