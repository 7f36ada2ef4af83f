//! Sampling (every process's RSS and descriptors once a second) and the end-of-run checks.
//!
//! The checks compare the second tenth of the run with the last tenth (for a run of 10 minutes
//! or more: the second minute with the last). Both windows start with a `kill -9` and hold a
//! reload in their middle, so they see the same phases.
//!
//! - **Failures**: none unexcused (see the crate doc for what a kill excuses).
//! - **RSS**: the supervisor's mean within 5 %; for the workers, generation by generation: the
//!   generations alive in each window are paired newest with newest (the one the reload in its
//!   middle started) and next with next (the one that was serving at its start), and each pair's
//!   mean RSS must be within 5 % (samples taken while the generation serves: its drain after
//!   the next reload is left out).
//! - **Descriptors**: the supervisor's most (descriptors - worker processes alive, as it holds
//!   one descriptor per worker, the link to it) in the last window no more than in the second;
//!   a worker generation's median of (descriptors - client connections it serves) at most 2
//!   more.
//!
//! A run shorter than [`WORKER_RSS_MIN_SECS`] (the 60 s one of `.ci/run`) is judged on all of
//! this but the workers' RSS, which it prints without judging: its kill and reload periods are
//! a tenth of the run, so a generation serves two or three samples inside a window, the two
//! windows' generations do not always pair up, and a generation's mean swings with which of its
//! two workers took most connections (a worker serving few stays near 5.4 MiB, a busy one
//! reaches 6.8). 60 s runs moved by up to 13 % on that noise alone; from 180 s (18 s periods) the
//! pairs line up.

use std::fmt::Write as _;
use std::time::Duration;

use crate::{counts, register_workers, Config, Shared};

/// The shortest run whose workers' RSS is judged (module doc).
pub const WORKER_RSS_MIN_SECS: f64 = 180.0;

/// One process at one second.
#[derive(Clone, Debug)]
pub struct Sample {
    pub at: f64,
    pub pid: u32,
    /// `None` for the supervisor.
    pub generation: Option<u64>,
    pub rss_kib: u64,
    pub fds: u64,
    /// Client connections open to it when sampled.
    pub conns: i64,
}

fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn fds(pid: u32) -> Option<u64> {
    Some(std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?.count() as u64)
}

