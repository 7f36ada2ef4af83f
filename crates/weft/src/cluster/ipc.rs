//! Typed, framed, bounded message channels over a Unix stream socket.
//!
//! A [`Channel<Tx, Rx>`] sends values of `Tx` and receives values of `Rx` over one connected
//! `AF_UNIX` stream socket — in a cluster, the socketpair between the supervisor and one worker.
//!
//! # Wire format
//!
//! Each message is one frame: a 4-byte big-endian payload length, then the payload, which is
//! the message in JSON (`serde_json`). JSON because this is a control channel, not a data path:
//! a few small messages per second, where the cost of encoding does not matter, but clarity
//! does. JSON is self-describing, so when a reload starts workers from a *newer* binary whose
//! message types gained a field or a variant, a mismatch is reported as a decode error that
//! names the problem, instead of being silently misread as it could be with a positional format
//! (bincode, postcard); and a frame can be read in `strace` output.
//!
//! # Backpressure
//!
//! Nothing grows without bound. A [`Sender`] holds at most one encoded frame; it is written as
//! the socket accepts it, and while the kernel's socket buffers are full (the peer does not
//! read), `send` waits. So the data in flight is bounded by one frame plus the two kernel
//! buffers ([`SOCKET_BUFFER_BYTES`] asked for each, which the kernel doubles). A frame longer
//! than [`MAX_FRAME_BYTES`] is refused by the sender (before anything is written) and by the
//! receiver (before anything is allocated), so a corrupt length cannot make the receiver
//! allocate gigabytes.
//!
//! # Errors
//!
//! [`IpcError::Closed`] says the peer is gone (its end was closed, typically because its process
//! exited); [`IpcError::Decode`] that a frame did not hold a valid `Rx` (the channel stays
//! usable: the bad frame is skipped); the others are I/O errors and protocol violations.

use crate::net::UnixStream;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::fmt;
use std::future::poll_fn;
use std::io;
use std::marker::PhantomData;
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::task::{Context, Poll};

/// Largest payload of one frame: 16 MiB. Control messages are a few hundred bytes; anything
/// near this is a bug or a corrupt length prefix, refused before allocating.
pub const MAX_FRAME_BYTES: usize = 16 << 20;

/// Bytes of the length prefix.
const HEADER_BYTES: usize = 4;

/// Kernel send/receive buffer size asked for on each end of a cluster socketpair: 256 KiB, room
/// for thousands of control messages, and a bound on what a peer that stopped reading can make
/// the sender queue before `send` waits.
pub const SOCKET_BUFFER_BYTES: usize = 256 * 1024;

/// Bytes read from the socket at a time.
const READ_CHUNK_BYTES: usize = 16 * 1024;

/// Why a channel operation failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum IpcError {
    /// The peer closed the channel: its process exited or it dropped its end.
    Closed,
    /// The message could not be encoded as JSON.
    Encode(serde_json::Error),
    /// A frame did not decode as the expected message type. The frame was skipped; the channel
    /// can still be used.
    Decode {
        /// Payload length of the frame.
        len: usize,
        /// What serde_json said.
        error: serde_json::Error,
    },
    /// A frame's length exceeds [`MAX_FRAME_BYTES`] (on send: the message is too large; on
    /// receive: the stream is corrupt, and the channel is no longer usable).
    FrameTooLarge {
        /// The length found.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The stream ended in the middle of a frame.
    Truncated {
        /// Bytes of the unfinished frame that were received.
        received: usize,
    },
    /// An I/O error on the socket.
    Io(io::Error),
    /// (Supervisor) there is no running worker in this slot.
    NoWorker {
        /// The slot addressed.
        slot: usize,
    },
}

impl fmt::Display for IpcError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IpcError::Closed => write!(
                f,
                "IPC channel closed by the peer (its process exited or dropped the channel)"
            ),
            IpcError::Encode(e) => write!(f, "IPC message could not be encoded: {e}"),
            IpcError::Decode { len, error } => {
                write!(
                    f,
                    "IPC frame of {len} bytes is not a valid message: {error}"
                )
            }
            IpcError::FrameTooLarge { len, max } => write!(
                f,
                "IPC frame of {len} bytes exceeds the limit of {max} bytes (MAX_FRAME_BYTES)"
            ),
            IpcError::Truncated { received } => write!(
                f,
                "IPC stream ended in the middle of a frame ({received} bytes of it received)"
            ),
            IpcError::Io(e) => write!(f, "IPC socket error: {e}"),
            IpcError::NoWorker { slot } => write!(f, "no running worker in slot {slot}"),
        }
    }
}

