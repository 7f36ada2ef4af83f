//! The soak's load client and judge (`benches/soak/run.sh` starts it; issue #16 item 7).
//!
//! Against a running `weft serve --workers N` (its supervisor's pid given), for `--secs`
//! seconds it
//!
//! - drives mixed traffic from std threads, one blocking connection each (see `traffic`):
//!   keep-alive GETs, pipelined batches, chunked uploads, `Range` requests on a static file
//!   (every byte checked), `/sleep`, slowloris heads, a head stalled past the header deadline,
//!   and connections reset mid-request (`SO_LINGER` 0);
//! - every period P (60 s, or a tenth of the run if that is shorter) `kill -9`s one worker of
//!   the newest generation at P, 2P, ... and SIGHUPs (reloads) the supervisor half a period
//!   later;
//! - samples every process's `VmRSS` and open descriptors once a second (see `judge`).
//!
//! Which worker served a connection: each connection's first request is `GET /pid`. A failed
//! request is *excused* only if its connection was served by a pid that had been killed by the
//! time it failed; a failure of that first request itself (its worker unknown) is excused only
//! if a kill happened while it was in flight, and counted apart. Every other failure fails the
//! soak. At the end `judge` compares the second tenth of the run with the last (RSS within 5 %
//! per worker generation in runs of 3 minutes or more, no descriptor growth), writes
//! `samples.csv`, `soak.svg` and `summary.txt` into `--out`, and the process exits 1 if any
//! check failed.

mod http;
mod judge;
mod plot;
mod traffic;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Options (all required but `--out`).
pub struct Config {
    pub addr: std::net::SocketAddr,
    pub supervisor: u32,
    pub secs: u64,
    /// The static file under `--root` (its name is served as `/static/<name>`).
    pub file: PathBuf,
    pub out: PathBuf,
}

/// One failed request.
#[derive(Clone, Debug)]
pub struct Failure {
    /// Seconds since the start.
    pub at: f64,
    /// When its connection was opened.
    pub conn_at: f64,
    pub kind: &'static str,
    /// The worker that answered the connection's `GET /pid`; `None` if that request failed.
    pub pid: Option<u32>,
    pub what: String,
}

/// What the threads share.
pub struct Shared {
    pub start: Instant,
    pub stop: AtomicBool,
    /// Requests answered correctly, by kind.
    pub ok: Mutex<HashMap<&'static str, u64>>,
    /// Deliberate resets and stalled heads, by outcome.
    pub outcomes: Mutex<HashMap<&'static str, u64>>,
    pub failures: Mutex<Vec<Failure>>,
    /// `(pid, seconds)` of every `kill -9`.
    pub kills: Mutex<Vec<(u32, f64)>>,
    /// Seconds of every SIGHUP.
    pub reloads: Mutex<Vec<f64>>,
    /// Open client connections by the pid that serves them.
    pub open: Mutex<HashMap<u32, i64>>,
    /// Reloads sent so far: the generation of a worker first seen now.
    pub epoch: AtomicU64,
    /// Worker pid -> generation.
    pub generation: Mutex<HashMap<u32, u64>>,
}

impl Shared {
    pub fn now(&self) -> f64 {
        self.start.elapsed().as_secs_f64()
    }
    pub fn stopped(&self) -> bool {
        self.stop.load(Relaxed)
    }
    pub fn count_ok(&self, kind: &'static str, n: u64) {
        if n == 0 {
            return;
        }
        *self.ok.lock().unwrap().entry(kind).or_default() += n;
    }
    pub fn outcome(&self, what: &'static str) {
        *self.outcomes.lock().unwrap().entry(what).or_default() += 1;
    }
    pub fn fail(&self, f: Failure) {
        self.failures.lock().unwrap().push(f);
    }
    pub fn opened(&self, pid: u32, delta: i64) {
        *self.open.lock().unwrap().entry(pid).or_default() += delta;
    }
}

fn parse_args() -> Config {
    let mut it = std::env::args().skip(1);
    let (mut addr, mut supervisor, mut secs, mut file, mut out) = (None, None, None, None, None);
    while let Some(flag) = it.next() {
        let value = it
            .next()
            .unwrap_or_else(|| usage(&format!("{flag} needs a value")));
        match flag.as_str() {
            "--addr" => addr = Some(value.parse().unwrap_or_else(|_| usage("bad --addr"))),
            "--supervisor" => supervisor = Some(value.parse().unwrap_or_else(|_| usage("bad pid"))),
            "--secs" => secs = Some(value.parse().unwrap_or_else(|_| usage("bad --secs"))),
            "--file" => file = Some(PathBuf::from(value)),
            "--out" => out = Some(PathBuf::from(value)),
            _ => usage(&format!("unknown option {flag}")),
        }
    }
    let secs: u64 = secs.unwrap_or_else(|| usage("--secs is required"));
    if secs < 30 {
        usage("--secs must be at least 30 (a tenth of the run is one kill and one reload)");
    }
    Config {
        addr: addr.unwrap_or_else(|| usage("--addr is required")),
        supervisor: supervisor.unwrap_or_else(|| usage("--supervisor is required")),
        secs,
        file: file.unwrap_or_else(|| usage("--file is required")),
        out: out.unwrap_or_else(|| PathBuf::from("target/soak")),
    }
}

