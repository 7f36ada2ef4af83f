//! Signals are never lost under load: a child process (this test binary, re-executed) runs a
//! weft TCP echo server hammered by its own clients and several `weft::signal` streams (SIGUSR1,
//! SIGUSR2, SIGHUP, SIGWINCH, one stream per kind on each loop thread and one stream of every
//! kind on the caller loop). The parent sends it 10,000 signals of mixed kinds in bursts; after
//! each burst, within the deadline, every stream has seen at least one delivery more, and no
//! stream ever reports more deliveries than were sent (coalescing may merge, never invent).
//!
//! The child reports its counts on stdout each time the parent writes a line on its stdin; it
//! exits when its stdin closes.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use weft::signal::{SignalKind, Signals};
use weft_testkit::DEADLINE;

/// Set in the re-executed child.
const CHILD_ENV: &str = "WEFT_SIGNAL_STRESS_CHILD";
/// Prefix of the child's report lines (libtest prints other lines on the same stdout).
const READY: &str = "stress-ready";
const COUNTS: &str = "stress-counts";

const SIGNALS: usize = 10_000;
const BURST: usize = 100;
/// Echo clients inside the child.
const CLIENTS: usize = 4;

fn kinds() -> [SignalKind; 4] {
    [
        SignalKind::User1,
        SignalKind::User2,
        SignalKind::Hangup,
        SignalKind::from_raw(libc::SIGWINCH).unwrap(),
    ]
}

/// The streams the child runs, as (loop or None for the caller loop, kinds).
fn streams() -> Vec<(Option<usize>, Vec<SignalKind>)> {
    let mut all = Vec::new();
    for lp in 0..2 {
        for kind in kinds() {
            all.push((Some(lp), vec![kind]));
        }
    }
    all.push((None, kinds().to_vec()));
    all
}

/// The child's side: only does something when re-executed by `ten_thousand_signals_...`.
#[test]
fn child_process() {
    if std::env::var_os(CHILD_ENV).is_none() {
        return;
    }
    let rt = weft::rt::Runtime::builder().loops(2).build().unwrap();
    let handle = rt.handle();
    let specs = streams();
    let counts: Arc<Vec<AtomicU64>> =
        Arc::new((0..specs.len()).map(|_| AtomicU64::new(0)).collect());
    let echoed = Arc::new(AtomicU64::new(0));
    rt.block_on(async move {
        // The echo server, on loop 0.
        let listener =
            weft::net::TcpListener::bind("127.0.0.1:0".parse::<std::net::SocketAddr>().unwrap())
                .unwrap();
        let addr = listener.local_addr().unwrap();
        handle
            .spawn_on(0, async move {
                loop {
                    let Ok((stream, _)) = listener.accept().await else {
                        continue;
                    };
                    weft::spawn(async move {
                        let mut buf = [0u8; 4096];
                        while let Ok(n) = stream.read(&mut buf).await {
                            if n == 0 || stream.write_all(&buf[..n]).await.is_err() {
                                break;
                            }
                        }
                    })
                    .detach();
                }
            })
            .detach();
        // The streams.
        let (made_tx, made_rx) = std::sync::mpsc::channel();
        let mut here = None;
        for (i, (lp, kinds)) in specs.into_iter().enumerate() {
            let counts = Arc::clone(&counts);
            match lp {
                Some(lp) => {
                    let made_tx = made_tx.clone();
                    handle
                        .spawn_on(lp, async move {
                            let mut s = Signals::new(&kinds).unwrap();
                            made_tx.send(()).unwrap();
                            loop {
                                s.recv().await.unwrap();
                                counts[i].fetch_add(1, Ordering::SeqCst);
                            }
                        })
                        .detach();
                }
                None => here = Some((i, Signals::new(&kinds).unwrap())),
            }
        }
        drop(made_tx);
        let on_loops = streams().iter().filter(|(lp, _)| lp.is_some()).count();
        for _ in 0..on_loops {
            made_rx
                .recv_timeout(DEADLINE)
                .expect("a stream on a loop thread to exist");
        }
        // The load: clients hammering the echo server from plain threads.
        for _ in 0..CLIENTS {
            let echoed = Arc::clone(&echoed);
            std::thread::spawn(move || {
                let mut c = std::net::TcpStream::connect(addr).unwrap();
                let msg = [7u8; 512];
                let mut back = [0u8; 512];
                loop {
                    if c.write_all(&msg).is_err() || c.read_exact(&mut back).is_err() {
                        return;
                    }
                    echoed.fetch_add(1, Ordering::Relaxed);
                }
            });
        }
        // The reporter: one line of counts per line the parent writes; exit on EOF.
        {
            let counts = Arc::clone(&counts);
            let echoed = Arc::clone(&echoed);
            std::thread::spawn(move || {
                let mut out = std::io::stdout();
                writeln!(out, "{READY}").unwrap();
                out.flush().unwrap();
                for line in std::io::stdin().lock().lines() {
                    if line.is_err() {
                        break;
                    }
                    let list: Vec<String> = counts
                        .iter()
                        .map(|c| c.load(Ordering::SeqCst).to_string())
                        .collect();
                    let e = echoed.load(Ordering::Relaxed);
                    writeln!(out, "{COUNTS} {e} {}", list.join(" ")).unwrap();
                    out.flush().unwrap();
                }
                std::process::exit(0);
            });
        }
        let (i, mut s) = here.unwrap();
        loop {
            s.recv().await.unwrap();
            counts[i].fetch_add(1, Ordering::SeqCst);
        }
    });
}

