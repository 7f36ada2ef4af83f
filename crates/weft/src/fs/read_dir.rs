//! Listing a directory, a batch of entries per pool job.
//!
//! # States
//!
//! ```text
//! Idle { dir, batch }   -- batch empty, dir not exhausted --> Busy(job)
//! Busy(job)             -- job returns dir + next batch   --> Idle
//! Idle { dir: None }    -- exhausted: next_entry() is Ok(None) from now on
//! ```
//!
//! Each job reads up to [`READ_DIR_BATCH`] entries (and their file types,
//! which usually come free with the entry), so listing a large directory
//! costs one job per batch, not one per entry, and no job holds a lane
//! thread for the whole directory.

use std::collections::VecDeque;
use std::ffi::OsString;
use std::fmt;
use std::future::{poll_fn, Future};
use std::io;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use super::path_error::{job_error, path_error};
use super::{run, FileType, Metadata};
use crate::pool::{JobHandle, Lane, WorkerPool};

/// Entries one pool job reads: enough that a job's hand-off cost is spread
/// over many entries, few enough that the first ones arrive quickly and a
/// batch is a few kilobytes.
pub const READ_DIR_BATCH: usize = 32;

type Batch = VecDeque<io::Result<DirEntry>>;

enum State {
    Idle {
        dir: Option<std::fs::ReadDir>,
        batch: Batch,
    },
    Busy(JobHandle<(Option<std::fs::ReadDir>, Batch)>),
}

/// The entries of a directory, from [`read_dir`].
///
/// # Cancel safety
///
/// [`ReadDir::next_entry`] is cancel safe: if its future is dropped, no entry
/// is lost; the batch being read is delivered by the next call.
pub struct ReadDir {
    path: Arc<Path>,
    pool: Arc<WorkerPool>,
    state: State,
}

/// Opens the directory `path` for listing. Entries come in the order the
/// OS gives them; `.` and `..` are not included.
///
/// # Errors
///
/// As [`std::fs::read_dir`], with the path in the message; errors reading a
/// later entry come from [`ReadDir::next_entry`], also with the path.
///
/// # Cancel safety
///
/// As the [module's](super#cancellation): dropped before it completes, the listing is not
/// opened, or is opened by the job already started and closed with its unread result.
pub async fn read_dir(path: impl AsRef<Path>) -> io::Result<ReadDir> {
    let path: Arc<Path> = Arc::from(path.as_ref());
    let job_path = Arc::clone(&path);
    let (dir, batch) = run("read directory", &path, move || {
        let mut dir = std::fs::read_dir(&job_path)?;
        let batch = read_batch(&mut dir);
        Ok((dir, batch))
    })
    .await?;
    Ok(ReadDir {
        path,
        pool: super::pool(),
        state: State::Idle {
            dir: Some(dir),
            batch,
        },
    })
}

fn read_batch(dir: &mut std::fs::ReadDir) -> Batch {
    dir.by_ref()
        .take(READ_DIR_BATCH)
        .map(|entry| {
            entry.map(|std| DirEntry {
                file_type: std.file_type().ok(),
                std,
            })
        })
        .collect()
}

impl ReadDir {
    /// The next entry, or `Ok(None)` when the directory is exhausted.
    ///
    /// # Errors
    ///
    /// A failure reading an entry, with the directory's path in the message;
    /// listing can continue after it.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: if its future is dropped, no entry is lost; the batch being read is
    /// delivered by the next call.
    pub async fn next_entry(&mut self) -> io::Result<Option<DirEntry>> {
        poll_fn(|cx| self.poll_next_entry(cx)).await
    }

    /// Poll form of [`ReadDir::next_entry`].
    ///
    /// # Errors
    ///
    /// As [`ReadDir::next_entry`].
    pub fn poll_next_entry(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<Option<DirEntry>>> {
        loop {
            match &mut self.state {
                State::Idle { dir, batch } => {
                    if let Some(entry) = batch.pop_front() {
                        return Poll::Ready(
                            entry
                                .map(Some)
                                .map_err(|e| path_error(e, "read directory", &self.path)),
                        );
                    }
                    let Some(mut dir) = dir.take() else {
                        return Poll::Ready(Ok(None));
                    };
                    let mut batch = std::mem::take(batch);
                    let job = self.pool.submit(Lane::Fs, move || {
                        batch.extend(read_batch(&mut dir));
                        // An empty batch means the directory is exhausted.
                        let dir = if batch.is_empty() { None } else { Some(dir) };
                        (dir, batch)
                    });
                    self.state = State::Busy(job);
                }
                State::Busy(job) => {
                    let (dir, batch) = match ready!(Pin::new(job).poll(cx)) {
                        Ok(pair) => pair,
                        Err(e) => {
                            self.state = State::Idle {
                                dir: None,
                                batch: Batch::new(),
                            };
                            return Poll::Ready(Err(job_error(e, "read directory", &self.path)));
                        }
                    };
                    self.state = State::Idle { dir, batch };
                }
            }
        }
    }
}

impl fmt::Debug for ReadDir {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReadDir").field("path", &self.path).finish()
    }
}

/// The entries as a stream: `Some(Err(..))` for an entry that could not be read (listing
/// goes on after it), `None` once the directory is exhausted.
impl futures_core::Stream for ReadDir {
    type Item = io::Result<DirEntry>;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<io::Result<DirEntry>>> {
        self.poll_next_entry(cx).map(Result::transpose)
    }
}

/// One entry of a directory listing.
pub struct DirEntry {
    std: std::fs::DirEntry,
    /// Read with the batch; `None` if that failed (retried on demand).
    file_type: Option<FileType>,
}

impl DirEntry {
    /// The full path: the listed directory joined with the file name.
    pub fn path(&self) -> PathBuf {
        self.std.path()
    }

    /// The bare file name.
    pub fn file_name(&self) -> OsString {
        self.std.file_name()
    }

    /// The entry's file type (not following symlinks). Usually known from
    /// the listing itself; otherwise read on the pool.
    ///
    /// # Errors
    ///
    /// As [`std::fs::DirEntry::file_type`], with the path in the message.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: it only reads; a dropped call's pool job is cancelled or its result dropped.
    pub async fn file_type(&self) -> io::Result<FileType> {
        if let Some(t) = self.file_type {
            return Ok(t);
        }
        let path = self.path();
        let job_path = path.clone();
        run("read file type of", &path, move || {
            std::fs::symlink_metadata(job_path).map(|m| m.file_type())
        })
        .await
    }

    /// The entry's metadata (not following symlinks).
    ///
    /// # Errors
    ///
    /// As [`std::fs::DirEntry::metadata`], with the path in the message.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: it only reads; a dropped call's pool job is cancelled or its result dropped.
    pub async fn metadata(&self) -> io::Result<Metadata> {
        let path = self.path();
        let job_path = path.clone();
        run("read metadata of", &path, move || {
            std::fs::symlink_metadata(job_path)
        })
        .await
    }
}

impl fmt::Debug for DirEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("DirEntry").field(&self.path()).finish()
    }
}
