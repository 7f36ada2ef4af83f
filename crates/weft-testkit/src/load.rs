//! A bounded load: client threads each sending requests in a loop, every outcome recorded
//! with its start and end, so that a test can count what failed around an event (a kill, a
//! reload, a stop).

use std::time::{Duration, Instant};

use crate::wait::wait_until;

/// How one request of a [`Load`] ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Answered by this pid (or 0 when the answer names none).
    Answered(u32),
    /// The connection was refused: nothing was listening (not a request in flight).
    Refused,
    /// Connected, then no complete answer: a request in flight was lost.
    Failed(String),
}

/// One request of a load run.
#[derive(Clone, Debug)]
pub struct Record {
    /// When the request began (before connecting).
    pub started: Instant,
    /// When its outcome was known.
    pub ended: Instant,
    /// How it ended.
    pub outcome: Outcome,
}

/// Hard cap on requests per load client, so a test can never flood the machine.
pub const LOAD_MAX: usize = 20_000;

/// A load client pauses this long after a refused connection (the port may be closed for good).
const REFUSED_PAUSE: Duration = Duration::from_millis(10);

/// A bounded load: client threads each sending requests in a loop until stopped, or after
/// [`LOAD_MAX`] requests, or after the deadline.
#[derive(Debug)]
pub struct Load {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    records: std::sync::Arc<std::sync::Mutex<Vec<Record>>>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl Load {
    /// Starts `clients` threads, each calling `request` in a loop (one request, one outcome);
    /// none runs longer than `deadline`.
    pub fn start<F>(clients: usize, deadline: Duration, request: F) -> Load
    where
        F: Fn() -> Outcome + Clone + Send + 'static,
    {
        use std::sync::atomic::Ordering::SeqCst;
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let records = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let threads = (0..clients)
            .map(|_| {
                let (stop, records, request) = (stop.clone(), records.clone(), request.clone());
                std::thread::spawn(move || {
                    let begun = Instant::now();
                    for _ in 0..LOAD_MAX {
                        if stop.load(SeqCst) || begun.elapsed() > deadline {
                            break;
                        }
                        let started = Instant::now();
                        let outcome = request();
                        let refused = outcome == Outcome::Refused;
                        records.lock().unwrap().push(Record {
                            started,
                            ended: Instant::now(),
                            outcome,
                        });
                        if refused {
                            std::thread::sleep(REFUSED_PAUSE);
                        }
                    }
                })
            })
            .collect();
        Load {
            stop,
            records,
            threads,
        }
    }

    /// The records so far.
    pub fn records(&self) -> Vec<Record> {
        self.records.lock().unwrap().clone()
    }

    /// Waits until `cond` holds for the records so far; panics after [`DEADLINE`](crate::DEADLINE) (it is
    /// [`wait_until`] on the records).
    pub fn wait_until(&self, what: &str, mut cond: impl FnMut(&[Record]) -> bool) {
        wait_until(what, || cond(&self.records.lock().unwrap()));
    }

    /// Waits until some request was answered by a pid in `pids`.
    pub fn wait_answer_from(&self, pids: &[u32], what: &str) {
        self.wait_until(what, |records| answered_by(records, pids));
    }

    /// Stops the clients and returns every record.
    pub fn stop(self) -> Vec<Record> {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        for t in self.threads {
            t.join().unwrap();
        }
        let records = self.records.lock().unwrap();
        records.clone()
    }
}

/// Whether some request was answered by a pid in `pids`.
pub fn answered_by(records: &[Record], pids: &[u32]) -> bool {
    records
        .iter()
        .any(|r| matches!(r.outcome, Outcome::Answered(p) if pids.contains(&p)))
}

/// Counts (sent, answered, refused, failed) and lists the failures.
pub fn tally(records: &[Record]) -> (usize, usize, usize, Vec<String>) {
    let answered = records
        .iter()
        .filter(|r| matches!(r.outcome, Outcome::Answered(_)))
        .count();
    let refused = records
        .iter()
        .filter(|r| r.outcome == Outcome::Refused)
        .count();
    let failed = records
        .iter()
        .filter_map(|r| match &r.outcome {
            Outcome::Failed(why) => Some(why.clone()),
            _ => None,
        })
        .collect();
    (records.len(), answered, refused, failed)
}
