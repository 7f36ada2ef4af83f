//! Non-blocking sockets: creation, options, addresses and the calls that move bytes.
//!
//! Every socket is created with `SOCK_NONBLOCK | SOCK_CLOEXEC` in the same syscall, and accepted
//! sockets inherit both flags through `accept4`, so no extra `fcntl` is made per connection and no
//! descriptor leaks into a child process. Writes use `send`/`sendmsg` with `MSG_NOSIGNAL`, so a
//! peer that went away yields `EPIPE` instead of killing the process with `SIGPIPE`.

use super::cvt;
use std::io::{self, IoSlice};
use std::mem::size_of;
use std::net::{Ipv4Addr, Ipv6Addr, Shutdown, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// A socket address in the kernel's representation.
pub(crate) struct SockAddr {
    storage: libc::sockaddr_storage,
    len: libc::socklen_t,
}

impl SockAddr {
    fn empty() -> SockAddr {
        SockAddr {
            // SAFETY: sockaddr_storage is plain old data; all-zero is a valid (AF_UNSPEC) value.
            storage: unsafe { std::mem::zeroed() },
            len: size_of::<libc::sockaddr_storage>() as libc::socklen_t,
        }
    }

    fn as_ptr(&self) -> *const libc::sockaddr {
        (&self.storage as *const libc::sockaddr_storage).cast()
    }

    fn as_mut_ptr(&mut self) -> *mut libc::sockaddr {
        (&mut self.storage as *mut libc::sockaddr_storage).cast()
    }

    /// The address family (`AF_INET`, `AF_INET6`, `AF_UNIX`).
    pub(crate) fn family(&self) -> libc::c_int {
        self.storage.ss_family as libc::c_int
    }

    /// Converts an IP socket address.
    pub(crate) fn from_inet(addr: &SocketAddr) -> SockAddr {
        let mut out = SockAddr::empty();
        match addr {
            SocketAddr::V4(v4) => {
                let sin = libc::sockaddr_in {
                    sin_family: libc::AF_INET as libc::sa_family_t,
                    sin_port: v4.port().to_be(),
                    sin_addr: libc::in_addr {
                        s_addr: u32::from_ne_bytes(v4.ip().octets()),
                    },
                    sin_zero: [0; 8],
                };
                // SAFETY: sockaddr_storage is larger than and aligned for sockaddr_in.
                unsafe { out.as_mut_ptr().cast::<libc::sockaddr_in>().write(sin) };
                out.len = size_of::<libc::sockaddr_in>() as libc::socklen_t;
            }
            SocketAddr::V6(v6) => {
                let sin6 = libc::sockaddr_in6 {
                    sin6_family: libc::AF_INET6 as libc::sa_family_t,
                    sin6_port: v6.port().to_be(),
                    sin6_flowinfo: v6.flowinfo(),
                    sin6_addr: libc::in6_addr {
                        s6_addr: v6.ip().octets(),
                    },
                    sin6_scope_id: v6.scope_id(),
                };
                // SAFETY: sockaddr_storage is larger than and aligned for sockaddr_in6.
                unsafe { out.as_mut_ptr().cast::<libc::sockaddr_in6>().write(sin6) };
                out.len = size_of::<libc::sockaddr_in6>() as libc::socklen_t;
            }
        }
        out
    }

    /// Converts a filesystem path into a Unix-domain address.
    pub(crate) fn from_path(path: &Path) -> io::Result<SockAddr> {
        let bytes = path.as_os_str().as_bytes();
        let mut out = SockAddr::empty();
        // SAFETY: sockaddr_storage is larger than and aligned for sockaddr_un.
        let sun = unsafe { &mut *out.as_mut_ptr().cast::<libc::sockaddr_un>() };
        // Leave room for the terminating NUL the kernel expects for pathname sockets.
        if bytes.len() >= sun.sun_path.len() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "unix socket path {} is {} bytes; the limit is {}",
                    path.display(),
                    bytes.len(),
                    sun.sun_path.len() - 1
                ),
            ));
        }
        if bytes.contains(&0) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("unix socket path {} contains a NUL byte", path.display()),
            ));
        }
        sun.sun_family = libc::AF_UNIX as libc::sa_family_t;
        for (dst, src) in sun.sun_path.iter_mut().zip(bytes) {
            *dst = *src as libc::c_char;
        }
        let path_offset = std::mem::offset_of!(libc::sockaddr_un, sun_path);
        out.len = (path_offset + bytes.len() + 1) as libc::socklen_t;
        Ok(out)
    }

    /// Converts back to an IP socket address, if this is one.
    pub(crate) fn to_inet(&self) -> Option<SocketAddr> {
        match self.family() {
            libc::AF_INET => {
                // SAFETY: the family says the storage holds a sockaddr_in.
                let sin = unsafe { &*self.as_ptr().cast::<libc::sockaddr_in>() };
                let ip = Ipv4Addr::from(sin.sin_addr.s_addr.to_ne_bytes());
                Some(SocketAddr::V4(SocketAddrV4::new(
                    ip,
                    u16::from_be(sin.sin_port),
                )))
            }
            libc::AF_INET6 => {
                // SAFETY: the family says the storage holds a sockaddr_in6.
                let sin6 = unsafe { &*self.as_ptr().cast::<libc::sockaddr_in6>() };
                Some(SocketAddr::V6(SocketAddrV6::new(
                    Ipv6Addr::from(sin6.sin6_addr.s6_addr),
                    u16::from_be(sin6.sin6_port),
                    sin6.sin6_flowinfo,
                    sin6.sin6_scope_id,
                )))
            }
            _ => None,
        }
    }

    /// Converts to an IP address or fails with a clear error.
    pub(crate) fn expect_inet(&self) -> io::Result<SocketAddr> {
        self.to_inet().ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "expected an IP socket address, got family {}",
                    self.family()
                ),
            )
        })
    }
}

