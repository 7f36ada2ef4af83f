//! Feature `tokio-io`: weft's TcpStream driven through tokio's AsyncReadExt/AsyncWriteExt on a
//! weft runtime (no tokio runtime).

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use weft::net::{TcpListener, TcpStream};

#[test]
fn tcp_stream_through_tokio_traits() {
    let rt = weft::rt::Runtime::builder()
        .current_thread()
        .build()
        .unwrap();
    rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = weft::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 5];
            AsyncReadExt::read_exact(&mut s, &mut buf).await.unwrap();
            AsyncWriteExt::write_all(&mut s, &buf).await.unwrap();
            AsyncWriteExt::shutdown(&mut s).await.unwrap();
        });
        let mut c = TcpStream::connect(addr).await.unwrap();
        AsyncWriteExt::write_all(&mut c, b"hello").await.unwrap();
        let mut out = Vec::new();
        AsyncReadExt::read_to_end(&mut c, &mut out).await.unwrap();
        assert_eq!(out, b"hello");
        server.await.unwrap();
    });
}

#[test]
fn split_halves_through_tokio_traits() {
    let rt = weft::rt::Runtime::builder()
        .current_thread()
        .build()
        .unwrap();
    rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = weft::spawn(async move {
            let (s, _) = listener.accept().await.unwrap();
            let (mut r, mut w) = s.into_split();
            // tokio::io::copy over the owned halves: an echo until end of stream.
            let n = tokio::io::copy(&mut r, &mut w).await.unwrap();
            AsyncWriteExt::shutdown(&mut w).await.unwrap();
            n
        });
        let mut c = TcpStream::connect(addr).await.unwrap();
        let (mut r, mut w) = TcpStream::split(&mut c);
        AsyncWriteExt::write_all(&mut w, b"halves").await.unwrap();
        AsyncWriteExt::shutdown(&mut w).await.unwrap();
        let mut out = Vec::new();
        AsyncReadExt::read_to_end(&mut r, &mut out).await.unwrap();
        assert_eq!(out, b"halves");
        assert_eq!(server.await.unwrap(), 6);
    });
}
