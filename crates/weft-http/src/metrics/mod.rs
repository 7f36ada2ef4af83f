//! Prometheus metrics for a weft-http server: a registry, a recording [`Handler`] wrapper and
//! a `GET /metrics` handler, as [`health`](crate::health) gives `/healthz` and `/readyz`.
//!
//! ```
//! use weft_http::metrics::Metrics;
//! use weft_http::{Request, Response, Router};
//! let metrics = Metrics::new();
//! let app = metrics.record(
//!     Router::new()
//!         .get("/", |_: Request| async { Response::text("hi") })
//!         .get("/metrics", metrics.handler()),
//! );
//! # let _ = app;
//! ```
//!
//! # What a scrape shows
//!
//! | family | type | labels |
//! |---|---|---|
//! | `weft_http_requests_total` | counter | `route` (the route's pattern; `unmatched` for 404/405), `status` |
//! | `weft_http_request_duration_seconds` | histogram ([`LATENCY_BUCKETS`]) | `route` |
//! | `weft_http_open_connections` | gauge | |
//! | `weft_http_connections_total` | counter | |
//! | `weft_loop_tasks`, `weft_loop_ready_depth` | gauge | `loop` |
//! | `weft_loop_polls_total`, `weft_loop_busy_seconds_total` | counter | `loop` |
//! | `weft_loop_busy_ratio` | gauge (since the previous scrape) | `loop` |
//! | `weft_loop_mean_poll_seconds` | gauge (busy time over polls, since start) | `loop` |
//! | `weft_pool_queued`, `weft_pool_running`, `weft_pool_threads`, `weft_pool_max_threads` | gauge | `lane` |
//! | `weft_pool_jobs_total` | counter | `lane`, `outcome` (`completed`, `panicked`, `cancelled`, `abandoned`, `rejected`) |
//! | `weft_pool_queue_wait_seconds` | histogram | `lane` |
//!
//! plus every [`Metrics::counter`] and [`Metrics::gauge`] registered, and on every sample the
//! constant labels of [`Metrics::with_label`] (a cluster worker's `worker`). The loop and
//! pool families are the runtime's ([`weft::rt::Handle::metrics`]) that serves the scrape.
//!
//! # Cost on the request path
//!
//! [`Recorded`] matches the route list once for both the label and the dispatch
//! ([`RouteLabel::call_labelled`]), reads the clock once per request and adds to its
//! thread's shard (see `shard`; each copy of the handler finds it once): an uncontended lock
//! of a mutex no other loop touches, a short scan of that loop's routes, integer compares for
//! the bucket. No lock or cache line is shared between loops; a scrape adds the shards up. Its
//! future is the handler's plus 40 bytes, built in place. In `weft serve` (callgrind, userspace
//! instructions per pipelined request) recording costs about 200 of the server's 1,640.
//! Connections are counted the same way, per thread, by the server itself. What is recorded
//! is what reaches the handler: a request the server refuses before that (400, 408, 431, ...)
//! is not counted. A duration starts with the event-loop turn that dispatched the request
//! (the loop's cached clock, [`weft::time::now`], as nginx's and HAProxy's request timers
//! count from their loop's cached time: so a pipelined request's time includes the requests
//! of its batch answered before it) and ends when the handler's answer is ready, before it
//! is written (one clock read: about 60 ns on this project's VM, where two reads per request
//! cost a fifth of a pipelined hello-world's CPU). Under [`weft::time::pause`] the loop's
//! clock is not real time, and the durations mean nothing.

mod shard;
mod text;

use std::cell::OnceCell;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Instant;

pub use shard::LATENCY_BUCKETS;
pub(crate) use shard::{connection_closed, connection_opened};
use text::{Exposition, Kind};

use crate::{Handler, Request, Response, RouteTable, Router};

/// The `route` label of requests no route matched (answered 404 or 405).
pub const UNMATCHED: &str = "unmatched";

/// The `Content-Type` of the text exposition format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// A metrics registry: the request figures recorded through it, its own counters and gauges,
/// and the text rendering of all that with the runtime's. Cheap to clone (one `Arc`).
#[derive(Clone, Debug)]
pub struct Metrics {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    id: u64,
    constant: Vec<(String, String)>,
    shards: Mutex<Vec<Arc<shard::RequestShard>>>,
    extra: Mutex<Vec<Extra>>,
    /// The loop snapshots of the previous scrape, for `weft_loop_busy_ratio`.
    last_loops: Mutex<Vec<weft::rt::LoopMetrics>>,
}

#[derive(Debug)]
struct Extra {
    name: &'static str,
    help: &'static str,
    value: Value,
}

