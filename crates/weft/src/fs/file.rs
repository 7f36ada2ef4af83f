//! An open file whose reads, writes and seeks run on the pool's `fs` lane.
//!
//! # Parts
//!
//! - `job`: at most one operation in flight (a read, write or seek job), so
//!   operations reach the OS in call order.
//! - `buf`: one buffer (at most [`IO_CHUNK`]) that moves into each job and
//!   back, so a file allocates it once and it stays warm in the cache; while
//!   a job runs, `buf` is empty. Between jobs, `buf[start..]` holds bytes
//!   read from the OS and not yet returned to the caller.
//!
//! # Operations
//!
//! - **Reads** run one `read(2)` of up to `min(len, IO_CHUNK)` bytes into the
//!   buffer and copy out to the caller; bytes the caller's buffer could not
//!   take are served by the next read without a job.
//! - **Read-ahead**: while reads return all they ask for (a sequential
//!   reader), a read of the same size starts as soon as the caller has
//!   taken the last buffered byte, so the next chunk is read while the
//!   caller works on what it got. A non-sequential reader pays at most one
//!   wasted read per full read. (Measured alternatives, both slower on the
//!   64 MiB benchmark: reading ahead a whole `IO_CHUNK` when the caller asks
//!   for less, and reading ahead into a second buffer before serving the
//!   current one; a bigger working set falls out of the CPU cache.)
//! - **Writes** are write-behind, like tokio's: `poll_write` copies the
//!   caller's bytes (up to [`IO_CHUNK`]) into the buffer, starts the job and
//!   returns `Ready(Ok(n))` at once. A failed write is reported by the next
//!   operation on the file (`poll_write`, `poll_flush`, `poll_read`,
//!   `poll_seek`, ...). `poll_flush`/`poll_close` wait for the write in
//!   flight, so **flush or close before dropping to see write errors**.
//! - **Seeks** are relative to the caller's position, not the OS's.
//!
//! # Invariants
//!
//! - With no job in flight, the OS file position is the caller's position
//!   plus `buf.unread()`. A write or seek waits for the job in flight, then
//!   moves the OS position back over the unread bytes (inside its own job)
//!   and discards them; so does every other operation (`metadata`,
//!   `set_len`, `into_std`, ...) before it runs.
//! - A job is started only when `buf` has no unread bytes (or, for a
//!   write, holds just the bytes to write).
//! - A failed read nobody waits for any more (its future was dropped, or it
//!   was a read-ahead) is dropped, not reported: the read that needs those
//!   bytes reads, and fails, again.
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
use super::IO_CHUNK;
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
    /// The buffer; see the module docs.
    buf: Buf,
    /// The operation in flight.
    job: Option<JobHandle<(Done, Buf)>>,
    /// A failure of a job whose caller moved on (a write-behind write, or
    /// an operation whose future was dropped), reported by the next
    /// operation: the verb and the error.
    pending_error: Option<(&'static str, io::Error)>,
    /// The size asked of the last read started.
    read_max: usize,
    /// The last read returned all it asked for (`read_max`): reads look
    /// sequential, so the next chunk is read ahead.
    sequential: bool,
}

impl File {
    /// Adopts an open `std` file; `path` is used only in error messages.
    /// Must be called inside a weft runtime (it takes the runtime's pool).
    pub fn from_std(std: std::fs::File, path: impl Into<PathBuf>) -> File {
        File::from_parts(std, Arc::from(path.into()), super::pool())
    }

    pub(super) fn from_parts(std: std::fs::File, path: Arc<Path>, pool: Arc<WorkerPool>) -> File {
        File {
            std: Arc::new(std),
            path,
            pool,
            buf: Buf::default(),
            job: None,
            pending_error: None,
            read_max: 0,
            sequential: false,
        }
    }

