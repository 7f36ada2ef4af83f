//! `TcpListener::bind` / `bind_with` and `UdpSocket::bind` accept what std's `bind` does:
//! `"127.0.0.1:0"`, `(host, port)`, `(ip, port)`, a `SocketAddr`, a `String`, a list of
//! addresses (the first that binds wins); bad input is refused naming it.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use weft::net::{ListenOptions, TcpListener, UdpSocket};

fn runtime() -> weft::rt::Runtime {
    weft::rt::Runtime::builder()
        .current_thread()
        .build()
        .unwrap()
}

fn assert_loopback(addr: SocketAddr) {
    assert!(addr.ip().is_loopback(), "{addr}");
    assert_ne!(addr.port(), 0, "a port was assigned");
}

#[test]
fn tcp_bind_accepts_std_forms() {
    runtime().block_on(async {
        let from_str = TcpListener::bind("127.0.0.1:0").unwrap();
        assert_loopback(from_str.local_addr().unwrap());
        assert_loopback(
            TcpListener::bind(("127.0.0.1", 0))
                .unwrap()
                .local_addr()
                .unwrap(),
        );
        // A host name, resolved like std does (localhost comes from /etc/hosts).
        assert_loopback(
            TcpListener::bind(("localhost", 0))
                .unwrap()
                .local_addr()
                .unwrap(),
        );
        assert_loopback(
            TcpListener::bind("localhost:0")
                .unwrap()
                .local_addr()
                .unwrap(),
        );
        let ip = IpAddr::V4(Ipv4Addr::LOCALHOST);
        assert_loopback(TcpListener::bind((ip, 0)).unwrap().local_addr().unwrap());
        let addr = SocketAddr::new(ip, 0);
        assert_loopback(TcpListener::bind(addr).unwrap().local_addr().unwrap());
        // A reference works too (std accepts `&SocketAddr`), so the borrow is the point here.
        #[allow(clippy::needless_borrows_for_generic_args)]
        let by_ref = TcpListener::bind(&addr).unwrap();
        assert_loopback(by_ref.local_addr().unwrap());
        assert_loopback(
            TcpListener::bind(String::from("127.0.0.1:0"))
                .unwrap()
                .local_addr()
                .unwrap(),
        );
        let opts = ListenOptions::default().backlog(16);
        let with = TcpListener::bind_with("127.0.0.1:0", &opts).unwrap();
        assert_loopback(with.local_addr().unwrap());
    });
}

#[test]
fn tcp_bind_tries_each_address_in_order() {
    runtime().block_on(async {
        let taken = TcpListener::bind("127.0.0.1:0").unwrap();
        let taken_addr = taken.local_addr().unwrap();
        // The first address is in use: the second one is bound.
        let free: SocketAddr = "127.0.0.1:0".parse().unwrap();
        let listener = TcpListener::bind(&[taken_addr, free][..]).unwrap();
        let bound = listener.local_addr().unwrap();
        assert_loopback(bound);
        assert_ne!(bound, taken_addr);
        // Only taken addresses: the error names the last one tried.
        let err = TcpListener::bind(vec![taken_addr]).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::AddrInUse);
        assert!(err.to_string().contains(&taken_addr.to_string()), "{err}");
    });
}

#[test]
fn udp_bind_accepts_std_forms() {
    runtime().block_on(async {
        let a = UdpSocket::bind("127.0.0.1:0").unwrap();
        let b = UdpSocket::bind(("localhost", 0)).unwrap();
        assert_loopback(a.local_addr().unwrap());
        assert_loopback(b.local_addr().unwrap());
        let c = UdpSocket::bind(SocketAddr::from(([127, 0, 0, 1], 0))).unwrap();
        a.send_to(b"ping", c.local_addr().unwrap()).await.unwrap();
        let mut buf = [0; 8];
        let (n, from) = c.recv_from(&mut buf).await.unwrap();
        assert_eq!((&buf[..n], from), (&b"ping"[..], a.local_addr().unwrap()));
    });
}

#[test]
fn bad_addresses_are_refused_naming_them() {
    runtime().block_on(async {
        for bad in ["nonsense", "127.0.0.1:http", "127.0.0.1:70000", ":80"] {
            let err = TcpListener::bind(bad).unwrap_err();
            assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput, "{bad}: {err}");
            assert!(err.to_string().contains(bad), "{err}");
            let err = UdpSocket::bind(bad).unwrap_err();
            assert!(err.to_string().contains(bad), "{err}");
        }
        let empty: Vec<SocketAddr> = Vec::new();
        let err = TcpListener::bind(empty).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    });
}