fn domain_of(addr: &SocketAddr) -> libc::c_int {
    match addr {
        SocketAddr::V4(_) => libc::AF_INET,
        SocketAddr::V6(_) => libc::AF_INET6,
    }
}

/// Creates a non-blocking, close-on-exec socket.
pub(crate) fn socket(domain: libc::c_int, ty: libc::c_int) -> io::Result<OwnedFd> {
    // SAFETY: no pointers; the flags are valid for socket(2).
    let fd =
        cvt(unsafe { libc::socket(domain, ty | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC, 0) })?;
    // SAFETY: `fd` was just created and is owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// A socket of the right family for `addr`.
pub(crate) fn inet_socket(addr: &SocketAddr, ty: libc::c_int) -> io::Result<OwnedFd> {
    socket(domain_of(addr), ty)
}

/// Sets an integer socket option.
pub(crate) fn set_int_opt(
    fd: RawFd,
    level: libc::c_int,
    name: libc::c_int,
    value: libc::c_int,
) -> io::Result<()> {
    // SAFETY: passes a pointer to a live c_int and its exact size.
    cvt(unsafe {
        libc::setsockopt(
            fd,
            level,
            name,
            (&value as *const libc::c_int).cast(),
            size_of::<libc::c_int>() as libc::socklen_t,
        )
    })?;
    Ok(())
}

/// Reads an integer socket option.
pub(crate) fn get_int_opt(fd: RawFd, level: libc::c_int, name: libc::c_int) -> io::Result<i32> {
    let mut value: libc::c_int = 0;
    let mut len = size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: passes a live c_int with its size; the kernel writes at most `len` bytes.
    cvt(unsafe {
        libc::getsockopt(
            fd,
            level,
            name,
            (&mut value as *mut libc::c_int).cast(),
            &mut len,
        )
    })?;
    Ok(value)
}

/// Takes the pending error of a socket (`SO_ERROR`), if any.
pub(crate) fn take_error(fd: RawFd) -> io::Result<Option<io::Error>> {
    let code = get_int_opt(fd, libc::SOL_SOCKET, libc::SO_ERROR)?;
    Ok((code != 0).then(|| io::Error::from_raw_os_error(code)))
}

/// Binds to an address.
pub(crate) fn bind(fd: RawFd, addr: &SockAddr) -> io::Result<()> {
    // SAFETY: `addr` points to `addr.len` valid bytes of a sockaddr.
    cvt(unsafe { libc::bind(fd, addr.as_ptr(), addr.len) })?;
    Ok(())
}

/// Marks a bound socket as listening with `backlog` pending connections.
pub(crate) fn listen(fd: RawFd, backlog: i32) -> io::Result<()> {
    // SAFETY: no pointers.
    cvt(unsafe { libc::listen(fd, backlog) })?;
    Ok(())
}

/// Starts connecting; a non-blocking socket returns `EINPROGRESS` (as an error) while the
/// handshake runs.
pub(crate) fn connect(fd: RawFd, addr: &SockAddr) -> io::Result<()> {
    // SAFETY: `addr` points to `addr.len` valid bytes of a sockaddr.
    cvt(unsafe { libc::connect(fd, addr.as_ptr(), addr.len) })?;
    Ok(())
}

/// Accepts a connection; the new socket is non-blocking and close-on-exec.
pub(crate) fn accept(fd: RawFd) -> io::Result<(OwnedFd, SockAddr)> {
    let mut addr = SockAddr::empty();
    // SAFETY: `addr` has room for any address and `len` says how much; the kernel updates it.
    let new = cvt(unsafe {
        libc::accept4(
            fd,
            addr.as_mut_ptr(),
            &mut addr.len,
            libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
        )
    })?;
    // SAFETY: `new` was just returned by accept4 and is owned by nobody else.
    Ok((unsafe { OwnedFd::from_raw_fd(new) }, addr))
}

/// The local address of a socket.
pub(crate) fn local_addr(fd: RawFd) -> io::Result<SockAddr> {
    let mut addr = SockAddr::empty();
    // SAFETY: as for accept: a buffer with its length, updated by the kernel.
    cvt(unsafe { libc::getsockname(fd, addr.as_mut_ptr(), &mut addr.len) })?;
    Ok(addr)
}

/// The remote address of a connected socket.
pub(crate) fn peer_addr(fd: RawFd) -> io::Result<SockAddr> {
    let mut addr = SockAddr::empty();
    // SAFETY: as for accept: a buffer with its length, updated by the kernel.
    cvt(unsafe { libc::getpeername(fd, addr.as_mut_ptr(), &mut addr.len) })?;
    Ok(addr)
}

// The two calls every request makes, `read` and `send`, go through
// `syscall(2)` rather than glibc's wrappers of the same name. Those wrappers
// make each call a thread-cancellation point: in a process with more than one
// thread they switch the thread's cancel type on and off around the call, two
// atomic read-modify-writes per syscall (measured: about 1% of `weft serve`'s
// CPU per request). weft never cancels threads with `pthread_cancel` (Rust
// cannot unwind through it soundly), so it has no use for that. The kernel
// call, its arguments and its errors are the same.

/// Reads into `buf`.
pub(crate) fn read(fd: RawFd, buf: &mut [u8]) -> io::Result<usize> {
    // SAFETY: SYS_read takes (int fd, void *buf, size_t count); `buf` is valid
    // for writes of `buf.len()` bytes for the whole call.
    let n = cvt(unsafe { libc::syscall(libc::SYS_read, fd, buf.as_mut_ptr(), buf.len()) })?;
    Ok(n as usize)
}

/// Sends `buf` on a connected socket without raising `SIGPIPE`.
pub(crate) fn send(fd: RawFd, buf: &[u8]) -> io::Result<usize> {
    let no_addr: *const libc::sockaddr = std::ptr::null();
    // SAFETY: SYS_sendto takes (int fd, const void *buf, size_t len, int flags,
    // const struct sockaddr *addr, socklen_t addrlen); `buf` is valid for reads
    // of `buf.len()` bytes, and a null address of length 0 means the connected
    // peer, exactly as send(2).
    let n = cvt(unsafe {
        libc::syscall(
            libc::SYS_sendto,
            fd,
            buf.as_ptr(),
            buf.len(),
            libc::MSG_NOSIGNAL,
            no_addr,
            0 as libc::socklen_t,
        )
    })?;
    Ok(n as usize)
}

/// Gathers `bufs` into one send without raising `SIGPIPE`.
pub(crate) fn send_vectored(fd: RawFd, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
    // SAFETY: msghdr is plain old data; all-zero means no name and no control data.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    // IoSlice is guaranteed ABI-compatible with iovec on Unix.
    msg.msg_iov = bufs.as_ptr() as *mut libc::iovec;
    msg.msg_iovlen = bufs.len().min(libc::UIO_MAXIOV as usize) as _;
    // SAFETY: `msg` points at `msg_iovlen` valid iovecs that live across the call.
    let n = cvt(unsafe { libc::sendmsg(fd, &msg, libc::MSG_NOSIGNAL) })?;
    Ok(n as usize)
}

/// Receives a datagram and its sender's address.
pub(crate) fn recv_from(fd: RawFd, buf: &mut [u8]) -> io::Result<(usize, SockAddr)> {
    recv_from_flags(fd, buf, 0)
}

/// Like [`recv_from`], leaving the datagram queued (`MSG_PEEK`).
pub(crate) fn peek_from(fd: RawFd, buf: &mut [u8]) -> io::Result<(usize, SockAddr)> {
    recv_from_flags(fd, buf, libc::MSG_PEEK)
}

/// Reads what is queued without taking it (`recv` with `MSG_PEEK`).
pub(crate) fn peek(fd: RawFd, buf: &mut [u8]) -> io::Result<usize> {
    // SAFETY: `buf` is writable for its length for the whole call.
    let n = cvt(unsafe { libc::recv(fd, buf.as_mut_ptr().cast(), buf.len(), libc::MSG_PEEK) })?;
    Ok(n as usize)
}

/// Receives a Unix datagram and its sender's address as std's type (which names an unnamed
/// sender too, something a path cannot). std's own `recvfrom` runs on the borrowed
/// descriptor; the descriptor's non-blocking mode makes it answer `WouldBlock`.
pub(crate) fn unix_recv_from(
    fd: RawFd,
    buf: &mut [u8],
) -> io::Result<(usize, std::os::unix::net::SocketAddr)> {
    // SAFETY: `fd` is an open Unix datagram socket that the caller keeps open for the whole
    // call; ManuallyDrop makes sure the borrowed std socket never closes it.
    let socket =
        std::mem::ManuallyDrop::new(unsafe { std::os::unix::net::UnixDatagram::from_raw_fd(fd) });
    socket.recv_from(buf)
}

/// The local or peer address of a Unix socket, as std's type.
pub(crate) fn unix_addr(fd: RawFd, peer: bool) -> io::Result<std::os::unix::net::SocketAddr> {
    // SAFETY: as in `unix_recv_from`: a borrowed descriptor that is never closed here.
    let socket =
        std::mem::ManuallyDrop::new(unsafe { std::os::unix::net::UnixDatagram::from_raw_fd(fd) });
    if peer {
        socket.peer_addr()
    } else {
        socket.local_addr()
    }
}

fn recv_from_flags(fd: RawFd, buf: &mut [u8], flags: libc::c_int) -> io::Result<(usize, SockAddr)> {
    let mut addr = SockAddr::empty();
    // SAFETY: `buf` is writable for its length; `addr` is a buffer with its length.
    let n = cvt(unsafe {
        libc::recvfrom(
            fd,
            buf.as_mut_ptr().cast(),
            buf.len(),
            flags,
            addr.as_mut_ptr(),
            &mut addr.len,
        )
    })?;
    Ok((n as usize, addr))
}

/// Sends a datagram to `addr`.
pub(crate) fn send_to(fd: RawFd, buf: &[u8], addr: &SockAddr) -> io::Result<usize> {
    // SAFETY: `buf` is readable for its length; `addr` points to `addr.len` valid bytes.
    let n = cvt(unsafe {
        libc::sendto(
            fd,
            buf.as_ptr().cast(),
            buf.len(),
            libc::MSG_NOSIGNAL,
            addr.as_ptr(),
            addr.len,
        )
    })?;
    Ok(n as usize)
}

/// Shuts down one or both directions of a connection.
pub(crate) fn shutdown(fd: RawFd, how: Shutdown) -> io::Result<()> {
    let how = match how {
        Shutdown::Read => libc::SHUT_RD,
        Shutdown::Write => libc::SHUT_WR,
        Shutdown::Both => libc::SHUT_RDWR,
    };
    // SAFETY: no pointers.
    cvt(unsafe { libc::shutdown(fd, how) })?;
    Ok(())
}

/// A connected pair of Unix stream sockets (non-blocking, close-on-exec).
pub(crate) fn unix_pair(ty: libc::c_int) -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0 as RawFd; 2];
    // SAFETY: `fds` has room for the two descriptors socketpair writes.
    cvt(unsafe {
        libc::socketpair(
            libc::AF_UNIX,
            ty | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
            0,
            fds.as_mut_ptr(),
        )
    })?;
    // SAFETY: both descriptors were just created and are owned by nobody else.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// Makes an adopted descriptor non-blocking (for sockets built by `std`).
pub(crate) fn set_nonblocking(fd: &impl AsRawFd) -> io::Result<()> {
    let on: libc::c_int = 1;
    // SAFETY: FIONBIO reads one c_int from a live pointer.
    cvt(unsafe { libc::ioctl(fd.as_raw_fd(), libc::FIONBIO, &on) })?;
    Ok(())
}
