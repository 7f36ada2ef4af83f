//! Files and directories, without blocking the event loop.
//!
//! Linux offers no readiness model for regular files (epoll reports them
//! always ready, and a read can still wait on the disk), so, like libuv and
//! tokio, every call here runs the `std::fs` call on the worker pool's `fs`
//! [`Lane`] and awaits it. The awaiting task resumes on its own loop.
//!
//! Like [`crate::spawn`], these functions must be called inside a weft loop
//! (they use [`crate::rt::current_pool`]) and panic elsewhere.
//!
//! # Errors carry the path
//!
//! Every error is an `io::Error` with the same [`io::ErrorKind`] as the
//! `std::fs` call's and a message naming the operation and path (see
//! [`PathError`]): `could not open `/srv/missing`: No such file or directory
//! (os error 2)`.
//!
//! # Chunking
//!
//! A lane has few threads (4 by default), so one job must not hold one for
//! long. Whole-file reads and writes ([`read`], [`write()`], [`copy`]) and each
//! [`File`] read or write move at most [`IO_CHUNK`] bytes per job; the next
//! chunk is a new job at the back of the lane's queue, so other files' jobs
//! interleave with a large one. Calls that the OS does in one step
//! ([`rename`], [`remove_dir_all`], ...) are one job.
//!
//! # Cancellation
//!
//! Dropping a future from this module before it completes cancels its
//! queued job if it has not started; a started call runs to its end (a
//! thread cannot be interrupted) and its result is dropped. A dropped
//! [`write()`] or [`copy`] may therefore leave a partly written file.

mod file;
mod open_options;
mod path_error;
mod read_dir;

use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use file::File;
pub use open_options::OpenOptions;
pub use path_error::PathError;
pub use read_dir::{read_dir, DirEntry, ReadDir, READ_DIR_BATCH};
pub use std::fs::{FileType, Metadata, Permissions};

use crate::pool::{Lane, WorkerPool};
use path_error::{job_error, path_error, two_path_error};

/// Most bytes one pool job reads, writes or copies: 2 MiB, a few hundred
/// microseconds of page-cache copying, so a lane thread turns to other
/// files' jobs at least that often. tokio's `File` uses the same per-call
/// limit; much smaller chunks make the per-job hand-off (a few microseconds)
/// show in throughput.
pub const IO_CHUNK: usize = 2 * 1024 * 1024;

fn pool() -> Arc<WorkerPool> {
    crate::rt::current_pool()
}

/// Runs `f` on the `fs` lane; errors (of `f` or of the pool) get `op` and
/// `path`.
async fn run<T, F>(op: &'static str, path: &Path, f: F) -> io::Result<T>
where
    F: FnOnce() -> io::Result<T> + Send + 'static,
    T: Send + 'static,
{
    match pool().submit(Lane::Fs, f).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(err)) => Err(path_error(err, op, path)),
        Err(err) => Err(job_error(err, op, path)),
    }
}

/// Reads the whole file at `path`, [`IO_CHUNK`] bytes per pool job.
///
/// # Errors
///
/// As [`std::fs::read`], with the path in the message.
///
/// # Cancel safety
///
/// Cancel safe: it only reads; what was read is dropped with the future (see
/// [Cancellation](self#cancellation)).
pub async fn read(path: impl AsRef<Path>) -> io::Result<Vec<u8>> {
    let path = path.as_ref().to_owned();
    let pool = pool();
    // The first job opens the file, sizes the buffer and reads the first
    // chunk, so a small file costs one job.
    let opened = {
        let path = path.clone();
        move || -> io::Result<(std::fs::File, WholeFile)> {
            let file = std::fs::File::open(&path)?;
            let size = file.metadata().map_or(0, |m| m.len());
            let mut whole = WholeFile::with_size(size)?;
            whole.read_chunk(&file)?;
            Ok((file, whole))
        }
    };
    let (mut file, mut whole) = run("read", &path, opened).await?;
    while !whole.done {
        let job = move || -> (io::Result<()>, std::fs::File, WholeFile) {
            let result = whole.read_chunk(&file);
            (result, file, whole)
        };
        let (result, f, w) = pool
            .submit(Lane::Fs, job)
            .await
            .map_err(|e| job_error(e, "read", &path))?;
        result.map_err(|e| path_error(e, "read", &path))?;
        (file, whole) = (f, w);
    }
    Ok(whole.bytes)
}

