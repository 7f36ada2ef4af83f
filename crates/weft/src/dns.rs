//! Name resolution on the worker pool's `dns` lane.
//!
//! The system resolver (`getaddrinfo`, which honours `/etc/hosts`,
//! `nsswitch.conf` and `resolv.conf`) only has a blocking API and can block
//! for the resolver's whole timeout, so [`lookup_host`] runs it on the pool's
//! [`Lane::Dns`]: a slow or dead name server holds only dns threads, never an
//! event loop and never the file lanes.
//!
//! Addresses that are already numeric (`"127.0.0.1:80"`, `"[::1]:443"`,
//! `(ip, port)`, a [`SocketAddr`]) are parsed in place without a job, and
//! input that is not `host:port` is refused before any job, so neither costs
//! a thread hand-off.
//!
//! [`ToSocketAddrs`] is what `weft::net::TcpStream::connect` accepts, so it
//! takes host names as well as addresses.

use std::error::Error;
use std::fmt;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

use crate::pool::Lane;

/// Anything that names one or more socket addresses, possibly through a
/// host name: [`SocketAddr`], `(IpAddr, u16)`, `"host:port"`,
/// `("host", port)`, a slice of addresses. Sealed; resolution is
/// asynchronous (see [`lookup_host`]).
pub trait ToSocketAddrs: sealed::ToSocketAddrsSealed {}

#[allow(unreachable_pub)] // the sealed pattern: public in a private module
mod sealed {
    use super::*;

    /// What a [`ToSocketAddrs`] value needs: already known addresses, or a
    /// name to look up.
    #[derive(Debug)]
    pub enum Resolve {
        Done(io::Result<Vec<SocketAddr>>),
        Lookup { host: String, port: u16 },
    }

    /// The private half of [`ToSocketAddrs`].
    pub trait ToSocketAddrsSealed {
        fn resolve(&self) -> Resolve;
    }
}

use sealed::{Resolve, ToSocketAddrsSealed};

/// Resolves `addr` to socket addresses; host names are looked up on the
/// `dns` lane of the current runtime's pool.
///
/// ```no_run
/// # async fn demo() -> std::io::Result<()> {
/// for addr in weft::dns::lookup_host("localhost:8080").await? {
///     println!("{addr}");
/// }
/// # Ok(()) }
/// ```
///
/// # Errors
///
/// `InvalidInput` for a string that is not `host:port` (naming it); the
/// resolver's error for a name that does not resolve, with the name in the
/// message and the resolver's error as `source()`.
///
/// # Cancel safety
///
/// Dropping the future before the lookup starts cancels it; a started
/// lookup runs to its end on the pool and its result is dropped.
pub async fn lookup_host(addr: impl ToSocketAddrs) -> io::Result<impl Iterator<Item = SocketAddr>> {
    resolve(&addr).await.map(Vec::into_iter)
}

/// [`lookup_host`] as a `Vec`, for `weft::net`.
pub(crate) async fn resolve<A: ToSocketAddrs + ?Sized>(addr: &A) -> io::Result<Vec<SocketAddr>> {
    let (host, port) = match addr.resolve() {
        Resolve::Done(result) => return result,
        Resolve::Lookup { host, port } => (host, port),
    };
    let job_host = host.clone();
    let looked_up = crate::rt::current_pool()
        .submit(Lane::Dns, move || {
            std::net::ToSocketAddrs::to_socket_addrs(&(job_host.as_str(), port))
                .map(Iterator::collect::<Vec<_>>)
        })
        .await;
    match looked_up {
        Ok(Ok(addrs)) => Ok(addrs),
        Ok(Err(err)) => Err(lookup_error(err, &host, port)),
        Err(err) => Err(lookup_error(err.into(), &host, port)),
    }
}

/// Resolves `addr` on the calling thread: numeric addresses in place, a host name through the
/// system resolver, blocking (for `bind`, which is synchronous like std's).
pub(crate) fn resolve_blocking<A: ToSocketAddrs + ?Sized>(addr: &A) -> io::Result<Vec<SocketAddr>> {
    match addr.resolve() {
        Resolve::Done(result) => result,
        Resolve::Lookup { host, port } => {
            std::net::ToSocketAddrs::to_socket_addrs(&(host.as_str(), port))
                .map(Iterator::collect)
                .map_err(|err| lookup_error(err, &host, port))
        }
    }
}

/// The payload of a lookup failure: which name, and the resolver's error.
#[derive(Debug)]
struct LookupError {
    host: String,
    port: u16,
    source: io::Error,
}

impl fmt::Display for LookupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "could not resolve `{}:{}`: {}",
            self.host, self.port, self.source
        )
    }
}

impl Error for LookupError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        Some(&self.source)
    }
}

fn lookup_error(source: io::Error, host: &str, port: u16) -> io::Error {
    io::Error::new(
        source.kind(),
        LookupError {
            host: host.to_owned(),
            port,
            source,
        },
    )
}