/// A small xorshift: the mix of kinds need not be cryptographic, only varied per run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

struct Child {
    child: std::process::Child,
    stdin: std::process::ChildStdin,
    lines: std::sync::mpsc::Receiver<String>,
}

impl Child {
    fn line(&mut self, prefix: &str) -> String {
        loop {
            let line = self
                .lines
                .recv_timeout(DEADLINE)
                .unwrap_or_else(|e| panic!("no `{prefix}` line from the child: {e}"));
            // libtest may have begun the line (`test child_process ... `).
            if let Some(at) = line.find(prefix) {
                return line[at..].to_string();
            }
        }
    }

    /// (echo round trips, per-stream counts).
    fn counts(&mut self) -> (u64, Vec<u64>) {
        writeln!(self.stdin, "?").unwrap();
        self.stdin.flush().unwrap();
        let line = self.line(COUNTS);
        let mut fields = line.split(' ').skip(1).map(|f| f.parse::<u64>().unwrap());
        let echoed = fields.next().unwrap();
        (echoed, fields.collect())
    }
}

#[test]
fn ten_thousand_signals_in_bursts_reach_every_stream_under_tcp_load() {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command
        .args([
            "--exact",
            "child_process",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped());
    let mut child = command.spawn().unwrap();
    let stdin = child.stdin.take().unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, lines) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut child = Child {
        child,
        stdin,
        lines,
    };
    child.line(READY);
    let pid = child.child.id() as libc::pid_t;
    let specs = streams();
    let kinds = kinds();
    let mut sent = [0u64; 4];
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    eprintln!("seed {seed}");
    let mut rng = Rng(seed);
    let (echo_start, _) = child.counts();
    let started = Instant::now();
    let mut longest_wait = std::time::Duration::ZERO;
    for burst in 0..SIGNALS / BURST {
        let (_, before) = child.counts();
        // Every kind at least once, the rest at random.
        let mut plan: Vec<usize> = (0..kinds.len()).collect();
        while plan.len() < BURST {
            plan.push((rng.next() % kinds.len() as u64) as usize);
        }
        for i in (1..plan.len()).rev() {
            plan.swap(i, (rng.next() % (i as u64 + 1)) as usize);
        }
        for k in plan {
            // SAFETY: kill has no memory-safety preconditions.
            assert_eq!(unsafe { libc::kill(pid, kinds[k].as_raw()) }, 0);
            sent[k] += 1;
        }
        let waited = Instant::now();
        let deadline = waited + DEADLINE;
        loop {
            let (_, now) = child.counts();
            for (i, (spec, n)) in specs.iter().zip(&now).enumerate() {
                let max: u64 = spec
                    .1
                    .iter()
                    .map(|k| sent[kinds.iter().position(|x| x == k).unwrap()])
                    .sum();
                assert!(
                    *n <= max,
                    "stream {i} {spec:?} reported {n} deliveries, only {max} were sent"
                );
            }
            let missing: Vec<_> = specs
                .iter()
                .zip(before.iter().zip(&now))
                .filter(|(_, (b, n))| n <= b)
                .map(|(spec, _)| spec)
                .collect();
            if missing.is_empty() {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "burst {burst}: streams {missing:?} saw no delivery within {DEADLINE:?} (sent so far {sent:?}, counts {now:?})"
            );
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        longest_wait = longest_wait.max(waited.elapsed());
    }
    let (echo_end, last) = child.counts();
    assert!(
        echo_end > echo_start,
        "the TCP load made no progress during the bursts"
    );
    eprintln!(
        "{SIGNALS} signals in {:?} (sent per kind {sent:?}, seen per stream {last:?}); \
         longest wait for a burst's deliveries {longest_wait:?}; {} echo round trips meanwhile",
        started.elapsed(),
        echo_end - echo_start
    );
    drop(child.stdin);
    let status =
        weft_testkit::within_deadline("the child to exit", move || child.child.wait().unwrap());
    assert!(status.success(), "child: {status}");
}
