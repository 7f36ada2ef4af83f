//! `weft::net::UnixDatagram`: bound, unbound, pair, connect, send/recv, send_to/recv_from.

use weft::net::UnixDatagram;
use weft::rt::Runtime;
use weft_testkit::{within_deadline, TempDir};

#[test]
fn bound_sockets_exchange_datagrams_by_path() {
    within_deadline("unix datagram by path", || {
        let dir = TempDir::new("udgram");
        let a_path = dir.path().join("a.sock");
        let b_path = dir.path().join("b.sock");
        let rt = Runtime::builder().current_thread().build().unwrap();
        rt.block_on(async {
            let a = UnixDatagram::bind(&a_path).unwrap();
            let b = UnixDatagram::bind(&b_path).unwrap();
            assert_eq!(
                a.local_addr().unwrap().as_pathname(),
                Some(a_path.as_path())
            );
            // recv_from waits for the datagram.
            let sender = weft::spawn({
                let b_path = b_path.clone();
                async move {
                    weft::time::sleep(std::time::Duration::from_millis(20)).await;
                    a.send_to(b"hello", &b_path).await.unwrap();
                    a
                }
            });
            let mut buf = [0u8; 32];
            let (n, from) = b.recv_from(&mut buf).await.unwrap();
            assert_eq!(&buf[..n], b"hello");
            assert_eq!(from.as_pathname(), Some(a_path.as_path()));
            let a = sender.await.unwrap();

            // connect sets the default peer.
            b.connect(&a_path).unwrap();
            assert_eq!(b.peer_addr().unwrap().as_pathname(), Some(a_path.as_path()));
            b.send(b"reply").await.unwrap();
            let n = a.recv(&mut buf).await.unwrap();
            assert_eq!(&buf[..n], b"reply");

            // A bind on a taken path names it.
            let err = UnixDatagram::bind(&a_path).unwrap_err();
            assert!(err.to_string().contains("a.sock"), "{err}");
            // A send to nobody names the path.
            let err = a
                .send_to(b"x", dir.path().join("nobody.sock"))
                .await
                .unwrap_err();
            assert!(err.to_string().contains("nobody.sock"), "{err}");
        });
    });
}

#[test]
fn unbound_sender_and_pair() {
    within_deadline("unix datagram unbound and pair", || {
        let dir = TempDir::new("udgram2");
        let path = dir.path().join("srv.sock");
        let rt = Runtime::builder().current_thread().build().unwrap();
        rt.block_on(async {
            let server = UnixDatagram::bind(&path).unwrap();
            let client = UnixDatagram::unbound().unwrap();
            client.send_to(b"anon", &path).await.unwrap();
            let mut buf = [0u8; 16];
            let (n, from) = server.recv_from(&mut buf).await.unwrap();
            assert_eq!(&buf[..n], b"anon");
            assert!(
                from.is_unnamed(),
                "an unbound sender has no address: {from:?}"
            );

            client.connect(&path).unwrap();
            client.send(b"connected").await.unwrap();
            let n = server.recv(&mut buf).await.unwrap();
            assert_eq!(&buf[..n], b"connected");

            let (a, b) = UnixDatagram::pair().unwrap();
            for msg in [&b"one"[..], b"two", b"three"] {
                a.send(msg).await.unwrap();
            }
            for msg in [&b"one"[..], b"two", b"three"] {
                let n = b.recv(&mut buf).await.unwrap();
                assert_eq!(&buf[..n], msg, "datagram boundaries kept, in order");
            }
        });
    });
}
