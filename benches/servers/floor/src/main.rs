//! The floor of the side-by-side server benchmark: what the kernel costs.
//!
//! One thread, one epoll instance, raw syscalls through `libc`. The server
//! does the least that still answers HTTP/1.1 keep-alive and pipelined
//! requests correctly for the benchmark's clients:
//!
//! 1. `accept4` every pending connection (non-blocking, close-on-exec),
//!    set `TCP_NODELAY`, register it once, edge-triggered, for
//!    `EPOLLIN | EPOLLOUT | EPOLLRDHUP`. It is never re-registered.
//! 2. On readiness, `read` into one buffer shared by all connections and
//!    count request ends (`\r\n\r\n`). A request head split across reads is
//!    carried in the connection's `head` until its end arrives.
//! 3. Answer every request ended by that read with one canned response, all
//!    of them in one `send`.
//! 4. Read again until `EAGAIN` or a short read (a read that did not fill the
//!    buffer drained the socket; any byte that arrives later raises a new
//!    edge), or until the peer closes.
//!
//! What it deliberately does not do: parse the request line or headers, look
//! at the method or path, read bodies, honour `Connection: close`, send a
//! `Date` header, or time anything out. Every request gets the same bytes.
//! That is the point: a real server's CPU per request is compared with this
//! one to see what its HTTP and runtime layers cost on top of the syscalls.
//!
//! Invariants:
//! - An idle connection holds no heap memory: `head` and `unsent` are empty
//!   and unallocated (they are replaced by `Vec::new()` when drained).
//! - While `unsent` is not empty the connection is not read (backpressure);
//!   the `EPOLLOUT` edge that follows a full send buffer resumes it.
//! - `conns[fd]` is `Some` exactly while `fd` is an open, registered
//!   connection. Closing the fd removes it from the epoll set.
//!
//! Usage: `floor [--host 127.0.0.1] [--port 8080] [--response floor|weft]`.
//! It runs until killed. `--response weft` sends, instead of the shortest
//! response, one exactly as long as `weft serve`'s (with `Server` and a
//! fixed `Date`): the kernel's cost of weft's bytes on the wire.

use std::io;
use std::net::Ipv4Addr;
use std::os::raw::c_int;

/// The one response, sent for every request (by default).
const RESPONSE: &[u8] =
    b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\nHello, World!";

/// With `--response weft`: as many bytes as `weft serve` sends for `/plaintext`
/// (the date is fixed; only its length matters to the kernel).
const WEFT_SIZED_RESPONSE: &[u8] =
    b"HTTP/1.1 200 OK\r\nServer: weft\r\nDate: Sun, 22 Nov 2026 04:15:40 GMT\r\n\
Content-Type: text/plain\r\nContent-Length: 13\r\n\r\nHello, World!";

/// The end of a request head.
const HEAD_END: &[u8] = b"\r\n\r\n";

/// Size of the read buffer shared by all connections: 64 KiB holds well over
/// a thousand pipelined benchmark requests, so one read drains a depth-16
/// batch with room to spare.
const READ_BUF_SIZE: usize = 64 * 1024;

/// Largest incomplete request head carried across reads before the
/// connection is closed. 16 KiB is far above any benchmark request (about
/// 50 bytes) and keeps a misbehaving client from growing memory unbounded.
const MAX_HEAD: usize = 16 * 1024;

/// Events taken per `epoll_wait`. Arbitrary; large enough that a busy loop
/// rarely needs a second call per wake-up.
const MAX_EVENTS: usize = 256;

/// Listen backlog: the kernel default cap (`net.core.somaxconn` = 4096), so a
/// burst of 10,000 connects is not throttled by SYN drops. Every peer in the
/// benchmark uses the same value.
const BACKLOG: c_int = 4096;

/// Token of the listener in the epoll set; connections use their fd.
const LISTENER_TOKEN: u64 = u64::MAX;

fn main() {
    let (host, port, response) = match parse_args() {
        Ok(args) => args,
        Err(msg) => {
            eprintln!(
                "floor: {msg}\nusage: floor [--host 127.0.0.1] [--port 8080] [--response floor|weft]"
            );
            std::process::exit(2);
        }
    };
    if let Err(err) = Floor::bind(host, port, response).and_then(|mut floor| floor.run()) {
        eprintln!("floor: {err}");
        std::process::exit(1);
    }
}

