//! Per-thread counters: what a request or a connection writes, without a shared lock.
//!
//! Each thread that records (in practice each event loop) gets its own shard on first use and
//! keeps it in a thread-local; the registry keeps every shard so a scrape can add them up.
//! A shard's mutex is taken by its own thread per request and by a scrape for the length of a
//! copy, so it is all but never contended: an uncontended lock and unlock, no cache line
//! shared with another loop.

use std::cell::RefCell;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

/// Upper bounds (seconds) of the request-latency histogram's buckets: from 100 µs (a
/// hello-world answer) to 10 s (the default body timeout's order), as Prometheus clients'
/// defaults extended downwards.
pub const LATENCY_BUCKETS: [f64; 16] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0, 10.0,
];

/// [`LATENCY_BUCKETS`] in nanoseconds: a request's bucket is found with integer compares.
const LATENCY_BUCKETS_NS: [u64; LATENCY_BUCKETS.len()] = {
    let mut ns = [0; LATENCY_BUCKETS.len()];
    let mut i = 0;
    while i < ns.len() {
        ns[i] = (LATENCY_BUCKETS[i] * 1e9 + 0.5) as u64; // rounded: 0.00025 s is 250,000 ns
        i += 1;
    }
    ns
};

/// One route's figures in one shard (or summed over shards).
#[derive(Clone, Debug)]
pub(crate) struct RouteFigures {
    pub(crate) route: &'static str,
    /// Answers by status code.
    pub(crate) statuses: Vec<(u16, u64)>,
    /// Non-cumulative counts per [`LATENCY_BUCKETS`] bucket, then one for above the last.
    pub(crate) buckets: [u64; LATENCY_BUCKETS.len() + 1],
    /// Total time, in nanoseconds (584 years of request time before it wraps).
    pub(crate) sum_ns: u64,
}

impl RouteFigures {
    fn new(route: &'static str) -> RouteFigures {
        RouteFigures {
            route,
            statuses: Vec::new(),
            buckets: [0; LATENCY_BUCKETS.len() + 1],
            sum_ns: 0,
        }
    }

    fn record(&mut self, status: u16, took: Duration) {
        match self.statuses.iter_mut().find(|(s, _)| *s == status) {
            Some((_, n)) => *n += 1,
            None => self.statuses.push((status, 1)),
        }
        let ns = u64::try_from(took.as_nanos()).unwrap_or(u64::MAX);
        let bucket = LATENCY_BUCKETS_NS
            .iter()
            .position(|&upper| ns <= upper)
            .unwrap_or(LATENCY_BUCKETS.len());
        self.buckets[bucket] += 1;
        self.sum_ns = self.sum_ns.wrapping_add(ns);
    }

    pub(crate) fn merge(&mut self, other: &RouteFigures) {
        for &(status, n) in &other.statuses {
            match self.statuses.iter_mut().find(|(s, _)| *s == status) {
                Some((_, m)) => *m += n,
                None => self.statuses.push((status, n)),
            }
        }
        for (mine, theirs) in self.buckets.iter_mut().zip(other.buckets) {
            *mine += theirs;
        }
        self.sum_ns = self.sum_ns.wrapping_add(other.sum_ns);
    }
}

/// The request figures one thread recorded for one registry.
#[derive(Debug, Default)]
pub(crate) struct RequestShard {
    routes: Mutex<Vec<RouteFigures>>,
}

impl RequestShard {
    pub(crate) fn record(&self, route: &'static str, status: u16, took: Duration) {
        let mut routes = self.routes.lock().unwrap_or_else(PoisonError::into_inner);
        // Routes are `&'static str` patterns: usually the very same pointer, so every entry
        // is compared by address before any is compared by content.
        let found = routes
            .iter()
            .position(|r| std::ptr::eq(r.route, route))
            .or_else(|| routes.iter().position(|r| r.route == route));
        let index = found.unwrap_or_else(|| {
            routes.push(RouteFigures::new(route));
            routes.len() - 1
        });
        routes[index].record(status, took);
    }

    /// Adds this shard's figures into `into`.
    pub(crate) fn add_to(&self, into: &mut Vec<RouteFigures>) {
        let routes = self.routes.lock().unwrap_or_else(PoisonError::into_inner);
        for figures in routes.iter() {
            match into.iter_mut().find(|r| r.route == figures.route) {
                Some(sum) => sum.merge(figures),
                None => into.push(figures.clone()),
            }
        }
    }
}

thread_local! {
    /// This thread's request shard of each registry it recorded for, by registry id.
    static REQUEST_SHARDS: RefCell<Vec<(u64, Arc<RequestShard>)>> = const { RefCell::new(Vec::new()) };
    /// This thread's connection counters, once it served a connection.
    static CONNECTIONS: RefCell<Option<Arc<ConnectionShard>>> = const { RefCell::new(None) };
}

/// Calls `f` with this thread's shard of registry `id`, made (and handed to `register`) on
/// first use.
pub(crate) fn with_request_shard<R>(
    id: u64,
    register: impl FnOnce(Arc<RequestShard>),
    f: impl FnOnce(&Arc<RequestShard>) -> R,
) -> R {
    REQUEST_SHARDS.with(|shards| {
        let mut shards = shards.borrow_mut();
        if let Some((_, shard)) = shards.iter().find(|(i, _)| *i == id) {
            return f(shard);
        }
        let shard = Arc::new(RequestShard::default());
        register(shard.clone());
        shards.push((id, shard.clone()));
        drop(shards);
        f(&shard)
    })
}

/// Connection counters of one thread (every server of the process counts here).
#[derive(Debug, Default)]
pub(crate) struct ConnectionShard {
    pub(crate) open: AtomicI64,
    pub(crate) total: AtomicU64,
}

/// Every thread's connection counters.
static CONNECTION_SHARDS: Mutex<Vec<Arc<ConnectionShard>>> = Mutex::new(Vec::new());

fn with_connection_shard(f: impl FnOnce(&ConnectionShard)) {
    CONNECTIONS.with(|mine| {
        let mut mine = mine.borrow_mut();
        let shard = mine.get_or_insert_with(|| {
            let shard = Arc::new(ConnectionShard::default());
            CONNECTION_SHARDS
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(shard.clone());
            shard
        });
        f(shard);
    });
}

/// A connection was accepted on this thread (the server's connection set calls it).
pub(crate) fn connection_opened() {
    with_connection_shard(|shard| {
        // Only this thread writes its shard: no read-modify-write needed.
        shard.open.store(shard.open.load(Relaxed) + 1, Relaxed);
        shard.total.store(shard.total.load(Relaxed) + 1, Relaxed);
    });
}

/// A connection opened on this thread ended.
pub(crate) fn connection_closed() {
    with_connection_shard(|shard| shard.open.store(shard.open.load(Relaxed) - 1, Relaxed));
}

/// (open now, accepted since start) over every thread of the process.
pub(crate) fn connections() -> (i64, u64) {
    let shards = CONNECTION_SHARDS
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    shards.iter().fold((0, 0), |(open, total), s| {
        (open + s.open.load(Relaxed), total + s.total.load(Relaxed))
    })
}
