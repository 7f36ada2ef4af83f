//! `copy_bidirectional`: relay two streams into each other until both directions end
//! (tokio's function of the same name, over futures-io).
//!
//! Each direction is a small state machine with its own buffer: read into the buffer, write it
//! all out, repeat; at end of stream, flush and close (shut down) the writer, so the other
//! side reads end of stream too. Both run inside one future, polled in turn, so no task and
//! no lock is needed; when a read would wait, the writer is flushed first (a `BufWriter`
//! around a stream must not hold back bytes while the relay sleeps).

use futures_io::{AsyncRead, AsyncWrite};
use std::future::poll_fn;
use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

/// Each direction's buffer, as tokio's.
const BUF_SIZE: usize = 8 * 1024;

struct Direction {
    buf: Box<[u8]>,
    pos: usize,
    cap: usize,
    copied: u64,
    read_done: bool,
    need_flush: bool,
    done: bool,
}

impl Direction {
    fn new() -> Direction {
        Direction {
            buf: vec![0; BUF_SIZE].into_boxed_slice(),
            pos: 0,
            cap: 0,
            copied: 0,
            read_done: false,
            need_flush: false,
            done: false,
        }
    }

    fn poll_copy<R, W>(
        &mut self,
        cx: &mut Context<'_>,
        reader: &mut R,
        writer: &mut W,
    ) -> Poll<io::Result<u64>>
    where
        R: AsyncRead + Unpin + ?Sized,
        W: AsyncWrite + Unpin + ?Sized,
    {
        loop {
            if self.pos == self.cap && !self.read_done {
                match Pin::new(&mut *reader).poll_read(cx, &mut self.buf) {
                    Poll::Ready(Ok(0)) => self.read_done = true,
                    Poll::Ready(Ok(n)) => {
                        self.pos = 0;
                        self.cap = n;
                    }
                    Poll::Ready(Err(err)) => return Poll::Ready(Err(err)),
                    Poll::Pending => {
                        if self.need_flush {
                            ready!(Pin::new(&mut *writer).poll_flush(cx))?;
                            self.need_flush = false;
                        }
                        return Poll::Pending;
                    }
                }
            }
            while self.pos < self.cap {
                let n =
                    ready!(Pin::new(&mut *writer).poll_write(cx, &self.buf[self.pos..self.cap]))?;
                if n == 0 {
                    return Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::WriteZero,
                        "copy_bidirectional: the writer accepted no bytes",
                    )));
                }
                self.pos += n;
                self.copied += n as u64;
                self.need_flush = true;
            }
            if self.read_done {
                ready!(Pin::new(&mut *writer).poll_flush(cx))?;
                ready!(Pin::new(&mut *writer).poll_close(cx))?;
                return Poll::Ready(Ok(self.copied));
            }
        }
    }
}

/// Copies `a`'s reads to `b` and `b`'s reads to `a` at once, until both reach end of stream;
/// each direction closes its writer (a socket: shuts down its write side) when its reader
/// ends. Returns the bytes copied `(a to b, b to a)`.
///
/// # Errors
///
/// The first error of either direction ends both.
///
/// # Cancel safety
///
/// Not cancel safe: bytes read but not yet written are lost.
pub async fn copy_bidirectional<A, B>(a: &mut A, b: &mut B) -> io::Result<(u64, u64)>
where
    A: AsyncRead + AsyncWrite + Unpin + ?Sized,
    B: AsyncRead + AsyncWrite + Unpin + ?Sized,
{
    let mut a_to_b = Direction::new();
    let mut b_to_a = Direction::new();
    let mut results = (None, None);
    poll_fn(|cx| {
        if !a_to_b.done {
            if let Poll::Ready(n) = a_to_b.poll_copy(cx, a, b) {
                a_to_b.done = true;
                results.0 = Some(n?);
            }
        }
        if !b_to_a.done {
            if let Poll::Ready(n) = b_to_a.poll_copy(cx, b, a) {
                b_to_a.done = true;
                results.1 = Some(n?);
            }
        }
        match results {
            (Some(ab), Some(ba)) => Poll::Ready(Ok((ab, ba))),
            _ => Poll::Pending,
        }
    })
    .await
}
