//! `peek` on `TcpStream` and `UdpSocket`: data is seen without being taken.

use weft::net::{TcpListener, TcpStream, UdpSocket};
use weft::rt::Runtime;
use weft_testkit::within_deadline;

#[test]
fn tcp_peek_leaves_the_bytes_for_the_next_read() {
    within_deadline("tcp peek", || {
        let rt = Runtime::builder().current_thread().build().unwrap();
        rt.block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            let addr = listener.local_addr().unwrap();
            let client = TcpStream::connect(addr).await.unwrap();
            let (server, _) = listener.accept().await.unwrap();
            // peek waits for data.
            let writer = weft::spawn(async move {
                weft::time::sleep(std::time::Duration::from_millis(20)).await;
                client.write_all(b"GET /").await.unwrap();
                client
            });
            let mut buf = [0u8; 16];
            let n = server.peek(&mut buf).await.unwrap();
            assert!(n > 0 && b"GET /".starts_with(&buf[..n]));
            let mut again = [0u8; 5];
            server.read_exact(&mut again).await.unwrap();
            assert_eq!(&again, b"GET /");
            let client = writer.await.unwrap();
            drop(client);
            assert_eq!(server.peek(&mut buf).await.unwrap(), 0, "end of stream");
        });
    });
}

#[test]
fn udp_peek_and_peek_from_leave_the_datagram_queued() {
    within_deadline("udp peek", || {
        let rt = Runtime::builder().current_thread().build().unwrap();
        rt.block_on(async {
            let a = UdpSocket::bind("127.0.0.1:0").unwrap();
            let b = UdpSocket::bind("127.0.0.1:0").unwrap();
            a.send_to(b"first", b.local_addr().unwrap()).await.unwrap();
            let mut buf = [0u8; 16];
            let (n, from) = b.peek_from(&mut buf).await.unwrap();
            assert_eq!((&buf[..n], from), (&b"first"[..], a.local_addr().unwrap()));
            assert_eq!(b.peek(&mut buf).await.unwrap(), 5);
            let (n, _) = b.recv_from(&mut buf).await.unwrap();
            assert_eq!(&buf[..n], b"first", "peek took nothing");
        });
    });
}
