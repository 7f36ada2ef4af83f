//! A spawned child: its id, its pipes, waiting for it, killing it, and what happens when it
//! is dropped.

use super::exit::ExitWatch;
use super::pipe::{self, ChildStderr, ChildStdin, ChildStdout};
use super::reaper;
use std::fmt;
use std::future::poll_fn;
use std::io;
use std::process::{ExitStatus, Output};

/// A child process spawned by [`Command::spawn`](super::Command::spawn).
///
/// Dropping a `Child` does not stop the process (as with std and tokio) unless
/// [`kill_on_drop`](super::Command::kill_on_drop) was set; either way weft reaps it once it
/// exits, so it never stays a zombie (see the [module docs](super)).
pub struct Child {
    /// The child's standard input, if it was [piped](std::process::Stdio::piped).
    pub stdin: Option<ChildStdin>,
    /// The child's standard output, if it was piped.
    pub stdout: Option<ChildStdout>,
    /// The child's standard error, if it was piped.
    pub stderr: Option<ChildStderr>,
    /// Always `Some` until drop (an `Option` so that `Drop` can hand it to the reaper).
    inner: Option<Running>,
}

/// What `Child` needs to wait for and reap the process.
struct Running {
    process: std::process::Child,
    watch: ExitWatch,
    /// Once the child is reaped, its status (std caches it too; this avoids the call).
    status: Option<ExitStatus>,
    kill_on_drop: bool,
}

impl fmt::Debug for Child {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let running = self.running();
        f.debug_struct("Child")
            .field("pid", &running.process.id())
            .field("status", &running.status)
            .field("watch", &running.watch)
            .field("stdin", &self.stdin)
            .field("stdout", &self.stdout)
            .field("stderr", &self.stderr)
            .finish()
    }
}

impl Child {
    /// Wraps a child std just spawned: opens its pidfd and adopts its pipes.
    pub(crate) fn from_spawned(
        mut process: std::process::Child,
        kill_on_drop: bool,
    ) -> io::Result<Child> {
        let adopted = ExitWatch::for_child(process.id())
            .and_then(|watch| Ok((watch, pipe::adopt(&mut process)?)));
        let (watch, (stdin, stdout, stderr)) = match adopted {
            Ok(parts) => parts,
            Err(err) => {
                // Do not leave a process behind that nobody can wait for.
                let _ = process.kill();
                let _ = process.wait();
                return Err(err);
            }
        };
        Ok(Child {
            stdin,
            stdout,
            stderr,
            inner: Some(Running {
                process,
                watch,
                status: None,
                kill_on_drop,
            }),
        })
    }

    fn running(&self) -> &Running {
        self.inner.as_ref().expect("Child used after drop")
    }

    fn running_mut(&mut self) -> &mut Running {
        self.inner.as_mut().expect("Child used after drop")
    }

    /// The child's process id, or `None` once it has been reaped (after a successful
    /// [`wait`](Self::wait) or [`try_wait`](Self::try_wait)), when the number may already
    /// belong to another process.
    pub fn id(&self) -> Option<u32> {
        let running = self.running();
        running.status.is_none().then(|| running.process.id())
    }

    /// Waits for the child to exit and returns its status; later calls return the same
    /// status at once. Does not close the child's stdin: a child that reads its stdin to the
    /// end needs `child.stdin.take()` (dropped) first.
    ///
    /// Must be polled inside a weft loop (any loop: not necessarily the one that spawned it).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: a wait that is dropped reaps nothing; the next one sees the exit.
    pub async fn wait(&mut self) -> io::Result<ExitStatus> {
        let running = self.running_mut();
        if let Some(status) = running.status {
            return Ok(status);
        }
        let status = poll_fn(|cx| running.watch.poll_exit(cx, &mut running.process)).await?;
        running.status = Some(status);
        Ok(status)
    }

    /// Reaps the child if it has exited, without waiting: `Ok(None)` if it still runs.
    pub fn try_wait(&mut self) -> io::Result<Option<ExitStatus>> {
        let running = self.running_mut();
        if running.status.is_none() {
            running.status = running.process.try_wait()?;
        }
        Ok(running.status)
    }

    /// Sends `SIGKILL` without waiting. A child that was already reaped is left alone (its
    /// pid may have been reused) and this returns `Ok`, as std's `Child::kill` does.
    pub fn start_kill(&mut self) -> io::Result<()> {
        let running = self.running_mut();
        if running.status.is_some() {
            return Ok(());
        }
        running.process.kill().map_err(|err| {
            io::Error::new(
                err.kind(),
                format!(
                    "weft::process: killing child {}: {err}",
                    running.process.id()
                ),
            )
        })
    }

    /// Sends `SIGKILL` and waits for the child to exit (so it is reaped when this returns).
    ///
    /// # Cancel safety
    ///
    /// The signal is sent at the first poll; dropping the future after that leaves a dying
    /// child, reaped by a later wait or by drop.
    pub async fn kill(&mut self) -> io::Result<()> {
        self.start_kill()?;
        self.wait().await?;
        Ok(())
    }

    /// Closes the child's stdin, reads its stdout and stderr to the end (concurrently, so a
    /// child that fills one pipe while we wait on the other does not deadlock), then waits for
    /// it. Streams that were not piped come back empty.
    ///
    /// # Cancel safety
    ///
    /// Not cancel safe: output read so far is lost (the child is still reaped by drop).
    pub async fn wait_with_output(mut self) -> io::Result<Output> {
        drop(self.stdin.take());
        let (stdout, stderr) = pipe::collect(self.stdout.take(), self.stderr.take()).await?;
        let status = self.wait().await?;
        Ok(Output {
            status,
            stdout,
            stderr,
        })
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        let Some(mut running) = self.inner.take() else {
            return;
        };
        if running.status.is_some() {
            return;
        }
        if running.kill_on_drop {
            // ESRCH cannot happen (not reaped yet); any other failure leaves a live child to
            // the reaper, which is all we could do anyway.
            let _ = running.process.kill();
        }
        match running.process.try_wait() {
            Ok(Some(_)) | Err(_) => {}
            Ok(None) => reaper::adopt(running.process, running.watch),
        }
    }
}
