//! Feature `tokio-io`: tokio's `AsyncRead`/`AsyncWrite` for weft's streams.
//!
//! Crates written against `tokio::io` (tokio-postgres, tokio-rustls, tonic) take a stream that
//! implements tokio's traits. Every weft stream already implements futures-io's; this module
//! forwards tokio's traits to those impls, so no adapter type is needed and no tokio runtime
//! is started (only the trait crate is a dependency). A tokio read fills the unfilled part of
//! the `ReadBuf`; tokio's `poll_shutdown` is futures-io's `poll_close` (a TCP half-close, a
//! pipe close, a file's flush). The halves of `into_split`/`split` implement them too.

/// Forwards tokio's traits on `$ty` to its futures-io impls.
macro_rules! tokio_read {
    ($($ty:ty),*) => {$(
        impl tokio::io::AsyncRead for $ty {
            fn poll_read(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &mut tokio::io::ReadBuf<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                let unfilled = buf.initialize_unfilled();
                match futures_io::AsyncRead::poll_read(self, cx, unfilled) {
                    std::task::Poll::Ready(Ok(n)) => {
                        buf.advance(n);
                        std::task::Poll::Ready(Ok(()))
                    }
                    std::task::Poll::Ready(Err(e)) => std::task::Poll::Ready(Err(e)),
                    std::task::Poll::Pending => std::task::Poll::Pending,
                }
            }
        }
    )*};
}

/// Forwards tokio's `AsyncWrite` on `$ty` to its futures-io impl.
macro_rules! tokio_write {
    ($($ty:ty),*) => {$(
        impl tokio::io::AsyncWrite for $ty {
            fn poll_write(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &[u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                futures_io::AsyncWrite::poll_write(self, cx, buf)
            }

            fn poll_write_vectored(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                bufs: &[std::io::IoSlice<'_>],
            ) -> std::task::Poll<std::io::Result<usize>> {
                futures_io::AsyncWrite::poll_write_vectored(self, cx, bufs)
            }

            fn poll_flush(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                futures_io::AsyncWrite::poll_flush(self, cx)
            }

            fn poll_shutdown(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                futures_io::AsyncWrite::poll_close(self, cx)
            }
        }
    )*};
}

use crate::fs::File;
use crate::net::{tcp, unix, TcpStream, UnixStream};
use crate::process::{ChildStderr, ChildStdin, ChildStdout};

tokio_read!(
    TcpStream,
    &TcpStream,
    UnixStream,
    &UnixStream,
    ChildStdout,
    ChildStderr,
    File,
    tcp::OwnedReadHalf,
    tcp::ReadHalf<'_>,
    unix::OwnedReadHalf,
    unix::ReadHalf<'_>
);
tokio_write!(
    TcpStream,
    &TcpStream,
    UnixStream,
    &UnixStream,
    ChildStdin,
    &ChildStdin,
    File,
    tcp::OwnedWriteHalf,
    tcp::WriteHalf<'_>,
    unix::OwnedWriteHalf,
    unix::WriteHalf<'_>
);
