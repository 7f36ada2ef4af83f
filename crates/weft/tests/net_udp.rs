//! UDP round trips.

use weft::net::UdpSocket;
use weft::rt::Runtime;

#[test]
fn datagrams_round_trip_with_sender_addresses() {
    let rt = Runtime::builder().current_thread().build().unwrap();
    rt.block_on(async {
        let server = UdpSocket::bind("127.0.0.1:0").unwrap();
        let server_addr = server.local_addr().unwrap();
        weft::spawn(async move {
            let mut buf = [0u8; 1500];
            for _ in 0..10 {
                let (n, from) = server.recv_from(&mut buf).await.unwrap();
                buf[..n].reverse();
                server.send_to(&buf[..n], from).await.unwrap();
            }
        });
        let client = UdpSocket::bind("127.0.0.1:0").unwrap();
        for i in 0..10u32 {
            let msg = format!("datagram-{i}");
            client.send_to(msg.as_bytes(), server_addr).await.unwrap();
            let mut buf = [0u8; 1500];
            let (n, from) = client.recv_from(&mut buf).await.unwrap();
            assert_eq!(from, server_addr);
            let expected: Vec<u8> = msg.bytes().rev().collect();
            assert_eq!(&buf[..n], &expected[..]);
        }
    });
}

#[test]
fn connected_sockets_use_send_and_recv() {
    let rt = Runtime::builder().current_thread().build().unwrap();
    rt.block_on(async {
        let a = UdpSocket::bind("127.0.0.1:0").unwrap();
        let b = UdpSocket::bind("127.0.0.1:0").unwrap();
        a.connect(b.local_addr().unwrap()).unwrap();
        b.connect(a.local_addr().unwrap()).unwrap();
        a.send(b"one").await.unwrap();
        let mut buf = [0u8; 16];
        let n = b.recv(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"one");
    });
}