/// Bytes read to tell the end of a file from growth past its reported
/// size: like std's `read_to_end` probe, small enough for the stack.
const PROBE_LEN: usize = 32;

/// A whole-file read in progress.
struct WholeFile {
    /// The data read so far; capacity reserved for the file's size up front.
    bytes: Vec<u8>,
    /// The file's size when opened (0 if it reports none, like /proc files).
    size: usize,
    /// Data was found past `size`: read on in chunks, growing the buffer.
    grew: bool,
    done: bool,
}

impl WholeFile {
    fn with_size(size: u64) -> io::Result<WholeFile> {
        let too_large = || {
            io::Error::new(
                io::ErrorKind::OutOfMemory,
                format!("the file is too large to read into memory ({size} bytes)"),
            )
        };
        let size = usize::try_from(size).map_err(|_| too_large())?;
        let mut bytes = Vec::new();
        bytes.try_reserve_exact(size).map_err(|_| too_large())?;
        Ok(WholeFile {
            bytes,
            size,
            grew: false,
            done: false,
        })
    }

    /// Reads up to [`IO_CHUNK`] more bytes; sets `done` at end of file.
    fn read_chunk(&mut self, mut file: &std::fs::File) -> io::Result<()> {
        let mut left = IO_CHUNK;
        while left > 0 {
            let len = self.bytes.len();
            let n = if len < self.size || self.grew {
                let max = if self.grew {
                    left
                } else {
                    left.min(self.size - len)
                };
                crate::sys::file::read_append(file, &mut self.bytes, max)?
            } else {
                // At the size the file had: usually end of file (one read
                // returning 0, in the same job as the last chunk), unless it
                // grew; a probe tells without growing the buffer for nothing.
                let mut probe = [0u8; PROBE_LEN];
                let n = loop {
                    match file.read(&mut probe) {
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        result => break result?,
                    }
                };
                self.bytes.extend_from_slice(&probe[..n]);
                self.grew = n > 0;
                n
            };
            if n == 0 {
                self.done = true;
                return Ok(());
            }
            left = left.saturating_sub(n);
        }
        Ok(())
    }
}

/// Reads the whole file at `path` as UTF-8 text.
///
/// # Errors
///
/// As [`read`]; invalid UTF-8 is `InvalidData` naming the path.
///
/// # Cancel safety
///
/// Cancel safe: it only reads; what was read is dropped with the future (see
/// [Cancellation](self#cancellation)).
pub async fn read_to_string(path: impl AsRef<Path>) -> io::Result<String> {
    let path = path.as_ref();
    let bytes = read(path).await?;
    String::from_utf8(bytes).map_err(|e| {
        path_error(
            io::Error::new(io::ErrorKind::InvalidData, e.utf8_error()),
            "read as UTF-8",
            path,
        )
    })
}

