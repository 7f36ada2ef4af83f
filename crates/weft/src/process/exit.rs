//! Waiting for a child to exit without blocking a loop: a pidfd in the reactor, or `SIGCHLD`.
//!
//! # With a pidfd (Linux 5.3 and later)
//!
//! Right after the spawn we open a pidfd for the child (the child is not reaped yet, so its pid
//! cannot have been reused). A pidfd becomes readable when its process exits, so waiting is a
//! read-readiness wait in the reactor, like a socket's: `wait` tries a non-blocking reap
//! (`waitpid(WNOHANG)`, through std's `Child::try_wait`), and if the child still runs, it
//! sleeps until epoll reports the pidfd readable. No thread, no signal handler.
//!
//! The pidfd (or the `SIGCHLD` stream below) is registered with the loop that polls the wait,
//! and registered again if a later wait runs on another loop (another runtime, say, after the first one was dropped): a wait
//! never depends on a loop other than its own.
//!
//! # Without (older kernels, sandboxes that refuse the syscall)
//!
//! If `pidfd_open` fails with `ENOSYS` or `EPERM`, the wait subscribes to `SIGCHLD` through
//! [`crate::signal`] (whose handler only writes to a self-pipe, so it is safe whatever threads
//! exist) and tries the non-blocking reap after every `SIGCHLD`. The stream is created before
//! the first reap attempt, so an exit between the attempt and the sleep still wakes it.
//! (`SIGCHLD` for *any* child wakes every waiter; each just tries its own `waitpid` again.)
//!
//! Only `waitpid` on the child's own pid is ever called, never `waitpid(-1)`, so children
//! spawned by other code (std, other libraries) are never reaped behind their backs.

use crate::rt;
use crate::rt::reactor::{Direction, Registration};
use crate::signal::{SignalKind, Signals};
use crate::sys;
use std::fmt;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::process::ExitStatus;
use std::task::{Context, Poll};

/// How a child's exit is awaited.
pub(crate) enum ExitWatch {
    /// Field order: the registration is dropped before the pidfd is closed.
    Pidfd {
        /// `(loop id, registration on that loop)`, made by the first wait on a loop.
        registered: Option<(usize, Registration)>,
        fd: OwnedFd,
    },
    /// No pidfds on this system: `(loop id, SIGCHLD stream on that loop)`, made by the first
    /// wait on a loop.
    Sigchld(Option<(usize, Signals)>),
}

impl fmt::Debug for ExitWatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExitWatch::Pidfd { fd, .. } => f.debug_tuple("Pidfd").field(&fd.as_raw_fd()).finish(),
            ExitWatch::Sigchld(_) => f.write_str("Sigchld"),
        }
    }
}

impl ExitWatch {
    /// The watch for a child just spawned: a pidfd when the system has them.
    pub(crate) fn for_child(pid: u32) -> io::Result<ExitWatch> {
        match sys::pidfd::open(pid) {
            Ok(fd) => Ok(ExitWatch::Pidfd {
                registered: None,
                fd,
            }),
            Err(err) if sys::pidfd::is_unsupported(&err) => {
                tracing::debug!(error = %err, "no pidfd; waiting for children through SIGCHLD");
                Ok(ExitWatch::sigchld())
            }
            Err(err) => Err(io::Error::new(
                err.kind(),
                format!("weft::process: pidfd_open for child {pid}: {err}"),
            )),
        }
    }

    /// The `SIGCHLD` watch (what systems without pidfds get; tests use it directly).
    pub(crate) fn sigchld() -> ExitWatch {
        ExitWatch::Sigchld(None)
    }

