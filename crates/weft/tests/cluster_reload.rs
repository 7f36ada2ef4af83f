//! Zero-downtime reload: SIGHUP under a steady load replaces every worker, new ones first, with
//! no failed request; three reloads in a row.

mod cluster_support;

use cluster_support::{load, parse_slot_pid, start_cluster, tally, wait_until, Outcome};
use std::collections::HashSet;
use std::time::{Duration, Instant};

fn main() {
    cluster_support::main(&[(
        "sighup_under_load_replaces_every_worker_with_no_failed_request",
        sighup_under_load_replaces_every_worker_with_no_failed_request,
    )]);
}

const CLIENTS: usize = 4;
const WORKERS: usize = 2;
const RELOADS: usize = 3;

fn sighup_under_load_replaces_every_worker_with_no_failed_request() {
    let mut cluster = start_cluster(WORKERS, &[]);
    let mut current: Vec<u32> = cluster
        .wait_ready(WORKERS)
        .iter()
        .map(|(_, p)| *p)
        .collect();
    let load = load(cluster.addr, CLIENTS, "PID");
    load.wait_answer_from(&current, "answers from the first workers");
    let mut reload_time = Duration::ZERO;
    for round in 1..=RELOADS {
        let log_start = cluster.log.len();
        let hup_at = Instant::now();
        cluster.signal(libc::SIGHUP);
        let reloaded = cluster.wait_line(|l| l.starts_with("RELOADED "), "the reload to complete");
        assert_eq!(reloaded, format!("RELOADED {WORKERS}"), "round {round}");
        reload_time += hup_at.elapsed();
        let this_round = &cluster.log[log_start..];
        let new: Vec<u32> = this_round
            .iter()
            .filter_map(|l| parse_slot_pid(l, "READY"))
            .map(|(_, p)| p)
            .collect();
        assert_eq!(new.len(), WORKERS, "round {round}: {this_round:#?}");
        // Every old worker drained and exited 0, and only after every new one was ready.
        let last_ready = this_round
            .iter()
            .rposition(|l| l.starts_with("READY"))
            .unwrap();
        for pid in &current {
            let exit = this_round
                .iter()
                .position(|l| l.starts_with("EXITED") && l.contains(&format!(" {pid} code=0 true")))
                .unwrap_or_else(|| panic!("old worker {pid} exited cleanly: {this_round:#?}"));
            assert!(last_ready < exit, "new workers first: {this_round:#?}");
        }
        current = new;
    }
    load.wait_answer_from(&current, "answers from the newest workers");
    let after = Instant::now();
    wait_until("more answers after the reloads", || {
        load.records().iter().filter(|r| r.started > after).count() >= 20
    });
    let records = load.stop();
    let (sent, answered, refused, failed) = tally(&records);
    println!(
        "{RELOADS} SIGHUP reloads under load ({CLIENTS} clients, one request per connection): \
         {sent} sent, {answered} answered, {} failed, {refused} refused; the reloads took \
         {reload_time:?} in all",
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
        late.iter().all(|p| current.contains(p)),
        "only the newest workers answer: {late:?}"
    );
    cluster.signal(libc::SIGTERM);
    assert!(cluster.wait_exit().success());
}