/// Writes `contents` to the file at `path`, creating it or truncating it,
/// [`IO_CHUNK`] bytes per pool job. `contents` is copied once, since the
/// pool thread needs bytes it owns.
///
/// # Errors
///
/// As [`std::fs::write`], with the path in the message.
///
/// # Cancel safety
///
/// Not cancel safe: dropped part-way, the file may be created and partly written (see
/// [Cancellation](self#cancellation)).
pub async fn write(path: impl AsRef<Path>, contents: impl AsRef<[u8]>) -> io::Result<()> {
    let path = path.as_ref().to_owned();
    let data = contents.as_ref().to_vec();
    let pool = pool();
    let created = {
        let path = path.clone();
        move || -> io::Result<(std::fs::File, Vec<u8>, usize)> {
            let mut file = std::fs::File::create(&path)?;
            let written = write_chunk(&mut file, &data, 0)?;
            Ok((file, data, written))
        }
    };
    let (mut file, mut data, mut written) = run("write", &path, created).await?;
    while written < data.len() {
        let job = move || -> (io::Result<usize>, std::fs::File, Vec<u8>) {
            let result = write_chunk(&mut file, &data, written);
            (result, file, data)
        };
        let (result, f, d) = pool
            .submit(Lane::Fs, job)
            .await
            .map_err(|e| job_error(e, "write", &path))?;
        written = result.map_err(|e| path_error(e, "write", &path))?;
        (file, data) = (f, d);
    }
    Ok(())
}

/// Writes the next chunk of `data` from offset `from`; returns the new offset.
fn write_chunk(file: &mut std::fs::File, data: &[u8], from: usize) -> io::Result<usize> {
    let to = data.len().min(from + IO_CHUNK);
    file.write_all(&data[from..to])?;
    Ok(to)
}

/// Copies the contents and permission bits of the file `from` to `to`
/// (created or truncated), [`IO_CHUNK`] bytes per pool job; returns the
/// number of bytes copied. Uses the kernel's in-place copy
/// (`copy_file_range`) where it can, as [`std::fs::copy`] does.
///
/// # Errors
///
/// As [`std::fs::copy`], with both paths in the message; copying a file
/// onto itself is `InvalidInput` (instead of truncating it to nothing).
///
/// # Cancel safety
///
/// Not cancel safe: dropped part-way, `to` may be created and partly written (see
/// [Cancellation](self#cancellation)).
pub async fn copy(from: impl AsRef<Path>, to: impl AsRef<Path>) -> io::Result<u64> {
    let (from, to) = (from.as_ref().to_owned(), to.as_ref().to_owned());
    let pool = pool();
    let wrap = |e: io::Error| two_path_error(e, "copy", &from, &to);
    let opened = {
        let (from, to) = (from.clone(), to.clone());
        move || -> io::Result<(std::fs::File, std::fs::File, u64, bool)> {
            let source = std::fs::File::open(&from)?;
            let meta = source.metadata()?;
            if !meta.is_file() {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "the source is not a regular file",
                ));
            }
            let dest = open_copy_destination(&to, &meta)?;
            let (copied, done) = copy_chunk(&source, &dest)?;
            Ok((source, dest, copied, done))
        }
    };
    let (mut source, mut dest, mut total, mut done) = match pool.submit(Lane::Fs, opened).await {
        Ok(result) => result.map_err(wrap)?,
        Err(e) => return Err(wrap(e.into())),
    };
    while !done {
        let job = move || (copy_chunk(&source, &dest), source, dest);
        let (result, s, d) = pool
            .submit(Lane::Fs, job)
            .await
            .map_err(|e| wrap(e.into()))?;
        let (copied, finished) = result.map_err(wrap)?;
        total += copied;
        done = finished;
        (source, dest) = (s, d);
    }
    Ok(total)
}

/// Opens `to` for writing without truncating it first, so that a copy onto
/// the source itself is caught before it destroys the data.
fn open_copy_destination(to: &Path, source: &Metadata) -> io::Result<std::fs::File> {
    use std::os::unix::fs::MetadataExt;
    let dest = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .open(to)?;
    let meta = dest.metadata()?;
    if meta.dev() == source.dev() && meta.ino() == source.ino() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "the source and the destination are the same file",
        ));
    }
    dest.set_len(0)?;
    dest.set_permissions(source.permissions())?;
    Ok(dest)
}