fn parse_args() -> Result<(Ipv4Addr, u16, &'static [u8]), String> {
    let mut host = Ipv4Addr::LOCALHOST;
    let mut port = 8080;
    let mut response = RESPONSE;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let value = args.next().ok_or(format!("{arg} needs a value"))?;
        match arg.as_str() {
            "--host" => host = value.parse().map_err(|e| format!("--host {value}: {e}"))?,
            "--port" => port = value.parse().map_err(|e| format!("--port {value}: {e}"))?,
            "--response" => {
                response = match value.as_str() {
                    "floor" => RESPONSE,
                    "weft" => WEFT_SIZED_RESPONSE,
                    _ => return Err(format!("--response {value}: expected floor or weft")),
                }
            }
            _ => return Err(format!("unknown argument {arg}")),
        }
    }
    Ok((host, port, response))
}

/// Per-connection state. Both buffers are empty and unallocated when idle.
#[derive(Default)]
struct Conn {
    /// Bytes of a request head whose `\r\n\r\n` has not arrived yet.
    head: Vec<u8>,
    /// Responses the socket did not accept yet; reading waits until it is sent.
    unsent: Vec<u8>,
}

struct Floor {
    epfd: c_int,
    listener: c_int,
    /// Indexed by fd.
    conns: Vec<Option<Conn>>,
    read_buf: Box<[u8]>,
    /// Scratch for the responses to one read.
    out: Vec<u8>,
    /// The response sent for every request.
    response: &'static [u8],
}

