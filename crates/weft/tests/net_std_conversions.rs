//! `AsFd`/`AsRawFd`, `into_std` and `from_std` on every socket type: a weft socket handed to
//! std keeps working there (blocking mode restored by the caller), and back.

use std::io::{Read, Write};
use std::os::fd::{AsFd, AsRawFd};
use weft::net::{TcpListener, TcpStream, UdpSocket, UnixDatagram, UnixListener, UnixStream};
use weft::rt::Runtime;
use weft_testkit::{within_deadline, TempDir};

fn same_fd(a: &impl AsFd, b: &impl AsRawFd) {
    assert_eq!(a.as_fd().as_raw_fd(), b.as_raw_fd());
}

#[test]
fn tcp_listener_and_stream_round_trip_through_std() {
    within_deadline("tcp into_std/from_std", || {
        let rt = Runtime::builder().current_thread().build().unwrap();
        rt.block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            same_fd(&listener, &listener);
            let addr = listener.local_addr().unwrap();
            // Into std: a blocking accept on another thread works on the same socket.
            let std_listener = listener.into_std().unwrap();
            std_listener.set_nonblocking(false).unwrap();
            let server = std::thread::spawn(move || {
                let (mut s, _) = std_listener.accept().unwrap();
                let mut buf = [0u8; 5];
                s.read_exact(&mut buf).unwrap();
                s.write_all(&buf).unwrap();
                std_listener
            });
            let client = TcpStream::connect(addr).await.unwrap();
            same_fd(&client, &client);
            client.write_all(b"hello").await.unwrap();
            let mut buf = [0u8; 5];
            client.read_exact(&mut buf).await.unwrap();
            assert_eq!(&buf, b"hello");
            let std_listener = server.join().unwrap();

            // Back from std: the listener accepts on the loop again.
            let listener = TcpListener::from_std(std_listener).unwrap();
            let connector = std::thread::spawn(move || {
                let mut s = std::net::TcpStream::connect(addr).unwrap();
                s.write_all(b"x").unwrap();
                let mut b = [0u8; 1];
                s.read_exact(&mut b).unwrap();
                b[0]
            });
            let (stream, _) = listener.accept().await.unwrap();
            // A stream into std and back.
            let std_stream = stream.into_std().unwrap();
            let stream = TcpStream::from_std(std_stream).unwrap();
            let mut b = [0u8; 1];
            stream.read_exact(&mut b).await.unwrap();
            stream.write_all(b"y").await.unwrap();
            assert_eq!(connector.join().unwrap(), b'y');
        });
    });
}

#[test]
fn udp_socket_round_trips_through_std() {
    within_deadline("udp into_std/from_std", || {
        let rt = Runtime::builder().current_thread().build().unwrap();
        rt.block_on(async {
            let a = UdpSocket::bind("127.0.0.1:0").unwrap();
            let b = UdpSocket::bind("127.0.0.1:0").unwrap();
            same_fd(&a, &a);
            let b_addr = b.local_addr().unwrap();
            let std_a = a.into_std().unwrap();
            std_a.send_to(b"from std", b_addr).unwrap();
            let mut buf = [0u8; 16];
            let (n, from) = b.recv_from(&mut buf).await.unwrap();
            assert_eq!(&buf[..n], b"from std");
            let a = UdpSocket::from_std(std_a).unwrap();
            assert_eq!(a.local_addr().unwrap(), from);
            b.send_to(b"back", from).await.unwrap();
            let (n, _) = a.recv_from(&mut buf).await.unwrap();
            assert_eq!(&buf[..n], b"back");
        });
    });
}

#[test]
fn unix_sockets_round_trip_through_std() {
    within_deadline("unix into_std/from_std", || {
        let dir = TempDir::new("unix-std");
        let path = dir.path().join("s.sock");
        let rt = Runtime::builder().current_thread().build().unwrap();
        rt.block_on(async {
            let listener = UnixListener::bind(&path).unwrap();
            same_fd(&listener, &listener);
            assert_eq!(
                listener.local_addr().unwrap().as_pathname(),
                Some(path.as_path())
            );
            let std_listener = listener.into_std().unwrap();
            let listener = UnixListener::from_std(std_listener).unwrap();
            let client = UnixStream::connect(&path).await.unwrap();
            let server = listener.accept().await.unwrap();
            let mut std_server = server.into_std().unwrap();
            std_server.set_nonblocking(false).unwrap();
            client.write_all(b"ping").await.unwrap();
            let mut buf = [0u8; 4];
            std_server.read_exact(&mut buf).unwrap();
            assert_eq!(&buf, b"ping");
            let server = UnixStream::from_std(std_server).unwrap();
            server.write_all(b"pong").await.unwrap();
            client.read_exact(&mut buf).await.unwrap();
            assert_eq!(&buf, b"pong");
            same_fd(&client, &client);

            let (a, b) = UnixDatagram::pair().unwrap();
            same_fd(&a, &a);
            let std_a = a.into_std().unwrap();
            std_a.send(b"dgram").unwrap();
            let n = b.recv(&mut buf).await.unwrap();
            assert_eq!(n, 4, "a 5-byte datagram is truncated to the 4-byte buffer");
            let a = UnixDatagram::from_std(std_a).unwrap();
            b.send(b"ok").await.unwrap();
            let n = a.recv(&mut buf).await.unwrap();
            assert_eq!(&buf[..n], b"ok");
        });
    });
}
