//! The futures-io helpers weft::io re-exports, over real sockets: `BufReader` + `lines`,
//! `BufWriter`, `copy`.

use futures_util::StreamExt;
use weft::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, BufWriter};
use weft::net::{TcpListener, TcpStream};
use weft::rt::Runtime;
use weft_testkit::within_deadline;

#[test]
fn buf_reader_lines_over_a_socket() {
    within_deadline("lines over a socket", || {
        let rt = Runtime::builder().current_thread().build().unwrap();
        rt.block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            let addr = listener.local_addr().unwrap();
            weft::spawn(async move {
                let (s, _) = listener.accept().await.unwrap();
                let mut w = BufWriter::new(s);
                // Lines split across writes, and a last line without a newline.
                for chunk in [&b"alpha\nbe"[..], b"ta\n", b"\ngamma\r\n", b"delta"] {
                    w.write_all(chunk).await.unwrap();
                    w.flush().await.unwrap();
                }
                w.close().await.unwrap();
            });
            let stream = TcpStream::connect(addr).await.unwrap();
            let lines: Vec<String> = BufReader::new(stream)
                .lines()
                .map(Result::unwrap)
                .collect()
                .await;
            assert_eq!(lines, ["alpha", "beta", "", "gamma", "delta"]);
        });
    });
}

#[test]
fn read_line_and_copy_over_a_socket() {
    within_deadline("read_line and copy", || {
        let rt = Runtime::builder().current_thread().build().unwrap();
        rt.block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            let addr = listener.local_addr().unwrap();
            let server = weft::spawn(async move {
                let (s, _) = listener.accept().await.unwrap();
                let mut sink = Vec::new();
                let n = weft::io::copy(s, &mut sink).await.unwrap();
                (n, sink)
            });
            let mut stream = TcpStream::connect(addr).await.unwrap();
            stream.write_all(b"header line\nbody").await.unwrap();
            stream.close().await.unwrap();
            let (n, sink) = server.await.unwrap();
            assert_eq!(n, 16);
            let mut reader = BufReader::new(&sink[..]);
            let mut first = String::new();
            reader.read_line(&mut first).await.unwrap();
            assert_eq!(first, "header line\n");
        });
    });
}