impl std::error::Error for IpcError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            IpcError::Encode(e) | IpcError::Decode { error: e, .. } => Some(e),
            IpcError::Io(e) => Some(e),
            _ => None,
        }
    }
}

impl From<io::Error> for IpcError {
    /// Socket errors; a broken pipe or a reset is [`IpcError::Closed`].
    fn from(err: io::Error) -> IpcError {
        IpcError::from_io(err)
    }
}

impl IpcError {
    /// True if the peer is gone.
    pub fn is_closed(&self) -> bool {
        matches!(self, IpcError::Closed)
    }

    fn from_io(err: io::Error) -> IpcError {
        match err.kind() {
            io::ErrorKind::BrokenPipe
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted => IpcError::Closed,
            _ => IpcError::Io(err),
        }
    }
}

/// Encodes `message` as one frame (length prefix and JSON payload).
pub(crate) fn encode<T: Serialize>(message: &T) -> Result<Vec<u8>, IpcError> {
    let mut frame = vec![0u8; HEADER_BYTES];
    serde_json::to_writer(&mut frame, message).map_err(IpcError::Encode)?;
    let len = frame.len() - HEADER_BYTES;
    if len > MAX_FRAME_BYTES {
        return Err(IpcError::FrameTooLarge {
            len,
            max: MAX_FRAME_BYTES,
        });
    }
    frame[..HEADER_BYTES].copy_from_slice(&(len as u32).to_be_bytes());
    Ok(frame)
}

/// The sending half of a channel.
pub struct Sender<T> {
    stream: Arc<UnixStream>,
    /// The frame being written, and how much of it was.
    frame: Vec<u8>,
    written: usize,
    _type: PhantomData<fn(T)>,
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender")
            .field("fd", &self.stream.as_raw_fd())
            .field("unflushed", &(self.frame.len() - self.written))
            .finish()
    }
}

impl<T: Serialize> Sender<T> {
    fn new(stream: Arc<UnixStream>) -> Sender<T> {
        Sender {
            stream,
            frame: Vec::new(),
            written: 0,
            _type: PhantomData,
        }
    }

    /// Sends `message`, waiting while the peer's buffers are full.
    ///
    /// # Cancel safety
    ///
    /// If cancelled while waiting for an earlier frame to drain, `message` was not sent. If
    /// cancelled after `message` was encoded, it stays in the sender and is finished by the
    /// next `send` or [`flush`](Self::flush): frames are never cut or interleaved.
    pub async fn send(&mut self, message: T) -> Result<(), IpcError> {
        self.flush().await?;
        self.frame = encode(&message)?;
        self.written = 0;
        self.flush().await
    }

    /// Waits until the frame in progress (if any) is written.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: the frame stays in the sender, partly written, and the next `flush` or
    /// `send` finishes it.
    pub async fn flush(&mut self) -> Result<(), IpcError> {
        poll_fn(|cx| self.poll_flush(cx)).await
    }
}

impl<T> Sender<T> {
    /// Queues an already encoded frame; only when the previous one is flushed.
    pub(crate) fn start_encoded(&mut self, frame: Vec<u8>) {
        debug_assert!(self.is_flushed(), "a frame is still being written");
        self.frame = frame;
        self.written = 0;
    }

    /// Drops the frame in progress (the peer is gone).
    pub(crate) fn discard(&mut self) {
        self.frame = Vec::new();
        self.written = 0;
    }

    /// Whether no frame is in progress.
    pub(crate) fn is_flushed(&self) -> bool {
        self.written == self.frame.len()
    }

    /// Writes the frame in progress as far as the socket accepts it.
    pub(crate) fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), IpcError>> {
        while self.written < self.frame.len() {
            match self.stream.poll_write(cx, &self.frame[self.written..]) {
                Poll::Ready(Ok(0)) => return Poll::Ready(Err(IpcError::Closed)),
                Poll::Ready(Ok(n)) => self.written += n,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(IpcError::from_io(e))),
                Poll::Pending => return Poll::Pending,
            }
        }
        if !self.frame.is_empty() {
            self.frame = Vec::new();
            self.written = 0;
        }
        Poll::Ready(Ok(()))
    }
}

