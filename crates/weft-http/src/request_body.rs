//! Streamed request bodies: the handler reads the body as it arrives instead of receiving it
//! buffered whole.
//!
//! # Roles
//!
//! - [`RequestBody`], the handler's reader, from [`Request::body_stream`](crate::Request::body_stream).
//!   For a buffered request it yields the body once; for a streamed one it yields the chunks
//!   the connection decodes, then `None`, or an error if the body cannot be completed.
//! - [`Inflow`], the state shared between that reader and the connection that feeds it.
//!
//! # Flow control
//!
//! The connection reads the socket for a streamed body only when the reader has taken all it
//! was given and asks for more (`asked`). So at most one read's worth of body (the loop's
//! read buffer) is held per request, whatever the body's size; a handler that reads slowly
//! makes the client's sends wait in TCP, and one that never reads holds nothing.
//!
//! An `Expect: 100-continue` request gets its `100 Continue` when the reader first asks: a
//! handler that answers without reading (a 401, say) never invites the body.
//!
//! # Ending
//!
//! The body ends with `None` after its last byte, or with an error: 413 beyond
//! [`Limits::max_streamed_body_bytes`](crate::Limits::max_streamed_body_bytes), 400 for
//! malformed chunked framing, 408 if the client stalls longer than
//! [`Timeouts::body_read`](crate::Timeouts::body_read), or a 400 if the client closes before
//! the end. A handler that answers before the body ended closes the connection after its
//! response (the rest of the body is not read).

use std::future::poll_fn;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use crate::{HttpError, StatusCode};

/// The state a streamed body's reader and its connection share.
#[derive(Debug, Default)]
pub(crate) struct Inflow(Mutex<Shared>);

#[derive(Debug, Default)]
struct Shared {
    /// Decoded body bytes the reader has not taken.
    data: Vec<u8>,
    /// The last byte was decoded.
    end: bool,
    /// The body cannot be completed: the error the reader gets once `data` is taken.
    error: Option<HttpError>,
    /// The reader took everything and waits for more.
    asked: bool,
    /// The reader was dropped: nothing more is wanted.
    dropped: bool,
    /// The reader's waker, while it waits.
    reader: Option<Waker>,
    /// The connection's waker, while it waits for the reader to ask.
    connection: Option<Waker>,
}

/// What the connection should do for a streamed body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Demand {
    /// The reader waits for bytes: read and feed.
    Read,
    /// The reader has bytes it did not take yet: wait for it.
    Wait,
    /// The body ended, failed, or its reader is gone: nothing more to feed.
    Done,
}

impl Inflow {
    pub(crate) fn new() -> Arc<Inflow> {
        Arc::new(Inflow::default())
    }

    fn lock(&self) -> MutexGuard<'_, Shared> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The connection's view; `waker` is stored to be woken when the reader asks. With no
    /// reader left (the request was dropped before its body was taken), nothing is wanted.
    pub(crate) fn demand(this: &Arc<Inflow>, waker: &Waker) -> Demand {
        if Arc::strong_count(this) == 1 {
            return Demand::Done;
        }
        let mut shared = this.lock();
        if shared.end || shared.error.is_some() || shared.dropped {
            Demand::Done
        } else if shared.asked {
            Demand::Read
        } else {
            if !shared
                .connection
                .as_ref()
                .is_some_and(|w| w.will_wake(waker))
            {
                shared.connection = Some(waker.clone());
            }
            Demand::Wait
        }
    }

    /// True while the body may still deliver bytes to a reader.
    pub(crate) fn open(&self) -> bool {
        let shared = self.lock();
        !(shared.end || shared.error.is_some() || shared.dropped)
    }

    /// True once the last byte was decoded.
    pub(crate) fn ended(&self) -> bool {
        self.lock().end
    }

    /// Hands decoded bytes to the reader (and `end` if they were the last).
    pub(crate) fn feed(&self, bytes: &mut Vec<u8>, end: bool) {
        let reader = {
            let mut shared = self.lock();
            if shared.dropped {
                bytes.clear();
                return;
            }
            if shared.data.is_empty() {
                std::mem::swap(&mut shared.data, bytes);
            } else {
                shared.data.append(bytes);
            }
            shared.end |= end;
            if !shared.data.is_empty() || shared.end {
                shared.asked = false;
            }
            shared.reader.take()
        };
        if let Some(waker) = reader {
            waker.wake();
        }
    }

