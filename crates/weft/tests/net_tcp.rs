//! TCP echo, connect errors, options and the futures-io traits.

mod common;

use futures_util::io::{AsyncReadExt, AsyncWriteExt};
use std::io::{Read, Write};
use weft::net::{TcpListener, TcpStream};
use weft::rt::Runtime;

async fn echo_server(listener: TcpListener, connections: usize) {
    for _ in 0..connections {
        let (stream, _) = listener.accept().await.unwrap();
        weft::spawn(async move {
            let mut buf = vec![0u8; 4096];
            loop {
                let n = stream.read(&mut buf).await.unwrap();
                if n == 0 {
                    break;
                }
                stream.write_all(&buf[..n]).await.unwrap();
            }
        });
    }
}

#[test]
fn echo_round_trips_bytes_in_order() {
    let rt = Runtime::builder().current_thread().build().unwrap();
    rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        weft::spawn(echo_server(listener, 1));
        let client = TcpStream::connect(addr).await.unwrap();
        assert_eq!(client.peer_addr().unwrap(), addr);
        // 1 MiB in odd-sized pieces, read back concurrently (the echo needs both directions).
        let payload: Vec<u8> = (0..1 << 20).map(|i| (i % 251) as u8).collect();
        let client = std::rc::Rc::new(client);
        let writer = weft::spawn_local({
            let (client, payload) = (client.clone(), payload.clone());
            async move {
                for chunk in payload.chunks(7919) {
                    client.write_all(chunk).await.unwrap();
                }
                client.shutdown(std::net::Shutdown::Write).unwrap();
            }
        });
        let mut got = Vec::new();
        let mut buf = [0u8; 10_000];
        loop {
            let n = client.read(&mut buf).await.unwrap();
            if n == 0 {
                break;
            }
            got.extend_from_slice(&buf[..n]);
        }
        writer.await.unwrap();
        assert_eq!(got.len(), payload.len());
        assert!(got == payload, "echoed bytes differ");
    });
}

#[test]
fn futures_io_traits_work_with_ecosystem_helpers() {
    let rt = Runtime::builder().current_thread().build().unwrap();
    rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        weft::spawn(echo_server(listener, 1));
        let mut client = TcpStream::connect(addr).await.unwrap();
        client.write_all(b"through futures-io").await.unwrap();
        client.close().await.unwrap(); // half-close: the server sees EOF and stops echoing
        let mut back = String::new();
        client.read_to_string(&mut back).await.unwrap();
        assert_eq!(back, "through futures-io");
    });
}

#[test]
fn talks_to_a_blocking_std_peer() {
    let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = std_listener.local_addr().unwrap();
    let peer = std::thread::spawn(move || {
        let (mut s, _) = std_listener.accept().unwrap();
        let mut buf = [0u8; 5];
        s.read_exact(&mut buf).unwrap();
        s.write_all(&buf.map(|b| b.to_ascii_uppercase())).unwrap();
    });
    let rt = Runtime::builder().current_thread().build().unwrap();
    let got = rt.block_on(async move {
        let c = TcpStream::connect(addr).await.unwrap();
        c.set_nodelay(true).unwrap();
        assert!(c.nodelay().unwrap());
        c.write_all(b"hello").await.unwrap();
        let mut buf = [0u8; 5];
        c.read_exact(&mut buf).await.unwrap();
        buf
    });
    peer.join().unwrap();
    assert_eq!(&got, b"HELLO");
}

#[test]
fn connect_to_a_closed_port_fails_with_the_address_in_the_error() {
    // Bind then drop to find a port that nothing listens on.
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let rt = Runtime::builder().current_thread().build().unwrap();
    let err = rt.block_on(TcpStream::connect(addr)).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::ConnectionRefused);
    assert!(err.to_string().contains(&addr.to_string()), "{err}");
}

#[test]
fn bind_to_a_busy_port_names_the_address() {
    let rt = Runtime::builder().current_thread().build().unwrap();
    rt.block_on(async {
        let first = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = first.local_addr().unwrap();
        let err = TcpListener::bind(addr).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::AddrInUse);
        assert!(err.to_string().contains(&addr.to_string()), "{err}");
    });
}

#[test]
fn creating_a_socket_outside_a_loop_is_an_error_not_a_panic() {
    let err = TcpListener::bind("127.0.0.1:0").unwrap_err();
    assert!(err.to_string().contains("inside a weft loop"), "{err}");
}

#[test]
fn peer_close_reads_as_end_of_stream() {
    let rt = Runtime::builder().current_thread().build().unwrap();
    rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = weft::spawn(async move {
            let (s, _) = listener.accept().await.unwrap();
            s.write_all(b"bye").await.unwrap();
            // dropped: closes
        });
        let c = TcpStream::connect(addr).await.unwrap();
        server.await.unwrap();
        let mut buf = [0u8; 8];
        assert_eq!(c.read(&mut buf).await.unwrap(), 3);
        assert_eq!(c.read(&mut buf).await.unwrap(), 0);
    });
}