/// The receiving half of a channel.
pub struct Receiver<T> {
    stream: Arc<UnixStream>,
    buf: Vec<u8>,
    /// Bytes of `buf` already consumed.
    start: usize,
    eof: bool,
    _type: PhantomData<fn() -> T>,
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver")
            .field("fd", &self.stream.as_raw_fd())
            .field("buffered", &(self.buf.len() - self.start))
            .finish()
    }
}

impl<T: DeserializeOwned> Receiver<T> {
    fn new(stream: Arc<UnixStream>) -> Receiver<T> {
        Receiver {
            stream,
            buf: Vec::new(),
            start: 0,
            eof: false,
            _type: PhantomData,
        }
    }

    /// Receives the next message.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: bytes already read stay buffered for the next call.
    pub async fn recv(&mut self) -> Result<T, IpcError> {
        poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// Polls for the next message; see [`recv`](Self::recv).
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Result<T, IpcError>> {
        loop {
            match self.take_frame() {
                Ok(Some(Ok(message))) => return Poll::Ready(Ok(message)),
                Ok(Some(Err(error))) => return Poll::Ready(Err(error)),
                Ok(None) => {}
                Err(error) => return Poll::Ready(Err(error)),
            }
            let buffered = self.buf.len() - self.start;
            if self.eof {
                return Poll::Ready(Err(if buffered == 0 {
                    IpcError::Closed
                } else {
                    IpcError::Truncated { received: buffered }
                }));
            }
            if self.start > 0 && (self.start >= self.buf.len() / 2 || buffered == 0) {
                self.buf.drain(..self.start);
                self.start = 0;
            }
            let filled = self.buf.len();
            self.buf.resize(filled + READ_CHUNK_BYTES, 0);
            let read = self.stream.poll_read(cx, &mut self.buf[filled..]);
            match read {
                Poll::Ready(Ok(n)) => {
                    self.buf.truncate(filled + n);
                    if n == 0 {
                        self.eof = true;
                    }
                }
                Poll::Ready(Err(e)) => {
                    self.buf.truncate(filled);
                    let error = IpcError::from_io(e);
                    if error.is_closed() {
                        self.eof = true;
                        continue;
                    }
                    return Poll::Ready(Err(error));
                }
                Poll::Pending => {
                    self.buf.truncate(filled);
                    return Poll::Pending;
                }
            }
        }
    }

    /// The next complete frame, decoded: `Ok(None)` if none is complete yet; `Err` if the
    /// stream is corrupt (unusable from now on).
    #[allow(clippy::type_complexity)]
    fn take_frame(&mut self) -> Result<Option<Result<T, IpcError>>, IpcError> {
        Ok(
            decode_frame(&self.buf[self.start..])?.map(|(used, decoded)| {
                self.start += used;
                decoded
            }),
        )
    }
}

/// The frame decoder a [`Receiver`] runs on its buffered bytes, without a socket (the fuzz
/// target in crates/weft/fuzz drives it; not a stable API): `Ok(None)` if `data` does not yet
/// hold a complete frame, `Ok(Some((bytes used, decoded)))` for the first one (a payload that
/// is not a valid `T` is a [`IpcError::Decode`] and still used up), `Err` if the length prefix
/// is over [`MAX_FRAME_BYTES`] (the stream is unusable from there).
#[doc(hidden)]
#[allow(clippy::type_complexity)]
pub fn decode_frame<T: DeserializeOwned>(
    data: &[u8],
) -> Result<Option<(usize, Result<T, IpcError>)>, IpcError> {
    if data.len() < HEADER_BYTES {
        return Ok(None);
    }
    let len = u32::from_be_bytes(data[..HEADER_BYTES].try_into().expect("4 bytes")) as usize;
    if len > MAX_FRAME_BYTES {
        return Err(IpcError::FrameTooLarge {
            len,
            max: MAX_FRAME_BYTES,
        });
    }
    if data.len() < HEADER_BYTES + len {
        return Ok(None);
    }
    let payload = &data[HEADER_BYTES..HEADER_BYTES + len];
    let decoded = serde_json::from_slice(payload).map_err(|error| IpcError::Decode { len, error });
    Ok(Some((HEADER_BYTES + len, decoded)))
}

/// [`decode_frame`] with the cluster's own envelopes (supervisor → worker and worker →
/// supervisor, application messages as any JSON value): for the fuzz target; not a stable API.
/// Returns per frame whether it decoded as a `(to worker, to supervisor)` envelope, and the
/// bytes used, until `data` holds no further complete frame or the error that ends the stream.
#[doc(hidden)]
pub fn decode_control_frames(data: &[u8]) -> (Vec<(bool, bool)>, usize, Option<IpcError>) {
    let mut frames = Vec::new();
    let mut used = 0;
    loop {
        let rest = &data[used..];
        let to_worker = match decode_frame::<super::ToWorker<serde_json::Value>>(rest) {
            Ok(Some((n, decoded))) => (n, decoded.is_ok()),
            Ok(None) => return (frames, used, None),
            Err(error) => return (frames, used, Some(error)),
        };
        let to_supervisor = decode_frame::<super::ToSupervisor<serde_json::Value>>(rest)
            .expect("the same prefix")
            .expect("the same frame");
        assert_eq!(to_worker.0, to_supervisor.0, "one frame, one length");
        frames.push((to_worker.1, to_supervisor.1.is_ok()));
        used += to_worker.0;
    }
}

/// A bidirectional channel: sends `Tx`, receives `Rx`. See the [module docs](self).
///
/// ```
/// # let rt = weft::rt::Runtime::builder().current_thread().build().unwrap();
/// # rt.block_on(async {
/// use weft::cluster::ipc::Channel;
/// let (mut a, mut b) = Channel::<String, u32>::pair()?;
/// a.send("hello".to_string()).await?;
/// assert_eq!(b.recv().await?, "hello");
/// b.send(5).await?;
/// assert_eq!(a.recv().await?, 5);
/// # Ok::<(), weft::cluster::ipc::IpcError>(())
/// # }).unwrap();
/// ```
pub struct Channel<Tx, Rx> {
    sender: Sender<Tx>,
    receiver: Receiver<Rx>,
}

impl<Tx, Rx> fmt::Debug for Channel<Tx, Rx> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Channel")
            .field("sender", &self.sender)
            .field("receiver", &self.receiver)
            .finish()
    }
}

