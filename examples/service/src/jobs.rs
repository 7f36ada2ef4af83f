//! The background job queue: a `weft::sync::mpsc` channel, and a worker that runs one child
//! process per job (`weft::process::Command`), with the job's row in PostgreSQL as its record.
//!
//! - **Submit.** `POST /jobs` reserves a slot in the bounded channel first (a full queue is a
//!   503 at once, nothing is written), then inserts the row (`queued`) and sends its id and
//!   spec through the reserved slot.
//! - **Run.** The worker receives jobs in order and runs up to `job_workers` at a time (a
//!   `Semaphore` of that many permits, each job a task holding one). A job marks its row
//!   `running`, spawns its program with piped stdio, writes the input to its stdin and closes
//!   it, reads stdout and stderr concurrently (each kept up to [`OUTPUT_CAP`] bytes, the rest
//!   drained and dropped so the child never blocks on a full pipe), waits for its exit, and
//!   records `succeeded` or `failed` with the exit code and output. A job over its time limit
//!   is killed (`timed_out`); one whose program cannot start is `failed` with the reason.
//! - **Shutdown.** [`Jobs::shutdown`] sends a stop message behind every job already queued,
//!   so the worker runs them all, then waits for every permit (every running job ended).
//!   The service calls it once the HTTP side has drained: a request in flight at the signal
//!   can still submit a job, and that job runs too.

use std::process::{ExitStatus, Stdio};
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use weft::process::{ChildStdin, Command};
use weft::sync::{mpsc, Semaphore};

use crate::db::{DbError, Pool};

/// Jobs that may wait in the channel.
pub const QUEUE_CAPACITY: usize = 64;

/// Bytes of a job's stdout (and of its stderr) that are kept.
pub const OUTPUT_CAP: usize = 64 * 1024;

/// What a job runs, as `POST /jobs` takes it.
#[derive(Clone, Debug, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum JobSpec {
    /// `sha256sum` of `input` (given on its stdin).
    Sha256 {
        /// The bytes to hash, as text.
        input: String,
    },
    /// `sh -c script`, `input` on its stdin. Only with `--allow-shell-jobs`.
    Shell {
        /// The script.
        script: String,
        /// Its stdin.
        #[serde(default)]
        input: String,
    },
}

impl JobSpec {
    /// The kind's name, as stored.
    pub fn kind(&self) -> &'static str {
        match self {
            JobSpec::Sha256 { .. } => "sha256",
            JobSpec::Shell { .. } => "shell",
        }
    }

    fn command(&self) -> Command {
        match self {
            JobSpec::Sha256 { .. } => Command::new("sha256sum"),
            JobSpec::Shell { script, .. } => {
                let mut command = Command::new("sh");
                command.arg("-c").arg(script);
                command
            }
        }
    }

    fn input(&self) -> &str {
        match self {
            JobSpec::Sha256 { input } | JobSpec::Shell { input, .. } => input,
        }
    }

    /// The spec as stored in the row (for the record; jobs are not re-run from it).
    fn describe(&self) -> String {
        match self {
            JobSpec::Sha256 { input } => format!("sha256sum of {} bytes", input.len()),
            JobSpec::Shell { script, .. } => format!("sh -c {script:?}"),
        }
    }
}

/// Why a job was not accepted.
#[derive(Debug)]
pub enum SubmitError {
    /// [`QUEUE_CAPACITY`] jobs are already waiting.
    QueueFull,
    /// The queue has stopped (the service is shutting down).
    Stopped,
    /// Recording the job failed.
    Db(DbError),
}

enum Msg {
    Run(i64, JobSpec),
    Stop,
}

/// The queue's sending side and its worker.
pub struct Jobs {
    tx: mpsc::Sender<Msg>,
    worker: std::sync::Mutex<Option<weft::JoinHandle<()>>>,
}

impl Jobs {
    /// Starts the worker on the current loop: up to `workers` jobs at once, each killed after
    /// `limit`.
    pub fn start(pool: Pool, workers: usize, limit: Duration) -> Jobs {
        let (tx, rx) = mpsc::channel(QUEUE_CAPACITY);
        let worker = weft::spawn(worker(rx, pool, workers, limit));
        Jobs {
            tx,
            worker: std::sync::Mutex::new(Some(worker)),
        }
    }

    /// Records a job and queues it; its id.
    ///
    /// # Cancel safety
    ///
    /// Not cancel safe: dropped after the insert, the row stays `queued` and the job never
    /// runs (the next start marks it `interrupted`).
    pub async fn submit(&self, pool: &Pool, spec: JobSpec) -> Result<i64, SubmitError> {
        let permit = self.tx.try_reserve().map_err(|e| match e {
            mpsc::error::TrySendError::Full(()) => SubmitError::QueueFull,
            mpsc::error::TrySendError::Closed(()) => SubmitError::Stopped,
        })?;
        let conn = pool.get().await.map_err(SubmitError::Db)?;
        let row = conn
            .query_one(
                "INSERT INTO jobs (kind, spec) VALUES ($1, $2) RETURNING id",
                &[&spec.kind(), &spec.describe()],
            )
            .await
            .map_err(|e| SubmitError::Db(e.into()))?;
        let id: i64 = row.get(0);
        permit.send(Msg::Run(id, spec));
        Ok(id)
    }

    /// Jobs waiting in the channel (not yet picked up by the worker).
    pub fn waiting(&self) -> usize {
        self.tx.max_capacity() - self.tx.capacity()
    }

