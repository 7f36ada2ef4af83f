//! The `cpu` lane's threads run below the process's priority (nice +10 by default), so a loop
//! thread that wakes takes the core from a CPU job; the other lanes keep the process's
//! priority. Read back from the kernel: the `nice` field of `/proc/thread-self/stat`.

mod pool_support;

use pool_support::block_on;
use weft::pool::{Lane, WorkerPool, DEFAULT_CPU_NICE};

/// The calling thread's niceness as the kernel reports it (field 19 of its stat line).
fn thread_nice() -> i32 {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").expect("read own stat");
    // The command name (field 2) is parenthesised and may hold spaces: count after it.
    let after_name = &stat[stat.rfind(')').expect("stat has a command name") + 2..];
    let nice = after_name
        .split(' ')
        .nth(16)
        .expect("stat has a nice field");
    nice.parse().expect("nice is a number")
}

#[test]
fn cpu_jobs_run_lower_than_the_process_and_other_lanes_do_not() {
    let process = thread_nice();
    let pool = WorkerPool::builder().build().unwrap();
    assert_eq!(pool.config().cpu_nice, DEFAULT_CPU_NICE);
    let cpu = block_on(pool.spawn_cpu(thread_nice)).unwrap();
    assert_eq!(cpu, (process + DEFAULT_CPU_NICE).min(19), "cpu lane thread");
    let fs = block_on(pool.submit(Lane::Fs, thread_nice)).unwrap();
    assert_eq!(fs, process, "fs lane thread");
    let blocking = block_on(pool.spawn_blocking(thread_nice)).unwrap();
    assert_eq!(blocking, process, "blocking lane thread");
}

#[test]
fn cpu_nice_zero_keeps_the_process_priority() {
    let process = thread_nice();
    let pool = WorkerPool::builder().cpu_nice(0).build().unwrap();
    assert_eq!(block_on(pool.spawn_cpu(thread_nice)).unwrap(), process);
}
