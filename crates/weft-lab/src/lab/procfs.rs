//! What the lab reads from `/proc`: memory, threads, context switches and CPU time of a
//! process tree (a model server with its workers), and the machine's description and limits.
//!
//! Every reader sums over the whole tree, so a prefork or cluster model is measured with its
//! supervisor and all its workers, as a user would pay for it.

use std::fs;

/// Clock ticks per second in `/proc/PID/stat` times: Linux's `USER_HZ`, 100 on every
/// architecture it runs on (the kernel converts to it for user space).
const USER_HZ: f64 = 100.0;

/// Kernel stack of one thread: 16 KiB (`THREAD_SIZE` on x86_64 and arm64 since Linux 3.15),
/// what each OS thread costs in memory that RSS does not show.
pub(crate) const KERNEL_STACK_BYTES: u64 = 16 * 1024;

/// `pid` and all its descendants, read from `/proc/PID/task/TID/children`.
pub(crate) fn process_tree(pid: u32) -> Vec<u32> {
    let mut tree = vec![pid];
    let mut next = 0;
    while next < tree.len() {
        let p = tree[next];
        next += 1;
        let Ok(tasks) = fs::read_dir(format!("/proc/{p}/task")) else {
            continue;
        };
        for task in tasks.flatten() {
            let children = fs::read_to_string(task.path().join("children")).unwrap_or_default();
            tree.extend(
                children
                    .split_whitespace()
                    .filter_map(|c| c.parse::<u32>().ok()),
            );
        }
    }
    tree
}

/// Memory and threads of a process tree.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct TreeUsage {
    /// Resident set, KiB (shared pages counted once per process).
    pub(crate) rss_kb: u64,
    /// Proportional set, KiB (`smaps_rollup`: shared pages divided among their users).
    pub(crate) pss_kb: u64,
    /// OS threads.
    pub(crate) threads: u64,
    /// Processes.
    pub(crate) processes: u64,
    /// Voluntary + involuntary context switches of the live threads.
    pub(crate) switches: u64,
    /// User + system CPU time, seconds (including threads that ended).
    pub(crate) cpu_s: f64,
}

/// Reads [`TreeUsage`] of `pid` and its descendants; processes that vanish meanwhile count 0.
pub(crate) fn tree_usage(pid: u32) -> TreeUsage {
    let mut usage = TreeUsage::default();
    for p in process_tree(pid) {
        let status = fs::read_to_string(format!("/proc/{p}/status")).unwrap_or_default();
        if status.is_empty() {
            continue;
        }
        usage.processes += 1;
        usage.rss_kb += status_field(&status, "VmRSS:").unwrap_or(0);
        usage.threads += status_field(&status, "Threads:").unwrap_or(0);
        let rollup = fs::read_to_string(format!("/proc/{p}/smaps_rollup")).unwrap_or_default();
        usage.pss_kb += status_field(&rollup, "Pss:").unwrap_or(0);
        usage.switches += thread_switches(p);
        usage.cpu_s += cpu_seconds(p).unwrap_or(0.0);
    }
    usage
}

/// Context switches of every live thread of process `pid`.
fn thread_switches(pid: u32) -> u64 {
    let Ok(tasks) = fs::read_dir(format!("/proc/{pid}/task")) else {
        return 0;
    };
    tasks
        .flatten()
        .map(|t| {
            let s = fs::read_to_string(t.path().join("status")).unwrap_or_default();
            status_field(&s, "voluntary_ctxt_switches:").unwrap_or(0)
                + status_field(&s, "nonvoluntary_ctxt_switches:").unwrap_or(0)
        })
        .sum()
}