    /// Runs every job already queued, waits for every running job, and stops the worker.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe in that nothing is lost: the stop message is sent or not; a later call
    /// sends another and waits again.
    pub async fn shutdown(&self) {
        let _ = self.tx.send(Msg::Stop).await;
        let worker = self.worker.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(worker) = worker {
            if let Err(error) = worker.await {
                tracing::error!(%error, "the job worker failed");
            }
        }
    }
}

async fn worker(mut rx: mpsc::Receiver<Msg>, pool: Pool, workers: usize, limit: Duration) {
    let slots = Arc::new(Semaphore::new(workers));
    while let Some(msg) = rx.recv().await {
        let (id, spec) = match msg {
            Msg::Run(id, spec) => (id, spec),
            Msg::Stop => break,
        };
        let Ok(slot) = slots.clone().acquire_owned().await else {
            break;
        };
        let pool = pool.clone();
        weft::spawn(async move {
            run(&pool, id, spec, limit).await;
            drop(slot);
        })
        .detach();
    }
    // Every permit back: every job that started has ended.
    let _ = slots.acquire_many(workers as u32).await;
    tracing::info!("job worker stopped");
}

/// How a job ended.
struct Outcome {
    status: &'static str,
    exit_code: Option<i32>,
    stdout: String,
    stderr: String,
}

async fn run(pool: &Pool, id: i64, spec: JobSpec, limit: Duration) {
    let started = "UPDATE jobs SET status = 'running', started_at = now() WHERE id = $1";
    if let Err(error) = execute_sql(pool, started, &[&id]).await {
        tracing::error!(id, %error, "marking the job running");
    }
    tracing::info!(id, kind = spec.kind(), "job started");
    let outcome = execute(&spec, limit).await;
    tracing::info!(id, status = outcome.status, code = ?outcome.exit_code, "job finished");
    let finished = "UPDATE jobs SET status = $2, exit_code = $3, stdout = $4, stderr = $5,
                        finished_at = now() WHERE id = $1";
    let params: [&(dyn tokio_postgres::types::ToSql + Sync); 5] = [
        &id,
        &outcome.status,
        &outcome.exit_code,
        &outcome.stdout,
        &outcome.stderr,
    ];
    if let Err(error) = execute_sql(pool, finished, &params).await {
        tracing::error!(id, %error, "recording the job's outcome");
    }
}

/// Runs one statement on a pooled connection.
async fn execute_sql(
    pool: &Pool,
    sql: &str,
    params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
) -> Result<u64, DbError> {
    let conn = pool.get().await?;
    Ok(conn.execute(sql, params).await?)
}

/// Spawns the job's process and runs it to its end or its time limit.
async fn execute(spec: &JobSpec, limit: Duration) -> Outcome {
    let mut command = spec.command();
    command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(error) => {
            return Outcome {
                status: "failed",
                exit_code: None,
                stdout: String::new(),
                stderr: format!("could not start {}: {error}", spec.kind()),
            }
        }
    };
    let (stdin, stdout, stderr) = (child.stdin.take(), child.stdout.take(), child.stderr.take());
    let input = spec.input().as_bytes().to_vec();
    let io = async move {
        let ((), out, err) =
            futures_util::future::join3(write_input(stdin, input), capped(stdout), capped(stderr))
                .await;
        (out, err)
    };
    let finished = weft::time::timeout(limit, async {
        let (out, err) = io.await;
        (child.wait().await, out, err)
    })
    .await;
    match finished {
        Ok((Ok(status), out, err)) => Outcome {
            status: if status.success() {
                "succeeded"
            } else {
                "failed"
            },
            exit_code: status.code(),
            stdout: out,
            stderr: with_signal(err, status),
        },
        Ok((Err(error), out, err)) => Outcome {
            status: "failed",
            exit_code: None,
            stdout: out,
            stderr: format!("{err}waiting for the process: {error}"),
        },
        Err(_) => {
            let _ = child.kill().await;
            Outcome {
                status: "timed_out",
                exit_code: None,
                stdout: String::new(),
                stderr: format!("killed after the time limit of {limit:?}"),
            }
        }
    }
}

/// Notes a death by signal in the stderr text (no exit code then).
fn with_signal(mut err: String, status: ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    if let Some(signal) = status.signal() {
        err.push_str(&format!("killed by signal {signal}\n"));
    }
    err
}

/// Writes the input and closes stdin; a child that exits without reading it all is not an
/// error of the job's (its exit status tells).
async fn write_input(stdin: Option<ChildStdin>, input: Vec<u8>) {
    if let Some(stdin) = stdin {
        if let Err(error) = stdin.write_all(&input).await {
            if error.kind() != std::io::ErrorKind::BrokenPipe {
                tracing::warn!(%error, "writing a job's input");
            }
        }
    }
}

/// Reads `pipe` to end of stream, keeping the first [`OUTPUT_CAP`] bytes (as UTF-8, invalid
/// sequences replaced) and noting how many more were dropped.
async fn capped<R: futures_io::AsyncRead + Unpin>(pipe: Option<R>) -> String {
    use futures_util::AsyncReadExt;
    let Some(mut pipe) = pipe else {
        return String::new();
    };
    let mut kept = Vec::new();
    let mut dropped = 0usize;
    let mut buf = vec![0u8; 8192];
    loop {
        let n = match pipe.read(&mut buf).await {
            Ok(0) => break,
            Ok(n) => n,
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(error) => {
                tracing::warn!(%error, "reading a job's output");
                break;
            }
        };
        let room = OUTPUT_CAP.saturating_sub(kept.len());
        kept.extend_from_slice(&buf[..n.min(room)]);
        dropped += n.saturating_sub(room);
    }
    let mut text = String::from_utf8_lossy(&kept).into_owned();
    if dropped > 0 {
        text.push_str(&format!("\n[{dropped} more bytes dropped]\n"));
    }
    text
}
