//! Callback-style TCP, as Node's `net`: [`create_server`], [`connect`],
//! and [`Socket`] events (`data`, `end`, `drain`, `error`, `close`).
//!
//! # Roles
//!
//! - [`Server`]: a listener and one local task that accepts connections and
//!   hands each, as a [`Socket`], to the connection callback.
//! - [`Socket`]: a shared handle (clone it into callbacks) to one
//!   connection: its listeners, an output buffer, and flags.
//! - `SocketDriver`: one local task per connection that flushes the output
//!   buffer, reads, and emits events. All callbacks run inside its poll, on
//!   the loop thread.
//!
//! # States of a socket
//!
//! open → (peer sent FIN: `end` emitted) → ending (our output flushed,
//! then our write half shut down) → closed (`close` emitted with
//! `had_error`, listeners dropped, descriptor closed). [`Socket::end`]
//! enters ending from our side; [`Socket::destroy`] and any I/O error go
//! straight to closed (an error is first emitted as `error`). As in Node
//! without `allowHalfOpen`, a socket whose peer ended is ended from our
//! side once its output is flushed.
//!
//! # Invariants
//!
//! - Callbacks never run inside the call that registered them or inside
//!   `write`/`end`/`destroy`: those only record intent and wake the driver.
//! - Every error reaches a callback (`error` listeners, or the
//!   `on_listening`/`on_connect` callback) as a value; with no `error`
//!   listener it is logged and the socket closes. Nothing here panics on
//!   an I/O error.
//! - Listeners are dropped when the socket closes, which breaks the
//!   reference cycles that callbacks capturing their own socket create.
//!
//! # Back-pressure
//!
//! [`Socket::write`] never blocks: it appends to the output buffer and
//! returns `false` once that buffer holds [`WRITE_HIGH_WATER_MARK`] bytes
//! or more; `drain` is emitted when such a buffer has been flushed.
//! [`Socket::pause`] stops reading (and so `data` events) until
//! [`Socket::resume`].

use std::cell::{Cell, RefCell};
use std::fmt;
use std::future::Future;
use std::io;
use std::net::{Shutdown, SocketAddr};
use std::panic::{self, AssertUnwindSafe};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use super::handles::{expect_loop, Ref};
use super::listeners::{ListenerId, Listeners};
use crate::net;
use crate::task::JoinHandle;

/// Output buffered beyond this many bytes makes [`Socket::write`] return
/// `false` (and `drain` follow). 16 KiB: Node's default for sockets, so
/// code ported from Node keeps its flow-control behaviour.
pub const WRITE_HIGH_WATER_MARK: usize = 16 * 1024;

/// Bytes read per `read` call, the most one `data` event carries.
/// 16 KiB: a typical request or message arrives in one event, and 1,000
/// open connections hold 16 MiB of read buffers.
const READ_CHUNK: usize = 16 * 1024;

/// At most this many `data` events per poll of a socket before it yields,
/// so one fast sender cannot starve the loop's other connections. 16:
/// 256 KiB per turn at full chunks; arbitrary within that order.
const READS_PER_POLL: usize = 16;

/// Adds context (what was done, to where) to an I/O error.
fn context(e: io::Error, what: impl fmt::Display) -> io::Error {
    io::Error::new(e.kind(), format!("{what}: {e}"))
}

/// Per-socket flags; see the module doc for the states they encode.
#[derive(Default)]
struct Flags {
    paused: Cell<bool>,
    /// Shut down our write half once the output is flushed.
    ending: Cell<bool>,
    /// Our write half is shut down.
    write_shut: Cell<bool>,
    /// The peer sent FIN.
    peer_ended: Cell<bool>,
    /// Close as soon as the driver runs.
    destroyed: Cell<bool>,
    closed: Cell<bool>,
    /// The output went over the high-water mark; emit `drain` once flushed.
    needs_drain: Cell<bool>,
}

#[derive(Default)]
struct SocketEvents {
    data: Listeners<[u8]>,
    end: Listeners<()>,
    drain: Listeners<()>,
    error: Listeners<io::Error>,
    close: Listeners<bool>,
}

struct SocketShared {
    /// `None` once closed (the descriptor is closed then).
    stream: RefCell<Option<net::TcpStream>>,
    remote: Option<SocketAddr>,
    /// Output not yet written: `out[written..]`.
    out: RefCell<Vec<u8>>,
    written: Cell<usize>,
    flags: Flags,
    events: SocketEvents,
    driver: RefCell<Option<Waker>>,
}

/// One TCP connection with Node-style events. Clones share the connection.
#[derive(Clone)]
pub struct Socket {
    shared: Rc<SocketShared>,
}

