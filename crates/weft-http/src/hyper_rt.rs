//! hyper on weft: `hyper::rt::{Read, Write, Executor, Timer}` for weft types.
//!
//! hyper 1.x is runtime-neutral: it does its I/O through its own `Read` and
//! `Write` traits, spawns background work through an `Executor` and sets
//! timeouts through a `Timer`. These adapters supply all three from weft, so
//! a hyper server or client (and anything built on hyper, like axum through
//! `hyper-util`'s `TowerToHyperService`) runs on weft loops:
//!
//! - [`HyperIo`] wraps any `futures_io` stream (`weft::net::TcpStream`,
//!   `UnixStream`) as `hyper::rt::Read + Write`.
//! - [`WeftExecutor`] spawns `Send` futures with `weft::spawn`;
//!   [`LocalExecutor`] spawns any future with `weft::spawn_local`. Both
//!   place the task on the loop that calls `execute`.
//! - [`WeftTimer`] makes sleeps from `weft::time`, resettable in place.
//! - [`serve`] is axum::serve's equal (HTTP/1.1 and h2c, one `SO_REUSEPORT`
//!   listener per loop, graceful drain); [`serve_connection`] serves one
//!   stream of any kind (a TLS stream, say). See the `serve` module.
//! - [`TimeoutLayer`] is a `tower` timeout on weft's timer.
//!
//! # The one copy
//!
//! hyper reads into a possibly uninitialized buffer; filling it without
//! `unsafe` means reading into initialized memory and copying. [`HyperIo`]
//! reads into a per-thread scratch buffer ([`READ_SCRATCH_BYTES`]) and copies
//! what arrived into hyper's buffer: one extra `memcpy` per read, the price
//! of this crate's `#![forbid(unsafe_code)]`.

use std::cell::RefCell;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures_io::{AsyncRead, AsyncWrite};
use hyper::rt::ReadBufCursor;

mod serve;
mod timeout;

pub use serve::{
    serve, serve_connection, BoxError, Listen, Serve, ServeFuture, WithGracefulShutdown,
    SERVE_BACKLOG,
};
pub use timeout::{Elapsed, Timeout, TimeoutFuture, TimeoutLayer};

/// Size of the per-thread buffer [`HyperIo`] reads through: hyper's own
/// read buffer starts at 8 KiB and grows; 16 KiB covers its common sizes.
pub const READ_SCRATCH_BYTES: usize = 16 * 1024;

thread_local! {
    static SCRATCH: RefCell<Box<[u8]>> = RefCell::new(vec![0; READ_SCRATCH_BYTES].into_boxed_slice());
}

/// A weft stream as hyper I/O.
///
/// ```no_run
/// # async fn demo() -> std::io::Result<()> {
/// let addr: std::net::SocketAddr = "127.0.0.1:8080".parse().unwrap();
/// let stream = weft::net::TcpStream::connect(addr).await?;
/// let io = weft_http::hyper_rt::HyperIo::new(stream);
/// # let _ = io;
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct HyperIo<T> {
    inner: T,
}

impl<T> HyperIo<T> {
    /// Wraps `inner`.
    pub fn new(inner: T) -> HyperIo<T> {
        HyperIo { inner }
    }

    /// The wrapped stream.
    pub fn get_ref(&self) -> &T {
        &self.inner
    }

    /// Unwraps the stream.
    pub fn into_inner(self) -> T {
        self.inner
    }
}

impl<T: AsyncRead + Unpin> hyper::rt::Read for HyperIo<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        mut buf: ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        let want = buf.remaining().min(READ_SCRATCH_BYTES);
        if want == 0 {
            return Poll::Ready(Ok(()));
        }
        let inner = Pin::new(&mut self.inner);
        SCRATCH.with(|scratch| match scratch.try_borrow_mut() {
            Ok(mut scratch) => read_into(inner, cx, &mut scratch[..want], &mut buf),
            // Re-entered (a read inside a read): use a small stack buffer.
            Err(_) => {
                let mut small = [0u8; 1024];
                let want = want.min(small.len());
                read_into(inner, cx, &mut small[..want], &mut buf)
            }
        })
    }
}

fn read_into<T: AsyncRead>(
    inner: Pin<&mut T>,
    cx: &mut Context<'_>,
    scratch: &mut [u8],
    buf: &mut ReadBufCursor<'_>,
) -> Poll<io::Result<()>> {
    match inner.poll_read(cx, scratch) {
        Poll::Ready(Ok(n)) => {
            buf.put_slice(&scratch[..n]);
            Poll::Ready(Ok(()))
        }
        Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
        Poll::Pending => Poll::Pending,
    }
}

impl<T: AsyncWrite + Unpin> hyper::rt::Write for HyperIo<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_close(cx)
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }
}

/// Spawns hyper's `Send` background futures on the current weft loop.
#[derive(Clone, Copy, Debug, Default)]
pub struct WeftExecutor;

impl<F> hyper::rt::Executor<F> for WeftExecutor
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    fn execute(&self, future: F) {
        weft::spawn(future).detach();
    }
}

/// Spawns hyper's background futures, `Send` or not, on the current weft loop.
#[derive(Clone, Copy, Debug, Default)]
pub struct LocalExecutor;

impl<F> hyper::rt::Executor<F> for LocalExecutor
where
    F: Future + 'static,
{
    fn execute(&self, future: F) {
        weft::spawn_local(future).detach();
    }
}

/// hyper's timer, on weft's timer wheel (1 ms resolution, never early).
#[derive(Clone, Copy, Debug, Default)]
pub struct WeftTimer;

/// A weft sleep as a `hyper::rt::Sleep`.
#[derive(Debug)]
pub struct HyperSleep {
    sleep: weft::time::Sleep,
}

impl Future for HyperSleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        Pin::new(&mut self.sleep).poll(cx)
    }
}

impl hyper::rt::Sleep for HyperSleep {}

impl hyper::rt::Timer for WeftTimer {
    /// weft's clock (`weft::time::now`): the loop's cached time, read at most once per loop
    /// turn, so that the deadline hyper computes for every request head costs no clock read,
    /// and frozen with the sleeps by `weft::time::pause` (hyper's default reads the real clock).
    fn now(&self) -> Instant {
        weft::time::now()
    }

    fn sleep(&self, duration: Duration) -> Pin<Box<dyn hyper::rt::Sleep>> {
        Box::pin(HyperSleep {
            sleep: weft::time::sleep(duration),
        })
    }

    fn sleep_until(&self, deadline: Instant) -> Pin<Box<dyn hyper::rt::Sleep>> {
        Box::pin(HyperSleep {
            sleep: weft::time::sleep_until(deadline),
        })
    }

    fn reset(&self, sleep: &mut Pin<Box<dyn hyper::rt::Sleep>>, new_deadline: Instant) {
        match sleep.as_mut().downcast_mut_pin::<HyperSleep>() {
            Some(ours) => ours.get_mut().sleep.reset(new_deadline),
            None => *sleep = self.sleep_until(new_deadline),
        }
    }
}
