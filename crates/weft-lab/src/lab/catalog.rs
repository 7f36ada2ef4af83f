//! The lab's scenarios and models by name: what `weft lab list` prints and what `--models`
//! and the scenario arguments accept.

use std::fmt;

/// One concurrency model of the seeds, served by `weft lab model NAME`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum ModelKind {
    /// One thread, one connection at a time.
    Blocking,
    /// A new OS thread per connection.
    ThreadPerConn,
    /// A fixed set of OS threads, each serving one connection at a time.
    ThreadPool,
    /// N processes, each serving one connection at a time (Apache prefork).
    Prefork,
    /// One event loop.
    Loop,
    /// One event loop per core.
    Loops,
    /// A green thread per connection on one loop.
    Green,
    /// Node-style callbacks on one loop.
    Callback,
    /// N processes with one event loop each, under a supervisor.
    Cluster,
}

impl ModelKind {
    /// Every model, in the order the reports show them.
    pub(crate) const ALL: [ModelKind; 9] = [
        ModelKind::Blocking,
        ModelKind::ThreadPerConn,
        ModelKind::ThreadPool,
        ModelKind::Prefork,
        ModelKind::Loop,
        ModelKind::Loops,
        ModelKind::Green,
        ModelKind::Callback,
        ModelKind::Cluster,
    ];

    /// The name on the command line and in the reports.
    pub(crate) fn name(self) -> &'static str {
        match self {
            ModelKind::Blocking => "blocking",
            ModelKind::ThreadPerConn => "thread-per-conn",
            ModelKind::ThreadPool => "thread-pool",
            ModelKind::Prefork => "prefork",
            ModelKind::Loop => "loop",
            ModelKind::Loops => "loops",
            ModelKind::Green => "green",
            ModelKind::Callback => "callback",
            ModelKind::Cluster => "cluster",
        }
    }

    /// One line: what the model is.
    pub(crate) fn describe(self) -> &'static str {
        match self {
            ModelKind::Blocking => "one thread, one connection at a time (the seeds' synchronous server)",
            ModelKind::ThreadPerConn => "a new OS thread for every connection (std::net, blocking I/O)",
            ModelKind::ThreadPool => "a fixed pool of OS threads, each serving one connection at a time",
            ModelKind::Prefork => "N processes, each serving one connection at a time (Apache prefork), under weft::cluster's supervisor",
            ModelKind::Loop => "one weft event loop (weft_http::Server, one loop thread); /cpu&offload=1 runs on the worker pool",
            ModelKind::Loops => "one weft event loop per CPU the server may use, SO_REUSEPORT listeners",
            ModelKind::Green => "a weft green thread per connection on one loop, blocking-style code",
            ModelKind::Callback => "Node-style callbacks on one loop (weft::callback::net, set_timeout)",
            ModelKind::Cluster => "N processes with one event loop each, under weft::cluster's supervisor",
        }
    }

    /// Whether the model runs its handlers on a weft loop, where `&offload=1` moves `/cpu`
    /// to the worker pool.
    pub(crate) fn has_offload(self) -> bool {
        matches!(
            self,
            ModelKind::Loop
                | ModelKind::Loops
                | ModelKind::Green
                | ModelKind::Callback
                | ModelKind::Cluster
        )
    }

    /// Parses a model name, or says which names exist.
    pub(crate) fn parse(name: &str) -> Result<ModelKind, String> {
        ModelKind::ALL
            .into_iter()
            .find(|m| m.name() == name)
            .ok_or_else(|| {
                format!(
                    "unknown model `{name}` (models: {})",
                    names(&ModelKind::ALL)
                )
            })
    }
}

impl fmt::Display for ModelKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One claim of the seeds, measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum ScenarioKind {
    /// Memory and threads per idle keep-alive connection.
    Idle,
    /// Throughput and latency when every request waits on a backend.
    IoWait,
    /// One CPU-heavy client against many fast ones.
    CpuStall,
    /// The cost of one context switch.
    Switch,
    /// Create + join cost and memory of threads, green threads, tasks.
    Spawn,
    /// One request aborts the process it runs in.
    Crash,
    /// Races (and, with weft::diag, deadlock and livelock).
    Hazards,
    /// fork() in a multi-threaded process against exec of self.
    Fork,
}

