//! Shared by the `cluster_*` tests: a small test runner, the cluster program the tests start
//! (the test binary re-executes itself as supervisor and workers), and client-side helpers.
//!
//! The test binaries have `harness = false`: `main` runs [`program`] when the environment says
//! this process is the cluster program (the supervisor, then every worker it starts by
//! executing `/proc/self/exe` again), and the tests otherwise (with weft_testkit's runner).
//!
//! # The cluster program
//!
//! Supervisor: binds `127.0.0.1:0`, prints `LISTEN <addr>`, then one line per cluster event on
//! stdout (`STARTED slot pid restart`, `READY slot pid`, `EXITED slot pid exit expected`,
//! `RESTARTING slot ms`, `GAVEUP slot reason`, `RELOADED n`, `SCALED n`, `STOPPING graceful`,
//! `STOPPED reason`, and the IPC test lines).
//!
//! Worker: serves one request per connection, a line in, a line out: `PID` → its pid;
//! `SLEEP ms` → its pid after an asynchronous sleep; `FATAL` → exits with the fatal code;
//! `CRASH` → aborts. On stop it stops accepting (after taking what is queued), answers what is
//! in flight, then exits.
#![allow(dead_code)]

use serde::{Deserialize, Serialize};
use std::cell::{Cell, RefCell};
use std::collections::HashSet;
use std::future::poll_fn;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Command, Stdio};
use std::rc::Rc;
use std::task::{Poll, Waker};
use std::time::Duration;
use weft::cluster::{self, ClusterEvent, Role, StopCause, Supervisor, WorkerEvent, WorkerLink};
// Each cluster test binary uses some of these, none uses all.
#[allow(unused_imports)]
pub use weft_testkit::{send_signal, tally, wait_until, Cluster, Load, Outcome, DEADLINE};
use weft_testkit::{ServeChild, Watch};

/// Set (to anything) in the environment of the cluster program.
const PROGRAM: &str = "WEFT_TEST_CLUSTER";
/// Number of workers the supervisor starts.
const WORKERS: &str = "WEFT_TEST_WORKERS";
/// `serve` (default), `ipc` (round trips and broadcast) or `stall` (backpressure).
const MODE: &str = "WEFT_TEST_MODE";
/// A slot whose worker exits with code [`CRASH_CODE`] as soon as it starts.
const CRASH_SLOT: &str = "WEFT_TEST_CRASH_SLOT";
/// Drain timeout given to the supervisor, in ms.
const DRAIN_MS: &str = "WEFT_TEST_DRAIN_MS";
/// A `SLEEP` at least this long is announced on stdout (`BUSY pid ms`), so that a test knows
/// the request is in flight.
const LONG_SLEEP_MS: u64 = 1000;
/// Exit code of a crashing worker (any code other than 0 and the fatal one).
const CRASH_CODE: i32 = 3;
/// Payload of each backpressure message: 4 KiB.
const STALL_BLOB_BYTES: usize = 4096;
/// A send that has not completed after this long is taken as blocked by backpressure (it is
/// an observation for the report; the test's assertion is the upper bound on messages queued).
const STALL_BLOCKED_AFTER: Duration = Duration::from_millis(500);

// ----- the runner -----

/// Runs the cluster program if this process is one, otherwise the tests named on the command
/// line (all if none), as [`weft_testkit::run_tests`] does.
pub fn main(tests: &[(&str, fn())]) {
    if std::env::var_os(PROGRAM).is_some() {
        std::process::exit(program());
    }
    weft_testkit::run_tests(tests);
}

// ----- the cluster program -----

/// Supervisor → worker messages.
#[derive(Debug, Serialize, Deserialize)]
enum Down {
    Ping(u64),
    Hello(String),
    Stall,
    Blob(Vec<u8>),
    Done,
}

/// Worker → supervisor messages.
#[derive(Debug, Serialize, Deserialize)]
enum Up {
    Pong { seq: u64, slot: usize, pid: u32 },
    HelloAck { token: String, slot: usize },
    Received { blobs: usize },
}

fn env_num<T: std::str::FromStr>(name: &str) -> Option<T> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

fn program() -> i32 {
    let outcome = match cluster::role() {
        Ok(Role::Supervisor) => supervisor(),
        Ok(Role::Worker(k)) => worker(k),
        Err(e) => Err(e),
    };
    match outcome {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("cluster test program (pid {}): {e}", std::process::id());
            1
        }
    }
}