/// Copies up to [`IO_CHUNK`] bytes; returns the count and whether the
/// source is exhausted.
fn copy_chunk(source: &std::fs::File, mut dest: &std::fs::File) -> io::Result<(u64, bool)> {
    let n = io::copy(&mut source.take(IO_CHUNK as u64), &mut dest)?;
    Ok((n, n < IO_CHUNK as u64))
}

macro_rules! one_job {
    ($(#[$doc:meta])* $name:ident, $std:path, $op:literal, $out:ty) => {
        $(#[$doc])*
        ///
        /// # Errors
        ///
        #[doc = concat!("As [`", stringify!($std), "`], with the path in the message.")]
        ///
        /// # Cancel safety
        ///
        /// A dropped call's job is cancelled if it has not started; once started, the operation
        /// completes on the pool and only its result is dropped (see [Cancellation](self#cancellation)).
        pub async fn $name(path: impl AsRef<Path>) -> io::Result<$out> {
            let path = path.as_ref().to_owned();
            let job_path = path.clone();
            run($op, &path, move || $std(&job_path)).await
        }
    };
}

one_job!(
    /// Reads the metadata of `path`, following symlinks.
    metadata, std::fs::metadata, "read metadata of", Metadata
);
one_job!(
    /// Reads the metadata of `path` itself, not following a symlink.
    symlink_metadata, std::fs::symlink_metadata, "read metadata of", Metadata
);
one_job!(
    /// The absolute path of `path` with every symlink resolved.
    canonicalize, std::fs::canonicalize, "canonicalize", PathBuf
);
one_job!(
    /// Creates one directory; its parent must exist.
    create_dir, std::fs::create_dir, "create directory", ()
);
one_job!(
    /// Creates a directory and every missing parent.
    create_dir_all, std::fs::create_dir_all, "create directory", ()
);
one_job!(
    /// Removes a file (or symlink).
    remove_file, std::fs::remove_file, "remove file", ()
);
one_job!(
    /// Removes an empty directory.
    remove_dir, std::fs::remove_dir, "remove directory", ()
);
one_job!(
    /// Removes a directory and everything in it, in one pool job (the
    /// operating system offers no resumable way to chunk it).
    remove_dir_all, std::fs::remove_dir_all, "remove directory", ()
);
one_job!(
    /// Whether `path` exists: `Ok(false)` for a missing path, an error if
    /// that cannot be told (e.g. a parent is not searchable).
    try_exists, Path::try_exists, "check existence of", bool
);

/// Renames `from` to `to`, replacing `to` if it exists (same rules as
/// [`std::fs::rename`]).
///
/// # Errors
///
/// As [`std::fs::rename`], with both paths in the message.
///
/// # Cancel safety
///
/// A dropped call's job is cancelled if it has not started; once started, the rename
/// happens and only its result is dropped (see [Cancellation](self#cancellation)).
pub async fn rename(from: impl AsRef<Path>, to: impl AsRef<Path>) -> io::Result<()> {
    let (from, to) = (from.as_ref().to_owned(), to.as_ref().to_owned());
    let job = {
        let (from, to) = (from.clone(), to.clone());
        move || std::fs::rename(from, to)
    };
    match pool().submit(Lane::Fs, job).await {
        Ok(result) => result.map_err(|e| two_path_error(e, "rename", &from, &to)),
        Err(e) => Err(two_path_error(e.into(), "rename", &from, &to)),
    }
}

/// Sets the permissions of `path`.
///
/// # Errors
///
/// As [`std::fs::set_permissions`], with the path in the message.
///
/// # Cancel safety
///
/// A dropped call's job is cancelled if it has not started; once started, the change
/// happens and only its result is dropped (see [Cancellation](self#cancellation)).
pub async fn set_permissions(path: impl AsRef<Path>, perm: Permissions) -> io::Result<()> {
    let path = path.as_ref().to_owned();
    let job_path = path.clone();
    run("set permissions of", &path, move || {
        std::fs::set_permissions(job_path, perm)
    })
    .await
}
