//! Splitting streams: owned halves (`into_split`, on two tasks, `reunite`), borrowed halves
//! (`split(&mut self)`), `weft::io::split` for any stream, and `copy_bidirectional` relaying
//! between two real TCP connections.

use std::net::Shutdown;
use weft::io::{copy, copy_bidirectional, AsyncReadExt, AsyncWriteExt};
use weft::net::{TcpListener, TcpStream, UnixStream};
use weft::rt::Runtime;
use weft_testkit::within_deadline;

async fn connected_pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let client = TcpStream::connect(listener.local_addr().unwrap())
        .await
        .unwrap();
    let (server, _) = listener.accept().await.unwrap();
    (client, server)
}

#[test]
fn owned_halves_work_on_two_tasks_and_reunite() {
    within_deadline("into_split", || {
        let rt = Runtime::builder().loops(2).build().unwrap();
        rt.block_on(async {
            let (client, server) = connected_pair().await;
            let peer = client.peer_addr().unwrap();
            let (mut read, mut write) = client.into_split();
            assert_eq!(read.as_ref().peer_addr().unwrap(), peer);
            // The server echoes until end of stream.
            let echo = weft::spawn(async move {
                let (mut r, mut w) = server.into_split();
                copy(&mut r, &mut w).await.unwrap()
            });
            let writer = weft::spawn(async move {
                for i in 0..100u32 {
                    write.write_all(&i.to_be_bytes()).await.unwrap();
                }
                write
            });
            let reader = weft::spawn(async move {
                let mut buf = [0u8; 400];
                read.read_exact(&mut buf).await.unwrap();
                for (i, chunk) in buf.chunks(4).enumerate() {
                    assert_eq!(u32::from_be_bytes(chunk.try_into().unwrap()), i as u32);
                }
                read
            });
            let write = writer.await.unwrap();
            let read = reader.await.unwrap();

            // Halves of different streams are refused and handed back.
            let (other, _other_server) = connected_pair().await;
            let (other_read, other_write) = other.into_split();
            let err = read.reunite(other_write).unwrap_err();
            assert!(
                err.to_string().contains("not from the same stream"),
                "{err}"
            );
            let (read, other_write) = (err.0, err.1);
            drop((other_read, other_write));

            // Reunited, the stream works as before, and its write side was not shut down.
            let stream = read.reunite(write).unwrap();
            stream.write_all(b"again").await.unwrap();
            let mut buf = [0u8; 5];
            stream.read_exact(&mut buf).await.unwrap();
            assert_eq!(&buf, b"again");
            // Dropping an owned write half shuts down the write side: the echo sees end of
            // stream, and so do we.
            let (mut read, write) = stream.into_split();
            drop(write);
            assert_eq!(echo.await.unwrap(), 405);
            let mut rest = Vec::new();
            read.read_to_end(&mut rest).await.unwrap();
            assert!(rest.is_empty());
        });
    });
}

#[test]
fn borrowed_halves_copy_within_one_task() {
    within_deadline("split(&mut)", || {
        let rt = Runtime::builder().current_thread().build().unwrap();
        rt.block_on(async {
            let (mut a, mut b) = UnixStream::pair().unwrap();
            let echo = weft::spawn(async move {
                // Named in full: with futures' AsyncReadExt in scope, `b.split()` would pick its
                // by-value `split` (behind a lock) over the inherent `split(&mut self)`.
                let (mut r, mut w) = UnixStream::split(&mut b);
                let n = copy(&mut r, &mut w).await.unwrap();
                w.close().await.unwrap();
                n
            });
            let (mut r, mut w): (
                weft::net::unix::ReadHalf<'_>,
                weft::net::unix::WriteHalf<'_>,
            ) = UnixStream::split(&mut a);
            let send = async {
                w.write_all(b"through borrowed halves").await.unwrap();
                w.close().await.unwrap(); // shuts down the write side
            };
            let mut got = Vec::new();
            let recv = r.read_to_end(&mut got);
            let ((), n) = futures_util::future::join(send, recv).await;
            n.unwrap();
            assert_eq!(got, b"through borrowed halves");
            assert_eq!(echo.await.unwrap(), 23);
        });
    });
}

#[test]
fn io_split_splits_any_stream() {
    within_deadline("weft::io::split", || {
        let rt = Runtime::builder().current_thread().build().unwrap();
        rt.block_on(async {
            let (client, server) = connected_pair().await;
            let (mut r, mut w) = weft::io::split(server);
            let echo = weft::spawn(async move {
                let mut buf = [0u8; 4];
                r.read_exact(&mut buf).await.unwrap();
                w.write_all(&buf).await.unwrap();
                r.reunite(w).unwrap()
            });
            client.write_all(b"ping").await.unwrap();
            let mut buf = [0u8; 4];
            client.read_exact(&mut buf).await.unwrap();
            assert_eq!(&buf, b"ping");
            let _server = echo.await.unwrap();
        });
    });
}

#[test]
fn copy_bidirectional_relays_between_two_connections() {
    within_deadline("copy_bidirectional", || {
        let rt = Runtime::builder().current_thread().build().unwrap();
        rt.block_on(async {
            // backend: upper-cases what it reads until end of stream, then says "bye" and
            // closes.
            let backend = TcpListener::bind("127.0.0.1:0").unwrap();
            let backend_addr = backend.local_addr().unwrap();
            weft::spawn(async move {
                let (s, _) = backend.accept().await.unwrap();
                let mut buf = [0u8; 1024];
                loop {
                    let n = s.read(&mut buf).await.unwrap();
                    if n == 0 {
                        break;
                    }
                    s.write_all(&buf[..n].to_ascii_uppercase()).await.unwrap();
                }
                s.write_all(b"BYE").await.unwrap();
            });
            // proxy: one accepted client relayed to the backend.
            let front = TcpListener::bind("127.0.0.1:0").unwrap();
            let front_addr = front.local_addr().unwrap();
            let proxy = weft::spawn(async move {
                let (mut inbound, _) = front.accept().await.unwrap();
                let mut outbound = TcpStream::connect(backend_addr).await.unwrap();
                copy_bidirectional(&mut inbound, &mut outbound)
                    .await
                    .unwrap()
            });
            let client = TcpStream::connect(front_addr).await.unwrap();
            let payload: Vec<u8> = b"hello relay ".repeat(5000); // several buffers' worth
            let (mut r, mut w) = client.into_split();
            let sender = weft::spawn(async move {
                w.write_all(&payload).await.unwrap();
                w.as_ref().shutdown(Shutdown::Write).unwrap();
                w.forget();
                payload.len()
            });
            let mut got = Vec::new();
            r.read_to_end(&mut got).await.unwrap();
            let sent = sender.await.unwrap();
            let mut want = b"HELLO RELAY ".repeat(5000);
            want.extend_from_slice(b"BYE");
            assert_eq!(got.len(), want.len());
            assert!(got == want, "relayed bytes differ");
            let (up, down) = proxy.await.unwrap();
            assert_eq!((up, down), (sent as u64, want.len() as u64));
        });
    });
}