fn usage(why: &str) -> ! {
    eprintln!("soak_client: {why}\nusage: soak_client --addr IP:PORT --supervisor PID --secs N --file PATH [--out DIR]");
    std::process::exit(2)
}

/// The period of kills and reloads: a minute, or a tenth of a shorter run.
pub fn period(secs: u64) -> f64 {
    (secs as f64 / 10.0).min(60.0)
}

/// The supervisor's children (its workers), from `/proc/*/stat`.
pub fn workers(supervisor: u32) -> Vec<u32> {
    let mut pids = Vec::new();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return pids;
    };
    for entry in dir.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // `pid (comm) state ppid ...`: comm may hold spaces, so split after its `)`.
        let ppid = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1))
            .and_then(|s| s.parse::<u32>().ok());
        if ppid == Some(supervisor) {
            pids.push(pid);
        }
    }
    pids.sort_unstable();
    pids
}

/// Registers workers not seen yet with the current generation; returns the live ones.
pub fn register_workers(shared: &Shared, supervisor: u32) -> Vec<u32> {
    let live = workers(supervisor);
    let epoch = shared.epoch.load(Relaxed);
    let mut generation = shared.generation.lock().unwrap();
    for &pid in &live {
        generation.entry(pid).or_insert(epoch);
    }
    live
}

/// Kills and reloads on schedule until the end.
fn signals(shared: &Shared, config: &Config) {
    let period = period(config.secs);
    let mut step = 1u64;
    loop {
        let at = step as f64 * period / 2.0;
        if at >= config.secs as f64 - period / 4.0 {
            return;
        }
        while shared.now() < at {
            if shared.stopped() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let live = register_workers(shared, config.supervisor);
        if step.is_multiple_of(2) {
            // A kill at every whole period: a worker of the newest generation, not one draining.
            let generation = shared.generation.lock().unwrap().clone();
            let newest = live.iter().filter_map(|p| generation.get(p)).max().copied();
            let choice: Vec<u32> = live
                .iter()
                .copied()
                .filter(|p| generation.get(p).copied() == newest)
                .collect();
            if let Some(&victim) = choice.get(step as usize / 2 % choice.len().max(1)) {
                shared.kills.lock().unwrap().push((victim, shared.now()));
                // SAFETY: kill(2) with a pid and a signal number; no memory is shared.
                unsafe { libc::kill(victim as libc::pid_t, libc::SIGKILL) };
            }
        } else {
            shared.epoch.fetch_add(1, Relaxed);
            shared.reloads.lock().unwrap().push(shared.now());
            // SAFETY: as above.
            unsafe { libc::kill(config.supervisor as libc::pid_t, libc::SIGHUP) };
        }
        step += 1;
    }
}

fn main() {
    let config = Arc::new(parse_args());
    let shared = Arc::new(Shared {
        start: Instant::now(),
        stop: AtomicBool::new(false),
        ok: Mutex::default(),
        outcomes: Mutex::default(),
        failures: Mutex::default(),
        kills: Mutex::default(),
        reloads: Mutex::default(),
        open: Mutex::default(),
        epoch: AtomicU64::new(0),
        generation: Mutex::default(),
    });
    register_workers(&shared, config.supervisor);
    let content = Arc::new(std::fs::read(&config.file).expect("read --file"));
    let clients = traffic::spawn_all(&shared, &config, &content);
    let sampler = {
        let (shared, config) = (shared.clone(), config.clone());
        std::thread::spawn(move || judge::sample(&shared, &config))
    };
    signals(&shared, &config);
    while shared.now() < config.secs as f64 {
        std::thread::sleep(Duration::from_millis(50));
    }
    shared.stop.store(true, Relaxed);
    let samples = sampler.join().expect("sampler");
    for client in clients {
        let _ = client.join();
    }
    let ok = judge::judge(&shared, &config, &samples);
    std::process::exit(if ok { 0 } else { 1 });
}

/// The client counters as `kind=n` pairs, sorted.
pub fn counts(map: &Mutex<HashMap<&'static str, u64>>) -> Vec<(&'static str, u64)> {
    let mut v: Vec<_> = map.lock().unwrap().iter().map(|(k, v)| (*k, *v)).collect();
    v.sort();
    v
}

/// Used by both modules: a short sleep that returns early at the stop.
pub fn pause(shared: &Shared, ms: u64) {
    if ms > 0 && !shared.stopped() {
        std::thread::sleep(Duration::from_millis(ms));
    }
}

/// The counter of connections opened (for a cheap pseudo-random seed per connection).
pub static SEED: AtomicU64 = AtomicU64::new(0x9e37_79b9_7f4a_7c15);

/// A small xorshift generator (no dependency for dice).
pub struct Rng(u64);
impl Default for Rng {
    fn default() -> Rng {
        Rng(SEED.fetch_add(0x9e37_79b9_7f4a_7c15, Relaxed) | 1)
    }
}
impl Rng {
    pub fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n.max(1)
    }
}