impl<Tx: Serialize, Rx: DeserializeOwned> Channel<Tx, Rx> {
    /// Two connected channel ends in this process (each end's `Tx` is the other's `Rx`), with
    /// [`SOCKET_BUFFER_BYTES`] kernel buffers. Must be called inside a weft loop.
    #[allow(clippy::type_complexity)]
    pub fn pair() -> io::Result<(Channel<Tx, Rx>, Channel<Rx, Tx>)>
    where
        Tx: DeserializeOwned,
        Rx: Serialize,
    {
        let (a, b) = crate::sys::socket::unix_pair(libc::SOCK_STREAM)?;
        for fd in [&a, &b] {
            crate::sys::process::set_socket_buffers(fd.as_raw_fd(), SOCKET_BUFFER_BYTES)?;
        }
        let a = UnixStream::from_std(std::os::unix::net::UnixStream::from(a))?;
        let b = UnixStream::from_std(std::os::unix::net::UnixStream::from(b))?;
        Ok((Channel::from_stream(a), Channel::from_stream(b)))
    }

    /// A channel over a connected Unix stream socket made elsewhere (inherited from a parent,
    /// say). Must be called inside a weft loop.
    pub fn from_std(stream: std::os::unix::net::UnixStream) -> io::Result<Channel<Tx, Rx>> {
        Ok(Channel::from_stream(UnixStream::from_std(stream)?))
    }

    /// A channel over a weft Unix stream.
    pub fn from_stream(stream: UnixStream) -> Channel<Tx, Rx> {
        let stream = Arc::new(stream);
        Channel {
            sender: Sender::new(stream.clone()),
            receiver: Receiver::new(stream),
        }
    }

    /// Sends one message; see [`Sender::send`].
    ///
    /// # Cancel safety
    ///
    /// As [`Sender::send`].
    pub async fn send(&mut self, message: Tx) -> Result<(), IpcError> {
        self.sender.send(message).await
    }

    /// Receives one message; see [`Receiver::recv`].
    ///
    /// # Cancel safety
    ///
    /// As [`Receiver::recv`]: cancel safe.
    pub async fn recv(&mut self) -> Result<Rx, IpcError> {
        self.receiver.recv().await
    }

    /// Splits into halves that separate tasks can own.
    pub fn split(self) -> (Sender<Tx>, Receiver<Rx>) {
        (self.sender, self.receiver)
    }
}
