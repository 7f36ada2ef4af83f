//! `TcpStream::connect` takes host names: they resolve on the pool's dns
//! lane and each address is tried in turn.

use weft::net::{TcpListener, TcpStream};
use weft::pool::Lane;
use weft::rt::Runtime;

#[test]
fn connect_by_host_name() {
    let rt = Runtime::builder().current_thread().build().unwrap();
    rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = weft::spawn(async move {
            for _ in 0..2 {
                let (s, _) = listener.accept().await.unwrap();
                let mut buf = [0u8; 16];
                let n = s.read(&mut buf).await.unwrap();
                s.write_all(&buf[..n]).await.unwrap();
            }
        });

        let by_str = TcpStream::connect(format!("localhost:{port}"))
            .await
            .unwrap();
        by_str.write_all(b"by str").await.unwrap();
        let mut buf = [0u8; 16];
        let n = by_str.read(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"by str");

        let by_pair = TcpStream::connect(("localhost", port)).await.unwrap();
        by_pair.write_all(b"by pair").await.unwrap();
        let n = by_pair.read(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"by pair");
        server.await.unwrap();

        let err = TcpStream::connect("no-such-host.invalid:80")
            .await
            .unwrap_err();
        assert!(err.to_string().contains("no-such-host.invalid:80"), "{err}");
        let err = TcpStream::connect("missing-port").await.unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    });
    assert!(rt.metrics().pool.lane(Lane::Dns).completed >= 3);
}