impl Socket {
    /// Wraps a connected stream and spawns its driver on the current loop.
    fn start(stream: net::TcpStream, remote: Option<SocketAddr>) -> Socket {
        let shared = Rc::new(SocketShared {
            stream: RefCell::new(Some(stream)),
            remote,
            out: RefCell::new(Vec::new()),
            written: Cell::new(0),
            flags: Flags::default(),
            events: SocketEvents::default(),
            driver: RefCell::new(None),
        });
        crate::task::spawn_local(SocketDriver {
            shared: Rc::clone(&shared),
            buf: vec![0; READ_CHUNK].into_boxed_slice(),
            _handle: Ref::new(),
        })
        .detach();
        Socket { shared }
    }

    fn wake_driver(&self) {
        if let Some(waker) = self.shared.driver.borrow().as_ref() {
            waker.wake_by_ref();
        }
    }

    /// Listens for incoming data; each call gets one chunk as read.
    pub fn on_data(&self, listener: impl FnMut(&[u8]) + 'static) -> ListenerId {
        self.shared.events.data.add(false, Box::new(listener))
    }

    /// Listens for the peer ending its side (no more `data`).
    pub fn on_end(&self, mut listener: impl FnMut() + 'static) -> ListenerId {
        self.shared
            .events
            .end
            .add(false, Box::new(move |_: &()| listener()))
    }

    /// Listens for the output buffer having been flushed after a `write`
    /// returned `false`.
    pub fn on_drain(&self, mut listener: impl FnMut() + 'static) -> ListenerId {
        self.shared
            .events
            .drain
            .add(false, Box::new(move |_: &()| listener()))
    }

    /// Listens for errors; `close` (with `had_error = true`) follows.
    pub fn on_error(&self, listener: impl FnMut(&io::Error) + 'static) -> ListenerId {
        self.shared.events.error.add(false, Box::new(listener))
    }

    /// Listens for the socket closing; the argument says whether an error
    /// closed it. The last event a socket emits.
    pub fn on_close(&self, listener: impl FnMut(&bool) + 'static) -> ListenerId {
        self.shared.events.close.add(false, Box::new(listener))
    }

    /// Queues `data` for sending; returns `false` when the output buffer has
    /// reached [`WRITE_HIGH_WATER_MARK`] (the data is still queued; wait for
    /// `drain` before writing more). Ignored once the socket is ending or
    /// closed (returns `false`).
    pub fn write(&self, data: &[u8]) -> bool {
        let flags = &self.shared.flags;
        if flags.closed.get() || flags.ending.get() || flags.destroyed.get() {
            return false;
        }
        let buffered = {
            let mut out = self.shared.out.borrow_mut();
            out.extend_from_slice(data);
            out.len() - self.shared.written.get()
        };
        self.wake_driver();
        if buffered >= WRITE_HIGH_WATER_MARK {
            flags.needs_drain.set(true);
            false
        } else {
            true
        }
    }

    /// Finishes the socket from our side: queued output is sent, then our
    /// write half is shut down. The socket closes when the peer ends too.
    pub fn end(&self) {
        self.shared.flags.ending.set(true);
        self.wake_driver();
    }

    /// Closes the socket now, dropping queued output; `close` follows.
    pub fn destroy(&self) {
        self.shared.flags.destroyed.set(true);
        self.wake_driver();
    }

    /// Stops reading (no `data` events) until [`resume`](Socket::resume).
    pub fn pause(&self) {
        self.shared.flags.paused.set(true);
    }

    /// Resumes reading after [`pause`](Socket::pause).
    pub fn resume(&self) {
        self.shared.flags.paused.set(false);
        self.wake_driver();
    }

    /// The peer's address, when known.
    pub fn remote_addr(&self) -> Option<SocketAddr> {
        self.shared.remote
    }

    /// Bytes queued by `write` and not yet handed to the kernel.
    pub fn buffered(&self) -> usize {
        self.shared.out.borrow().len() - self.shared.written.get()
    }

    /// Whether the socket has closed.
    pub fn is_closed(&self) -> bool {
        self.shared.flags.closed.get()
    }
}

impl fmt::Debug for Socket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Socket")
            .field("remote", &self.shared.remote)
            .field("buffered", &self.buffered())
            .field("closed", &self.is_closed())
            .finish()
    }
}

/// Drives one socket (see the module doc).
struct SocketDriver {
    shared: Rc<SocketShared>,
    buf: Box<[u8]>,
    /// An open socket keeps `callback::run` going.
    _handle: Ref,
}

/// What one step of the driver decided.
enum Step {
    /// Made progress; run another step.
    Again,
    /// Nothing to do until woken.
    Wait,
    /// Close, with or without an error.
    Close(Option<io::Error>),
}

