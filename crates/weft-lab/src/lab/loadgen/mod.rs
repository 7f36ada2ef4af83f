//! The lab's own load generator, so that `weft lab` needs nothing installed (no wrk).
//!
//! N keep-alive HTTP/1.1 connections, each a task on one weft event loop in the lab's
//! process, sending `GET` requests in a closed loop (the next as soon as the answer is in) or
//! at a fixed rate per connection (latency then counts from the intended send time, so a
//! stalled server cannot hide its stall by slowing the client down: no coordinated
//! omission). Latency goes into an HDR histogram (µs, 3 significant digits). Every load is
//! bounded in connections and time, and reports its own CPU time so that a run can show the
//! generator was not the bottleneck.
//!
//! # Roles
//!
//! - [`run_many`] / [`run`]: timed loads ([`LoadSpec`] → [`LoadReport`]).
//! - [`hold`]: open N connections, one request each, and keep them idle while measuring.
//! - `client`: one connection's request/answer exchange.

mod client;

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::io;
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use weft::net::TcpStream;
use weft::rt::Runtime;
use weft::time::{sleep, sleep_until, timeout_at};

use super::procfs;

/// Largest latency the histograms hold: 60 s in µs (longer ones saturate to it).
const MAX_LATENCY_US: u64 = 60_000_000;

/// Significant digits of the histograms: 3 (0.1% resolution at every scale).
const HISTOGRAM_DIGITS: u8 = 3;

/// Pause after a failed connect or a broken connection before trying again, so that a dead
/// server is not hammered in a hot loop: 10 ms.
const RECONNECT_PAUSE: Duration = Duration::from_millis(10);

/// Connections [`hold`] opens at once: 1,000, so that the server's accept queue (4096) never
/// overflows into SYN retries, which would measure the kernel's backoff instead of the model.
const HOLD_WAVE: usize = 1000;

/// One load: what to send, on how many connections, for how long.
#[derive(Debug, Clone)]
pub(crate) struct LoadSpec {
    /// The server.
    pub(crate) addr: SocketAddr,
    /// Keep-alive connections.
    pub(crate) connections: usize,
    /// The request target of every request.
    pub(crate) path: String,
    /// How long the load runs.
    pub(crate) duration: Duration,
    /// Requests per second per connection; `None`: closed loop.
    pub(crate) rate: Option<f64>,
    /// Longest wait for one answer before it counts as failed.
    pub(crate) request_timeout: Duration,
    /// Shared with another thread that marks an instant (the crash) and learns when the first
    /// request sent after it was answered.
    pub(crate) marker: Option<Arc<Marker>>,
}

/// An instant marked by another thread during a load, and what the load saw after it.
#[derive(Debug)]
pub(crate) struct Marker {
    /// The clock's zero.
    pub(crate) origin: Instant,
    /// When the mark was set, ns after `origin` (`u64::MAX`: not yet).
    marked_ns: AtomicU64,
    /// When the first request sent after the mark was answered, ns after `origin`.
    first_ok_after_ns: AtomicU64,
}

impl Marker {
    /// A marker whose clock starts now.
    pub(crate) fn new() -> Marker {
        Marker {
            origin: Instant::now(),
            marked_ns: AtomicU64::new(u64::MAX),
            first_ok_after_ns: AtomicU64::new(u64::MAX),
        }
    }

    /// Sets the mark at `at`.
    pub(crate) fn mark(&self, at: Instant) {
        self.marked_ns.store(self.ns(at), Ordering::SeqCst);
    }

    /// When the mark was set.
    pub(crate) fn marked(&self) -> Option<Duration> {
        match self.marked_ns.load(Ordering::SeqCst) {
            u64::MAX => None,
            ns => Some(Duration::from_nanos(ns)),
        }
    }

    /// How long after the mark the first request sent after it was answered.
    pub(crate) fn recovered_after(&self) -> Option<Duration> {
        let marked = self.marked_ns.load(Ordering::SeqCst);
        match self.first_ok_after_ns.load(Ordering::SeqCst) {
            u64::MAX => None,
            ok => Some(Duration::from_nanos(ok.saturating_sub(marked))),
        }
    }

    fn ns(&self, at: Instant) -> u64 {
        at.saturating_duration_since(self.origin).as_nanos() as u64
    }

    fn answered(&self, sent: Instant, done: Instant) {
        let marked = self.marked_ns.load(Ordering::SeqCst);
        if marked != u64::MAX && self.ns(sent) > marked {
            self.first_ok_after_ns
                .fetch_min(self.ns(done), Ordering::SeqCst);
        }
    }
}