/// Samples until the stop.
pub fn sample(shared: &Shared, config: &Config) -> Vec<Sample> {
    let mut samples = Vec::new();
    let mut next = 0.0;
    while !shared.stopped() {
        let at = shared.now();
        let live = register_workers(shared, config.supervisor);
        let generation = shared.generation.lock().unwrap().clone();
        let open = shared.open.lock().unwrap().clone();
        for (pid, gen) in std::iter::once((config.supervisor, None))
            .chain(live.iter().map(|p| (*p, generation.get(p).copied())))
        {
            if let (Some(rss_kib), Some(fds)) = (rss_kib(pid), fds(pid)) {
                let conns = open.get(&pid).copied().unwrap_or(0);
                samples.push(Sample {
                    at,
                    pid,
                    generation: gen,
                    rss_kib,
                    fds,
                    conns,
                });
            }
        }
        next += 1.0;
        let wait = next - shared.now();
        if wait > 0.0 {
            std::thread::sleep(Duration::from_secs_f64(wait));
        }
    }
    samples
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len().max(1) as f64
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

/// Prints and writes the summary, the samples and the plot; true if every check passed.
pub fn judge(shared: &Shared, config: &Config, samples: &[Sample]) -> bool {
    let mut out = String::new();
    let mut ok = true;
    let total = config.secs as f64;
    let kills = shared.kills.lock().unwrap().clone();
    let reloads = shared.reloads.lock().unwrap().clone();
    let oks = counts(&shared.ok);
    let requests: u64 = oks.iter().map(|(_, n)| n).sum();
    let _ = writeln!(
        out,
        "soak: {} s against weft serve --workers 2 (supervisor {}), {} kill -9, {} SIGHUP",
        config.secs,
        config.supervisor,
        kills.len(),
        reloads.len()
    );
    let _ = writeln!(
        out,
        "requests answered correctly: {requests} ({})",
        oks.iter()
            .map(|(k, n)| format!("{k} {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let _ = writeln!(
        out,
        "deliberate resets and stalls: {}",
        counts(&shared.outcomes)
            .iter()
            .map(|(k, n)| format!("{k} {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    );

    // Failures.
    let failures = shared.failures.lock().unwrap().clone();
    let (mut excused, mut excused_probe, mut unexcused) = (Vec::new(), Vec::new(), Vec::new());
    for f in &failures {
        match f.pid {
            Some(pid) if kills.iter().any(|&(k, at)| k == pid && at <= f.at) => excused.push(f),
            None if kills.iter().any(|&(_, at)| f.conn_at <= at && at <= f.at) => {
                excused_probe.push(f)
            }
            _ => unexcused.push(f),
        }
    }
    let _ = writeln!(out, "failed requests: {} excused (on a killed worker's connections), {} excused first requests (in flight during a kill, worker unknown), {} unexcused", excused.len(), excused_probe.len(), unexcused.len());
    for f in unexcused.iter().take(20) {
        let _ = writeln!(
            out,
            "  UNEXCUSED at {:.2} s: {} on pid {:?} (connection opened at {:.2} s): {}",
            f.at, f.kind, f.pid, f.conn_at, f.what
        );
    }
    if !unexcused.is_empty() {
        ok = false;
        let _ = writeln!(
            out,
            "FAILED: {} requests failed on connections of workers that were not killed",
            unexcused.len()
        );
    }

    // Windows.
    let tenth = total / 10.0;
    let second = (tenth, 2.0 * tenth);
    let last = (total - tenth, total);
    let within = |s: &&Sample, w: (f64, f64)| s.at >= w.0 && s.at < w.1;
    let _ = writeln!(
        out,
        "windows: second [{:.0} s, {:.0} s), last [{:.0} s, {:.0} s)",
        second.0, second.1, last.0, last.1
    );

    let sup = |w| {
        samples
            .iter()
            .filter(|s| s.generation.is_none())
            .filter(move |s| within(s, w))
            .collect::<Vec<_>>()
    };
    let (s2, sl) = (sup(second), sup(last));
    if s2.is_empty() || sl.is_empty() {
        ok = false;
        let _ = writeln!(out, "FAILED: no supervisor samples in a window");
    } else {
        let r2 = mean(&s2.iter().map(|s| s.rss_kib as f64).collect::<Vec<_>>());
        let rl = mean(&sl.iter().map(|s| s.rss_kib as f64).collect::<Vec<_>>());
        // A sweep samples every process at one instant: the workers alive then are the worker
        // samples of the same instant (a reload's old and new generations both count).
        let own_fds = |sup: &Sample| {
            let workers = samples
                .iter()
                .filter(|s| s.at == sup.at && s.pid != sup.pid)
                .count() as u64;
            sup.fds.saturating_sub(workers)
        };
        let f2 = s2.iter().map(|s| own_fds(s)).max().unwrap_or(0);
        let fl = sl.iter().map(|s| own_fds(s)).max().unwrap_or(0);
        let change = (rl - r2) / r2 * 100.0;
        let _ = writeln!(
            out,
            "supervisor: RSS {r2:.0} KiB -> {rl:.0} KiB ({change:+.1} %), fds less workers alive (most) {f2} -> {fl}"
        );
        if change.abs() > 5.0 {
            ok = false;
            let _ = writeln!(
                out,
                "FAILED: the supervisor's RSS changed by {change:+.1} % (limit 5 %)"
            );
        }
        if fl > f2 {
            ok = false;
            let _ = writeln!(
                out,
                "FAILED: the supervisor's descriptors grew from {f2} to {fl}"
            );
        }
    }

    // Workers, generation by generation, while they serve: a generation's drain (after the
    // next reload) is left out, as its length depends on the slowest request in flight.
    let serving = |s: &Sample| {
        s.generation
            .is_some_and(|g| reloads.get(g as usize).is_none_or(|&r| s.at < r))
    };
    let within =
        |s: &&Sample, w: (f64, f64)| within(s, w) && (s.generation.is_none() || serving(s));
    let gens_in = |w: (f64, f64)| {
        let mut gens: Vec<u64> = samples
            .iter()
            .filter(|s| within(s, w))
            .filter_map(|s| s.generation)
            .collect();
        gens.sort_unstable();
        gens.dedup();
        gens.retain(|g| {
            samples
                .iter()
                .filter(|s| within(s, w) && s.generation == Some(*g))
                .count()
                >= 2
        });
        gens.reverse();
        gens
    };
    let of = |g: u64, w: (f64, f64)| {
        samples
            .iter()
            .filter(|s| s.generation == Some(g) && within(s, w))
            .collect::<Vec<_>>()
    };
    let (g2, gl) = (gens_in(second), gens_in(last));
    let pairs = g2.len().min(gl.len()).min(2);
    let judge_rss = total >= WORKER_RSS_MIN_SECS;
    if !judge_rss {
        let _ = writeln!(
            out,
            "workers' RSS printed, not judged: a run under {WORKER_RSS_MIN_SECS:.0} s is too short to pair generations (see judge.rs)"
        );
    }
    if pairs == 0 && judge_rss {
        ok = false;
        let _ = writeln!(out, "FAILED: no worker generation sampled in both windows");
    }
    for i in 0..pairs {
        let (a, b) = (of(g2[i], second), of(gl[i], last));
        let ra = mean(&a.iter().map(|s| s.rss_kib as f64).collect::<Vec<_>>());
        let rb = mean(&b.iter().map(|s| s.rss_kib as f64).collect::<Vec<_>>());
        let fa = median(a.iter().map(|s| s.fds as f64 - s.conns as f64).collect());
        let fb = median(b.iter().map(|s| s.fds as f64 - s.conns as f64).collect());
        let change = (rb - ra) / ra * 100.0;
        let role = if i == 0 {
            "newest"
        } else {
            "serving at the start"
        };
        let _ = writeln!(out, "workers ({role}): generation {} RSS {ra:.0} KiB -> generation {} {rb:.0} KiB ({change:+.1} %); fds less client connections (median) {fa:.0} -> {fb:.0}", g2[i], gl[i]);
        if change.abs() > 5.0 && judge_rss {
            ok = false;
            let _ = writeln!(out, "FAILED: worker RSS changed by {change:+.1} % between generations {} and {} (limit 5 %)", g2[i], gl[i]);
        }
        if fb > fa + 2.0 {
            ok = false;
            let _ = writeln!(
                out,
                "FAILED: worker descriptors grew from {fa:.0} to {fb:.0} (generations {} and {})",
                g2[i], gl[i]
            );
        }
    }

    // Every generation: its pids, RSS first and last, most descriptors.
    let mut gens: Vec<u64> = samples.iter().filter_map(|s| s.generation).collect();
    gens.sort_unstable();
    gens.dedup();
    let _ = writeln!(
        out,
        "per generation (pid: RSS first -> last KiB, most fds, seconds sampled):"
    );
    for g in gens {
        let mut pids: Vec<u32> = samples
            .iter()
            .filter(|s| s.generation == Some(g))
            .map(|s| s.pid)
            .collect();
        pids.sort_unstable();
        pids.dedup();
        let line: Vec<String> = pids
            .iter()
            .map(|&pid| {
                let of: Vec<&Sample> = samples.iter().filter(|s| s.pid == pid).collect();
                let killed = if kills.iter().any(|&(k, _)| k == pid) {
                    " killed"
                } else {
                    ""
                };
                format!(
                    "{pid}: {} -> {}, {} fds, {} s{killed}",
                    of[0].rss_kib,
                    of[of.len() - 1].rss_kib,
                    of.iter().map(|s| s.fds).max().unwrap_or(0),
                    of.len()
                )
            })
            .collect();
        let _ = writeln!(out, "  generation {g}: {}", line.join("; "));
    }
    let _ = writeln!(out, "{}", if ok { "soak PASSED" } else { "soak FAILED" });

    print!("{out}");
    let _ = std::fs::create_dir_all(&config.out);
    let _ = std::fs::write(config.out.join("summary.txt"), &out);
    let mut csv = String::from("seconds,pid,generation,rss_kib,fds,client_conns\n");
    for s in samples {
        let g = s
            .generation
            .map_or("supervisor".to_owned(), |g| g.to_string());
        let _ = writeln!(
            csv,
            "{:.1},{},{g},{},{},{}",
            s.at, s.pid, s.rss_kib, s.fds, s.conns
        );
    }
    let _ = std::fs::write(config.out.join("samples.csv"), csv);
    let _ = std::fs::write(
        config.out.join("soak.svg"),
        crate::plot::svg(samples, total, &kills, &reloads),
    );
    ok
}