#[derive(Debug)]
enum Value {
    Counter(Arc<AtomicU64>),
    Gauge(Arc<AtomicI64>),
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    /// An empty registry.
    pub fn new() -> Metrics {
        Metrics {
            inner: Arc::new(Inner {
                id: NEXT_ID.fetch_add(1, Relaxed),
                constant: Vec::new(),
                shards: Mutex::new(Vec::new()),
                extra: Mutex::new(Vec::new()),
                last_loops: Mutex::new(Vec::new()),
            }),
        }
    }

    /// An empty registry whose every sample carries `name="value"` (call before anything is
    /// recorded; a clone taken earlier is a different registry).
    ///
    /// # Panics
    ///
    /// If `name` is not a valid label name (`[a-zA-Z_][a-zA-Z0-9_]*`).
    pub fn with_label(self, name: &str, value: &str) -> Metrics {
        assert!(valid_name(name), "metrics label name {name:?} is not valid");
        let mut constant = self.inner.constant.clone();
        constant.push((name.to_owned(), value.to_owned()));
        Metrics {
            inner: Arc::new(Inner {
                id: NEXT_ID.fetch_add(1, Relaxed),
                constant,
                shards: Mutex::new(Vec::new()),
                extra: Mutex::new(Vec::new()),
                last_loops: Mutex::new(Vec::new()),
            }),
        }
    }

    /// Registers a counter family of one sample, `name` (which should end in `_total`);
    /// returns its value, to add to from anywhere.
    ///
    /// # Panics
    ///
    /// If `name` is not a valid metric name.
    pub fn counter(&self, name: &'static str, help: &'static str) -> Arc<AtomicU64> {
        let value = Arc::new(AtomicU64::new(0));
        self.register(name, help, Value::Counter(value.clone()));
        value
    }

    /// Registers a gauge family of one sample, `name`; returns its value, to set from anywhere.
    ///
    /// # Panics
    ///
    /// If `name` is not a valid metric name.
    pub fn gauge(&self, name: &'static str, help: &'static str) -> Arc<AtomicI64> {
        let value = Arc::new(AtomicI64::new(0));
        self.register(name, help, Value::Gauge(value.clone()));
        value
    }

    fn register(&self, name: &'static str, help: &'static str, value: Value) {
        assert!(
            valid_name(name) && !name.contains("__"),
            "metric name {name:?} is not valid"
        );
        lock(&self.inner.extra).push(Extra { name, help, value });
    }

    /// Wraps `handler` so each request it answers is counted by route and status and timed
    /// (see the module docs for what that costs).
    pub fn record<H: Handler + RouteLabel>(&self, handler: H) -> Recorded<H> {
        Recorded {
            metrics: self.clone(),
            inner: handler,
            shard: OnceCell::new(),
        }
    }

    /// This thread's shard of the registry (made and registered on first use).
    fn thread_shard(&self) -> Arc<shard::RequestShard> {
        let inner = &self.inner;
        shard::with_request_shard(inner.id, |new| lock(&inner.shards).push(new), Arc::clone)
    }

    /// Records one answered request: `route` (a pattern, not a raw path: every distinct value
    /// is a time series), its status and how long it took. [`Recorded`] calls this.
    pub fn observe(&self, route: &'static str, status: u16, took: std::time::Duration) {
        let inner = &self.inner;
        shard::with_request_shard(
            inner.id,
            |new| lock(&inner.shards).push(new),
            |shard| shard.record(route, status, took),
        );
    }

    /// A `GET /metrics` handler: [`render`](Self::render) as [`CONTENT_TYPE`].
    pub fn handler(&self) -> impl Fn(Request) -> std::future::Ready<Response> + Clone + Send {
        let metrics = self.clone();
        move |_| std::future::ready(metrics.response())
    }

    /// The `/metrics` answer now.
    pub fn response(&self) -> Response {
        Response::text(self.render()).with_content_type(CONTENT_TYPE)
    }

    /// Everything in the text exposition format: this registry's figures and, when called on
    /// a weft loop, that runtime's loops and pool lanes.
    pub fn render(&self) -> String {
        let mut e = Exposition::new(&self.inner.constant);
        self.render_requests(&mut e);
        let (open, total) = shard::connections();
        e.family(
            "weft_http_open_connections",
            Kind::Gauge,
            "HTTP connections open now, in this process.",
        );
        e.sample("weft_http_open_connections", &[], open as f64);
        e.family(
            "weft_http_connections_total",
            Kind::Counter,
            "HTTP connections accepted since the process started.",
        );
        e.sample("weft_http_connections_total", &[], total as f64);
        if let Some(handle) = weft::rt::Handle::try_current() {
            let runtime = handle.metrics();
            self.render_loops(&mut e, &runtime.loops);
            render_pool(&mut e, &runtime.pool);
        }
        for extra in lock(&self.inner.extra).iter() {
            match &extra.value {
                Value::Counter(v) => {
                    e.family(extra.name, Kind::Counter, extra.help);
                    e.sample(extra.name, &[], v.load(Relaxed) as f64);
                }
                Value::Gauge(v) => {
                    e.family(extra.name, Kind::Gauge, extra.help);
                    e.sample(extra.name, &[], v.load(Relaxed) as f64);
                }
            }
        }
        e.out
    }

