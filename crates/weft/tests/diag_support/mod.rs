//! Shared by the `diag_*` tests: a report collector, waiting on a condition with a deadline,
//! and the seeds' deadlock (A holds R1 and wants R2, B holds R2 and wants R1) in its parts.
#![allow(dead_code)] // each test file uses its own part

use std::panic::Location;
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::{Arc, Mutex as StdMutex, OnceLock};
use std::time::{Duration, Instant};
use weft::diag::{Report, ReportKind};
use weft::sync::Mutex;

/// How long a test waits for a report before failing: generous for a loaded 2-core machine,
/// and it only runs out when the detector is broken.
pub const REPORT_DEADLINE: Duration = Duration::from_secs(20);

/// How long a test watches for a report that must not come.
pub const QUIET_PERIOD: Duration = Duration::from_millis(500);

/// Every report of this process, with when it arrived.
pub fn reports() -> &'static StdMutex<Vec<(Instant, Report)>> {
    static REPORTS: OnceLock<StdMutex<Vec<(Instant, Report)>>> = OnceLock::new();
    REPORTS.get_or_init(|| {
        weft::diag::set_handler(|r: &Report| {
            lock_reports().push((Instant::now(), r.clone()));
        });
        StdMutex::new(Vec::new())
    })
}

/// The collected reports (a test that failed while reading them does not poison the others).
pub fn lock_reports() -> std::sync::MutexGuard<'static, Vec<(Instant, Report)>> {
    reports().lock().unwrap_or_else(|e| e.into_inner())
}

/// Installs the collector (call before anything can be reported).
pub fn collect() {
    let _ = reports();
}

/// The first report of `kind` whose text mentions every one of `sites`.
pub fn find(kind: ReportKind, sites: &[&str]) -> Option<(Instant, Report)> {
    lock_reports()
        .iter()
        .find(|(_, r)| r.kind() == kind && sites.iter().all(|s| r.to_string().contains(s)))
        .cloned()
}

/// Waits (with [`REPORT_DEADLINE`]) for a report of `kind` naming every one of `sites`.
#[track_caller]
pub fn expect_report(kind: ReportKind, sites: &[&str]) -> (Instant, Report) {
    let deadline = Instant::now() + REPORT_DEADLINE;
    loop {
        if let Some(found) = find(kind, sites) {
            return found;
        }
        assert!(
            Instant::now() < deadline,
            "no {kind:?} report naming {sites:?} within {REPORT_DEADLINE:?}; reports: {:#?}",
            lock_reports()
                .iter()
                .map(|(_, r)| r.to_string())
                .collect::<Vec<_>>()
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Asserts that no report naming any of `sites` arrives during [`QUIET_PERIOD`].
pub fn expect_no_report(sites: &[&str]) {
    let until = Instant::now() + QUIET_PERIOD;
    while Instant::now() < until {
        std::thread::sleep(Duration::from_millis(10));
        let found = lock_reports()
            .iter()
            .map(|(_, r)| r.to_string())
            .find(|text| sites.iter().any(|s| text.contains(s)));
        if let Some(text) = found {
            panic!("unexpected report:\n{text}");
        }
    }
}

/// Waits until `cond` holds, failing after `REPORT_DEADLINE`.
#[track_caller]
pub fn wait_until(what: &str, cond: impl Fn() -> bool) {
    let deadline = Instant::now() + REPORT_DEADLINE;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// A mutex created at the caller's line, with that line as `file:line:col` text.
#[track_caller]
pub fn mutex() -> (Arc<Mutex<u32>>, String) {
    let site = Location::caller().to_string();
    (Arc::new(Mutex::new(0)), site)
}

/// The two locks of the seeds' deadlock and the flags that make both first locks happen before
/// either second one.
#[derive(Clone)]
pub struct Seeds {
    pub r1: Arc<Mutex<u32>>,
    pub r2: Arc<Mutex<u32>>,
    pub sites: [String; 2],
    a_holds: Arc<AtomicBool>,
    b_holds: Arc<AtomicBool>,
    /// When the second of the two second locks was attempted (the cycle closes then).
    pub closed_at: Arc<StdMutex<Option<Instant>>>,
}

impl Seeds {
    #[track_caller]
    pub fn new() -> Seeds {
        let site = Location::caller();
        let r1 = Arc::new(Mutex::new(1));
        let r2 = Arc::new(Mutex::new(2));
        let s = site.to_string();
        Seeds {
            r1,
            r2,
            sites: [s.clone(), s],
            a_holds: Arc::default(),
            b_holds: Arc::default(),
            closed_at: Arc::default(),
        }
    }

    fn mark_closing(&self) {
        let mut c = self.closed_at.lock().unwrap();
        *c = Some(Instant::now());
    }

    /// A's part as a task: lock R1, wait for B to hold R2, lock R2.
    pub async fn a_task(self) {
        let _g1 = self.r1.lock().await;
        self.a_holds.store(true, SeqCst);
        while !self.b_holds.load(SeqCst) {
            weft::time::sleep(Duration::from_millis(1)).await;
        }
        self.mark_closing();
        let _g2 = self.r2.lock().await;
    }

    /// B's part as a task.
    pub async fn b_task(self) {
        let _g2 = self.r2.lock().await;
        self.b_holds.store(true, SeqCst);
        while !self.a_holds.load(SeqCst) {
            weft::time::sleep(Duration::from_millis(1)).await;
        }
        self.mark_closing();
        let _g1 = self.r1.lock().await;
    }

    /// A's part as blocking code (green thread, pool job, OS thread).
    pub fn a_blocking(self) {
        let _g1 = self.r1.blocking_lock();
        self.a_holds.store(true, SeqCst);
        while !self.b_holds.load(SeqCst) {
            pause();
        }
        self.mark_closing();
        let _g2 = self.r2.blocking_lock();
    }

    /// B's part as blocking code.
    pub fn b_blocking(self) {
        let _g2 = self.r2.blocking_lock();
        self.b_holds.store(true, SeqCst);
        while !self.a_holds.load(SeqCst) {
            pause();
        }
        self.mark_closing();
        let _g1 = self.r1.blocking_lock();
    }
}

/// Waits a little in blocking code: in a green thread it must let its loop run (a green
/// thread that spun would stall the loop the other party needs).
fn pause() {
    if weft::green::in_green_thread() {
        weft::green::block_on(weft::time::sleep(Duration::from_millis(1)));
    } else {
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// A runtime with `loops` loop threads and deadlock detection on (reporting only).
pub fn runtime(loops: usize, config: weft::diag::Config) -> weft::rt::Runtime {
    collect();
    weft::rt::Runtime::builder()
        .loops(loops)
        .pool_shutdown_timeout(Duration::from_millis(10))
        .diagnostics(config)
        .build()
        .unwrap()
}