fn say(line: String) {
    let mut out = io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

fn supervisor() -> io::Result<()> {
    let rt = weft::rt::Runtime::builder().current_thread().build()?;
    rt.block_on(async {
        let listener = cluster::bind("127.0.0.1:0".parse().unwrap())?;
        say(format!("LISTEN {}", listener.local_addr()?));
        let workers: usize = env_num(WORKERS).unwrap_or(2);
        let mut builder = Supervisor::builder().workers(workers).listener(listener);
        if let Some(ms) = env_num(DRAIN_MS) {
            builder = builder.drain_timeout(Duration::from_millis(ms));
        }
        let mut supervisor = builder.build::<Down, Up>()?;
        let control = supervisor.control();
        let mode = std::env::var(MODE).unwrap_or_else(|_| "serve".into());
        let mut ready = HashSet::new();
        let mut started_script = false;
        let mut acks = 0;
        while let Some(event) = supervisor.next().await {
            match event {
                ClusterEvent::Started { worker, restart } => {
                    say(format!("STARTED {} {} {restart}", worker.slot, worker.pid))
                }
                ClusterEvent::Ready { worker } => {
                    say(format!("READY {} {}", worker.slot, worker.pid));
                    ready.insert(worker.slot);
                    if ready.len() == workers && !started_script {
                        started_script = true;
                        match mode.as_str() {
                            "ipc" => {
                                let control = control.clone();
                                weft::spawn_local(async move {
                                    for slot in 0..workers {
                                        control
                                            .send(slot, Down::Ping(slot as u64 * 10))
                                            .await
                                            .unwrap();
                                    }
                                    let n =
                                        control.broadcast(Down::Hello("tok".into())).await.unwrap();
                                    say(format!("BROADCAST sent={n}"));
                                })
                                .detach();
                            }
                            "stall" => {
                                let control = control.clone();
                                weft::spawn_local(stall_script(control)).detach();
                            }
                            _ => {}
                        }
                    }
                }
                ClusterEvent::Message { worker, message } => match message {
                    Up::Pong { seq, slot, pid } => {
                        assert_eq!((slot, pid), (worker.slot, worker.pid));
                        say(format!("PONG {slot} {pid} {seq}"));
                    }
                    Up::HelloAck { token, slot } => {
                        acks += 1;
                        say(format!("HELLOACK {slot} {token} total={acks}"));
                    }
                    Up::Received { blobs } => say(format!("DRAINED {blobs}")),
                },
                ClusterEvent::Exited {
                    worker,
                    exit,
                    expected,
                } => say(format!(
                    "EXITED {} {} {} {expected}",
                    worker.slot,
                    worker.pid,
                    match exit {
                        cluster::Exit::Code(c) => format!("code={c}"),
                        cluster::Exit::Signal(s) => format!("signal={s}"),
                        cluster::Exit::Unknown => "unknown".into(),
                    }
                )),
                ClusterEvent::Restarting { slot, delay } => {
                    say(format!("RESTARTING {slot} {}", delay.as_millis()))
                }
                ClusterEvent::GaveUp { slot, reason } => say(format!(
                    "GAVEUP {slot} {}",
                    match reason {
                        cluster::GiveUpReason::Fatal => "fatal".to_string(),
                        cluster::GiveUpReason::CrashLoop { deaths, .. } =>
                            format!("crashloop deaths={deaths}"),
                        other => format!("{other}"),
                    }
                )),
                ClusterEvent::Reloaded { workers } => say(format!("RELOADED {workers}")),
                ClusterEvent::ReloadFailed { reason } => say(format!("RELOADFAILED {reason}")),
                ClusterEvent::Scaled { workers } => say(format!("SCALED {workers}")),
                ClusterEvent::Stopping { graceful } => say(format!("STOPPING {graceful}")),
                ClusterEvent::Stopped { reason } => say(format!("STOPPED {reason:?}")),
                other => say(format!("OTHER {other:?}")),
            }
        }
        Ok(())
    })
}

/// Backpressure: worker 0 stops reading its link; the supervisor sends until `send` waits,
/// reports how many went through, wakes the worker with SIGUSR1 and checks all arrive.
async fn stall_script(control: cluster::SupervisorControl<Down>) {
    control.send(0, Down::Stall).await.unwrap();
    let mut sent = 0usize;
    loop {
        let send = control.send(0, Down::Blob(vec![7; STALL_BLOB_BYTES]));
        let mut send = std::pin::pin!(send);
        match weft::time::timeout(STALL_BLOCKED_AFTER, send.as_mut()).await {
            Ok(result) => {
                result.unwrap();
                sent += 1;
            }
            Err(_) => {
                say(format!(
                    "BLOCKED after={sent} blob_bytes={STALL_BLOB_BYTES}"
                ));
                say("RESUME".to_string());
                // The test sends SIGUSR1 to worker 0 now; the waiting send then completes.
                send.await.unwrap();
                sent += 1;
                break;
            }
        }
        if sent > 100_000 {
            say("NEVER BLOCKED".to_string());
            return;
        }
    }
    control.send(0, Down::Done).await.unwrap();
    say(format!("SENT {sent}"));
}

/// Requests in progress in this worker, and who waits for them to end.
#[derive(Default)]
struct InFlight {
    count: Cell<usize>,
    waiter: RefCell<Option<Waker>>,
}

impl InFlight {
    fn enter(&self) {
        self.count.set(self.count.get() + 1);
    }
    fn leave(&self) {
        self.count.set(self.count.get() - 1);
        if self.count.get() == 0 {
            if let Some(w) = self.waiter.borrow_mut().take() {
                w.wake();
            }
        }
    }
    async fn idle(&self) {
        poll_fn(|cx| {
            if self.count.get() == 0 {
                return Poll::Ready(());
            }
            *self.waiter.borrow_mut() = Some(cx.waker().clone());
            Poll::Pending
        })
        .await
    }
}

fn worker(slot: usize) -> io::Result<()> {
    if env_num::<usize>(CRASH_SLOT) == Some(slot) {
        std::process::exit(CRASH_CODE);
    }
    let rt = weft::rt::Runtime::builder().current_thread().build()?;
    rt.block_on(async {
        let std_listener = cluster::listeners()?.remove(0);
        let listener = Rc::new(weft::net::TcpListener::from_std(std_listener)?);
        let link = WorkerLink::<Up, Down>::connect()?;
        let drain = link.drain_timeout();
        let (mut tx, mut rx) = link.split();
        let inflight = Rc::new(InFlight::default());
        let stopping = Rc::new(Cell::new(false));
        let accept_waker: Rc<RefCell<Option<Waker>>> = Rc::default();
        let acceptor = {
            let (listener, inflight, stopping, accept_waker) = (
                listener.clone(),
                inflight.clone(),
                stopping.clone(),
                accept_waker.clone(),
            );
            weft::spawn_local(async move {
                loop {
                    let accepted = poll_fn(|cx| {
                        if stopping.get() {
                            return Poll::Ready(None);
                        }
                        *accept_waker.borrow_mut() = Some(cx.waker().clone());
                        listener.poll_accept(cx).map(Some)
                    })
                    .await;
                    match accepted {
                        None => break,
                        Some(Ok((stream, _))) => serve_connection(stream, &inflight),
                        Some(Err(e)) => eprintln!("worker accept: {e}"),
                    }
                }
            })
        };
        tx.ready().await.map_err(io::Error::other)?;
        let mut blobs = 0usize;
        let cause = loop {
            match rx.recv().await {
                Ok(WorkerEvent::Message(Down::Ping(seq))) => {
                    let pid = std::process::id();
                    tx.send(Up::Pong { seq, slot, pid })
                        .await
                        .map_err(io::Error::other)?;
                }
                Ok(WorkerEvent::Message(Down::Hello(token))) => {
                    tx.send(Up::HelloAck { token, slot })
                        .await
                        .map_err(io::Error::other)?;
                }
                Ok(WorkerEvent::Message(Down::Stall)) => {
                    // Stop reading the link until SIGUSR1.
                    let mut usr1 = weft::signal::signal(weft::signal::SignalKind::User1)?;
                    say(format!("STALLED {slot} {}", std::process::id()));
                    usr1.recv().await?;
                }
                Ok(WorkerEvent::Message(Down::Blob(_))) => blobs += 1,
                Ok(WorkerEvent::Message(Down::Done)) => {
                    tx.send(Up::Received { blobs })
                        .await
                        .map_err(io::Error::other)?;
                }
                Ok(WorkerEvent::Stop(cause)) => break cause,
                Err(e) => return Err(io::Error::other(e)),
            }
        };
        // Stop accepting, but first take what is already queued: those clients are in flight.
        stopping.set(true);
        if let Some(w) = accept_waker.borrow_mut().take() {
            w.wake();
        }
        let _ = acceptor.await;
        while let Poll::Ready(Ok((stream, _))) =
            poll_fn(|cx| Poll::Ready(listener.poll_accept(cx))).await
        {
            serve_connection(stream, &inflight);
        }
        drop(listener);
        if weft::time::timeout(drain, inflight.idle()).await.is_err() {
            eprintln!(
                "worker {slot}: drain timeout with {} in flight",
                inflight.count.get()
            );
        }
        if cause == StopCause::SupervisorGone {
            eprintln!(
                "worker {slot} (pid {}): supervisor gone; exiting",
                std::process::id()
            );
        }
        Ok(())
    })
}

fn serve_connection(stream: weft::net::TcpStream, inflight: &Rc<InFlight>) {
    inflight.enter();
    let inflight = inflight.clone();
    weft::spawn_local(async move {
        let _ = answer(&stream).await;
        inflight.leave();
    })
    .detach();
}

async fn answer(stream: &weft::net::TcpStream) -> io::Result<()> {
    let mut line = Vec::new();
    let mut buf = [0u8; 256];
    while !line.contains(&b'\n') {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        line.extend_from_slice(&buf[..n]);
    }
    let line = String::from_utf8_lossy(&line).trim().to_string();
    let pid = std::process::id();
    let mut words = line.split_whitespace();
    match words.next() {
        Some("PID") => {}
        Some("SLEEP") => {
            let ms: u64 = words.next().and_then(|w| w.parse().ok()).unwrap_or(0);
            if ms >= LONG_SLEEP_MS {
                say(format!("BUSY {pid} {ms}"));
            }
            weft::time::sleep(Duration::from_millis(ms)).await;
        }
        Some("FATAL") => std::process::exit(cluster::FATAL_EXIT_CODE),
        Some("CRASH") => std::process::abort(),
        _ => {
            stream.write_all(b"ERR unknown command\n").await?;
            return Ok(());
        }
    }
    stream.write_all(format!("{pid}\n").as_bytes()).await
}

// ----- the test side -----

/// Starts the cluster program's supervisor with `workers` workers and extra environment
/// variables; returns once it printed its `LISTEN` line. Its `READY slot pid` lines are the
/// workers' ready lines.
pub fn start_cluster(workers: usize, envs: &[(&str, String)]) -> Cluster {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command
        .env(PROGRAM, "1")
        .env(WORKERS, workers.to_string())
        .stdin(Stdio::null());
    for (k, v) in envs {
        command.env(k, v);
    }
    let supervisor = ServeChild::spawn(command, Watch::Stdout, "LISTEN ");
    Cluster::new(supervisor, |line| parse_slot_pid(line, "READY"))
}

/// Parses `"<prefix> <slot> <pid> ..."`.
pub fn parse_slot_pid(line: &str, prefix: &str) -> Option<(usize, u32)> {
    let mut words = line.strip_prefix(prefix)?.split_whitespace();
    Some((words.next()?.parse().ok()?, words.next()?.parse().ok()?))
}

/// Whether process `pid` has ended (gone, or a zombie waiting to be reaped).
pub fn process_gone(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_some_and(|state| state == "Z" || state == "X"),
    }
}

/// Sends one request (`PID`, `SLEEP 20`, ...) on a new connection.
pub fn request(addr: SocketAddr, command: &str) -> Outcome {
    let stream = match TcpStream::connect_timeout(&addr, DEADLINE) {
        Ok(s) => s,
        Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => return Outcome::Refused,
        Err(e) => return Outcome::Failed(format!("connect: {e}")),
    };
    let run = || -> io::Result<u32> {
        stream.set_read_timeout(Some(DEADLINE))?;
        (&stream).write_all(format!("{command}\n").as_bytes())?;
        let mut answer = String::new();
        (&stream).read_to_string(&mut answer)?;
        answer
            .trim()
            .parse()
            .map_err(|_| io::Error::other(format!("bad answer {answer:?}")))
    };
    match run() {
        Ok(pid) => Outcome::Answered(pid),
        Err(e) => Outcome::Failed(e.to_string()),
    }
}

/// A bounded load (see [`Load`]): `clients` threads sending `command` on new connections.
pub fn load(addr: SocketAddr, clients: usize, command: &'static str) -> Load {
    Load::start(clients, DEADLINE, move || request(addr, command))
}