/// What one load measured.
#[derive(Debug, Clone)]
pub(crate) struct LoadReport {
    /// Answers with status 200.
    pub(crate) ok: u64,
    /// Answers with another status.
    pub(crate) non_200: u64,
    /// Requests sent that got no answer (reset, closed, or past the request timeout).
    pub(crate) failed: u64,
    /// Requests in flight when the load ended (neither ok nor failed).
    pub(crate) unanswered_at_end: u64,
    /// Connections opened.
    pub(crate) connects: u64,
    /// Connects that failed, by error.
    pub(crate) connect_errors: BTreeMap<String, u64>,
    /// Connections the server closed after an answer (`Connection: close`).
    pub(crate) closed_by_server: u64,
    /// Latency of the ok answers, µs.
    pub(crate) latency_us: Histogram<u64>,
    /// How long the load ran.
    pub(crate) wall: Duration,
    /// CPU the lab's process used meanwhile (the generator), seconds.
    pub(crate) cpu_s: f64,
    /// Per connection: when the last request that got an ok answer was sent, after the
    /// start (send time, so that answers read late from a dead server's buffers do not count
    /// as service after its death).
    pub(crate) last_ok_sent: Vec<Option<Duration>>,
    /// The first error seen, for the report.
    pub(crate) first_error: Option<String>,
}

impl LoadReport {
    fn new(connections: usize) -> LoadReport {
        LoadReport {
            ok: 0,
            non_200: 0,
            failed: 0,
            unanswered_at_end: 0,
            connects: 0,
            connect_errors: BTreeMap::new(),
            closed_by_server: 0,
            latency_us: Histogram::new_with_bounds(1, MAX_LATENCY_US, HISTOGRAM_DIGITS)
                .expect("valid histogram bounds"),
            wall: Duration::ZERO,
            cpu_s: 0.0,
            last_ok_sent: vec![None; connections],
            first_error: None,
        }
    }

    /// Ok answers per second.
    pub(crate) fn requests_per_s(&self) -> f64 {
        self.ok as f64 / self.wall.as_secs_f64().max(1e-9)
    }

    /// Latency at `quantile` (0..1), ms.
    pub(crate) fn latency_ms(&self, quantile: f64) -> f64 {
        self.latency_us.value_at_quantile(quantile) as f64 / 1000.0
    }

    /// Connections that never got an ok answer.
    pub(crate) fn unserved(&self) -> usize {
        self.last_ok_sent.iter().filter(|t| t.is_none()).count()
    }

    /// Share of one core the generator used, percent.
    pub(crate) fn cpu_percent(&self) -> f64 {
        100.0 * self.cpu_s / self.wall.as_secs_f64().max(1e-9)
    }

    fn connect_failed(&mut self, error: &io::Error) {
        *self
            .connect_errors
            .entry(error.kind().to_string())
            .or_insert(0) += 1;
        self.error(format!("connect: {error}"));
    }

    fn error(&mut self, what: String) {
        if self.first_error.is_none() {
            self.first_error = Some(what);
        }
    }
}

/// Runs one load.
pub(crate) fn run(spec: LoadSpec) -> io::Result<LoadReport> {
    Ok(run_many(vec![spec])?.remove(0))
}

/// Runs several loads at once on one loop (one starts when the others do); a report each.
pub(crate) fn run_many(specs: Vec<LoadSpec>) -> io::Result<Vec<LoadReport>> {
    let runtime = Runtime::builder().current_thread().build()?;
    let cpu_before = procfs::self_cpu_seconds();
    let start = Instant::now();
    let reports = runtime.block_on(async {
        let mut groups = Vec::new();
        for spec in specs {
            let spec = Rc::new(spec);
            let report = Rc::new(RefCell::new(LoadReport::new(spec.connections)));
            let end = start + spec.duration;
            let mut tasks = Vec::with_capacity(spec.connections);
            for index in 0..spec.connections {
                tasks.push(weft::spawn_local(connection(
                    index,
                    Rc::clone(&spec),
                    start,
                    end,
                    Rc::clone(&report),
                )));
            }
            groups.push((report, tasks));
        }
        let mut reports = Vec::new();
        for (report, tasks) in groups {
            for task in tasks {
                let _ = task.await;
            }
            reports.push(report);
        }
        reports
    });
    let wall = start.elapsed();
    let cpu_s = procfs::self_cpu_seconds() - cpu_before;
    Ok(reports
        .into_iter()
        .map(|r| {
            let mut r = Rc::try_unwrap(r)
                .map(RefCell::into_inner)
                .unwrap_or_else(|r| r.borrow().clone());
            r.wall = wall;
            r.cpu_s = cpu_s;
            r
        })
        .collect())
}

