//! `weft serve --access-log FILE|-`: one JSON line per request, written off the hot path.
//!
//! ```text
//! {"time":"2026-12-02T14:12:28.123Z","remote_addr":"127.0.0.1:50312","method":"GET","path":"/json","query":null,"status":200,"bytes":27,"duration":0.000041}
//! ```
//!
//! `time` is when the request reached the handler (RFC 3339, UTC, milliseconds); `bytes` the
//! response body's length (0 for `HEAD`, 204 and 304; a streamed body of unknown length gives
//! its `Content-Length` or `null`); `duration` the seconds from dispatch to the handler's
//! answer. Strings are JSON-escaped (`"`, `\`, control bytes as `\u00XX`); a byte that is
//! not part of valid UTF-8 is written percent-encoded (`%FF`), the same URI to a server.
//!
//! # Off the hot path
//!
//! Each loop's copy of the handler ([`Logged`], cloned per loop) appends its lines to a buffer
//! of its own: formatting one line and an uncontended lock, no syscall, nothing shared with
//! another loop. A buffer goes to the writer thread (over a bounded channel) when it holds
//! [`FLUSH_BYTES`], and at least every [`FLUSH_INTERVAL`] (a task on the loop), so an idle
//! server's lines still appear promptly. The writer thread does the `write`s.
//!
//! # No line lost, none torn
//!
//! A loop's copy of the handler flushes its buffer when it is dropped: at the end of the
//! loop's drain (or when the loop shuts down), before the runtime's threads are joined; then
//! [`AccessLog::finish`] closes the channel and waits for the writer to write everything. The
//! writer writes whole lines only, so the workers of a cluster (each its own process, each
//! appending to the same file, or writing to the same stdout) never interleave inside a line:
//! to a regular file it writes a whole buffer at once (Linux serialises writes to one file:
//! an `O_APPEND` write, or one on a shared file description, is never split by another); to
//! anything else (a pipe, a terminal) in `write`s of at most `PIPE_BUF` (4096) bytes, the size
//! up to which pipe writes are atomic (a single line longer than that, a path of several KiB,
//! could be torn). If the channel
//! is full (the disk is behind by [`CHANNEL_CHUNKS`] buffers), the loop waits for it, as nginx
//! waits for its log writes: lines are not dropped.

use std::cell::Cell;
use std::fs::OpenOptions;
use std::future::Future;
use std::io::{self, Write};
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use weft_http::{Handler, Method, Request, Response, StatusCode};

/// A loop's buffer goes to the writer once it holds this much.
pub(crate) const FLUSH_BYTES: usize = 64 * 1024;

/// And at least this often while it holds anything.
pub(crate) const FLUSH_INTERVAL: Duration = Duration::from_millis(250);

/// Buffers in flight to the writer before a loop waits for it (16 MiB at most).
pub(crate) const CHANNEL_CHUNKS: usize = 256;

/// The largest write whose atomicity a pipe guarantees (POSIX `PIPE_BUF` on Linux).
const PIPE_BUF: usize = 4096;

/// Where `--access-log` writes: a file (appended to) or standard output.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Target {
    /// `-`.
    Stdout,
    /// A file, created if missing, appended to.
    File(PathBuf),
}

impl Target {
    /// Parses the `--access-log` value.
    pub(crate) fn parse(text: &str) -> Result<Target, String> {
        match text {
            "" => Err("expected a file name, or - for standard output".into()),
            "-" => Ok(Target::Stdout),
            path => Ok(Target::File(PathBuf::from(path))),
        }
    }
}

/// The writer thread and the way to it.
#[derive(Debug)]
pub(crate) struct AccessLog {
    sink: SyncSender<Vec<u8>>,
    writer: JoinHandle<()>,
    /// Disconnected when the writer has written everything and ends.
    done: Receiver<()>,
}

/// How long [`AccessLog::finish`] waits for the writer: enough for any backlog to reach the
/// disk; past it (a handler copy that was never dropped keeps the channel open) the stop goes
/// on rather than hang, with a warning.
const FINISH_WAIT: Duration = Duration::from_secs(10);

impl AccessLog {
    /// Opens `target` and starts the writer thread.
    pub(crate) fn open(target: &Target) -> io::Result<AccessLog> {
        let out: std::fs::File = match target {
            Target::Stdout => io::stdout().as_fd().try_clone_to_owned()?.into(),
            Target::File(path) => open_append(path)?,
        };
        let shown = match target {
            Target::Stdout => "-".to_string(),
            Target::File(path) => path.display().to_string(),
        };
        let (sink, chunks) = sync_channel(CHANNEL_CHUNKS);
        let (done_tx, done) = sync_channel::<()>(0);
        let writer = std::thread::Builder::new()
            .name("weft-access-log".into())
            .spawn(move || {
                write_chunks(out, &chunks, &shown);
                drop(done_tx);
            })?;
        Ok(AccessLog { sink, writer, done })
    }

