//! A request body streamed to its handler (see [`Handler::streams_body`](crate::Handler::streams_body)):
//! the connection attaches the feed when the head arrives, reads the socket
//! only while the reader asks, sends `100 Continue` on the first ask, and
//! refuses to carry another request if the handler answered before the body
//! ended.

use std::pin::Pin;
use std::task::{Context, Poll};

use super::{Connection, Io, Next, Wait};
use crate::proto::{self, feed_streamed, CONTINUE};
use crate::Request;

impl<S: Io> Connection<S> {
    /// The handler of a streamed body answered; true if the body had not
    /// ended: the rest is not read, so the connection cannot carry another
    /// request.
    #[cold]
    pub(super) fn end_streamed(&mut self) -> bool {
        self.continue_due = false;
        let Some(inflow) = self.inflow.take() else {
            return false;
        };
        if inflow.ended() {
            return false;
        }
        inflow.fail(proto::BODY_NOT_READ);
        true
    }

    /// A request whose body is streamed was handed out: attach the feed and
    /// give it the body bytes already here (`rest`); returns those consumed.
    #[cold]
    pub(super) fn start_streamed(&mut self, request: &mut Request, rest: &[u8]) -> usize {
        let inflow = request.attach_inflow();
        self.continue_due = self.decoder.streamed_expects_continue() && rest.is_empty();
        self.inflow = Some(inflow);
        self.feed_body(rest)
    }

    /// Feeds streamed body bytes from `input` to the reader (see
    /// [`feed_streamed`]); returns the bytes consumed.
    fn feed_body(&mut self, input: &[u8]) -> usize {
        let Some(inflow) = &self.inflow else {
            return 0;
        };
        if !inflow.open() {
            return 0;
        }
        let (used, delivered) = feed_streamed(inflow, &mut self.decoder, input);
        if delivered {
            self.continue_due = false;
        }
        used
    }

    /// The handler waits for more of its streamed body: invite it (`100
    /// Continue`) if due, then feed what is buffered or read the socket once.
    pub(super) fn pump_body(
        &mut self,
        cx: &mut Context<'_>,
        input: &mut [u8],
        out: &mut Vec<u8>,
    ) -> Next {
        if std::mem::take(&mut self.continue_due) {
            out.extend_from_slice(CONTINUE);
        }
        match self.flush(cx, out) {
            Poll::Ready(Ok(())) => {}
            Poll::Ready(Err(_)) => return Next::Done,
            Poll::Pending => return Next::Wait(Wait::Write),
        }
        let (used, len) = if self.inbuf.is_empty() {
            match Pin::new(&mut self.stream).poll_read(cx, input) {
                Poll::Ready(Ok(n)) if n > 0 => {
                    let used = self.feed_body(&input[..n]);
                    self.inbuf.extend_from_slice(&input[used..n]);
                    (used, n)
                }
                Poll::Ready(_) => {
                    if let Some(inflow) = &self.inflow {
                        inflow.fail(proto::BODY_CUT_SHORT);
                    }
                    return Next::Again;
                }
                Poll::Pending => return Next::Wait(Wait::Body),
            }
        } else {
            let mut data = std::mem::take(&mut self.inbuf);
            let used = self.feed_body(&data);
            let len = data.len();
            data.drain(..used);
            self.keep_leftover(data);
            (used, len)
        };
        // Bytes after the body are the next requests; they wait for the response.
        self.stalled = used < len && !self.decoder.streaming();
        // A streamed body's deadline is the longest silence between reads.
        self.wait_stale = true;
        Next::Again
    }
}