    /// The path the file was opened with.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Waits for the operation in flight, reports a pending error, and
    /// gives unread bytes back to the OS position (so that the OS position
    /// is the caller's). Cancel safe: each step is a job held in `job`.
    async fn settle(&mut self) -> io::Result<()> {
        poll_fn(|cx| self.poll_idle(cx)).await?;
        if self.unread() > 0 {
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
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: it only reads; the file stays usable (an operation in flight is finished by
    /// the next call).
    pub async fn metadata(&mut self) -> io::Result<std::fs::Metadata> {
        self.run_settled("read metadata of", |f| f.metadata()).await
    }

    /// Truncates or extends the file to `size` bytes.
    ///
    /// # Errors
    ///
    /// As [`std::fs::File::set_len`], with the path in the message.
    ///
    /// # Cancel safety
    ///
    /// Not cancel safe: once its job has started the length changes even if the future is
    /// dropped. The file stays usable.
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
    ///
    /// # Cancel safety
    ///
    /// Cancel safe in that nothing is lost: a dropped sync may or may not have reached the
    /// device, so call it again to be sure. The file stays usable.
    pub async fn sync_all(&mut self) -> io::Result<()> {
        self.run_settled("sync", |f| f.sync_all()).await
    }

    /// As [`File::sync_all`] but may skip metadata (`fdatasync`).
    ///
    /// # Errors
    ///
    /// As [`File::sync_all`].
    ///
    /// # Cancel safety
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
    ///
    /// # Cancel safety
    ///
    /// Not cancel safe: it takes the `File` by value, so dropping the future closes the file
    /// (a write in flight still finishes on the pool).
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

    /// Bytes read from the OS and not yet returned to the caller.
    fn unread(&self) -> usize {
        self.buf.unread()
    }

    /// Waits until no job is in flight; reports a pending error.
    fn poll_idle(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.job.is_some() {
            match ready!(self.poll_job(cx)) {
                Err(e) => return Poll::Ready(Err(e)),
                Ok(Done::Write(Err(e))) => self.pending_error = Some(("write", e)),
                Ok(Done::Seek(Err(e))) => {
                    self.pending_error.get_or_insert(("seek in", e));
                }
                // A read nobody waits for any more; its bytes (if any) are
                // kept as unread, and a failed one is simply read again.
                Ok(Done::Read(_) | Done::Write(Ok(())) | Done::Seek(Ok(_))) => {}
            }
        }
        Poll::Ready(take_pending(&mut self.pending_error, &self.path))
    }

    /// Starts `op` with the buffer. No job may be in flight; the buffer
    /// holds no unread bytes (the caller discarded them and has `op` move the
    /// OS position back) or holds the bytes to write.
    fn start<F>(&mut self, op: F)
    where
        F: FnOnce(&std::fs::File, &mut Buf) -> Done + Send + 'static,
    {
        debug_assert!(self.job.is_none(), "start with a job in flight");
        let mut buf = std::mem::take(&mut self.buf);
        let file = Arc::clone(&self.std);
        self.job = Some(self.pool.submit(Lane::Fs, move || {
            let done = op(&file, &mut buf);
            (done, buf)
        }));
    }

    /// Starts a read of up to `max` bytes (at most [`IO_CHUNK`]).
    fn start_read(&mut self, max: usize) {
        self.read_max = max;
        self.start(move |file, buf| Done::Read(buf.read_from(file, max)));
    }

    /// Waits for the job in flight and takes its buffer back.
    fn poll_job(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<Done>> {
        let job = self.job.as_mut().expect("poll_job with no job in flight");
        let result = ready!(Pin::new(job).poll(cx));
        self.job = None;
        match result {
            Ok((done, buf)) => {
                self.buf = buf;
                Poll::Ready(Ok(done))
            }
            // The job panicked or the pool shut down; its buffer is lost.
            Err(err) => Poll::Ready(Err(job_error(err, "use", &self.path))),
        }
    }
}

/// Smallest read a `File` makes. A caller that reads a few bytes at a time gets them from the
/// file's buffer rather than paying a pool round trip each (std's `BufReader` reads 8 KiB; a
/// round trip through the pool costs several syscalls' worth, hence more).
const MIN_READ: usize = 64 * 1024;

/// How much one read job asks for when the caller's buffer holds `asked` bytes.
fn read_size(asked: usize) -> usize {
    asked.clamp(MIN_READ, IO_CHUNK)
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
            take_pending(&mut this.pending_error, &this.path)?;
            if this.buf.unread() > 0 {
                let n = this.buf.copy_to(dst);
                if this.buf.unread() == 0 && this.sequential {
                    // Read the next chunk, of the size the caller asks for
                    // now (a growing `read_to_end` buffer asks for more each
                    // time), while it works on this one.
                    this.start_read(read_size(dst.len()));
                }
                return Poll::Ready(Ok(n));
            }
            if this.job.is_none() {
                this.start_read(read_size(dst.len()));
            }
            match ready!(this.poll_job(cx))? {
                Done::Read(Ok(0)) => return Poll::Ready(Ok(0)),
                Done::Read(Ok(n)) => this.sequential = n == this.read_max,
                Done::Read(Err(e)) => {
                    this.sequential = false;
                    return Poll::Ready(Err(path_error(e, "read", &this.path)));
                }
                Done::Write(Err(e)) => return Poll::Ready(Err(path_error(e, "write", &this.path))),
                Done::Seek(Err(e)) => {
                    return Poll::Ready(Err(path_error(e, "seek in", &this.path)))
                }
                Done::Write(Ok(())) | Done::Seek(Ok(_)) => {}
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
        // Rewind inside the job (a syscall), but count the bytes now.
        let unread = this.unread();
        this.sequential = false;
        this.buf.fill_for_write(&src[..n]);
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
            if this.job.is_none() {
                take_pending(&mut this.pending_error, &this.path)?;
                // The OS position is ahead of the caller's by the unread
                // bytes; a relative seek is from the caller's position.
                let unread = this.unread() as i64;
                this.buf.discard();
                this.sequential = false;
                let target = match pos {
                    SeekFrom::Current(off) => SeekFrom::Current(off - unread),
                    absolute => absolute,
                };
                this.start(move |mut file, _| Done::Seek(file.seek(target)));
            }
            match ready!(this.poll_job(cx))? {
                Done::Seek(result) => {
                    return Poll::Ready(result.map_err(|e| path_error(e, "seek in", &this.path)))
                }
                Done::Write(Err(e)) => return Poll::Ready(Err(path_error(e, "write", &this.path))),
                // A read (or read-ahead) or write from before this seek
                // finished; now start the seek itself.
                Done::Read(_) | Done::Write(Ok(())) => {}
            }
        }
    }
}

impl Drop for File {
    fn drop(&mut self) {
        if let Some(job) = self.job.take() {
            // A write reported as accepted must still reach the file. (A
            // read-ahead or seek in flight is detached too: it is harmless,
            // and the handle cannot tell which it carries.)
            job.detach();
        }
    }
}

impl fmt::Debug for File {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("File")
            .field("path", &self.path)
            .field("busy", &self.job.is_some())
            .field("unread", &self.unread())
            .finish()
    }
}
