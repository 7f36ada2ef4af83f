//! An open file whose reads, writes and seeks run on the pool's `fs` lane.
//!
//! # States
//!
//! A [`File`] has at most one operation in flight:
//!
//! ```text
//! Idle(buf) --poll_read/poll_write/poll_seek/... starts a job--> Busy(job)
//! Busy(job) --job completes--> Idle(buf)            (the job hands the buffer back)
//! ```
//!
//! The buffer moves into the job and back, so a file allocates it once (it
//! grows to the largest chunk used, at most [`IO_CHUNK`]).
//!
//! - **Reads** fill the buffer with up to `min(len, IO_CHUNK)` bytes (one
//!   `read(2)`) and copy out to the caller; bytes the caller's buffer could
//!   not take are served by the next read without a job.
//! - **Read-ahead**: when a read returned all it asked for and the caller
//!   took all of it, a read of [`IO_CHUNK`] bytes starts at once, so that a
//!   sequential reader's next chunk is read while it handles this one, in
//!   as few `read(2)` calls as the chunk size allows.
//!   The bytes read ahead count as unread (below), so seeks and writes stay
//!   exact; a non-sequential reader pays one wasted read per such read.
//! - **Writes** are write-behind, like tokio's: `poll_write` copies the
//!   caller's bytes (up to [`IO_CHUNK`]) into the buffer, starts the job and
//!   returns `Ready(Ok(n))` at once. A failed write is reported by the next
//!   operation on the file (`poll_write`, `poll_flush`, `poll_read`,
//!   `poll_seek`, ...). `poll_flush`/`poll_close` wait for the write in
//!   flight, so **flush or close before dropping to see write errors**.
//! - **Seeks** account for bytes read ahead but not yet returned, so the
//!   position callers see is the logical one.
//!
//! # Invariants
//!
//! - In `Idle`, the OS file position is `logical position + buf.unread()`.
//!   A write or seek first moves the OS position back by `buf.unread()`
//!   (inside its job) and discards the unread bytes.
//! - At most one job per file, so operations reach the OS in call order.
//!
//! # Drop
//!
//! Dropping a `File` with a write in flight lets that write finish on the
//! pool (it is detached, not cancelled: `poll_write` already reported the
//! bytes as accepted); the descriptor is closed when the job ends.

