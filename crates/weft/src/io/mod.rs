//! Asynchronous I/O helpers over the runtime-neutral futures-io traits.
//!
//! weft's streams implement `futures_io::AsyncRead`/`AsyncWrite`; this module gives one import
//! path for what a program needs on top of them: `copy`, `copy_buf`, [`copy_bidirectional`],
//! `BufReader`, `BufWriter`, line streams and the extension traits. futures-util already does
//! these right (and runs on any executor), so they are re-exported rather than rewritten;
//! `copy_bidirectional`, which futures-util lacks, is weft's. [`split`] (tokio's
//! `io::split`) splits any stream behind a lock; weft's sockets also split without one
//! (`TcpStream::into_split` and `split`, in `weft::net`).
//! With the `tokio-io` feature, weft's streams also implement tokio's traits (see
//! `tokio_compat`).
//!
//! [`AsyncFd`] puts a descriptor of the caller's own on the loop's reactor (`async_fd`).

mod async_fd;
mod copy_bidirectional;
#[cfg(feature = "tokio-io")]
mod tokio_compat;

pub use async_fd::{AsyncFd, AsyncFdReadyGuard, AsyncFdReadyMutGuard, TryIoError};
pub use copy_bidirectional::copy_bidirectional;

pub use futures_io::{AsyncBufRead, AsyncRead, AsyncSeek, AsyncWrite};
pub use futures_util::io::{
    copy, copy_buf, AsyncBufReadExt, AsyncReadExt, AsyncSeekExt, AsyncWriteExt, BufReader,
    BufWriter, Lines, ReadHalf, ReuniteError, WriteHalf,
};

/// Splits any stream into a read half and a write half (tokio's `io::split`), sharing it
/// behind a lock; [`ReadHalf::reunite`] puts them back. weft's sockets split without a lock
/// through their own `into_split`.
pub fn split<T: AsyncRead + AsyncWrite>(stream: T) -> (ReadHalf<T>, WriteHalf<T>) {
    AsyncReadExt::split(stream)
}