/// User + system CPU seconds of process `pid` (all its threads, live or ended).
pub(crate) fn cpu_seconds(pid: u32) -> Option<f64> {
    stat_cpu(&fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

/// User + system CPU seconds of this process.
pub(crate) fn self_cpu_seconds() -> f64 {
    fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| stat_cpu(&s))
        .unwrap_or(0.0)
}

/// utime + stime of a `/proc/.../stat` line (fields 14 and 15, after the `(comm)`).
fn stat_cpu(stat: &str) -> Option<f64> {
    let after_comm = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = after_comm.split_whitespace().collect();
    // After the comm, field 3 of the line is index 0: utime (14) is index 11, stime index 12.
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / USER_HZ)
}

/// This process's resident set and its peak, KiB.
pub(crate) fn self_rss_kb() -> (u64, u64) {
    let status = fs::read_to_string("/proc/self/status").unwrap_or_default();
    (
        status_field(&status, "VmRSS:").unwrap_or(0),
        status_field(&status, "VmHWM:").unwrap_or(0),
    )
}

/// This process's proportional set, KiB.
pub(crate) fn self_pss_kb() -> u64 {
    let rollup = fs::read_to_string("/proc/self/smaps_rollup").unwrap_or_default();
    status_field(&rollup, "Pss:").unwrap_or(0)
}

/// The first number after `key` in a `Key:   value kB` text.
fn status_field(text: &str, key: &str) -> Option<u64> {
    let line = text.lines().find(|l| l.starts_with(key))?;
    line[key.len()..].split_whitespace().next()?.parse().ok()
}

/// One line of a text file, trimmed, or `?`.
fn read_trimmed(path: &str) -> String {
    fs::read_to_string(path)
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "?".into())
}

/// The machine a report was measured on.
pub(crate) fn machine() -> super::report::Machine {
    let cpuinfo = fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu_model = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split(':').nth(1))
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|| "unknown CPU".into());
    let meminfo = fs::read_to_string("/proc/meminfo").unwrap_or_default();
    super::report::Machine {
        cpu_model,
        cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
        kernel: read_trimmed("/proc/sys/kernel/osrelease"),
        memory_mb: status_field(&meminfo, "MemTotal:").unwrap_or(0) / 1024,
        limits: limits(),
        server_cpus: String::new(),
        load_cpus: String::new(),
    }
}

/// The limits that decide how many threads, processes, maps and descriptors a model can
/// have: printed at the start of a run and kept in the report.
pub(crate) fn limits() -> Vec<(String, String)> {
    let proc_limits = fs::read_to_string("/proc/self/limits").unwrap_or_default();
    let soft = |name: &str| {
        proc_limits
            .lines()
            .find(|l| l.starts_with(name))
            .map(|l| {
                l[name.len()..]
                    .split_whitespace()
                    .next()
                    .unwrap_or("?")
                    .to_string()
            })
            .unwrap_or_else(|| "?".into())
    };
    vec![
        (
            "kernel.threads-max".into(),
            read_trimmed("/proc/sys/kernel/threads-max"),
        ),
        (
            "kernel.pid_max".into(),
            read_trimmed("/proc/sys/kernel/pid_max"),
        ),
        (
            "vm.max_map_count".into(),
            read_trimmed("/proc/sys/vm/max_map_count"),
        ),
        (
            "ulimit -u (max user processes)".into(),
            soft("Max processes"),
        ),
        ("ulimit -n (open files)".into(), soft("Max open files")),
        ("ulimit -s (stack, bytes)".into(), soft("Max stack size")),
        (
            "net.core.somaxconn".into(),
            read_trimmed("/proc/sys/net/core/somaxconn"),
        ),
        (
            "net.ipv4.ip_local_port_range".into(),
            read_trimmed("/proc/sys/net/ipv4/ip_local_port_range").replace('\t', "-"),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_this_process() {
        let usage = tree_usage(std::process::id());
        assert!(usage.rss_kb > 0 && usage.threads >= 1 && usage.processes == 1);
        assert!((stat_cpu("1 (a b) S 0 0 0 0 0 0 0 0 0 0 250 50 0").unwrap() - 3.0).abs() < 1e-9);
    }
}