impl SocketDriver {
    /// Writes as much buffered output as the socket takes.
    fn flush(&self, cx: &mut Context<'_>) -> Step {
        let s = &*self.shared;
        loop {
            let result = {
                let out = s.out.borrow();
                let pending = &out[s.written.get()..];
                if pending.is_empty() {
                    break;
                }
                let stream = s.stream.borrow();
                let Some(stream) = stream.as_ref() else {
                    return Step::Wait;
                };
                stream.poll_write(cx, pending)
            };
            match result {
                Poll::Ready(Ok(0)) => {
                    return Step::Close(Some(io::Error::new(
                        io::ErrorKind::WriteZero,
                        "socket accepted no more data",
                    )))
                }
                Poll::Ready(Ok(n)) => s.written.set(s.written.get() + n),
                Poll::Ready(Err(e)) => return Step::Close(Some(context(e, "write"))),
                Poll::Pending => return Step::Wait,
            }
        }
        // Fully flushed.
        s.out.borrow_mut().clear();
        s.written.set(0);
        if s.flags.needs_drain.replace(false) {
            s.events.drain.emit(&());
            return Step::Again;
        }
        if s.flags.ending.get() && !s.flags.write_shut.get() {
            s.flags.write_shut.set(true);
            if let Some(stream) = s.stream.borrow().as_ref() {
                // NotConnected: the peer already reset; closing follows.
                if let Err(e) = stream.shutdown(Shutdown::Write) {
                    if e.kind() != io::ErrorKind::NotConnected {
                        return Step::Close(Some(context(e, "shutdown")));
                    }
                }
            }
        }
        if s.flags.write_shut.get() && s.flags.peer_ended.get() {
            return Step::Close(None);
        }
        Step::Wait
    }

    /// Reads one chunk and emits it.
    fn read(&mut self, cx: &mut Context<'_>) -> Step {
        let s = &*self.shared;
        if s.flags.paused.get() || s.flags.peer_ended.get() {
            return Step::Wait;
        }
        let result = {
            let stream = s.stream.borrow();
            let Some(stream) = stream.as_ref() else {
                return Step::Wait;
            };
            stream.poll_read(cx, &mut self.buf)
        };
        match result {
            Poll::Ready(Ok(0)) => {
                s.flags.peer_ended.set(true);
                s.events.end.emit(&());
                // No half-open sockets: end ours once flushed.
                s.flags.ending.set(true);
                Step::Again
            }
            Poll::Ready(Ok(n)) => {
                s.events.data.emit(&self.buf[..n]);
                Step::Again
            }
            Poll::Ready(Err(e)) => Step::Close(Some(context(e, "read"))),
            Poll::Pending => Step::Wait,
        }
    }

    /// Emits `error` (if any) and `close`, then releases everything.
    fn close(&self, error: Option<io::Error>) {
        let s = &*self.shared;
        s.flags.closed.set(true);
        let stream = s.stream.borrow_mut().take();
        drop(stream);
        let had_error = error.is_some();
        if let Some(e) = error {
            if s.events.error.emit(&e) == 0 {
                tracing::debug!(remote = ?s.remote, error = %e, "socket error with no error listener");
            }
        }
        s.events.close.emit(&had_error);
        release(s);
    }
}

/// Drops every listener and the output of a closed socket.
fn release(s: &SocketShared) {
    s.events.data.clear();
    s.events.end.clear();
    s.events.drain.clear();
    s.events.error.clear();
    s.events.close.clear();
    let out = std::mem::take(&mut *s.out.borrow_mut());
    drop(out);
    let waker = s.driver.borrow_mut().take();
    drop(waker);
}

impl Future for SocketDriver {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        {
            let mut driver = self.shared.driver.borrow_mut();
            if !driver.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                *driver = Some(cx.waker().clone());
            }
        }
        let mut reads = 0;
        loop {
            if self.shared.flags.destroyed.get() {
                self.close(None);
                return Poll::Ready(());
            }
            let flushed = self.flush(cx);
            let read = match flushed {
                Step::Close(e) => {
                    self.close(e);
                    return Poll::Ready(());
                }
                Step::Again => continue,
                Step::Wait if reads == READS_PER_POLL => {
                    cx.waker().wake_by_ref();
                    return Poll::Pending;
                }
                Step::Wait => self.read(cx),
            };
            match read {
                Step::Close(e) => {
                    self.close(e);
                    return Poll::Ready(());
                }
                Step::Again => reads += 1,
                Step::Wait => return Poll::Pending,
            }
        }
    }
}

impl Drop for SocketDriver {
    fn drop(&mut self) {
        // Cancelled (runtime shutdown) or a listener panicked: close the
        // descriptor and drop the listeners without emitting anything.
        if !self.shared.flags.closed.replace(true) {
            let stream = self.shared.stream.borrow_mut().take();
            drop(stream);
            release(&self.shared);
        }
    }
}

