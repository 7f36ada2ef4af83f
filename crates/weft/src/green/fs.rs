//! Files for green threads: `std::fs`-shaped calls that park while the
//! worker pool does the blocking work.
//!
//! Each call wraps its [`crate::fs`] counterpart: the `std::fs` call runs
//! on the pool's `fs` lane, and the green thread is parked (the loop keeps
//! serving) until the result is posted back. Errors are those of
//! [`crate::fs`]: the `std::fs` error kind, with the operation and path in
//! the message. Called outside a green thread, every function returns an
//! `io::Error` wrapping [`ParkError`](super::ParkError).
//!
//! [`File`] implements `std::io::Read`, `Write` and `Seek`; like
//! [`crate::fs::File`], each call moves at most
//! [`IO_CHUNK`](crate::fs::IO_CHUNK) bytes per pool job.
//!
//! Cancellation: if the green thread is dropped while parked in one of
//! these calls, the pool job is cancelled if it has not started, else runs
//! to its end and its result is dropped (see [`crate::fs`]).

use std::future::poll_fn;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::pin::Pin;

use futures_io::{AsyncRead, AsyncSeek, AsyncWrite};

use super::park_io;
use crate::fs as async_fs;

/// Reads the whole file at `path`.
///
/// # Errors
///
/// As [`std::fs::read`], with the path in the message.
pub fn read(path: impl AsRef<Path>) -> io::Result<Vec<u8>> {
    park_io(async_fs::read(path))
}

/// Reads the whole file at `path` as UTF-8.
///
/// # Errors
///
/// As [`std::fs::read_to_string`], with the path in the message.
pub fn read_to_string(path: impl AsRef<Path>) -> io::Result<String> {
    park_io(async_fs::read_to_string(path))
}

/// Creates or truncates the file at `path` and writes `contents` to it.
///
/// # Errors
///
/// As [`std::fs::write`], with the path in the message.
pub fn write(path: impl AsRef<Path>, contents: impl AsRef<[u8]>) -> io::Result<()> {
    park_io(async_fs::write(path, contents))
}

/// Copies the file `from` to `to`; returns the bytes copied.
///
/// # Errors
///
/// As [`std::fs::copy`], with both paths in the message.
pub fn copy(from: impl AsRef<Path>, to: impl AsRef<Path>) -> io::Result<u64> {
    park_io(async_fs::copy(from, to))
}

/// Renames `from` to `to`.
///
/// # Errors
///
/// As [`std::fs::rename`], with both paths in the message.
pub fn rename(from: impl AsRef<Path>, to: impl AsRef<Path>) -> io::Result<()> {
    park_io(async_fs::rename(from, to))
}

/// Reads the metadata of `path`, following symlinks.
///
/// # Errors
///
/// As [`std::fs::metadata`], with the path in the message.
pub fn metadata(path: impl AsRef<Path>) -> io::Result<std::fs::Metadata> {
    park_io(async_fs::metadata(path))
}

/// Creates a directory and every missing parent.
///
/// # Errors
///
/// As [`std::fs::create_dir_all`], with the path in the message.
pub fn create_dir_all(path: impl AsRef<Path>) -> io::Result<()> {
    park_io(async_fs::create_dir_all(path))
}

/// Removes a file.
///
/// # Errors
///
/// As [`std::fs::remove_file`], with the path in the message.
pub fn remove_file(path: impl AsRef<Path>) -> io::Result<()> {
    park_io(async_fs::remove_file(path))
}

/// Removes a directory and everything in it.
///
/// # Errors
///
/// As [`std::fs::remove_dir_all`], with the path in the message.
pub fn remove_dir_all(path: impl AsRef<Path>) -> io::Result<()> {
    park_io(async_fs::remove_dir_all(path))
}

/// An open file for green threads: `std::io::Read`, `Write` and `Seek`
/// that park while the pool works.
#[derive(Debug)]
pub struct File {
    inner: async_fs::File,
}

impl File {
    /// Opens `path` for reading.
    ///
    /// # Errors
    ///
    /// As [`std::fs::File::open`], with the path in the message.
    pub fn open(path: impl AsRef<Path>) -> io::Result<File> {
        park_io(async_fs::File::open(path)).map(File::from_async)
    }

    /// Creates (or truncates) `path` for writing.
    ///
    /// # Errors
    ///
    /// As [`std::fs::File::create`], with the path in the message.
    pub fn create(path: impl AsRef<Path>) -> io::Result<File> {
        park_io(async_fs::File::create(path)).map(File::from_async)
    }

    /// Wraps an async file for blocking-style use.
    pub fn from_async(inner: async_fs::File) -> File {
        File { inner }
    }

    /// Unwraps into the async file.
    pub fn into_async(self) -> async_fs::File {
        self.inner
    }

    /// The path the file was opened with.
    pub fn path(&self) -> &Path {
        self.inner.path()
    }

    /// Flushes and syncs data and metadata to disk.
    ///
    /// # Errors
    ///
    /// A write error surfaced by the flush, or as `fsync(2)`.
    pub fn sync_all(&mut self) -> io::Result<()> {
        self.flush()?;
        park_io(self.inner.sync_all())
    }

    /// Flushes pending writes and closes the file, reporting any error
    /// (dropping it instead loses a late write error).
    ///
    /// # Errors
    ///
    /// A write error surfaced by the flush.
    pub fn close(mut self) -> io::Result<()> {
        park_io(poll_fn(|cx| Pin::new(&mut self.inner).poll_close(cx)))
    }
}

impl Read for File {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        park_io(poll_fn(|cx| Pin::new(&mut self.inner).poll_read(cx, buf)))
    }
}

impl Write for File {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        park_io(poll_fn(|cx| Pin::new(&mut self.inner).poll_write(cx, buf)))
    }

    fn flush(&mut self) -> io::Result<()> {
        park_io(poll_fn(|cx| Pin::new(&mut self.inner).poll_flush(cx)))
    }
}

impl Seek for File {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        park_io(poll_fn(|cx| Pin::new(&mut self.inner).poll_seek(cx, pos)))
    }
}
