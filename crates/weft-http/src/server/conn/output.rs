//! The socket side of a connection: the loop's scratch buffers (one read
//! buffer and one output buffer per thread, lent to one connection's batch at
//! a time), flushing output with what the socket did not take kept in the
//! connection, and the lingering close.
//!
//! After the bytes of a batch are written the stream is flushed: a no-op for
//! a `TcpStream`, the records still held by rustls for a TLS stream.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use super::{Connection, Io, Next, Wait, READ_SCRATCH_BYTES};
use crate::limits::LINGER_MAX_BYTES;

/// Output the loop's scratch buffer keeps between batches; a batch that grew
/// it further (a large body) gives the excess back.
const OUTPUT_SCRATCH_KEEP: usize = 256 * 1024;

/// Per-loop buffers shared by all connections of the loop, one batch at a time.
pub(super) struct Scratch {
    pub(super) input: Box<[u8]>,
    pub(super) out: Vec<u8>,
}

thread_local! {
    static SCRATCH: std::cell::Cell<Option<Box<Scratch>>> = const { std::cell::Cell::new(None) };
}

impl Scratch {
    /// This loop's scratch buffers (a fresh set in the unusual case that
    /// they are in use further up the stack).
    pub(super) fn take() -> Box<Scratch> {
        SCRATCH.take().unwrap_or_else(|| {
            Box::new(Scratch {
                input: vec![0; READ_SCRATCH_BYTES].into_boxed_slice(),
                out: Vec::with_capacity(16 * 1024),
            })
        })
    }

    pub(super) fn give_back(mut self: Box<Scratch>) {
        self.out.clear();
        if self.out.capacity() > OUTPUT_SCRATCH_KEEP {
            self.out.shrink_to(OUTPUT_SCRATCH_KEEP);
        }
        SCRATCH.set(Some(self));
    }
}

impl<S: Io> Connection<S> {
    pub(super) fn flush_then_wait(
        &mut self,
        cx: &mut Context<'_>,
        out: &mut Vec<u8>,
        wait: Wait,
    ) -> Next {
        match self.flush(cx, out) {
            Poll::Ready(Ok(())) => Next::Wait(wait),
            Poll::Ready(Err(_)) => Next::Done,
            Poll::Pending => Next::Wait(Wait::Write),
        }
    }

    /// Writes `outbuf` then `out` (in that order); what the socket does not
    /// take stays in `outbuf`.
    pub(super) fn flush(
        &mut self,
        cx: &mut Context<'_>,
        out: &mut Vec<u8>,
    ) -> Poll<io::Result<()>> {
        if self.outbuf.is_empty() {
            if out.is_empty() {
                return Pin::new(&mut self.stream).poll_flush(cx);
            }
            let mut sent = 0;
            let result = write_all(&mut self.stream, cx, out, &mut sent);
            if result.is_pending() {
                self.outbuf.extend_from_slice(&out[sent..]);
            }
            out.clear();
            result
        } else {
            self.outbuf.extend_from_slice(out);
            out.clear();
            let mut sent = 0;
            let result = write_all(&mut self.stream, cx, &self.outbuf, &mut sent);
            if sent > 0 {
                self.wait_stale = true;
                self.outbuf.drain(..sent);
            }
            if self.outbuf.is_empty() {
                self.outbuf = Vec::new();
            }
            result
        }
    }

    /// Half-closes and discards input until the client closes (see module docs).
    pub(super) fn linger(&mut self, cx: &mut Context<'_>, input: &mut [u8]) -> Next {
        if !self.write_shut {
            // A TcpStream's FIN; a TLS stream's close_notify, then its FIN.
            match Pin::new(&mut self.stream).poll_close(cx) {
                Poll::Ready(Ok(())) => self.write_shut = true,
                Poll::Ready(Err(_)) => return Next::Done,
                Poll::Pending => return Next::Wait(Wait::Write),
            }
        }
        loop {
            match Pin::new(&mut self.stream).poll_read(cx, input) {
                Poll::Ready(Ok(0)) | Poll::Ready(Err(_)) => return Next::Done,
                Poll::Ready(Ok(n)) => {
                    self.lingered += n;
                    if self.lingered > LINGER_MAX_BYTES {
                        return Next::Done;
                    }
                }
                Poll::Pending => return Next::Wait(Wait::Linger),
            }
        }
    }
}

/// Writes `buf[*sent..]` until done, `Pending` or an error, then flushes;
/// `sent` tracks progress.
#[inline]
fn write_all<S: Io>(
    stream: &mut S,
    cx: &mut Context<'_>,
    buf: &[u8],
    sent: &mut usize,
) -> Poll<io::Result<()>> {
    while *sent < buf.len() {
        match Pin::new(&mut *stream).poll_write(cx, &buf[*sent..]) {
            Poll::Ready(Ok(0)) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
            Poll::Ready(Ok(n)) => *sent += n,
            Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
            Poll::Pending => return Poll::Pending,
        }
    }
    Pin::new(stream).poll_flush(cx)
}