    /// Polls for `child`'s exit, reaping it when it has exited.
    pub(crate) fn poll_exit(
        &mut self,
        cx: &mut Context<'_>,
        child: &mut std::process::Child,
    ) -> Poll<io::Result<ExitStatus>> {
        let reap = |child: &mut std::process::Child| match child.try_wait() {
            Ok(Some(status)) => Ok(status),
            Ok(None) => Err(io::Error::from(io::ErrorKind::WouldBlock)),
            Err(err) => Err(err),
        };
        match self {
            ExitWatch::Pidfd { registered, fd } => {
                let registration = match registration_here(registered, fd) {
                    Ok(registration) => registration,
                    Err(err) => return Poll::Ready(Err(err)),
                };
                registration.poll_io(cx, Direction::Read, || reap(child))
            }
            ExitWatch::Sigchld(stream) => {
                let here = match current_loop() {
                    Ok(here) => here,
                    Err(err) => return Poll::Ready(Err(err)),
                };
                if stream.as_ref().map(|(id, _)| *id) != Some(here) {
                    // Made before the first reap attempt on this loop: a SIGCHLD after that
                    // attempt is reported by the stream.
                    match Signals::new(&[SignalKind::Child]) {
                        Ok(signals) => *stream = Some((here, signals)),
                        Err(err) => return Poll::Ready(Err(err)),
                    }
                }
                let signals = &mut stream.as_mut().expect("stream was just made").1;
                loop {
                    match reap(child) {
                        Err(err) if err.kind() == io::ErrorKind::WouldBlock => {}
                        done => return Poll::Ready(done),
                    }
                    match signals.poll_recv(cx) {
                        Poll::Ready(Ok(_)) => continue,
                        Poll::Ready(Err(err)) => return Poll::Ready(Err(err)),
                        Poll::Pending => return Poll::Pending,
                    }
                }
            }
        }
    }
}

/// The id of the loop running on this thread; an error outside any loop.
fn current_loop() -> io::Result<usize> {
    rt::current_shared().map(|shared| shared.id).ok_or_else(|| {
        io::Error::other(
            "weft::process: waiting for a child must happen inside a weft loop \
                 (in Runtime::block_on or a spawned task)",
        )
    })
}

/// The pidfd's registration with the current loop, made (or moved here) if needed.
fn registration_here<'a>(
    registered: &'a mut Option<(usize, Registration)>,
    fd: &OwnedFd,
) -> io::Result<&'a Registration> {
    let here = current_loop()?;
    if registered.as_ref().map(|(id, _)| *id) != Some(here) {
        // Deregister from the old loop before registering with this one.
        *registered = None;
        *registered = Some((here, Registration::new(fd.as_raw_fd())?));
    }
    Ok(&registered.as_ref().expect("registered just above").1)
}

#[cfg(test)]
mod tests {
    use super::ExitWatch;
    use std::future::poll_fn;
    use std::time::Duration;

    /// Generous bound for a child that sleeps 0.1 s, on a loaded machine.
    const DEADLINE: Duration = Duration::from_secs(30);

    /// The fallback for systems without pidfds: waiting through `SIGCHLD` reaps the child.
    #[test]
    fn sigchld_fallback_reaps_the_child() {
        let rt = crate::rt::Runtime::builder()
            .current_thread()
            .build()
            .unwrap();
        rt.block_on(async {
            let mut child = std::process::Command::new("sh")
                .args(["-c", "sleep 0.1; exit 6"])
                .spawn()
                .unwrap();
            let pid = child.id();
            let mut watch = ExitWatch::sigchld();
            let wait = poll_fn(|cx| watch.poll_exit(cx, &mut child));
            let status = crate::time::timeout(DEADLINE, wait)
                .await
                .expect("SIGCHLD woke the wait before the deadline")
                .unwrap();
            assert_eq!(status.code(), Some(6));
            assert!(!std::path::Path::new(&format!("/proc/{pid}")).exists());
        });
    }

    /// A `SIGCHLD` wait begun on one runtime and finished on another, after the first is gone.
    #[test]
    fn sigchld_fallback_moves_to_the_waiting_loop() {
        let mut child = std::process::Command::new("sh")
            .args(["-c", "sleep 0.2; exit 3"])
            .spawn()
            .unwrap();
        let mut watch = ExitWatch::sigchld();
        let first = crate::rt::Runtime::builder()
            .current_thread()
            .build()
            .unwrap();
        first.block_on(async {
            let wait = poll_fn(|cx| watch.poll_exit(cx, &mut child));
            let abandoned = crate::time::timeout(Duration::from_millis(10), wait).await;
            assert!(abandoned.is_err(), "the child still sleeps");
        });
        drop(first);
        let second = crate::rt::Runtime::builder()
            .current_thread()
            .build()
            .unwrap();
        let status = second.block_on(async {
            let wait = poll_fn(|cx| watch.poll_exit(cx, &mut child));
            crate::time::timeout(DEADLINE, wait).await
        });
        let status = status.expect("woken on the second runtime").unwrap();
        assert_eq!(status.code(), Some(3));
    }
}
