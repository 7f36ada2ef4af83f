//! Connecting to one of several addresses, RFC 8305 ("Happy Eyeballs v2") style.
//!
//! A name often resolves to several addresses (IPv6 and IPv4, several hosts), and the first
//! may be unreachable: a firewall that drops SYNs, a host that is down, a listener whose
//! backlog is full. Tried one after another, each such address stalls the connect for the
//! kernel's SYN retries (over two minutes on Linux). So, as RFC 8305 says:
//!
//! - the addresses are interleaved by family (the first address's family first, then the
//!   other, alternately), so a broken IPv6 path costs at most one step;
//! - the first attempt starts at once, and each next one [`CONNECT_ATTEMPT_DELAY`] (250 ms)
//!   after the previous one started, or at once when the previous one failed; attempts run
//!   side by side;
//! - the first connection established wins and every other attempt is dropped (its socket
//!   closed, its half-open handshake abandoned);
//! - each attempt gives up after [`CONNECT_ATTEMPT_TIMEOUT`], so even a single unreachable
//!   address ends with an error instead of the kernel's long wait;
//! - if all fail, the error of the last failure is returned, naming its address.

use crate::time::{self, Sleep};
use std::future::{poll_fn, Future};
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::Poll;
use std::time::Duration;

/// How long an attempt runs alone before the next address is tried beside it (RFC 8305's
/// recommended "Connection Attempt Delay").
pub const CONNECT_ATTEMPT_DELAY: Duration = Duration::from_millis(250);

/// How long one address may take to connect before its attempt is abandoned.
pub const CONNECT_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);

type Attempt<T> = Pin<Box<dyn Future<Output = io::Result<T>> + Send>>;

/// RFC 8305's order: families alternate, starting with the first address's family; within a
/// family the resolver's order is kept.
pub(crate) fn interleave(addrs: Vec<SocketAddr>) -> Vec<SocketAddr> {
    let Some(first) = addrs.first() else {
        return addrs;
    };
    let first_v6 = first.is_ipv6();
    let (mut preferred, mut other): (Vec<_>, Vec<_>) =
        addrs.into_iter().partition(|a| a.is_ipv6() == first_v6);
    let mut out = Vec::with_capacity(preferred.len() + other.len());
    preferred.reverse();
    other.reverse();
    loop {
        match (preferred.pop(), other.pop()) {
            (None, None) => return out,
            (a, b) => out.extend(a.into_iter().chain(b)),
        }
    }
}

/// One attempt, bounded by [`CONNECT_ATTEMPT_TIMEOUT`].
fn attempt<T, Fut>(addr: SocketAddr, connect: Fut) -> Attempt<T>
where
    Fut: Future<Output = io::Result<T>> + Send + 'static,
{
    Box::pin(async move {
        match time::timeout(CONNECT_ATTEMPT_TIMEOUT, connect).await {
            Ok(result) => result,
            Err(_elapsed) => Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("connect to {addr}: no answer within {CONNECT_ATTEMPT_TIMEOUT:?}"),
            )),
        }
    })
}

/// Connects (with `connect_one`, one address at a time) to the first of `addrs` that
/// answers, as the module docs describe.
pub(crate) async fn connect_any<T, F, Fut>(addrs: Vec<SocketAddr>, connect_one: F) -> io::Result<T>
where
    F: Fn(SocketAddr) -> Fut,
    Fut: Future<Output = io::Result<T>> + Send + 'static,
    T: 'static,
{
    let mut pending = interleave(addrs).into_iter();
    let mut running: Vec<Attempt<T>> = Vec::new();
    let mut last_err: Option<io::Error> = None;
    let mut stagger: Option<Sleep> = None;
    if let Some(addr) = pending.next() {
        running.push(attempt(addr, connect_one(addr)));
        // No stagger timer when there is nothing to start next (the common, one-address case).
        stagger = (pending.len() > 0).then(|| time::sleep(CONNECT_ATTEMPT_DELAY));
    }
    poll_fn(|cx| loop {
        let mut i = 0;
        let mut failed = false;
        while i < running.len() {
            match running[i].as_mut().poll(cx) {
                Poll::Ready(Ok(stream)) => return Poll::Ready(Ok(stream)),
                Poll::Ready(Err(err)) => {
                    last_err = Some(err);
                    drop(running.swap_remove(i));
                    failed = true;
                }
                Poll::Pending => i += 1,
            }
        }
        let due = failed
            || stagger
                .as_mut()
                .is_some_and(|s| Pin::new(s).poll(cx).is_ready());
        if due {
            if let Some(addr) = pending.next() {
                running.push(attempt(addr, connect_one(addr)));
                stagger = (pending.len() > 0).then(|| time::sleep(CONNECT_ATTEMPT_DELAY));
                continue; // poll the new attempt (and register its waker)
            }
            stagger = None;
        }
        if running.is_empty() {
            return Poll::Ready(Err(last_err.take().unwrap_or_else(|| {
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "connect: the address resolved to no socket address",
                )
            })));
        }
        return Poll::Pending;
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::interleave;
    use std::net::SocketAddr;

    #[test]
    fn families_alternate_starting_with_the_first() {
        let a: Vec<SocketAddr> = [
            "[::1]:1",
            "[::1]:2",
            "127.0.0.1:3",
            "[::1]:4",
            "127.0.0.1:5",
        ]
        .iter()
        .map(|s| s.parse().unwrap())
        .collect();
        let ports: Vec<u16> = interleave(a).iter().map(|a| a.port()).collect();
        assert_eq!(ports, [1, 3, 2, 5, 4]);
    }
}