    fn render_requests(&self, e: &mut Exposition<'_>) {
        let mut routes = Vec::new();
        for shard in lock(&self.inner.shards).iter() {
            shard.add_to(&mut routes);
        }
        routes.sort_by_key(|r| r.route);
        e.family(
            "weft_http_requests_total",
            Kind::Counter,
            "HTTP requests answered, by route pattern and status code.",
        );
        for route in &routes {
            let mut statuses = route.statuses.clone();
            statuses.sort_unstable();
            for (status, n) in statuses {
                let status = status.to_string();
                e.sample(
                    "weft_http_requests_total",
                    &[("route", route.route), ("status", &status)],
                    n as f64,
                );
            }
        }
        e.family(
            "weft_http_request_duration_seconds",
            Kind::Histogram,
            "Time from a request's dispatch to its handler's answer, by route pattern.",
        );
        for route in &routes {
            let mut running = 0;
            let cumulative = LATENCY_BUCKETS.iter().zip(route.buckets).map(|(&le, n)| {
                running += n;
                (le, running)
            });
            let cumulative: Vec<(f64, u64)> = cumulative.collect();
            let count = route.buckets.iter().sum();
            e.histogram(
                "weft_http_request_duration_seconds",
                &[("route", route.route)],
                cumulative,
                route.sum_ns as f64 / 1e9,
                count,
            );
        }
    }

    fn render_loops(&self, e: &mut Exposition<'_>, loops: &[weft::rt::LoopMetrics]) {
        let mut last = lock(&self.inner.last_loops);
        let names: Vec<String> = loops
            .iter()
            .map(|l| l.index.map_or("caller".into(), |i| i.to_string()))
            .collect();
        let each = |e: &mut Exposition<'_>, name, kind, help, value: &dyn Fn(usize) -> f64| {
            e.family(name, kind, help);
            for (i, label) in names.iter().enumerate() {
                e.sample(name, &[("loop", label)], value(i));
            }
        };
        each(
            e,
            "weft_loop_tasks",
            Kind::Gauge,
            "Tasks alive on the event loop.",
            &|i| loops[i].tasks as f64,
        );
        each(
            e,
            "weft_loop_ready_depth",
            Kind::Gauge,
            "Tasks in the event loop's ready queue.",
            &|i| loops[i].ready_depth as f64,
        );
        each(
            e,
            "weft_loop_polls_total",
            Kind::Counter,
            "Task polls by the event loop.",
            &|i| loops[i].polls as f64,
        );
        each(
            e,
            "weft_loop_busy_seconds_total",
            Kind::Counter,
            "Time the event loop was not blocked waiting for I/O or timers.",
            &|i| loops[i].busy.as_secs_f64(),
        );
        each(
            e,
            "weft_loop_busy_ratio",
            Kind::Gauge,
            "Busy share of the event loop's time since the previous scrape (since start at the first).",
            &|i| match last.get(i) {
                Some(earlier) if earlier.index == loops[i].index => {
                    loops[i].busy_ratio_since(earlier)
                }
                _ => loops[i].busy_ratio(),
            },
        );
        each(
            e,
            "weft_loop_mean_poll_seconds",
            Kind::Gauge,
            "Busy time over polls since the loop started: the mean cost of one task poll.",
            &|i| loops[i].mean_poll_time().as_secs_f64(),
        );
        *last = loops.to_vec();
    }
}

