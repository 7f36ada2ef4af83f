//! `weft::net::TcpSocket`: options set before bind/connect/listen reach the kernel, a bound
//! source address is kept by `connect`, `SO_REUSEPORT` lets two listeners share a port.

use std::net::SocketAddr;
use weft::net::TcpSocket;
use weft::rt::Runtime;
use weft_testkit::within_deadline;

#[test]
fn options_are_set_and_read_back() {
    let rt = Runtime::builder().current_thread().build().unwrap();
    rt.block_on(async {
        let s = TcpSocket::new_v4().unwrap();
        s.set_reuseaddr(true).unwrap();
        assert!(s.reuseaddr().unwrap());
        s.set_reuseport(true).unwrap();
        assert!(s.reuseport().unwrap());
        assert!(!s.keepalive().unwrap());
        s.set_keepalive(true).unwrap();
        assert!(s.keepalive().unwrap());
        s.set_nodelay(true).unwrap();
        assert!(s.nodelay().unwrap());
        s.set_send_buffer_size(64 * 1024).unwrap();
        // Linux doubles what is asked, within its limits; at least what was asked.
        assert!(s.send_buffer_size().unwrap() >= 64 * 1024);
        s.set_recv_buffer_size(32 * 1024).unwrap();
        assert!(s.recv_buffer_size().unwrap() >= 32 * 1024);
    });
}

#[test]
fn bind_before_connect_keeps_the_source_address_and_options() {
    within_deadline("TcpSocket connect", || {
        let rt = Runtime::builder().current_thread().build().unwrap();
        rt.block_on(async {
            let server = TcpSocket::new_v4().unwrap();
            server.bind("127.0.0.1:0".parse().unwrap()).unwrap();
            let listener = server.listen(16).unwrap();
            let addr = listener.local_addr().unwrap();

            let client = TcpSocket::new_v4().unwrap();
            client.set_keepalive(true).unwrap();
            let source: SocketAddr = "127.0.0.2:0".parse().unwrap();
            client.bind(source).unwrap();
            let bound = client.local_addr().unwrap();
            assert_eq!(bound.ip(), source.ip());
            let stream = client.connect(addr).await.unwrap();
            assert_eq!(stream.local_addr().unwrap(), bound);
            let (accepted, peer) = listener.accept().await.unwrap();
            assert_eq!(peer, bound, "the server sees the bound source address");
            stream.write_all(b"hi").await.unwrap();
            let mut buf = [0u8; 2];
            accepted.read_exact(&mut buf).await.unwrap();
            assert_eq!(&buf, b"hi");
            // SO_KEEPALIVE set before connect is still on the connected socket.
            let on = keepalive(&stream);
            assert!(on, "keepalive was lost by connect");
        });
    });
}

fn keepalive(stream: &impl std::os::fd::AsRawFd) -> bool {
    let mut v: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: a live c_int and its size for getsockopt to write.
    let rc = unsafe {
        libc::getsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_KEEPALIVE,
            (&mut v as *mut libc::c_int).cast(),
            &mut len,
        )
    };
    assert_eq!(rc, 0);
    v != 0
}

#[test]
fn reuseport_lets_two_listeners_share_a_port_and_a_connect_to_nothing_is_refused() {
    within_deadline("TcpSocket reuseport", || {
        let rt = Runtime::builder().current_thread().build().unwrap();
        rt.block_on(async {
            let a = TcpSocket::new_v4().unwrap();
            a.set_reuseport(true).unwrap();
            a.bind("127.0.0.1:0".parse().unwrap()).unwrap();
            let addr = a.local_addr().unwrap();
            let _a = a.listen(8).unwrap();
            let b = TcpSocket::new_v4().unwrap();
            b.set_reuseport(true).unwrap();
            b.bind(addr).unwrap();
            let _b = b.listen(8).unwrap();
            // Without SO_REUSEPORT the same bind is refused.
            let c = TcpSocket::new_v4().unwrap();
            let err = c.bind(addr).unwrap_err();
            assert_eq!(err.kind(), std::io::ErrorKind::AddrInUse, "{err}");
            assert!(err.to_string().contains(&addr.to_string()), "{err}");

            // A port nobody listens on: connect fails with the address in the error.
            let closed = {
                let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
                l.local_addr().unwrap()
            };
            let err = TcpSocket::new_v4()
                .unwrap()
                .connect(closed)
                .await
                .unwrap_err();
            assert_eq!(err.kind(), std::io::ErrorKind::ConnectionRefused, "{err}");
            assert!(err.to_string().contains(&closed.to_string()), "{err}");
        });
    });
}
