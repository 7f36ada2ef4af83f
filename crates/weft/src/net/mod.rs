//! Non-blocking sockets on the event loop: TCP, UDP and Unix-domain streams.
//!
//! Every socket is registered, edge-triggered, with the loop that is current when it is created,
//! and its readiness wakes the task waiting on it (see the reactor). Streams implement the
//! runtime-neutral `futures_io::AsyncRead`/`AsyncWrite` traits, for `T` and `&T`, and offer
//! inherent `read`/`write`/`write_all` as well as non-blocking `try_read`/`try_write` paired with
//! `readable()`/`writable()` for code that manages its own buffers.
//!
//! One task may read while another writes the same stream (through `&T`, or the halves of
//! `split`/`into_split`, see [`split`]); two tasks reading at once (or writing at once) is
//! allowed but only the last one to wait is woken.
//!
//! `tcp` and `unix` hold each family's types, re-exported here, and name the split halves
//! for their stream (`tcp::OwnedReadHalf`, as in tokio).

mod bind;
mod connect;
mod evented;
mod incoming;
mod listen;
pub mod split;
pub mod tcp;
mod tcp_socket;
mod udp;
pub mod unix;
mod unix_datagram;

pub use crate::dns::ToSocketAddrs;
pub use connect::{CONNECT_ATTEMPT_DELAY, CONNECT_ATTEMPT_TIMEOUT};
pub use incoming::Incoming;
pub use listen::{
    ListenOptions, ACCEPT_BACKOFF_MAX, ACCEPT_BACKOFF_START, ACCEPT_ERROR_PAUSE, DEFAULT_BACKLOG,
};
pub use tcp::{TcpListener, TcpStream};
pub use tcp_socket::TcpSocket;
pub use udp::UdpSocket;
pub use unix::{UnixListener, UnixStream};
pub use unix_datagram::UnixDatagram;