    /// Wraps `handler` so every request it answers is logged here.
    pub(crate) fn layer<H: Handler>(&self, handler: H) -> Logged<H> {
        Logged {
            inner: handler,
            log: LoopLog::new(self.sink.clone()),
        }
    }

    /// Waits until every line is written. Call it once the server stopped (every loop's copy of
    /// the handler, holding the other ends of the channel, is gone by then).
    pub(crate) fn finish(self) {
        drop(self.sink);
        if let Err(std::sync::mpsc::RecvTimeoutError::Timeout) = self.done.recv_timeout(FINISH_WAIT)
        {
            tracing::warn!(
                "access log: writer still busy after {FINISH_WAIT:?}; its last lines may be lost"
            );
            return;
        }
        if self.writer.join().is_err() {
            tracing::error!("the access log writer panicked");
        }
    }
}

/// Whether `target` can be opened: a cluster's supervisor checks once, so that a bad path is
/// one clear error at start rather than every worker failing in turn.
pub(crate) fn check(target: &Target) -> io::Result<()> {
    match target {
        Target::Stdout => Ok(()),
        Target::File(path) => open_append(path).map(drop),
    }
}

fn open_append(path: &Path) -> io::Result<std::fs::File> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| io::Error::new(e.kind(), format!("--access-log {}: {e}", path.display())))
}

/// The writer thread: every chunk, whole lines at a time (see the module docs).
fn write_chunks(mut out: std::fs::File, chunks: &Receiver<Vec<u8>>, shown: &str) {
    let mut failed = false;
    let regular = out.metadata().is_ok_and(|m| m.file_type().is_file());
    for chunk in chunks {
        let written = if regular {
            out.write_all(&chunk)
        } else {
            write_lines(&mut out, &chunk)
        };
        if let Err(error) = written {
            if !failed {
                tracing::error!("--access-log {shown}: {error}; lines are being lost");
                failed = true;
            }
        }
    }
}

/// Writes `chunk` (whole lines) in pieces of at most [`PIPE_BUF`] bytes that end at a line's
/// end (a longer line goes alone).
fn write_lines(out: &mut impl Write, mut chunk: &[u8]) -> io::Result<()> {
    while !chunk.is_empty() {
        let window = &chunk[..chunk.len().min(PIPE_BUF)];
        let cut = match window.iter().rposition(|&b| b == b'\n') {
            Some(end) if window.len() < chunk.len() => end + 1,
            _ if window.len() == chunk.len() => chunk.len(),
            // One line longer than PIPE_BUF: to its end.
            _ => chunk
                .iter()
                .position(|&b| b == b'\n')
                .map_or(chunk.len(), |end| end + 1),
        };
        out.write_all(&chunk[..cut])?;
        chunk = &chunk[cut..];
    }
    Ok(())
}

/// One loop's buffer of lines (each loop's copy of [`Logged`] has its own).
#[derive(Debug)]
struct LoopLog {
    sink: SyncSender<Vec<u8>>,
    lines: Arc<Mutex<Vec<u8>>>,
    /// Whether this copy started its interval flusher (on its loop, at the first line).
    flusher: Cell<bool>,
    /// The second last formatted and its text up to the seconds (`2026-12-02T14:12:28`).
    second: Cell<(u64, [u8; 19])>,
}

impl LoopLog {
    fn new(sink: SyncSender<Vec<u8>>) -> LoopLog {
        LoopLog {
            sink,
            lines: Arc::new(Mutex::new(Vec::new())),
            flusher: Cell::new(false),
            second: Cell::new((u64::MAX, [0; 19])),
        }
    }

    /// [`rfc3339`], with the date and time of day formatted once per second.
    fn time(&self, line: &mut Vec<u8>, now: SystemTime) {
        let since = now.duration_since(UNIX_EPOCH).unwrap_or_default();
        let (secs, text) = self.second.get();
        let text = if secs == since.as_secs() {
            text
        } else {
            let mut full = Vec::with_capacity(24);
            rfc3339(&mut full, UNIX_EPOCH + Duration::from_secs(since.as_secs()));
            let mut text = [0u8; 19];
            text.copy_from_slice(&full[..19]);
            self.second.set((since.as_secs(), text));
            text
        };
        line.extend_from_slice(&text);
        let _ = write!(line, ".{:03}Z", since.subsec_millis());
    }