    /// Ends the body with an error for the reader.
    pub(crate) fn fail(&self, error: HttpError) {
        let reader = {
            let mut shared = self.lock();
            if shared.end || shared.error.is_some() {
                return;
            }
            shared.error = Some(error);
            shared.reader.take()
        };
        if let Some(waker) = reader {
            waker.wake();
        }
    }
}

/// A request body read as it arrives: chunks of decoded bytes, then `None`. Also a
/// [`futures_core::Stream`] of the same items.
///
/// ```no_run
/// use weft_http::{Request, Response, StatusCode};
/// // A handler that counts the bytes of an upload of any size without holding it.
/// async fn upload(mut req: Request) -> Response {
///     let mut body = req.body_stream();
///     let mut total = 0;
///     while let Some(chunk) = body.chunk().await {
///         match chunk {
///             Ok(bytes) => total += bytes.len(),
///             Err(e) => return Response::error(e.status(), e.reason()),
///         }
///     }
///     Response::text(format!("received {total} bytes\n"))
/// }
/// ```
#[derive(Debug)]
pub struct RequestBody {
    source: Source,
}

#[derive(Debug)]
enum Source {
    /// A body that was buffered whole: yielded once.
    Buffered(Option<Vec<u8>>),
    /// A body fed by the connection.
    Streamed(Arc<Inflow>),
}

impl RequestBody {
    pub(crate) fn buffered(bytes: Vec<u8>) -> RequestBody {
        RequestBody {
            source: Source::Buffered((!bytes.is_empty()).then_some(bytes)),
        }
    }

    pub(crate) fn streamed(inflow: Arc<Inflow>) -> RequestBody {
        RequestBody {
            source: Source::Streamed(inflow),
        }
    }

    /// The next chunk of the body: `None` after the last one, or an error (its status says
    /// why: 400, 408 or 413) if the body cannot be completed.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: bytes that arrive while nobody awaits stay in the body for the next call;
    /// no chunk is lost.
    pub async fn chunk(&mut self) -> Option<Result<Vec<u8>, HttpError>> {
        poll_fn(|cx| self.poll_chunk(cx)).await
    }

    /// Reads the rest of the body into one buffer, refusing it with 413 beyond `limit` bytes.
    ///
    /// # Cancel safety
    ///
    /// Not cancel safe: it takes the body by value, so dropping the future drops the body and
    /// what was collected of it.
    pub async fn collect(mut self, limit: usize) -> Result<Vec<u8>, HttpError> {
        let mut all = Vec::new();
        while let Some(chunk) = self.chunk().await {
            let chunk = chunk?;
            if all.len() + chunk.len() > limit {
                return Err(HttpError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "request body larger than the handler accepts",
                ));
            }
            all.extend_from_slice(&chunk);
        }
        Ok(all)
    }

    /// [`chunk`](RequestBody::chunk) as a poll function.
    pub fn poll_chunk(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Vec<u8>, HttpError>>> {
        let inflow = match &mut self.source {
            Source::Buffered(bytes) => return Poll::Ready(bytes.take().map(Ok)),
            Source::Streamed(inflow) => inflow,
        };
        let connection = {
            let mut shared = inflow.lock();
            if !shared.data.is_empty() {
                return Poll::Ready(Some(Ok(std::mem::take(&mut shared.data))));
            }
            if let Some(error) = shared.error {
                // The error once, then the end; the connection still sees the failure.
                let first = !shared.dropped;
                shared.dropped = true;
                return Poll::Ready(first.then_some(Err(error)));
            }
            if shared.end {
                return Poll::Ready(None);
            }
            if !shared
                .reader
                .as_ref()
                .is_some_and(|w| w.will_wake(cx.waker()))
            {
                shared.reader = Some(cx.waker().clone());
            }
            shared.asked = true;
            // The connection runs this reader itself in the usual case, and then sees the
            // request on its own; another task's reader wakes it.
            shared
                .connection
                .take()
                .filter(|w| !w.will_wake(cx.waker()))
        };
        if let Some(waker) = connection {
            waker.wake();
        }
        Poll::Pending
    }
}

impl futures_core::Stream for RequestBody {
    type Item = Result<Vec<u8>, HttpError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().poll_chunk(cx)
    }
}

impl Drop for RequestBody {
    fn drop(&mut self) {
        if let Source::Streamed(inflow) = &self.source {
            let connection = {
                let mut shared = inflow.lock();
                shared.dropped = true;
                shared.data = Vec::new();
                shared.connection.take()
            };
            if let Some(waker) = connection {
                waker.wake();
            }
        }
    }
}