/// One connection of a load, until the load's end.
async fn connection(
    index: usize,
    spec: Rc<LoadSpec>,
    start: Instant,
    end: Instant,
    report: Rc<RefCell<LoadReport>>,
) {
    let request = client::request(&spec.path);
    let interval = spec
        .rate
        .map(|r| Duration::from_secs_f64(1.0 / r.max(1e-3)));
    // Spread the connections' first sends over one interval, so a fixed rate is not a burst.
    let mut next_send = start
        + interval.map_or(Duration::ZERO, |iv| {
            iv.mul_f64(index as f64 / spec.connections.max(1) as f64)
        });
    let mut stream: Option<TcpStream> = None;
    let mut buf = Vec::with_capacity(client::READ_CHUNK);
    loop {
        if interval.is_some() {
            if next_send >= end {
                return;
            }
            sleep_until(next_send).await;
        }
        let intended = if interval.is_some() {
            next_send
        } else {
            Instant::now()
        };
        if let Some(iv) = interval {
            next_send += iv;
        }
        if Instant::now() >= end {
            return;
        }
        let conn = match &stream {
            Some(conn) => conn,
            None => match timeout_at(end, TcpStream::connect(spec.addr)).await {
                Ok(Ok(conn)) => {
                    let _ = conn.set_nodelay(true);
                    report.borrow_mut().connects += 1;
                    stream.insert(conn)
                }
                Ok(Err(error)) => {
                    report.borrow_mut().connect_failed(&error);
                    sleep(RECONNECT_PAUSE).await;
                    continue;
                }
                Err(_) => return,
            },
        };
        let deadline = (Instant::now() + spec.request_timeout).min(end);
        let outcome = timeout_at(deadline, client::exchange(conn, &request, &mut buf)).await;
        let done = Instant::now();
        let mut pause = false;
        {
            let mut r = report.borrow_mut();
            match outcome {
                Ok(Ok(answer)) => {
                    if answer.status == 200 {
                        r.ok += 1;
                        let us = done.saturating_duration_since(intended).as_micros() as u64;
                        r.latency_us.saturating_record(us.max(1));
                        r.last_ok_sent[index] = Some(intended.saturating_duration_since(start));
                        if let Some(marker) = &spec.marker {
                            marker.answered(intended, done);
                        }
                    } else {
                        r.non_200 += 1;
                    }
                    if answer.close {
                        r.closed_by_server += 1;
                        stream = None;
                    }
                }
                Ok(Err(error)) => {
                    r.failed += 1;
                    r.error(format!("request: {error}"));
                    stream = None;
                    pause = true;
                }
                Err(_) if done >= end => {
                    r.unanswered_at_end += 1;
                    return;
                }
                Err(_) => {
                    r.failed += 1;
                    r.error(format!("no answer within {:?}", spec.request_timeout));
                    stream = None;
                }
            }
        }
        if pause {
            sleep(RECONNECT_PAUSE).await;
        }
    }
}

/// What [`hold`] saw while opening its connections.
#[derive(Debug, Clone, Default)]
pub(crate) struct HoldReport {
    /// Connections asked for.
    pub(crate) wanted: usize,
    /// Connections that got their answer and are held idle.
    pub(crate) answered: usize,
    /// Connections open but not answered by the deadline (waiting in the accept queue).
    pub(crate) waiting: usize,
    /// Connects that failed, by error.
    pub(crate) connect_errors: BTreeMap<String, u64>,
    /// The first error seen.
    pub(crate) first_error: Option<String>,
}

/// Opens `wanted` connections (in waves), sends `GET /` on each and waits for the answer
/// until `within` has passed; then, with every connection still open and idle, calls
/// `while_held` and returns what it returned. The connections close afterwards.
pub(crate) fn hold<R>(
    addr: SocketAddr,
    wanted: usize,
    within: Duration,
    while_held: impl FnOnce(&HoldReport) -> R,
) -> io::Result<(HoldReport, R)> {
    let runtime = Runtime::builder().current_thread().build()?;
    let deadline = Instant::now() + within;
    runtime.block_on(async move {
        let mut held = Vec::with_capacity(wanted);
        let mut report = HoldReport {
            wanted,
            ..HoldReport::default()
        };
        let mut opened = 0;
        while opened < wanted && Instant::now() < deadline {
            let wave = HOLD_WAVE.min(wanted - opened);
            let tasks: Vec<_> = (0..wave)
                .map(|_| weft::spawn_local(open_and_ask(addr, deadline)))
                .collect();
            for task in tasks {
                match task.await {
                    Ok(Ok((stream, answered))) => {
                        if answered {
                            report.answered += 1;
                        } else {
                            report.waiting += 1;
                        }
                        held.push(stream);
                    }
                    Ok(Err(error)) => {
                        *report.connect_errors.entry(errno_name(&error)).or_insert(0) += 1;
                        if report.first_error.is_none() {
                            report.first_error = Some(error.to_string());
                        }
                    }
                    Err(join) => report.first_error = Some(format!("hold task: {join}")),
                }
            }
            opened += wave;
        }
        let measured = while_held(&report);
        drop(held);
        Ok((report, measured))
    })
}

/// Connects and asks `GET /`; the stream, and whether it was answered by `deadline`.
async fn open_and_ask(addr: SocketAddr, deadline: Instant) -> io::Result<(TcpStream, bool)> {
    let stream = match timeout_at(deadline, TcpStream::connect(addr)).await {
        Ok(connected) => connected?,
        Err(_) => return Err(io::Error::new(io::ErrorKind::TimedOut, "connect timed out")),
    };
    let mut buf = Vec::new();
    let answered = matches!(
        timeout_at(
            deadline,
            client::exchange(&stream, &client::request("/"), &mut buf)
        )
        .await,
        Ok(Ok(client::Answer { status: 200, .. }))
    );
    Ok((stream, answered))
}

/// An error's errno name and text, e.g. `EMFILE (Too many open files)`.
pub(crate) fn errno_name(error: &io::Error) -> String {
    match error.raw_os_error() {
        Some(code) => format!("errno {code} ({error})"),
        None => error.to_string(),
    }
}