fn render_pool(e: &mut Exposition<'_>, pool: &weft::pool::PoolMetrics) {
    type Field = fn(&weft::pool::LaneMetrics) -> f64;
    let gauges: [(&str, &str, Field); 4] = [
        (
            "weft_pool_queued",
            "Jobs waiting for a worker-pool thread.",
            |l| l.queued as f64,
        ),
        (
            "weft_pool_running",
            "Jobs running on the worker pool.",
            |l| l.running as f64,
        ),
        ("weft_pool_threads", "Worker-pool threads alive.", |l| {
            l.threads as f64
        }),
        ("weft_pool_max_threads", "The lane's thread limit.", |l| {
            l.max_threads as f64
        }),
    ];
    for (name, help, field) in gauges {
        e.family(name, Kind::Gauge, help);
        for lane in &pool.lanes {
            e.sample(name, &[("lane", lane.lane.name())], field(lane));
        }
    }
    e.family(
        "weft_pool_jobs_total",
        Kind::Counter,
        "Worker-pool jobs by how they ended.",
    );
    for lane in &pool.lanes {
        for (outcome, n) in [
            ("completed", lane.completed),
            ("panicked", lane.panicked),
            ("cancelled", lane.cancelled),
            ("abandoned", lane.abandoned),
            ("rejected", lane.rejected),
        ] {
            e.sample(
                "weft_pool_jobs_total",
                &[("lane", lane.lane.name()), ("outcome", outcome)],
                n as f64,
            );
        }
    }
    e.family(
        "weft_pool_queue_wait_seconds",
        Kind::Histogram,
        "Time from a job's submission to its start on a worker-pool thread.",
    );
    for lane in &pool.lanes {
        let wait = &lane.queue_wait;
        let cumulative = LATENCY_BUCKETS.iter().map(|&le| {
            (
                le,
                wait.count_at_most(std::time::Duration::from_secs_f64(le)),
            )
        });
        e.histogram(
            "weft_pool_queue_wait_seconds",
            &[("lane", lane.lane.name())],
            cumulative,
            wait.sum().as_secs_f64(),
            wait.count(),
        );
    }
}

/// A handler that can name the route a request takes, for the `route` label: a pattern of
/// bounded cardinality, never the raw path. [`Router`] names its patterns.
pub trait RouteLabel: Handler {
    /// The route `request` takes; `None` if no route matches (it is labelled [`UNMATCHED`]).
    fn route_label(&self, request: &Request) -> Option<&'static str>;

    /// [`route_label`](Self::route_label) and [`Handler::call`] in one go: what [`Recorded`]
    /// calls per request. The default asks one and then the other; [`Router`] matches its
    /// route list once for both.
    #[inline(always)]
    fn call_labelled(
        &self,
        request: Request,
    ) -> (Option<&'static str>, impl Future<Output = Response> + '_) {
        (self.route_label(&request), self.call(request))
    }
}

impl<T: RouteTable> RouteLabel for Router<T> {
    fn route_label(&self, request: &Request) -> Option<&'static str> {
        self.route_pattern(request)
    }

    #[inline(always)]
    fn call_labelled(
        &self,
        request: Request,
    ) -> (Option<&'static str>, impl Future<Output = Response> + '_) {
        self.call_with_pattern(request)
    }
}

/// A handler whose requests are recorded in a [`Metrics`]; see [`Metrics::record`].
#[derive(Debug)]
pub struct Recorded<H> {
    metrics: Metrics,
    inner: H,
    /// The shard of the thread this copy records on, found on its first request (a server
    /// clones its handler per loop); a copy moved to another thread later keeps it, which
    /// is still correct (a shard is locked), only no longer contention-free.
    shard: OnceCell<Arc<shard::RequestShard>>,
}

impl<H: Clone> Clone for Recorded<H> {
    fn clone(&self) -> Self {
        Recorded {
            metrics: self.metrics.clone(),
            inner: self.inner.clone(),
            shard: OnceCell::new(),
        }
    }
}

impl<H: Handler + RouteLabel> Handler for Recorded<H> {
    #[inline(always)]
    fn call(&self, request: Request) -> impl Future<Output = Response> + '_ {
        // The loop's cached clock: no clock read (see the module docs, "Cost").
        let start = weft::time::now();
        let (route, answer) = self.inner.call_labelled(request);
        Timed {
            answer,
            start,
            route: route.unwrap_or(UNMATCHED),
            shard: self.shard.get_or_init(|| self.metrics.thread_shard()),
        }
    }

    fn streams_body(&self, request: &Request) -> bool {
        self.inner.streams_body(request)
    }
}

pin_project_lite::pin_project! {
    /// A recorded request's answer: the handler's future, then the figures. A struct rather
    /// than an `async` block, so that it is built where the connection keeps it instead of
    /// being moved into place (the connection holds it by value; an `async` block's captured
    /// state is moved again on its first poll).
    struct Timed<'a, F> {
        #[pin]
        answer: F,
        start: Instant,
        route: &'static str,
        shard: &'a shard::RequestShard,
    }
}

impl<F: Future<Output = Response>> Future for Timed<'_, F> {
    type Output = Response;

    #[inline(always)]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Response> {
        let this = self.project();
        let response = std::task::ready!(this.answer.poll(cx));
        let took = Instant::now().saturating_duration_since(*this.start);
        this.shard
            .record(this.route, response.status().as_u16(), took);
        Poll::Ready(response)
    }
}

impl<H: RouteLabel> RouteLabel for Recorded<H> {
    fn route_label(&self, request: &Request) -> Option<&'static str> {
        self.inner.route_label(request)
    }
}

fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