use std::fmt;
use std::future::{poll_fn, Future};
use std::io::{self, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use futures_io::{AsyncRead, AsyncSeek, AsyncWrite};

use super::path_error::{job_error, path_error};
use super::{run, IO_CHUNK};
use crate::pool::{JobHandle, Lane, WorkerPool};

/// The buffer a file's jobs read into and write from.
#[derive(Default)]
struct Buf {
    /// Bytes read from the OS (or to write); `bytes[start..]` not yet
    /// returned to the caller (or written).
    bytes: Vec<u8>,
    start: usize,
}

impl Buf {
    /// Bytes read from the OS but not yet returned to the caller.
    fn unread(&self) -> usize {
        self.bytes.len() - self.start
    }

    fn discard(&mut self) {
        self.bytes.clear();
        self.start = 0;
    }

    fn copy_to(&mut self, dst: &mut [u8]) -> usize {
        let n = dst.len().min(self.unread());
        dst[..n].copy_from_slice(&self.bytes[self.start..self.start + n]);
        self.start += n;
        n
    }

    /// One `read` of up to `max` bytes into the (uninitialized) buffer.
    fn read_from(&mut self, file: &std::fs::File, max: usize) -> io::Result<usize> {
        self.discard();
        crate::sys::file::read_append(file, &mut self.bytes, max)
    }

    fn fill_for_write(&mut self, src: &[u8]) {
        self.discard();
        self.bytes.extend_from_slice(src);
    }
}

/// What a finished job did.
enum Done {
    Read(io::Result<usize>),
    Write(io::Result<()>),
    Seek(io::Result<u64>),
}

enum State {
    Idle(Buf),
    Busy(JobHandle<(Done, Buf)>),
}

/// An open file whose operations run on the worker pool's `fs` lane, one at
/// a time, in call order.
///
/// Implements [`AsyncRead`], [`AsyncWrite`] and [`AsyncSeek`] (use them
/// through the extension traits of `futures::io` or `futures_util::io`).
///
/// - Each read or write moves at most [`IO_CHUNK`] bytes per pool job.
/// - **Writes are write-behind** (as tokio's): `poll_write` copies the bytes
///   and returns at once; a failure is reported by the next operation.
///   **Flush or close before dropping to see write errors.** Dropping the
///   file still completes writes it accepted.
/// - **Sequential reads read ahead**: after a read that got all it asked for,
///   the next chunk is read while the caller handles this one. Seeks and
///   writes account for bytes read ahead, so positions stay exact.
///
/// ```no_run
/// # async fn demo() -> std::io::Result<()> {
/// use futures_util::io::{AsyncReadExt, AsyncWriteExt};
/// let mut f = weft::fs::File::create("/tmp/hello.txt").await?;
/// f.write_all(b"hello").await?;
/// f.close().await?; // surfaces any write error
/// let mut text = String::new();
/// weft::fs::File::open("/tmp/hello.txt").await?.read_to_string(&mut text).await?;
/// # Ok(()) }
/// ```
pub struct File {
    std: Arc<std::fs::File>,
    path: Arc<Path>,
    pool: Arc<WorkerPool>,
    state: State,
    /// A failure of a job whose caller moved on (a write-behind write, or
    /// an operation whose future was dropped), reported by the next
    /// operation: the verb and the error.
    pending_error: Option<(&'static str, io::Error)>,
    /// The size asked of the last read started: a read that returns this
    /// much is followed by a read-ahead.
    read_max: usize,
}

/// Options for opening a file, as [`std::fs::OpenOptions`]; `open` runs on
/// the pool.
#[derive(Clone, Debug)]
pub struct OpenOptions(std::fs::OpenOptions);

impl OpenOptions {
    /// All options off (as [`std::fs::OpenOptions::new`]).
    pub fn new() -> Self {
        OpenOptions(std::fs::OpenOptions::new())
    }

    /// Open for reading.
    pub fn read(&mut self, on: bool) -> &mut Self {
        self.0.read(on);
        self
    }

    /// Open for writing.
    pub fn write(&mut self, on: bool) -> &mut Self {
        self.0.write(on);
        self
    }

    /// Open for appending: every write goes to the end.
    pub fn append(&mut self, on: bool) -> &mut Self {
        self.0.append(on);
        self
    }

    /// Truncate to length 0 on open (needs `write`).
    pub fn truncate(&mut self, on: bool) -> &mut Self {
        self.0.truncate(on);
        self
    }

    /// Create the file if it does not exist (needs `write` or `append`).
    pub fn create(&mut self, on: bool) -> &mut Self {
        self.0.create(on);
        self
    }

    /// Create the file, failing if it exists.
    pub fn create_new(&mut self, on: bool) -> &mut Self {
        self.0.create_new(on);
        self
    }

    /// Permission bits of a newly created file (before the umask).
    pub fn mode(&mut self, mode: u32) -> &mut Self {
        std::os::unix::fs::OpenOptionsExt::mode(&mut self.0, mode);
        self
    }

    /// Opens `path` with these options.
    ///
    /// # Errors
    ///
    /// As [`std::fs::OpenOptions::open`], with the path in the message.
    pub async fn open(&self, path: impl AsRef<Path>) -> io::Result<File> {
        let path: Arc<Path> = Arc::from(path.as_ref());
        let options = self.0.clone();
        let job_path = Arc::clone(&path);
        let std = run("open", &path, move || options.open(&job_path)).await?;
        Ok(File::from_parts(std, path, super::pool()))
    }
}

impl Default for OpenOptions {
    fn default() -> Self {
        Self::new()
    }
}

impl File {
    /// Opens `path` read-only.
    ///
    /// # Errors
    ///
    /// As [`std::fs::File::open`], with the path in the message.
    pub async fn open(path: impl AsRef<Path>) -> io::Result<File> {
        OpenOptions::new().read(true).open(path).await
    }

    /// Opens `path` write-only, creating it or truncating it.
    ///
    /// # Errors
    ///
    /// As [`std::fs::File::create`], with the path in the message.
    pub async fn create(path: impl AsRef<Path>) -> io::Result<File> {
        OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(path)
            .await
    }

    /// Options to open a file with.
    pub fn options() -> OpenOptions {
        OpenOptions::new()
    }

    /// Adopts an open `std` file; `path` is used only in error messages.
    /// Must be called inside a weft runtime (it takes the runtime's pool).
    pub fn from_std(std: std::fs::File, path: impl Into<PathBuf>) -> File {
        File::from_parts(std, Arc::from(path.into()), super::pool())
    }

    fn from_parts(std: std::fs::File, path: Arc<Path>, pool: Arc<WorkerPool>) -> File {
        File {
            std: Arc::new(std),
            path,
            pool,
            state: State::Idle(Buf::default()),
            pending_error: None,
            read_max: 0,
        }
    }

    /// The path the file was opened with.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Waits for the operation in flight, reports a pending error, and
    /// gives read-ahead bytes back to the OS position (so that the OS
    /// position is the caller's). Cancel safe: each step is a job held in
    /// `state`.
    async fn settle(&mut self) -> io::Result<()> {
        poll_fn(|cx| self.poll_idle(cx)).await?;
        if matches!(&self.state, State::Idle(buf) if buf.unread() > 0) {
            poll_fn(|cx| Pin::new(&mut *self).poll_seek(cx, SeekFrom::Current(0))).await?;
        }
        Ok(())
    }

    /// Runs `op` on the `std` file once no other operation is in flight.
    async fn run_settled<T, F>(&mut self, what: &'static str, op: F) -> io::Result<T>
    where
        F: FnOnce(&std::fs::File) -> io::Result<T> + Send + 'static,
        T: Send + 'static,
    {
        self.settle().await?;
        let file = Arc::clone(&self.std);
        match self.pool.submit(Lane::Fs, move || op(&file)).await {
            Ok(result) => result.map_err(|e| path_error(e, what, &self.path)),
            Err(e) => Err(job_error(e, what, &self.path)),
        }
    }

    /// Reads the file's metadata.
    ///
    /// # Errors
    ///
    /// As [`std::fs::File::metadata`], with the path in the message.
    pub async fn metadata(&mut self) -> io::Result<std::fs::Metadata> {
        self.run_settled("read metadata of", |f| f.metadata()).await
    }

    /// Truncates or extends the file to `size` bytes.
    ///
    /// # Errors
    ///
    /// As [`std::fs::File::set_len`], with the path in the message.
    pub async fn set_len(&mut self, size: u64) -> io::Result<()> {
        self.run_settled("set length of", move |f| f.set_len(size))
            .await
    }

    /// Waits for writes in flight, then flushes data and metadata to the
    /// device (`fsync`).
    ///
    /// # Errors
    ///
    /// A pending write error, or as [`std::fs::File::sync_all`], with the
    /// path in the message.
    pub async fn sync_all(&mut self) -> io::Result<()> {
        self.run_settled("sync", |f| f.sync_all()).await
    }

    /// As [`File::sync_all`] but may skip metadata (`fdatasync`).
    ///
    /// # Errors
    ///
    /// As [`File::sync_all`].
    pub async fn sync_data(&mut self) -> io::Result<()> {
        self.run_settled("sync", |f| f.sync_data()).await
    }

    /// Waits for the operation in flight and returns the `std` file,
    /// positioned at the logical position.
    ///
    /// # Errors
    ///
    /// A pending write error, or the failure to move the position back over
    /// read-ahead bytes.
    pub async fn into_std(mut self) -> io::Result<std::fs::File> {
        self.settle().await?;
        // Only a job could share the file, and none is in flight; should a
        // clone survive anyway, hand out a duplicate descriptor instead.
        let std = Arc::clone(&self.std);
        drop(self);
        match Arc::try_unwrap(std) {
            Ok(file) => Ok(file),
            Err(shared) => shared.try_clone(),
        }
    }

    /// Waits until no job is in flight; reports a pending error.
    fn poll_idle(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if let State::Busy(job) = &mut self.state {
            let (done, buf) = match ready!(Pin::new(job).poll(cx)) {
                Ok(pair) => pair,
                Err(err) => {
                    // The job panicked or the pool shut down; the buffer is
                    // lost with it.
                    self.state = State::Idle(Buf::default());
                    return Poll::Ready(Err(job_error(err, "use", &self.path)));
                }
            };
            self.state = State::Idle(buf);
            match done {
                Done::Write(Err(e)) => self.pending_error = Some(("write", e)),
                Done::Read(Err(e)) => {
                    self.pending_error.get_or_insert(("read", e));
                }
                Done::Seek(Err(e)) => {
                    self.pending_error.get_or_insert(("seek in", e));
                }
                Done::Read(Ok(_)) | Done::Write(Ok(())) | Done::Seek(Ok(_)) => {}
            }
        }
        Poll::Ready(take_pending(&mut self.pending_error, &self.path))
    }

    /// Starts `op` with the idle buffer.
    fn start<F>(&mut self, op: F)
    where
        F: FnOnce(&std::fs::File, &mut Buf) -> Done + Send + 'static,
    {
        let State::Idle(buf) = &mut self.state else {
            unreachable!("start with a job in flight")
        };
        let mut buf = std::mem::take(buf);
        let file = Arc::clone(&self.std);
        let job = self.pool.submit(Lane::Fs, move || {
            let done = op(&file, &mut buf);
            (done, buf)
        });
        self.state = State::Busy(job);
    }

    /// Starts a read of up to `max` bytes into the idle buffer.
    fn start_read(&mut self, max: usize) {
        self.read_max = max;
        self.start(move |file, buf| Done::Read(buf.read_from(file, max)));
    }

    /// Takes the finished job's result without interpreting it.
    fn poll_job(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<Done>> {
        let State::Busy(job) = &mut self.state else {
            unreachable!("poll_job with no job in flight")
        };
        match ready!(Pin::new(job).poll(cx)) {
            Ok((done, buf)) => {
                self.state = State::Idle(buf);
                Poll::Ready(Ok(done))
            }
            Err(err) => {
                self.state = State::Idle(Buf::default());
                Poll::Ready(Err(job_error(err, "use", &self.path)))
            }
        }
    }
}

/// `Err` with the pending error, if any.
fn take_pending(pending: &mut Option<(&'static str, io::Error)>, path: &Path) -> io::Result<()> {
    match pending.take() {
        Some((op, e)) => Err(path_error(e, op, path)),
        None => Ok(()),
    }
}

impl AsyncRead for File {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        dst: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        if dst.is_empty() {
            return Poll::Ready(Ok(0));
        }
        loop {
            match &mut this.state {
                State::Idle(buf) => {
                    take_pending(&mut this.pending_error, &this.path)?;
                    if buf.unread() > 0 {
                        return Poll::Ready(Ok(buf.copy_to(dst)));
                    }
                    this.start_read(dst.len().min(IO_CHUNK));
                }
                State::Busy(_) => match ready!(this.poll_job(cx))? {
                    Done::Read(Ok(0)) => return Poll::Ready(Ok(0)),
                    Done::Read(Ok(n)) => {
                        let State::Idle(buf) = &mut this.state else {
                            unreachable!("poll_job returned Ready with a job in flight")
                        };
                        let copied = buf.copy_to(dst);
                        if n == this.read_max && buf.unread() == 0 {
                            // A full read, all taken: the caller is likely
                            // reading on. Read the next chunk, a whole
                            // `IO_CHUNK` (fewer, larger reads), while it
                            // works on this one.
                            this.start_read(IO_CHUNK);
                        }
                        return Poll::Ready(Ok(copied));
                    }
                    Done::Read(Err(e)) => {
                        return Poll::Ready(Err(path_error(e, "read", &this.path)))
                    }
                    Done::Write(Err(e)) => {
                        return Poll::Ready(Err(path_error(e, "write", &this.path)))
                    }
                    Done::Write(Ok(())) | Done::Seek(Ok(_)) => {}
                    Done::Seek(Err(e)) => {
                        return Poll::Ready(Err(path_error(e, "seek in", &this.path)))
                    }
                },
            }
        }
    }
}

impl AsyncWrite for File {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        src: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        ready!(this.poll_idle(cx))?;
        if src.is_empty() {
            return Poll::Ready(Ok(0));
        }
        let n = src.len().min(IO_CHUNK);
        let State::Idle(buf) = &mut this.state else {
            unreachable!("poll_idle returned Ready with a job in flight")
        };
        // Rewind inside the job (a syscall), but capture the count now: the
        // buffer is about to hold the bytes to write.
        let unread = buf.unread();
        buf.fill_for_write(&src[..n]);
        this.start(move |mut file, buf| {
            let result = (|| {
                if unread > 0 {
                    file.seek(SeekFrom::Current(-(unread as i64)))?;
                }
                file.write_all(&buf.bytes[buf.start..])
            })();
            buf.discard();
            Done::Write(result)
        });
        Poll::Ready(Ok(n))
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_idle(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_flush(cx)
    }
}

impl AsyncSeek for File {
    fn poll_seek(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        pos: SeekFrom,
    ) -> Poll<io::Result<u64>> {
        let this = &mut *self;
        loop {
            match &mut this.state {
                State::Idle(buf) => {
                    take_pending(&mut this.pending_error, &this.path)?;
                    // The OS position is ahead of the caller's by the unread
                    // bytes; a relative seek is from the caller's position.
                    let unread = buf.unread() as i64;
                    buf.discard();
                    let target = match pos {
                        SeekFrom::Current(off) => SeekFrom::Current(off - unread),
                        absolute => absolute,
                    };
                    this.start(move |mut file, _| Done::Seek(file.seek(target)));
                }
                State::Busy(_) => match ready!(this.poll_job(cx))? {
                    Done::Seek(result) => {
                        return Poll::Ready(
                            result.map_err(|e| path_error(e, "seek in", &this.path)),
                        )
                    }
                    Done::Write(Err(e)) => {
                        return Poll::Ready(Err(path_error(e, "write", &this.path)))
                    }
                    // A read or write from before this seek finished; now
                    // start the seek itself (the buffer is discarded then).
                    Done::Read(_) | Done::Write(Ok(())) => {}
                },
            }
        }
    }
}

impl Drop for File {
    fn drop(&mut self) {
        if let State::Busy(job) = std::mem::replace(&mut self.state, State::Idle(Buf::default())) {
            // A write reported as accepted must still reach the file. (A
            // read-ahead or seek in flight is detached too: it is harmless,
            // and the job cannot tell which it carries.)
            job.detach();
        }
    }
}

impl fmt::Debug for File {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("File")
            .field("path", &self.path)
            .field("busy", &matches!(self.state, State::Busy(_)))
            .finish()
    }
}