impl ScenarioKind {
    /// Every scenario, in the order `weft lab run` runs them.
    pub(crate) const ALL: [ScenarioKind; 8] = [
        ScenarioKind::Idle,
        ScenarioKind::IoWait,
        ScenarioKind::CpuStall,
        ScenarioKind::Switch,
        ScenarioKind::Spawn,
        ScenarioKind::Crash,
        ScenarioKind::Hazards,
        ScenarioKind::Fork,
    ];

    /// The name on the command line and in the reports.
    pub(crate) fn name(self) -> &'static str {
        match self {
            ScenarioKind::Idle => "idle",
            ScenarioKind::IoWait => "io-wait",
            ScenarioKind::CpuStall => "cpu-stall",
            ScenarioKind::Switch => "switch",
            ScenarioKind::Spawn => "spawn",
            ScenarioKind::Crash => "crash",
            ScenarioKind::Hazards => "hazards",
            ScenarioKind::Fork => "fork",
        }
    }

    /// One line: what the scenario measures.
    pub(crate) fn describe(self) -> &'static str {
        match self {
            ScenarioKind::Idle => "memory and threads at 100 / 1,000 / 10,000 idle keep-alive connections per model (RSS, PSS, kernel stacks, KB per connection)",
            ScenarioKind::IoWait => "every request waits 10 ms on a simulated backend, 1,000 connections: requests/s, p50/p99/p999, threads, context switches per request",
            ScenarioKind::CpuStall => "one client calls /cpu?ms=50 in a loop while 64 call /: p99 of the fast requests (loop models with and without offload)",
            ScenarioKind::Switch => "what one context switch costs, pinned to one CPU: process (pipe ping-pong), thread (futex), green thread, async task",
            ScenarioKind::Spawn => "create + join cost per unit and memory of 10k / 100k / 1M sleeping OS threads, green threads, async tasks",
            ScenarioKind::Crash => "100 busy connections, one request hits /crash: failed requests, clients left unserved, time until the model serves again",
            ScenarioKind::Hazards => "a race on a shared counter (no sync, Mutex, fetch_add, one loop); the seeds' deadlock and a livelock, caught by weft::diag",
            ScenarioKind::Fork => "fork() in a multi-threaded process while another thread holds a lock, against exec of self",
        }
    }

    /// The seed's claim the scenario tests, as the report states it.
    pub(crate) fn claim(self) -> &'static str {
        match self {
            ScenarioKind::Idle => "One thread per client runs out of memory and threads; one event loop holds many clients with few threads.",
            ScenarioKind::IoWait => "Most server time is spent waiting on I/O; a blocking server makes every other request wait.",
            ScenarioKind::CpuStall => "One event loop stalls every client while it runs CPU work; a worker pool keeps it responsive.",
            ScenarioKind::Switch => "Context switches cost: processes more than threads, green threads and tasks far less.",
            ScenarioKind::Spawn => "Threads are costly to create and hold; green threads and tasks are cheap.",
            ScenarioKind::Crash => "A fault in one thread takes the whole process down; separate processes isolate a crash.",
            ScenarioKind::Hazards => "Threads share memory, so they race and deadlock; one loop with no lock cannot race.",
            ScenarioKind::Fork => "fork() in a multi-threaded process copies only the calling thread: a lock held by another thread is never released in the child.",
        }
    }

    /// Parses a scenario name, or says which names exist.
    pub(crate) fn parse(name: &str) -> Result<ScenarioKind, String> {
        ScenarioKind::ALL
            .into_iter()
            .find(|s| s.name() == name)
            .ok_or_else(|| {
                let all: Vec<_> = ScenarioKind::ALL.iter().map(|s| s.name()).collect();
                format!("unknown scenario `{name}` (scenarios: {})", all.join(", "))
            })
    }
}

/// The names of `models`, comma separated.
pub(crate) fn names(models: &[ModelKind]) -> String {
    models
        .iter()
        .map(|m| m.name())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The text of `weft lab list`: scenarios, then models, one line each.
pub(crate) fn listing() -> String {
    let mut out = String::from("scenarios:\n");
    for s in ScenarioKind::ALL {
        out.push_str(&format!("  {:<16} {}\n", s.name(), s.describe()));
    }
    out.push_str("models:\n");
    for m in ModelKind::ALL {
        out.push_str(&format!("  {:<16} {}\n", m.name(), m.describe()));
    }
    out
}
