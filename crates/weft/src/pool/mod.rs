//! The worker pool: blocking calls, file I/O, DNS and CPU-heavy work, off the
//! event loop.
//!
//! An event loop must never block; whatever would (a file read, a
//! `getaddrinfo`, a long computation, a library with a blocking API) is sent
//! to the pool with [`spawn_blocking`], [`spawn_cpu`] or [`submit`], and the
//! task that sent it awaits a [`JobHandle`]. `weft::fs` and
//! `weft::dns` are built on it.
//!
//! # Roles
//!
//! - [`WorkerPool`]: one per runtime (the runtime owns it; every loop of the
//!   runtime uses it through `weft::rt::current_pool`), or built on its
//!   own with [`WorkerPool::builder`].
//! - A **lane** ([`Lane`]: `fs`, `dns`, `cpu`, `blocking`) has its own FIFO
//!   queue, thread limit and threads, so a flood of one kind of work delays
//!   only that kind (libuv's single pool lets slow DNS lookups starve file
//!   reads). The hand-off protocol is in `pool/queue.rs`.
//! - A **job** is one closure and the slot its result goes to (states and
//!   cancellation in `pool/job.rs`); its [`JobHandle`] is a future of
//!   `Result<T, JobError>`.
//!
//! # Completion path
//!
//! A worker thread runs the closure (catching a panic, which becomes
//! [`JobError::is_panic`]; the thread lives on), stores the result in the
//! job's slot and wakes the waker left by the task awaiting the handle.
//! Under the weft runtime that waker posts the task to the inbox of its home
//! loop and wakes that loop, so the task resumes on the loop that submitted
//! the job. Nothing polls: no loop looks at the pool unless woken.
//!
//! # Threads
//!
//! No thread exists before a lane's first job. A submission hands the job to
//! an idle thread of its lane or, if none is idle and the lane is below its
//! limit, starts one; an idle thread exits after the idle timeout. A worker
//! counts itself idle just before it publishes a result, so a task that
//! submits job after job reuses one thread instead of starting new ones.
//!
//! # Settings
//!
//! From the builder ([`PoolBuilder`], or the runtime builder's `pool_*`
//! methods), else an environment variable, else the default (precedence as
//! tokio's `TOKIO_WORKER_THREADS`: code that sets a value knows best). A
//! malformed value is an `InvalidInput` error from `build()` naming the
//! variable, never a silent fallback.
//!
//! | setting | variable | default |
//! |---|---|---|
//! | `fs` threads | `WEFT_POOL_FS_THREADS` | [`DEFAULT_FS_THREADS`] |
//! | `dns` threads | `WEFT_POOL_DNS_THREADS` | [`DEFAULT_DNS_THREADS`] |
//! | `cpu` threads | `WEFT_POOL_CPU_THREADS` | cores ([`default_cpu_threads`]) |
//! | `blocking` threads | `WEFT_POOL_BLOCKING_THREADS` | [`DEFAULT_BLOCKING_THREADS`] |
//! | idle timeout | `WEFT_POOL_IDLE_TIMEOUT_MS` | [`DEFAULT_IDLE_TIMEOUT`] |
//! | shutdown timeout | `WEFT_POOL_SHUTDOWN_TIMEOUT_MS` | [`DEFAULT_SHUTDOWN_TIMEOUT`] |
//! | `cpu` lane niceness | `WEFT_POOL_CPU_NICE` | [`DEFAULT_CPU_NICE`] (below the loops, so a waking loop preempts a CPU job) |
//!
//! Each default's constant says why it is that number.
//!
//! # Metrics
//!
//! [`WorkerPool::metrics`] (and `Runtime::metrics`) give, per lane, queued
//! and running jobs, threads, counters of completed, panicked, cancelled,
//! abandoned and rejected jobs, and a histogram of queue wait (submission to
//! start) with [`p50`](HistogramSnapshot::p50) and
//! [`p99`](HistogramSnapshot::p99) (log-linear buckets, at most 25 % high).
//!
//! # Shutdown
//!
//! [`WorkerPool::shutdown`] (run by runtime shutdown with the configured
//! timeout, and by dropping a pool not yet shut down) is bounded:
//!
//! 1. **Stop taking jobs**: later submissions resolve to
//!    [`JobError::is_rejected`].
//! 2. **Abandon the queues**: queued jobs with a handle never start; the
//!    handle resolves to [`JobError::is_abandoned`]. Queued jobs whose handle
//!    was [detached](JobHandle::detach) are kept and run (nobody could be
//!    told they were dropped; an accepted `weft::fs::File` write is one).
//! 3. **Let running and kept jobs finish**, up to the timeout.
//! 4. **Give up at the deadline**: kept jobs still queued are abandoned;
//!    threads still inside a job are detached, not joined (a job that never
//!    ends would otherwise hang shutdown), and finish on their own.
//!
//! The [`ShutdownReport`] says what was abandoned and detached.

pub(crate) mod config;
pub(crate) mod job;
pub(crate) mod lane;
pub(crate) mod metrics;
mod queue;
pub(crate) mod shutdown;
pub(crate) mod workers;

pub use config::{
    default_cpu_threads, PoolBuilder, PoolConfig, DEFAULT_BLOCKING_THREADS, DEFAULT_CPU_NICE,
    DEFAULT_DNS_THREADS, DEFAULT_FS_THREADS, DEFAULT_IDLE_TIMEOUT, DEFAULT_SHUTDOWN_TIMEOUT,
    MAX_LANE_THREADS,
};
pub use job::{JobError, JobHandle};
pub use lane::Lane;
pub use metrics::{HistogramSnapshot, LaneMetrics, PoolMetrics};
pub use shutdown::{LaneShutdown, ShutdownReport};
pub use workers::WorkerPool;

// The free functions look up the current runtime, so they live beside `rt::current_pool`;
// this module re-exports them where users find them.
pub use crate::rt::pool_access::{spawn_blocking, spawn_cpu, submit};