fn invalid_address(s: &str, why: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("invalid socket address `{s}`: {why}"),
    )
}

/// Parses `"host:port"`: a numeric address needs no lookup.
fn resolve_str(s: &str) -> Resolve {
    if let Ok(addr) = s.parse::<SocketAddr>() {
        return Resolve::Done(Ok(vec![addr]));
    }
    let Some((host, port)) = s.rsplit_once(':') else {
        return Resolve::Done(Err(invalid_address(s, "expected `host:port`")));
    };
    let Ok(port) = port.parse::<u16>() else {
        return Resolve::Done(Err(invalid_address(
            s,
            "the port is not a number in 0..=65535",
        )));
    };
    if host.is_empty() {
        return Resolve::Done(Err(invalid_address(s, "the host is empty")));
    }
    resolve_host_port(host, port)
}

fn resolve_host_port(host: &str, port: u16) -> Resolve {
    match host.parse::<IpAddr>() {
        Ok(ip) => Resolve::Done(Ok(vec![SocketAddr::new(ip, port)])),
        Err(_) => Resolve::Lookup {
            host: host.to_owned(),
            port,
        },
    }
}

macro_rules! numeric {
    ($($t:ty => |$v:ident| $e:expr;)*) => {$(
        impl ToSocketAddrs for $t {}
        impl ToSocketAddrsSealed for $t {
            fn resolve(&self) -> Resolve {
                let $v = self;
                Resolve::Done(Ok(vec![$e]))
            }
        }
    )*};
}

numeric! {
    SocketAddr => |a| *a;
    SocketAddrV4 => |a| SocketAddr::V4(*a);
    SocketAddrV6 => |a| SocketAddr::V6(*a);
    (IpAddr, u16) => |a| SocketAddr::new(a.0, a.1);
    (Ipv4Addr, u16) => |a| SocketAddr::new(IpAddr::V4(a.0), a.1);
    (Ipv6Addr, u16) => |a| SocketAddr::new(IpAddr::V6(a.0), a.1);
}

impl ToSocketAddrs for str {}
impl ToSocketAddrsSealed for str {
    fn resolve(&self) -> Resolve {
        resolve_str(self)
    }
}

impl ToSocketAddrs for String {}
impl ToSocketAddrsSealed for String {
    fn resolve(&self) -> Resolve {
        resolve_str(self)
    }
}

impl ToSocketAddrs for (&str, u16) {}
impl ToSocketAddrsSealed for (&str, u16) {
    fn resolve(&self) -> Resolve {
        resolve_host_port(self.0, self.1)
    }
}

impl ToSocketAddrs for (String, u16) {}
impl ToSocketAddrsSealed for (String, u16) {
    fn resolve(&self) -> Resolve {
        resolve_host_port(&self.0, self.1)
    }
}

impl ToSocketAddrs for [SocketAddr] {}
impl ToSocketAddrsSealed for [SocketAddr] {
    fn resolve(&self) -> Resolve {
        Resolve::Done(Ok(self.to_vec()))
    }
}

impl ToSocketAddrs for Vec<SocketAddr> {}
impl ToSocketAddrsSealed for Vec<SocketAddr> {
    fn resolve(&self) -> Resolve {
        Resolve::Done(Ok(self.clone()))
    }
}

impl<T: ToSocketAddrs + ?Sized> ToSocketAddrs for &T {}
impl<T: ToSocketAddrsSealed + ?Sized> ToSocketAddrsSealed for &T {
    fn resolve(&self) -> Resolve {
        (**self).resolve()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn done(r: Resolve) -> io::Result<Vec<SocketAddr>> {
        match r {
            Resolve::Done(result) => result,
            other => panic!("expected no lookup, got {other:?}"),
        }
    }

    #[test]
    fn numeric_addresses_need_no_lookup() {
        let v4: SocketAddr = "127.0.0.1:80".parse().unwrap();
        let v6: SocketAddr = "[::1]:443".parse().unwrap();
        assert_eq!(done("127.0.0.1:80".resolve()).unwrap(), vec![v4]);
        assert_eq!(done("[::1]:443".resolve()).unwrap(), vec![v6]);
        assert_eq!(done(("::1", 443).resolve()).unwrap(), vec![v6]);
        assert_eq!(done((v4.ip(), 80).resolve()).unwrap(), vec![v4]);
        assert_eq!(done([v4, v6][..].resolve()).unwrap(), vec![v4, v6]);
    }

    #[test]
    fn names_are_looked_up() {
        match "example.test:8080".resolve() {
            Resolve::Lookup { host, port } => {
                assert_eq!((host.as_str(), port), ("example.test", 8080))
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn malformed_input_is_refused_with_the_input() {
        for (bad, why) in [
            ("no-port", "host:port"),
            ("host:99999", "port"),
            ("host:http", "port"),
            (":80", "host is empty"),
        ] {
            let err = done(bad.resolve()).unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
            let msg = err.to_string();
            assert!(msg.contains(bad) && msg.contains(why), "{msg}");
        }
    }
}