    fn push(&self, line: &[u8]) {
        let full = {
            let mut lines = self.lines.lock().unwrap_or_else(PoisonError::into_inner);
            if lines.capacity() == 0 {
                lines.reserve(FLUSH_BYTES + 1024);
            }
            lines.extend_from_slice(line);
            (lines.len() >= FLUSH_BYTES).then(|| std::mem::take(&mut *lines))
        };
        if let Some(full) = full {
            let _ = self.sink.send(full);
        }
        if !self.flusher.replace(true) {
            let (lines, sink) = (self.lines.clone(), self.sink.clone());
            weft::spawn_local(async move {
                loop {
                    weft::time::sleep(FLUSH_INTERVAL).await;
                    if !flush(&lines, &sink) {
                        break;
                    }
                }
            })
            .detach();
        }
    }
}

/// Sends what `lines` holds; false once the writer is gone.
fn flush(lines: &Mutex<Vec<u8>>, sink: &SyncSender<Vec<u8>>) -> bool {
    let taken = std::mem::take(&mut *lines.lock().unwrap_or_else(PoisonError::into_inner));
    taken.is_empty() || sink.send(taken).is_ok()
}

impl Clone for LoopLog {
    /// A fresh, empty buffer for another loop.
    fn clone(&self) -> LoopLog {
        LoopLog::new(self.sink.clone())
    }
}

impl Drop for LoopLog {
    fn drop(&mut self) {
        flush(&self.lines, &self.sink);
    }
}

/// A handler whose requests are logged (`weft serve` leaves it out without `--access-log`).
#[derive(Clone, Debug)]
pub(crate) struct Logged<H> {
    inner: H,
    log: LoopLog,
}

impl<H: Handler> Handler for Logged<H> {
    fn call(&self, request: Request) -> impl Future<Output = Response> + '_ {
        let mut line = Vec::with_capacity(256);
        begin_line(&mut line, &request, &self.log);
        let (head, at) = (request.method() == Method::Head, Instant::now());
        LoggedAnswer {
            answer: Box::pin(self.inner.call(request)),
            line,
            head,
            at,
            log: &self.log,
        }
    }

    fn streams_body(&self, request: &Request) -> bool {
        self.inner.streams_body(request)
    }
}

/// A logged request's answer: the handler's future (boxed), then the line's end. Small,
/// because the connection's future slot is as large as the largest answer it may hold,
/// and without `--access-log` every request still moves one: an `async` block here kept
/// the inner future twice (captured, and awaited) and made the slot 320 bytes against
/// 128 without it; boxed, the log costs its own requests one allocation, and the others
/// nothing.
struct LoggedAnswer<'a, F> {
    answer: Pin<Box<F>>,
    line: Vec<u8>,
    head: bool,
    at: Instant,
    log: &'a LoopLog,
}

impl<F: Future<Output = Response>> Future for LoggedAnswer<'_, F> {
    type Output = Response;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Response> {
        let this = &mut *self; // Unpin: the inner future is boxed
        let response = std::task::ready!(this.answer.as_mut().poll(cx));
        end_line(&mut this.line, &response, this.head, this.at.elapsed());
        this.log.push(&this.line);
        Poll::Ready(response)
    }
}

/// The fields known before the handler runs: time, remote address, method, path, query.
fn begin_line(line: &mut Vec<u8>, request: &Request, log: &LoopLog) {
    line.extend_from_slice(b"{\"time\":\"");
    log.time(line, SystemTime::now());
    line.extend_from_slice(b"\",\"remote_addr\":");
    match request.remote_addr() {
        Some(addr) => {
            line.push(b'"');
            let _ = write!(line, "{addr}");
            line.push(b'"');
        }
        None => line.extend_from_slice(b"null"),
    }
    line.extend_from_slice(b",\"method\":");
    json_string(line, request.method_str().as_bytes());
    line.extend_from_slice(b",\"path\":");
    json_string(line, request.path().as_bytes());
    line.extend_from_slice(b",\"query\":");
    match request.query() {
        Some(query) => json_string(line, query.as_bytes()),
        None => line.extend_from_slice(b"null"),
    }
}

/// The fields known after: status, bytes, duration; and the line's end.
fn end_line(line: &mut Vec<u8>, response: &Response, head: bool, took: Duration) {
    let status = response.status();
    let bodiless = head || status == StatusCode::NO_CONTENT || status == StatusCode::NOT_MODIFIED;
    let bytes = if bodiless {
        Some(0)
    } else {
        response.body().len().or_else(|| {
            response
                .header("content-length")
                .and_then(|n| n.trim().parse().ok())
        })
    };
    let _ = write!(line, ",\"status\":{},\"bytes\":", status.as_u16());
    match bytes {
        Some(n) => {
            let _ = write!(line, "{n}");
        }
        None => line.extend_from_slice(b"null"),
    }
    // Seconds with six decimals, in integers (cheaper than formatting a float).
    let micros = took.as_micros();
    let _ = writeln!(
        line,
        ",\"duration\":{}.{:06}}}",
        micros / 1_000_000,
        micros % 1_000_000
    );
}