/// Connects to `addr` and calls `on_connect` with the socket, or with the
/// error (which names the address).
///
/// # Panics
///
/// Outside an event loop.
pub fn connect(addr: SocketAddr, on_connect: impl FnOnce(io::Result<Socket>) + 'static) {
    expect_loop("net::connect");
    let handle = Ref::new();
    crate::task::spawn_local(async move {
        let _handle = handle;
        match net::TcpStream::connect(addr).await {
            Ok(stream) => on_connect(Ok(Socket::start(stream, Some(addr)))),
            Err(e) => on_connect(Err(context(e, format_args!("connect to {addr}")))),
        }
    })
    .detach();
}

/// Creates a server that calls `on_connection` with each accepted socket.
/// Call [`Server::listen`] to start accepting.
pub fn create_server(on_connection: impl FnMut(Socket) + 'static) -> Server {
    Server {
        shared: Rc::new(ServerShared {
            on_connection: RefCell::new(Box::new(on_connection)),
            error: Listeners::default(),
            local_addr: Cell::new(None),
            accept_task: RefCell::new(None),
        }),
    }
}

struct ServerShared {
    on_connection: RefCell<Box<dyn FnMut(Socket)>>,
    error: Listeners<io::Error>,
    local_addr: Cell<Option<SocketAddr>>,
    accept_task: RefCell<Option<JoinHandle<()>>>,
}

/// A callback-style TCP server (see [`create_server`]).
#[derive(Clone)]
pub struct Server {
    shared: Rc<ServerShared>,
}

impl Server {
    /// Binds `addr` and starts accepting on the current loop; then calls
    /// `on_listening` (on a later turn of the loop) with the bound address,
    /// or with the error if binding failed or the server already listens.
    ///
    /// # Panics
    ///
    /// Outside an event loop.
    pub fn listen(
        &self,
        addr: SocketAddr,
        on_listening: impl FnOnce(io::Result<SocketAddr>) + 'static,
    ) {
        expect_loop("net::Server::listen");
        let bound = if self.shared.accept_task.borrow().is_some() {
            Err(io::Error::new(
                io::ErrorKind::AddrInUse,
                format!("listen on {addr}: this server is already listening"),
            ))
        } else {
            net::TcpListener::bind(addr)
                .and_then(|l| l.local_addr().map(|local| (l, local)))
                .map_err(|e| context(e, format_args!("listen on {addr}")))
        };
        let outcome = match bound {
            Ok((listener, local)) => {
                self.shared.local_addr.set(Some(local));
                let accept = accept_loop(Rc::clone(&self.shared), listener, Ref::new());
                let task = crate::task::spawn_local(accept);
                *self.shared.accept_task.borrow_mut() = Some(task);
                Ok(local)
            }
            Err(e) => Err(e),
        };
        let handle = Ref::new();
        crate::task::spawn_local(async move {
            on_listening(outcome);
            drop(handle);
        })
        .detach();
    }

    /// Listens for accept errors (the server keeps accepting after each).
    pub fn on_error(&self, listener: impl FnMut(&io::Error) + 'static) -> ListenerId {
        self.shared.error.add(false, Box::new(listener))
    }

    /// Stops accepting and closes the listening socket; open connections
    /// are not affected.
    pub fn close(&self) {
        if let Some(task) = self.shared.accept_task.borrow_mut().take() {
            task.abort();
        }
        self.shared.local_addr.set(None);
    }

    /// The bound address while listening.
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.shared.local_addr.get()
    }
}

impl fmt::Debug for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Server")
            .field("local_addr", &self.local_addr())
            .finish()
    }
}

/// Accepts until aborted by [`Server::close`]; `_handle` keeps `callback::run` going while
/// the server listens.
async fn accept_loop(server: Rc<ServerShared>, listener: net::TcpListener, _handle: Ref) {
    loop {
        match listener.accept().await {
            Ok((stream, remote)) => {
                let socket = Socket::start(stream, Some(remote));
                let mut on_connection = server.on_connection.borrow_mut();
                // A panicking connection callback is reported and the server
                // keeps accepting; the socket it got is closed.
                let keep = socket.clone();
                if let Err(panic) =
                    panic::catch_unwind(AssertUnwindSafe(|| (on_connection)(socket)))
                {
                    let msg = crate::panic_payload::describe(&*panic);
                    tracing::error!(remote = %remote, panic = msg, "connection callback panicked");
                    keep.destroy();
                }
            }
            Err(e) => {
                let e = context(e, "accept");
                if server.error.emit(&e) == 0 {
                    tracing::warn!(error = %e, "accept failed (no error listener)");
                }
                crate::time::sleep(net::ACCEPT_ERROR_PAUSE).await;
            }
        }
    }
}
