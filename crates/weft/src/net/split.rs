//! Splitting a stream into a read half and a write half, tokio's way: owned halves
//! (`into_split`, each half movable to its own task, put back together with `reunite`) and
//! borrowed halves (`split(&mut self)`, no reference count).
//!
//! weft's streams already read and write through `&self` (the reactor keeps one waiter per
//! direction), so a half is only a shared reference (owned: an `Arc`) that exposes one
//! direction. The halves are generic over the stream; `weft::net::tcp` and
//! `weft::net::unix` name them for `TcpStream` and `UnixStream`. As in tokio, dropping an
//! [`OwnedWriteHalf`] shuts the write direction down (the peer reads end of stream) unless it
//! was [`forget`](OwnedWriteHalf::forget)-ten or reunited.

use futures_io::{AsyncRead, AsyncWrite};
use std::error::Error;
use std::fmt;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

fn read<S>(s: &S, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>>
where
    for<'x> &'x S: AsyncRead,
{
    let mut r = s;
    Pin::new(&mut r).poll_read(cx, buf)
}

fn write<S>(s: &S, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>>
where
    for<'x> &'x S: AsyncWrite,
{
    let mut w = s;
    Pin::new(&mut w).poll_write(cx, buf)
}

fn write_vectored<S>(s: &S, cx: &mut Context<'_>, bufs: &[IoSlice<'_>]) -> Poll<io::Result<usize>>
where
    for<'x> &'x S: AsyncWrite,
{
    let mut w = s;
    Pin::new(&mut w).poll_write_vectored(cx, bufs)
}

fn flush<S>(s: &S, cx: &mut Context<'_>) -> Poll<io::Result<()>>
where
    for<'x> &'x S: AsyncWrite,
{
    let mut w = s;
    Pin::new(&mut w).poll_flush(cx)
}

fn close<S>(s: &S, cx: &mut Context<'_>) -> Poll<io::Result<()>>
where
    for<'x> &'x S: AsyncWrite,
{
    let mut w = s;
    Pin::new(&mut w).poll_close(cx)
}

/// The read half of [`into_split`](crate::net::TcpStream::into_split).
pub struct OwnedReadHalf<S> {
    stream: Arc<S>,
}

/// The write half of [`into_split`](crate::net::TcpStream::into_split); dropping it shuts
/// the write direction down.
pub struct OwnedWriteHalf<S>
where
    for<'x> &'x S: AsyncWrite,
{
    stream: Arc<S>,
    shutdown_on_drop: bool,
}

/// The halves given to [`OwnedReadHalf::reunite`] came from different streams; they are
/// handed back.
pub struct ReuniteError<S>(pub OwnedReadHalf<S>, pub OwnedWriteHalf<S>)
where
    for<'x> &'x S: AsyncWrite;

impl<S> fmt::Debug for ReuniteError<S>
where
    for<'x> &'x S: AsyncWrite,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ReuniteError(..)")
    }
}

impl<S> fmt::Display for ReuniteError<S>
where
    for<'x> &'x S: AsyncWrite,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("tried to reunite halves that are not from the same stream")
    }
}

impl<S> Error for ReuniteError<S> where for<'x> &'x S: AsyncWrite {}

/// Splits `stream` into owned halves.
pub(crate) fn into_split<S>(stream: S) -> (OwnedReadHalf<S>, OwnedWriteHalf<S>)
where
    for<'x> &'x S: AsyncWrite,
{
    let stream = Arc::new(stream);
    (
        OwnedReadHalf {
            stream: stream.clone(),
        },
        OwnedWriteHalf {
            stream,
            shutdown_on_drop: true,
        },
    )
}

impl<S> OwnedReadHalf<S>
where
    for<'x> &'x S: AsyncWrite,
{
    /// Puts the stream back together; fails (handing both back) if `write` came from another
    /// stream.
    pub fn reunite(self, mut write: OwnedWriteHalf<S>) -> Result<S, ReuniteError<S>> {
        if !Arc::ptr_eq(&self.stream, &write.stream) {
            return Err(ReuniteError(self, write));
        }
        write.shutdown_on_drop = false;
        drop(write);
        let stream = self.stream;
        Ok(Arc::try_unwrap(stream)
            .unwrap_or_else(|_| unreachable!("only the two halves held the stream")))
    }
}

impl<S> OwnedWriteHalf<S>
where
    for<'x> &'x S: AsyncWrite,
{
    /// Drops the half without shutting the write direction down.
    pub fn forget(mut self) {
        self.shutdown_on_drop = false;
    }

    /// Puts the stream back together (see [`OwnedReadHalf::reunite`]).
    pub fn reunite(self, read: OwnedReadHalf<S>) -> Result<S, ReuniteError<S>> {
        read.reunite(self)
    }
}

impl<S> Drop for OwnedWriteHalf<S>
where
    for<'x> &'x S: AsyncWrite,
{
    fn drop(&mut self) {
        if self.shutdown_on_drop {
            // weft's streams shut down at once in poll_close; no waker is needed.
            let _ = close(&*self.stream, &mut Context::from_waker(Waker::noop()));
        }
    }
}

impl<S> AsRef<S> for OwnedReadHalf<S> {
    fn as_ref(&self) -> &S {
        &self.stream
    }
}

impl<S> AsRef<S> for OwnedWriteHalf<S>
where
    for<'x> &'x S: AsyncWrite,
{
    fn as_ref(&self) -> &S {
        &self.stream
    }
}

impl<S> fmt::Debug for OwnedReadHalf<S>
where
    S: fmt::Debug,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("OwnedReadHalf").field(&*self.stream).finish()
    }
}

impl<S> fmt::Debug for OwnedWriteHalf<S>
where
    S: fmt::Debug,
    for<'x> &'x S: AsyncWrite,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("OwnedWriteHalf")
            .field(&*self.stream)
            .finish()
    }
}

impl<S> AsyncRead for OwnedReadHalf<S>
where
    for<'x> &'x S: AsyncRead,
{
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        read(&*self.stream, cx, buf)
    }
}

impl<S> AsyncWrite for OwnedWriteHalf<S>
where
    for<'x> &'x S: AsyncWrite,
{
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        write(&*self.stream, cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        write_vectored(&*self.stream, cx, bufs)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        flush(&*self.stream, cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        close(&*self.stream, cx)
    }
}

/// The read half of [`split`](crate::net::TcpStream::split), borrowing the stream.
#[derive(Debug)]
pub struct ReadHalf<'a, S>(&'a S);

/// The write half of [`split`](crate::net::TcpStream::split), borrowing the stream;
/// `poll_close` shuts the write direction down.
#[derive(Debug)]
pub struct WriteHalf<'a, S>(&'a S);

/// Splits a borrowed stream.
pub(crate) fn split<S>(stream: &mut S) -> (ReadHalf<'_, S>, WriteHalf<'_, S>) {
    let stream = &*stream;
    (ReadHalf(stream), WriteHalf(stream))
}

impl<S> AsRef<S> for ReadHalf<'_, S> {
    fn as_ref(&self) -> &S {
        self.0
    }
}

impl<S> AsRef<S> for WriteHalf<'_, S> {
    fn as_ref(&self) -> &S {
        self.0
    }
}

impl<S> AsyncRead for ReadHalf<'_, S>
where
    for<'x> &'x S: AsyncRead,
{
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        read(self.0, cx, buf)
    }
}

impl<S> AsyncWrite for WriteHalf<'_, S>
where
    for<'x> &'x S: AsyncWrite,
{
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        write(self.0, cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        write_vectored(self.0, cx, bufs)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        flush(self.0, cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        close(self.0, cx)
    }
}