/// `bytes` as a JSON string: `"` and `\` escaped, control bytes as `\u00XX`, valid UTF-8 kept,
/// any other byte percent-encoded.
pub(crate) fn json_string(line: &mut Vec<u8>, mut bytes: &[u8]) {
    line.push(b'"');
    loop {
        let (valid, rest) = match std::str::from_utf8(bytes) {
            Ok(all) => (all, &[][..]),
            Err(error) => {
                let (good, bad) = bytes.split_at(error.valid_up_to());
                // The first `valid_up_to` bytes are valid UTF-8 by definition.
                (std::str::from_utf8(good).unwrap_or(""), bad)
            }
        };
        for &b in valid.as_bytes() {
            match b {
                b'"' => line.extend_from_slice(b"\\\""),
                b'\\' => line.extend_from_slice(b"\\\\"),
                b'\n' => line.extend_from_slice(b"\\n"),
                b'\r' => line.extend_from_slice(b"\\r"),
                b'\t' => line.extend_from_slice(b"\\t"),
                0..=0x1f | 0x7f => {
                    let _ = write!(line, "\\u{b:04x}");
                }
                b => line.push(b),
            }
        }
        let Some((&bad, after)) = rest.split_first() else {
            break;
        };
        let _ = write!(line, "%{bad:02X}");
        bytes = after;
    }
    line.push(b'"');
}

/// `at` as RFC 3339 in UTC with milliseconds: `2026-12-02T14:12:28.123Z`.
pub(crate) fn rfc3339(line: &mut Vec<u8>, at: SystemTime) {
    let since = at.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs();
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (year, month, day) = civil_from_days(days as i64);
    let _ = write!(
        line,
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60,
        since.subsec_millis()
    );
}

/// Days since 1970-01-01 to (year, month, day): Howard Hinnant's `civil_from_days`.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(bytes: &[u8]) -> String {
        let mut out = Vec::new();
        json_string(&mut out, bytes);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn strings_are_escaped_for_json() {
        assert_eq!(json(br#"/a"b\c"#), r#""/a\"b\\c""#);
        assert_eq!(json(b"\x01\n\x7f"), r#""\u0001\n\u007f""#);
        assert_eq!(json("/é".as_bytes()), "\"/é\"");
        assert_eq!(json(b"/\xff\xfeok"), "\"/%FF%FEok\"");
        let parsed: String = serde_json::from_str(&json(b"\"\\\x00\xc3")).unwrap();
        assert_eq!(parsed, "\"\\\u{0}%C3");
    }

    #[test]
    fn the_cached_second_gives_the_same_text() {
        let (sink, _chunks) = sync_channel(1);
        let log = LoopLog::new(sink);
        for ms in [
            1_796_220_748_123u64,
            1_796_220_748_999,
            1_796_220_749_000,
            951_782_400_000,
        ] {
            let at = UNIX_EPOCH + Duration::from_millis(ms);
            let (mut cached, mut direct) = (Vec::new(), Vec::new());
            log.time(&mut cached, at);
            rfc3339(&mut direct, at);
            assert_eq!(cached, direct);
        }
    }

    #[test]
    fn times_are_rfc3339_utc() {
        let mut out = Vec::new();
        rfc3339(
            &mut out,
            UNIX_EPOCH + Duration::from_millis(1_796_220_748_123),
        );
        assert_eq!(String::from_utf8(out).unwrap(), "2026-12-02T14:12:28.123Z");
        let mut out = Vec::new();
        rfc3339(&mut out, UNIX_EPOCH + Duration::from_secs(951_782_400)); // a leap day
        assert_eq!(String::from_utf8(out).unwrap(), "2000-02-29T00:00:00.000Z");
    }

    #[test]
    fn writes_end_at_line_ends_and_stay_under_pipe_buf() {
        let line = [b'x'; 99].iter().chain(b"\n").copied().collect::<Vec<u8>>();
        let chunk: Vec<u8> = line.iter().copied().cycle().take(100 * 100).collect();
        struct Writes(Vec<usize>, Vec<u8>);
        impl Write for Writes {
            fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
                self.0.push(buf.len());
                self.1.extend_from_slice(buf);
                Ok(buf.len())
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let mut out = Writes(Vec::new(), Vec::new());
        write_lines(&mut out, &chunk).unwrap();
        assert_eq!(out.1, chunk);
        assert!(
            out.0.iter().all(|&n| n <= PIPE_BUF && n % 100 == 0),
            "{:?}",
            out.0
        );
    }
}
