//! Unix-domain stream echo.

use weft::net::{UnixListener, UnixStream};
use weft::rt::Runtime;

#[test]
fn echo_over_a_unix_socket_path() {
    let dir = std::env::temp_dir().join(format!("weft-unix-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("echo.sock");
    let _ = std::fs::remove_file(&path);
    let rt = Runtime::builder().current_thread().build().unwrap();
    rt.block_on({
        let path = path.clone();
        async move {
            let listener = UnixListener::bind(&path).unwrap();
            weft::spawn(async move {
                for _ in 0..3 {
                    let s = listener.accept().await.unwrap();
                    weft::spawn(async move {
                        let mut buf = [0u8; 256];
                        loop {
                            let n = s.read(&mut buf).await.unwrap();
                            if n == 0 {
                                break;
                            }
                            s.write_all(&buf[..n]).await.unwrap();
                        }
                    });
                }
            });
            let clients: Vec<_> = (0..3)
                .map(|i| {
                    let path = path.clone();
                    weft::spawn(async move {
                        let c = UnixStream::connect(&path).await.unwrap();
                        let msg = format!("client {i}");
                        c.write_all(msg.as_bytes()).await.unwrap();
                        let mut buf = vec![0u8; msg.len()];
                        c.read_exact(&mut buf).await.unwrap();
                        String::from_utf8(buf).unwrap() == msg
                    })
                })
                .collect();
            for c in clients {
                assert!(c.await.unwrap());
            }
        }
    });
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_socketpair_carries_bytes_both_ways() {
    let rt = Runtime::builder().current_thread().build().unwrap();
    rt.block_on(async {
        let (a, b) = UnixStream::pair().unwrap();
        a.write_all(b"ping").await.unwrap();
        let mut buf = [0u8; 4];
        b.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"ping");
        b.write_all(b"pong").await.unwrap();
        a.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"pong");
    });
}

#[test]
fn connecting_to_a_missing_path_names_it() {
    let rt = Runtime::builder().current_thread().build().unwrap();
    let err = rt
        .block_on(UnixStream::connect("/nonexistent/weft.sock"))
        .unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
    assert!(err.to_string().contains("/nonexistent/weft.sock"), "{err}");
}