impl Floor {
    fn bind(host: Ipv4Addr, port: u16, response: &'static [u8]) -> io::Result<Floor> {
        // SAFETY: plain syscall with constant arguments; the result is checked.
        let epfd = cvt(unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) })?;
        let flags = libc::SOCK_STREAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC;
        // SAFETY: plain syscall with constant arguments; the result is checked.
        let listener = cvt(unsafe { libc::socket(libc::AF_INET, flags, 0) })?;
        set_int_opt(listener, libc::SOL_SOCKET, libc::SO_REUSEADDR, 1)?;
        // SAFETY: sockaddr_in is plain old data; all-zero is a valid value.
        let mut addr: libc::sockaddr_in = unsafe { std::mem::zeroed() };
        addr.sin_family = libc::AF_INET as libc::sa_family_t;
        addr.sin_port = port.to_be();
        addr.sin_addr.s_addr = u32::from(host).to_be();
        let len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
        // SAFETY: `addr` is a live, initialised sockaddr_in and `len` is its size.
        cvt(unsafe { libc::bind(listener, (&addr as *const libc::sockaddr_in).cast(), len) })
            .map_err(|e| io::Error::new(e.kind(), format!("bind {host}:{port}: {e}")))?;
        // SAFETY: `listener` is a bound socket we own.
        cvt(unsafe { libc::listen(listener, BACKLOG) })?;
        // The listener is level-triggered: if accept fails for lack of fds the
        // pending connections are reported again rather than forgotten.
        epoll_add(epfd, listener, libc::EPOLLIN as u32, LISTENER_TOKEN)?;
        Ok(Floor {
            epfd,
            listener,
            conns: Vec::new(),
            read_buf: vec![0; READ_BUF_SIZE].into_boxed_slice(),
            out: Vec::new(),
            response,
        })
    }

    fn run(&mut self) -> io::Result<()> {
        // SAFETY: epoll_event is plain old data; all-zero is a valid value.
        let mut events = vec![unsafe { std::mem::zeroed::<libc::epoll_event>() }; MAX_EVENTS];
        loop {
            // SAFETY: `events` has room for MAX_EVENTS entries and outlives the call.
            let n = unsafe {
                libc::epoll_wait(self.epfd, events.as_mut_ptr(), MAX_EVENTS as c_int, -1)
            };
            if n < 0 {
                let err = io::Error::last_os_error();
                if err.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(err);
            }
            for ev in &events[..n as usize] {
                let (token, flags) = (ev.u64, ev.events);
                if token == LISTENER_TOKEN {
                    self.accept_all();
                } else {
                    self.on_conn_event(token as c_int, flags);
                }
            }
        }
    }

    fn accept_all(&mut self) {
        loop {
            let flags = libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC;
            // SAFETY: null address pointers are allowed (we don't want the peer address).
            let fd = unsafe {
                libc::accept4(
                    self.listener,
                    std::ptr::null_mut(),
                    std::ptr::null_mut(),
                    flags,
                )
            };
            if fd < 0 {
                let err = io::Error::last_os_error();
                match err.raw_os_error() {
                    Some(libc::EAGAIN) => return,
                    Some(libc::EINTR | libc::ECONNABORTED) => continue,
                    _ => {
                        // EMFILE and friends: say so and retry on the next wake-up.
                        eprintln!("floor: accept: {err}");
                        return;
                    }
                }
            }
            let registered =
                set_int_opt(fd, libc::IPPROTO_TCP, libc::TCP_NODELAY, 1).and_then(|()| {
                    let interest =
                        libc::EPOLLIN | libc::EPOLLOUT | libc::EPOLLRDHUP | libc::EPOLLET;
                    epoll_add(self.epfd, fd, interest as u32, fd as u64)
                });
            if registered.is_err() {
                close(fd);
                continue;
            }
            let idx = fd as usize;
            if idx >= self.conns.len() {
                self.conns.resize_with(idx + 1, || None);
            }
            self.conns[idx] = Some(Conn::default());
        }
    }

    fn on_conn_event(&mut self, fd: c_int, flags: u32) {
        if !matches!(self.conns.get(fd as usize), Some(Some(_))) {
            return; // closed earlier in this batch of events
        }
        if flags & (libc::EPOLLERR | libc::EPOLLHUP) as u32 != 0 {
            self.close_conn(fd);
            return;
        }
        if flags & libc::EPOLLOUT as u32 != 0 && self.has_unsent(fd) {
            // Flushing resumes reading, which covers an EPOLLIN in `flags` too.
            self.flush_unsent(fd);
        } else if flags & (libc::EPOLLIN | libc::EPOLLRDHUP) as u32 != 0 {
            self.read_and_answer(fd);
        }
    }

    fn has_unsent(&self, fd: c_int) -> bool {
        self.conns[fd as usize]
            .as_ref()
            .is_some_and(|c| !c.unsent.is_empty())
    }

    /// Reads until the socket is drained, answering the requests of each read
    /// with one send. Stops early while responses are waiting to be sent.
    fn read_and_answer(&mut self, fd: c_int) {
        loop {
            if self.has_unsent(fd) {
                return;
            }
            // SAFETY: `read_buf` is a live buffer of `read_buf.len()` writable bytes.
            let n =
                unsafe { libc::read(fd, self.read_buf.as_mut_ptr().cast(), self.read_buf.len()) };
            if n == 0 {
                self.close_conn(fd);
                return;
            }
            if n < 0 {
                match io::Error::last_os_error().raw_os_error() {
                    Some(libc::EAGAIN) => return,
                    Some(libc::EINTR) => continue,
                    _ => {
                        self.close_conn(fd);
                        return;
                    }
                }
            }
            let n = n as usize;
            let Some(conn) = self.conns[fd as usize].as_mut() else {
                return;
            };
            let data = &self.read_buf[..n];
            let requests = if conn.head.is_empty() {
                let (count, end) = count_heads(data);
                conn.head.extend_from_slice(&data[end..]);
                count
            } else {
                conn.head.extend_from_slice(data);
                let (count, end) = count_heads(&conn.head);
                conn.head.drain(..end);
                count
            };
            if conn.head.is_empty() {
                conn.head = Vec::new(); // release the carry buffer of an idle connection
            } else if conn.head.len() > MAX_HEAD {
                self.close_conn(fd);
                return;
            }
            if requests > 0 && !self.answer(fd, requests) {
                return;
            }
            if n < self.read_buf.len() {
                return; // short read: drained; new bytes raise a new edge
            }
        }
    }

    /// Sends `requests` responses in one send. Returns false if the
    /// connection was closed.
    fn answer(&mut self, fd: c_int, requests: usize) -> bool {
        let bytes: &[u8] = if requests == 1 {
            self.response
        } else {
            self.out.clear();
            for _ in 0..requests {
                self.out.extend_from_slice(self.response);
            }
            &self.out
        };
        match send_some(fd, bytes) {
            Ok(sent) if sent == bytes.len() => true,
            Ok(sent) => {
                let rest = bytes[sent..].to_vec();
                if let Some(conn) = self.conns[fd as usize].as_mut() {
                    conn.unsent = rest;
                }
                true
            }
            Err(_) => {
                self.close_conn(fd);
                false
            }
        }
    }

    fn flush_unsent(&mut self, fd: c_int) {
        let Some(conn) = self.conns[fd as usize].as_mut() else {
            return;
        };
        match send_some(fd, &conn.unsent) {
            Ok(sent) if sent == conn.unsent.len() => {
                conn.unsent = Vec::new();
                // Reading stopped while responses were queued; the socket may
                // hold requests that raised no new edge since. Resume.
                self.read_and_answer(fd);
            }
            Ok(sent) => {
                conn.unsent.drain(..sent);
            }
            Err(_) => self.close_conn(fd),
        }
    }

    fn close_conn(&mut self, fd: c_int) {
        if let Some(slot) = self.conns.get_mut(fd as usize) {
            if slot.take().is_some() {
                close(fd); // also removes it from the epoll set
            }
        }
    }
}

