//! Stopping: SIGTERM under load drains (no request in flight fails), a second signal kills at
//! once, and a worker whose supervisor is killed exits by itself.

mod cluster_support;

use cluster_support::{load, process_gone, request, start_cluster, tally, wait_until, Outcome};
use std::time::{Duration, Instant};

fn main() {
    cluster_support::main(&[
        (
            "sigterm_under_load_fails_no_request_in_flight",
            sigterm_under_load_fails_no_request_in_flight,
        ),
        (
            "second_signal_kills_the_workers_at_once",
            second_signal_kills_the_workers_at_once,
        ),
        (
            "workers_of_a_killed_supervisor_exit_by_themselves",
            workers_of_a_killed_supervisor_exit_by_themselves,
        ),
    ]);
}

const CLIENTS: usize = 4;

fn sigterm_under_load_fails_no_request_in_flight() {
    let mut cluster = start_cluster(2, &[]);
    let ready = cluster.wait_ready(2);
    let pids: Vec<u32> = ready.iter().map(|(_, p)| *p).collect();
    // Requests that take a while, so that some are surely in flight when the signal comes.
    let load = load(cluster.addr, CLIENTS, "SLEEP 100");
    load.wait_answer_from(&pids, "answers under load");
    let term_at = Instant::now();
    cluster.signal(libc::SIGTERM);
    let status = cluster.wait_exit();
    let stopped_after = term_at.elapsed();
    // Keep the clients going until they see the port closed.
    wait_until("the clients to be refused", || {
        load.records()
            .iter()
            .any(|r| r.started > term_at && r.outcome == Outcome::Refused)
    });
    let records = load.stop();
    assert!(status.success(), "{status:?}");
    let (sent, answered, refused, _) = tally(&records);
    let in_flight = records
        .iter()
        .filter(|r| r.started < term_at && r.ended > term_at)
        .count();
    // Every request begun before the signal is answered. One begun after it can meet the one
    // race no server closes: its connection completes into a worker's accept queue after that
    // worker took the queue for the last time and before it closed the listener, and the kernel
    // resets it with the listener (nginx's graceful stop has the same window). The client was
    // never served, as a refused one; it is counted apart, not excused before the signal.
    let failed_before: Vec<_> = records
        .iter()
        .filter(|r| r.started < term_at)
        .filter_map(|r| match &r.outcome {
            Outcome::Failed(why) => Some(why.clone()),
            _ => None,
        })
        .collect();
    let reset_after = records
        .iter()
        .filter(|r| r.started >= term_at && matches!(r.outcome, Outcome::Failed(_)))
        .count();
    println!(
        "SIGTERM under load ({CLIENTS} clients, SLEEP 100 requests): {sent} sent, {answered} \
         answered, {} failed of those begun before the signal, {reset_after} begun after it \
         reset as the listener closed, {refused} refused after the listener closed; \
         {in_flight} were in flight at the signal; supervisor exited {stopped_after:?} after it",
        failed_before.len()
    );
    assert!(
        failed_before.is_empty(),
        "requests begun before the signal failed: {failed_before:?}"
    );
    assert!(in_flight > 0, "the test had requests in flight");
    for worker in ["0", "1"] {
        assert!(
            cluster
                .log
                .iter()
                .any(|l| l.starts_with(&format!("EXITED {worker} ")) && l.ends_with("code=0 true")),
            "worker {worker} drained and exited 0: {:#?}",
            cluster.log
        );
    }
    assert!(cluster.log.iter().any(|l| l == "STOPPED Signal(Terminate)"));
}

fn second_signal_kills_the_workers_at_once() {
    let mut cluster = start_cluster(2, &[]);
    cluster.wait_ready(2);
    // A request that would hold the drain for a minute.
    let addr = cluster.addr;
    let long = std::thread::spawn(move || request(addr, "SLEEP 60000"));
    cluster.wait_line(
        |l| l.starts_with("BUSY "),
        "the long request to be in flight",
    );
    let start = Instant::now();
    cluster.signal(libc::SIGINT);
    cluster.wait_line(|l| l == "STOPPING true", "the graceful stop");
    cluster.signal(libc::SIGINT);
    cluster.wait_line(|l| l == "STOPPING false", "the immediate stop");
    let status = cluster.wait_exit();
    assert!(status.success());
    assert!(
        start.elapsed() < Duration::from_secs(30),
        "did not wait for the drain"
    );
    assert!(
        matches!(long.join().unwrap(), Outcome::Failed(_)),
        "the long request was cut"
    );
    assert!(
        cluster
            .log
            .iter()
            .any(|l| l.starts_with("EXITED") && l.contains("signal=9")),
        "{:#?}",
        cluster.log
    );
}

fn workers_of_a_killed_supervisor_exit_by_themselves() {
    let mut cluster = start_cluster(2, &[]);
    let ready = cluster.wait_ready(2);
    let supervisor = cluster.pid();
    cluster_support::send_signal(supervisor, libc::SIGKILL);
    for (slot, pid) in ready {
        wait_until(
            &format!("orphaned worker {slot} (pid {pid}) to exit"),
            || process_gone(pid),
        );
    }
}
