//! Runs one child process per line of stdin, a few at a time, until end of input or Ctrl-C:
//! `#[weft::main]`, `weft::process` and `weft::signal::ctrl_c` together.
//!
//! `printf 'echo one\nsleep 1; echo two\nexit 3\n' | cargo run -p weft --example jobs`
//!
//! Each line is run by `sh -c`; its output and exit status are printed when it finishes. On
//! Ctrl-C the running jobs' shells are killed (`kill_on_drop`) and reaped. As with tokio,
//! only the child itself is killed: programs a job's shell started itself live on (a
//! `sh -c 'sleep 100'` may leave its `sleep`); a job that must die whole should `exec`.

use std::io::BufRead;
use std::process::Stdio;
use weft::process::Command;

/// Jobs run at once: enough to overlap slow ones, few enough to read the output.
const CONCURRENT_JOBS: usize = 4;

#[weft::main(current_thread)]
async fn main() -> std::io::Result<()> {
    // stdin is read up front, on the pool: a blocking read must not stall the loop.
    let lines = weft::spawn_blocking(|| std::io::stdin().lock().lines().collect::<Vec<_>>())
        .await
        .map_err(std::io::Error::other)?;
    let ctrl_c = weft::signal::ctrl_c();
    let all_jobs = async {
        let mut lines = lines.into_iter();
        loop {
            let batch: Vec<String> = lines
                .by_ref()
                .take(CONCURRENT_JOBS)
                .collect::<Result<_, _>>()?;
            if batch.is_empty() {
                return Ok::<(), std::io::Error>(());
            }
            let mut running = Vec::new();
            for line in batch {
                let mut command = Command::new("sh");
                command
                    .args(["-c", &line])
                    .stdout(Stdio::piped())
                    .kill_on_drop(true);
                running.push((line, command.spawn()?));
            }
            for (line, child) in running {
                let output = child.wait_with_output().await?;
                print!(
                    "[{}] {line}\n{}",
                    output.status,
                    String::from_utf8_lossy(&output.stdout)
                );
            }
        }
    };
    let all_jobs = std::pin::pin!(all_jobs);
    let ctrl_c = std::pin::pin!(ctrl_c);
    // Whichever finishes first; dropping the other (the jobs) kills what still runs.
    match futures_select(all_jobs, ctrl_c).await {
        Either::Jobs(result) => result,
        Either::Interrupted(result) => {
            result?;
            eprintln!("interrupted: running jobs are killed");
            Ok(())
        }
    }
}

enum Either<A, B> {
    Jobs(A),
    Interrupted(B),
}

/// Polls both futures and returns the first output (a two-armed `select!` without a macro
/// crate).
async fn futures_select<A: std::future::Future, B: std::future::Future>(
    mut a: std::pin::Pin<&mut A>,
    mut b: std::pin::Pin<&mut B>,
) -> Either<A::Output, B::Output> {
    std::future::poll_fn(|cx| {
        if let std::task::Poll::Ready(out) = a.as_mut().poll(cx) {
            return std::task::Poll::Ready(Either::Jobs(out));
        }
        if let std::task::Poll::Ready(out) = b.as_mut().poll(cx) {
            return std::task::Poll::Ready(Either::Interrupted(out));
        }
        std::task::Poll::Pending
    })
    .await
}
