//! Fixed-count runs of the `sync` bench's rows, for instruction counts under callgrind (the
//! machine is shared, so wall-clock figures are noisy; instruction ratios are not):
//!
//! ```text
//! valgrind --tool=callgrind --callgrind-out-file=/dev/null \
//!     target/release/sync_instr <row> <off|trace|diag|deadlocks|lock-order> <iterations>
//! ```
//!
//! Run each row at two counts and divide the difference by the difference of the counts, so
//! that start-up and runtime creation cancel out: the instructions of one iteration. Rows:
//! `mutex`, `mutex_contended`, `semaphore`, `notify`, `mpsc`, `mpsc_unbounded`, `oneshot`,
//! `oneshot_waiting`, `broadcast`, and for comparison `oneshot_local`
//! (`weft::sync::local::oneshot`) and `oneshot_tokio` (tokio's, on tokio's current-thread
//! runtime; the mode is ignored); and `mpsc_two_loops` (on a runtime with one loop thread,
//! pinned to CPU 0 when `WEFT_PIN=1`), for wall-clock runs.
//!
//! `WEFT_PIN_CALLER=<cpu>` pins the calling thread (the loop of the one-loop rows) to that CPU
//! just before the row runs, after the diagnostics' threads have started (so they keep the
//! other core, unlike `taskset`, which would put them on the loop's).
//!
//! Each run prints the row's own time per iteration (the row's clock, without start-up) on
//! stdout: `benches/interleave.py` alternates modes run by run and compares their medians,
//! which on a machine whose speed drifts over seconds is steadier than two criterion rows
//! measured one after the other.

use weft_benches::sync_rows;

/// Runs row `name` for `iters` iterations: the same bodies as the criterion benches.
async fn row(name: &str, iters: u64) {
    let elapsed = match name {
        "mutex" => sync_rows::mutex_uncontended(iters).await,
        "mutex_contended" => sync_rows::mutex_contended(iters).await,
        "semaphore" => sync_rows::semaphore_acquire_release(iters).await,
        "notify" => sync_rows::notify_ping_pong(iters).await,
        "mpsc" => sync_rows::mpsc_one_loop(iters).await,
        "mpsc_unbounded" => sync_rows::mpsc_unbounded_one_loop(iters).await,
        "broadcast" => sync_rows::broadcast_1_to_100(iters).await,
        "oneshot" => sync_rows::oneshot_send_await(iters).await,
        "oneshot_waiting" => sync_rows::oneshot_to_a_waiting_task(iters).await,
        "oneshot_local" => sync_rows::oneshot_send_await_local(iters).await,
        "mpsc_two_loops" => sync_rows::mpsc_two_loops(iters).await,
        other => panic!("unknown row {other:?}"),
    };
    print_per_iteration(elapsed, iters);
}

/// The figure `benches/interleave.py` reads: nanoseconds per iteration.
fn print_per_iteration(elapsed: std::time::Duration, iters: u64) {
    println!(
        "{:.3} ns/iter",
        elapsed.as_nanos() as f64 / iters.max(1) as f64
    );
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [name, mode, iters] = &args[..] else {
        panic!("usage: sync_instr <row> <off|trace|diag|deadlocks|lock-order> <iterations>");
    };
    let iters: u64 = iters.parse().expect("iterations: a number");
    if name == "oneshot_tokio" {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        print_per_iteration(
            rt.block_on(sync_rows::oneshot_send_await_tokio(iters)),
            iters,
        );
        return;
    }
    // The two-loop row needs a loop thread besides the caller's (`WEFT_PIN=1` pins it to CPU 0).
    let rt = if name == "mpsc_two_loops" {
        weft::rt::Runtime::builder()
            .loops(1)
            .pin_cores(std::env::var("WEFT_PIN").is_ok_and(|v| v == "1"))
            .build()
            .expect("weft runtime")
    } else {
        weft_benches::weft_rt()
    };
    let run = |rt: &weft::rt::Runtime| {
        weft_benches::pin_caller_from_env();
        rt.block_on(row(name, iters))
    };
    match mode.as_str() {
        "off" => run(&rt),
        "trace" => {
            weft::sync::__set_tracing(true);
            run(&rt);
            weft::sync::__set_tracing(false);
        }
        // The `diag` bench's "on": deadlock detection and lock-order checking.
        "diag" => {
            let on = weft::diag::Config::default()
                .deadlocks(true)
                .lock_order(true);
            weft::diag::install_for_bench(on);
            run(&rt);
            weft::diag::install_for_bench(weft::diag::Config::default());
        }
        // One of the two alone, to tell their costs apart.
        "deadlocks" | "lock-order" => {
            let on = weft::diag::Config::default()
                .deadlocks(mode == "deadlocks")
                .lock_order(mode == "lock-order");
            weft::diag::install_for_bench(on);
            run(&rt);
            weft::diag::install_for_bench(weft::diag::Config::default());
        }
        other => panic!("mode {other:?}: off, trace, diag, deadlocks or lock-order"),
    }
}
