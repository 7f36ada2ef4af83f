//! Crash isolation: a worker killed with SIGKILL is back (how long it took is printed, for the
//! notes: a timing figure, not an assertion) while the others keep answering; a worker exiting with the fatal code is not restarted; a crash loop stops.

mod cluster_support;

use cluster_support::{load, parse_slot_pid, request, send_signal, start_cluster, tally, Outcome};
use std::time::Instant;
use weft::cluster::FATAL_EXIT_CODE;

fn main() {
    cluster_support::main(&[
        (
            "killed_worker_is_back_and_others_keep_serving",
            killed_worker_is_back_and_others_keep_serving,
        ),
        (
            "fatal_exit_code_is_not_restarted",
            fatal_exit_code_is_not_restarted,
        ),
        (
            "crash_loop_stops_restarts_and_the_others_keep_serving",
            crash_loop_stops_restarts_and_the_others_keep_serving,
        ),
    ]);
}

/// Concurrent load clients; each can lose at most the one request it had in flight on the
/// killed worker.
const CLIENTS: usize = 2;

fn killed_worker_is_back_and_others_keep_serving() {
    let mut cluster = start_cluster(2, &[]);
    let ready = cluster.wait_ready(2);
    let (victim_slot, victim) = ready[0];
    let survivor = ready[1].1;
    let load = load(cluster.addr, CLIENTS, "PID");
    load.wait_answer_from(
        &[victim, survivor],
        "answers from both workers before the kill",
    );

    let killed_at = Instant::now();
    send_signal(victim, libc::SIGKILL);
    let back = cluster.wait_line(
        |l| parse_slot_pid(l, "READY").is_some_and(|(s, p)| s == victim_slot && p != victim),
        "the killed worker's replacement to be ready",
    );
    let back_after = killed_at.elapsed();
    let (_, replacement) = parse_slot_pid(&back, "READY").unwrap();
    load.wait_answer_from(&[replacement], "an answer from the replacement");
    let records = load.stop();

    let exited = cluster
        .lines_with(&format!("EXITED {victim_slot} {victim} "))
        .first()
        .map(|l| l.to_string())
        .expect("the kill was reported");
    assert_eq!(
        exited,
        format!("EXITED {victim_slot} {victim} signal=9 false")
    );
    let (sent, answered, refused, failed) = tally(&records);
    let during: Vec<_> = records
        .iter()
        .filter(|r| r.ended >= killed_at && r.started <= killed_at + back_after)
        .collect();
    let survivor_answers = during
        .iter()
        .filter(|r| r.outcome == Outcome::Answered(survivor))
        .count();
    println!(
        "kill -9 under load ({CLIENTS} clients, one request per connection): {sent} sent, \
         {answered} answered, {} failed, {refused} refused; back within {back_after:?} (the \
         replacement ready after the kill); {survivor_answers} answers by the other worker meanwhile",
        failed.len()
    );
    assert_eq!(refused, 0, "the listening socket never closed");
    // Only a request in flight on the killed worker at the moment of the kill can be lost.
    assert!(
        failed.len() <= CLIENTS,
        "failures beyond those in flight: {failed:?}"
    );
    for r in &records {
        if r.started > killed_at + back_after {
            assert!(
                matches!(r.outcome, Outcome::Answered(_)),
                "after recovery: {r:?}"
            );
        }
    }
    assert!(survivor_answers > 0, "the other worker answered meanwhile");
    cluster.signal(libc::SIGTERM);
    assert!(cluster.wait_exit().success());
}

fn fatal_exit_code_is_not_restarted() {
    let mut cluster = start_cluster(2, &[]);
    let ready = cluster.wait_ready(2);
    // Whichever worker takes this request exits with the fatal code (the request fails).
    assert!(matches!(request(cluster.addr, "FATAL"), Outcome::Failed(_)));
    let exited = cluster.wait_line(|l| l.starts_with("EXITED "), "the fatal exit");
    let (slot, pid) = parse_slot_pid(&exited, "EXITED").unwrap();
    assert!(
        exited.ends_with(&format!("code={FATAL_EXIT_CODE} false")),
        "{exited}"
    );
    cluster.wait_line(
        |l| l == format!("GAVEUP {slot} fatal"),
        "the supervisor to give up",
    );
    let other = ready.iter().find(|(s, _)| *s != slot).unwrap().1;
    for _ in 0..20 {
        assert_eq!(request(cluster.addr, "PID"), Outcome::Answered(other));
    }
    cluster.signal(libc::SIGTERM);
    assert!(cluster.wait_exit().success());
    // The supervisor acts on each event in order: had it restarted the slot, a RESTARTING or a
    // second STARTED line for it would come before STOPPED.
    assert!(
        cluster
            .lines_with(&format!("RESTARTING {slot} "))
            .is_empty(),
        "{:#?}",
        cluster.log
    );
    assert_eq!(
        cluster.lines_with(&format!("STARTED {slot} ")).len(),
        1,
        "{:#?}",
        cluster.log
    );
    assert!(cluster.log.iter().any(|l| l.starts_with("STOPPED")));
    let _ = pid;
}

fn crash_loop_stops_restarts_and_the_others_keep_serving() {
    let deaths = weft::cluster::CRASH_LOOP_DEATHS + 1;
    let mut cluster = start_cluster(2, &[("WEFT_TEST_CRASH_SLOT", "1".into())]);
    let gave_up = cluster.wait_line(
        |l| l.starts_with("GAVEUP 1 "),
        "the crash loop to be detected",
    );
    assert_eq!(gave_up, format!("GAVEUP 1 crashloop deaths={deaths}"));
    // Every start but the last was followed by a restart, with growing delays.
    let starts = cluster.lines_with("STARTED 1 ").len();
    assert_eq!(starts, deaths, "{:#?}", cluster.log);
    let delays: Vec<u64> = cluster
        .lines_with("RESTARTING 1 ")
        .iter()
        .map(|l| l.split_whitespace().nth(2).unwrap().parse().unwrap())
        .collect();
    assert_eq!(delays.len(), deaths - 1);
    assert!(
        delays.windows(2).all(|w| w[1] > w[0]),
        "exponential backoff: {delays:?}"
    );
    // Slot 0 served throughout.
    let ready0 = cluster.wait_ready(1);
    let pid0 = ready0[0].1;
    for _ in 0..20 {
        assert_eq!(request(cluster.addr, "PID"), Outcome::Answered(pid0));
    }
    cluster.signal(libc::SIGTERM);
    assert!(cluster.wait_exit().success());
    assert_eq!(
        cluster.lines_with("STARTED 1 ").len(),
        deaths,
        "no start after giving up"
    );
}