/// Counts complete request heads in `buf`. Returns the count and the offset
/// just past the last `\r\n\r\n` (0 if there is none).
fn count_heads(buf: &[u8]) -> (usize, usize) {
    let mut count = 0;
    let mut end = 0;
    let mut from = 0;
    while let Some(i) = buf[from..].iter().position(|&b| b == b'\n') {
        let nl = from + i;
        if nl >= 3 && &buf[nl - 3..=nl] == HEAD_END {
            count += 1;
            end = nl + 1;
        }
        from = nl + 1;
    }
    (count, end)
}

/// Sends as much of `bytes` as the socket takes now. `EAGAIN` is `Ok` with
/// what was sent so far; other errors (peer gone) are `Err`.
fn send_some(fd: c_int, bytes: &[u8]) -> io::Result<usize> {
    let mut sent = 0;
    while sent < bytes.len() {
        let rest = &bytes[sent..];
        // SAFETY: `rest` is a live slice; MSG_NOSIGNAL turns SIGPIPE into EPIPE.
        let n = unsafe { libc::send(fd, rest.as_ptr().cast(), rest.len(), libc::MSG_NOSIGNAL) };
        if n >= 0 {
            sent += n as usize;
            continue;
        }
        let err = io::Error::last_os_error();
        match err.raw_os_error() {
            Some(libc::EAGAIN) => break,
            Some(libc::EINTR) => continue,
            _ => return Err(err),
        }
    }
    Ok(sent)
}

fn epoll_add(epfd: c_int, fd: c_int, events: u32, token: u64) -> io::Result<()> {
    let mut ev = libc::epoll_event { events, u64: token };
    // SAFETY: `ev` is a live epoll_event; the kernel copies it.
    cvt(unsafe { libc::epoll_ctl(epfd, libc::EPOLL_CTL_ADD, fd, &mut ev) }).map(drop)
}

fn set_int_opt(fd: c_int, level: c_int, name: c_int, value: c_int) -> io::Result<()> {
    let len = std::mem::size_of::<c_int>() as libc::socklen_t;
    // SAFETY: `value` is a live c_int and `len` is its size.
    cvt(unsafe { libc::setsockopt(fd, level, name, (&value as *const c_int).cast(), len) })
        .map(drop)
}

fn close(fd: c_int) {
    // SAFETY: `fd` is a connection fd this server owns and closes exactly once.
    unsafe { libc::close(fd) };
}

fn cvt(ret: c_int) -> io::Result<c_int> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

#[cfg(test)]
mod tests {
    use super::count_heads;

    #[test]
    fn counts_complete_heads_and_keeps_the_tail() {
        let one = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n";
        assert_eq!(count_heads(one), (1, one.len()));
        let mut two = one.repeat(2);
        two.extend_from_slice(b"GET / HT");
        assert_eq!(count_heads(&two), (2, 2 * one.len()));
        assert_eq!(count_heads(b"GET / HTTP/1.1\r\nHost: a\r\n\r"), (0, 0));
        assert_eq!(count_heads(b"\n\r\n"), (0, 0));
    }
}
