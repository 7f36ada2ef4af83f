//! `weft::process`: piped stdin and stdout as non-blocking streams, through `cat`, with more
//! data than a pipe holds, written and read at the same time.

mod common;
mod process_support;

use futures_util::io::{AsyncReadExt, AsyncWriteExt};
use std::process::Stdio;
use weft::process::Command;

/// Far above Linux's 64 KiB pipe capacity (both pipes and cat's buffer together), so the
/// round trip only completes if writing and reading really run concurrently.
const PAYLOAD: usize = 8 * 1024 * 1024;

fn payload() -> Vec<u8> {
    (0..PAYLOAD).map(|i| (i * 7 % 251) as u8).collect()
}

#[test]
fn cat_round_trip_with_inherent_methods() {
    process_support::runtime().block_on(async {
        let mut child = Command::new("cat")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        let data = payload();
        let expected = data.clone();
        let writer = weft::spawn(async move {
            stdin.write_all(&data).await.unwrap();
            // Dropping stdin closes the pipe: cat sees end of file.
        });
        let reader = weft::spawn(async move {
            let mut got = Vec::new();
            stdout.read_to_end(&mut got).await.unwrap();
            got
        });
        let got = weft::time::timeout(common::DEADLINE, reader)
            .await
            .expect("the round trip finished before the deadline")
            .unwrap();
        writer.await.unwrap();
        assert_eq!(got.len(), expected.len());
        assert!(got == expected, "cat echoed the bytes unchanged");
        assert!(child.wait().await.unwrap().success());
    });
}

#[test]
fn cat_round_trip_with_futures_io_traits() {
    process_support::runtime().block_on(async {
        let mut child = Command::new("cat")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        let mut stdout = child.stdout.take().unwrap();
        let data = payload();
        let write = async {
            AsyncWriteExt::write_all(&mut stdin, &data).await.unwrap();
            // AsyncWriteExt::close closes the pipe now, without dropping the stream.
            stdin.close().await.unwrap();
            stdin
        };
        let read = async {
            let mut got = Vec::new();
            AsyncReadExt::read_to_end(&mut stdout, &mut got)
                .await
                .unwrap();
            got
        };
        let (stdin, got) =
            weft::time::timeout(common::DEADLINE, futures_util::future::join(write, read))
                .await
                .expect("the round trip finished before the deadline");
        assert!(got == data, "cat echoed the bytes unchanged");
        let err = stdin.write(b"late").await.unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::BrokenPipe);
        assert!(child.wait().await.unwrap().success());
    });
}

#[test]
fn writing_to_an_exited_child_is_broken_pipe() {
    process_support::runtime().block_on(async {
        let mut child = Command::new("true").stdin(Stdio::piped()).spawn().unwrap();
        child.wait().await.unwrap();
        let stdin = child.stdin.take().unwrap();
        let err = stdin.write_all(&payload()).await.unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::BrokenPipe);
    });
}
