//! Asynchronous I/O helpers over the runtime-neutral futures-io traits.
//!
//! weft's streams implement `futures_io::AsyncRead`/`AsyncWrite`; this module gives one import
//! path for what a program needs on top of them: `copy`, `copy_buf`,
//! `BufReader`, `BufWriter`, line streams and the extension traits. futures-util already does
//! these right (and runs on any executor), so they are re-exported rather than rewritten.
//! With the `tokio-io` feature, weft's streams also implement tokio's traits (see
//! `tokio_compat`).
//!
//! [`AsyncFd`] puts a descriptor of the caller's own on the loop's reactor (`async_fd`).

mod async_fd;
#[cfg(feature = "tokio-io")]
mod tokio_compat;

pub use async_fd::{AsyncFd, AsyncFdReadyGuard, TryIoError};

pub use futures_io::{AsyncBufRead, AsyncRead, AsyncSeek, AsyncWrite};
pub use futures_util::io::{
    copy, copy_buf, AsyncBufReadExt, AsyncReadExt, AsyncSeekExt, AsyncWriteExt, BufReader,
    BufWriter, Lines,
};
