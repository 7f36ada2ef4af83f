//! `weft::io::AsyncFd` on a real non-blocking pipe: readiness waits, `try_io` clearing the
//! readiness on `WouldBlock`, write readiness after the pipe filled up, `into_inner`.

use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{FromRawFd, OwnedFd};
use std::time::Duration;
use weft::io::AsyncFd;
use weft::rt::Runtime;
use weft_testkit::{within_deadline, DEADLINE};

/// A pipe with both ends non-blocking and close-on-exec, as `File`s.
fn pipe() -> (File, File) {
    let mut fds = [0; 2];
    // SAFETY: `fds` has room for the two descriptors pipe2 writes.
    let rc = unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_NONBLOCK | libc::O_CLOEXEC) };
    assert_eq!(rc, 0, "pipe2: {}", io::Error::last_os_error());
    // SAFETY: both descriptors were just created and are owned by nobody else.
    let (r, w) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    (File::from(r), File::from(w))
}

/// Reads whatever is available, waiting for readiness through the AsyncFd.
async fn read_some(fd: &AsyncFd<File>, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        let mut guard = fd.readable().await?;
        match guard.try_io(|fd| fd.get_ref().read(buf)) {
            Ok(result) => return result,
            Err(_would_block) => continue,
        }
    }
}

#[test]
fn readable_waits_for_data_and_try_io_clears_on_would_block() {
    within_deadline("AsyncFd pipe read", || {
        let rt = Runtime::builder().current_thread().build().unwrap();
        rt.block_on(async {
            let (r, w) = pipe();
            let reader = AsyncFd::new(r).unwrap();
            // The writer runs on another thread, after a pause, so the reader really waits.
            let writer = std::thread::spawn(move || {
                let mut w = w;
                std::thread::sleep(Duration::from_millis(50));
                w.write_all(b"first").unwrap();
                w
            });
            let mut buf = [0u8; 64];
            let n = read_some(&reader, &mut buf).await.unwrap();
            assert_eq!(&buf[..n], b"first");

            // The pipe is empty now: a try_io answers WouldBlock and clears the readiness, so
            // the next readable() must wait (it does not return at once).
            {
                let mut guard = reader.readable().await.unwrap();
                let tried = guard.try_io(|fd| fd.get_ref().read(&mut buf));
                assert!(
                    tried.is_err(),
                    "an empty pipe read must be WouldBlock: {tried:?}"
                );
            }
            let waited = weft::time::timeout(Duration::from_millis(100), reader.readable()).await;
            assert!(
                waited.is_err(),
                "readable() returned with nothing in the pipe"
            );

            let mut w = writer.join().unwrap();
            w.write_all(b"second").unwrap();
            let n = read_some(&reader, &mut buf).await.unwrap();
            assert_eq!(&buf[..n], b"second");

            // End of stream once the write end is closed.
            drop(w);
            let n = read_some(&reader, &mut buf).await.unwrap();
            assert_eq!(n, 0);
        });
    });
}

#[test]
fn writable_waits_until_a_full_pipe_is_drained() {
    within_deadline("AsyncFd pipe write", || {
        let rt = Runtime::builder().current_thread().build().unwrap();
        rt.block_on(async {
            let (r, w) = pipe();
            let writer = AsyncFd::new(w).unwrap();
            let chunk = [7u8; 4096];
            let mut written = 0usize;
            // Fill the pipe until the kernel says WouldBlock.
            loop {
                let mut guard = writer.writable().await.unwrap();
                match guard.try_io(|fd| fd.get_ref().write(&chunk)) {
                    Ok(result) => written += result.unwrap(),
                    Err(_would_block) => break,
                }
            }
            assert!(written > 0);
            let waited = weft::time::timeout(Duration::from_millis(100), writer.writable()).await;
            assert!(waited.is_err(), "writable() returned on a full pipe");

            // Another thread drains it all; then writable() wakes and a write goes through.
            let drainer = std::thread::spawn(move || {
                let mut r = r;
                let mut total = 0;
                let mut buf = vec![0u8; 65536];
                let deadline = std::time::Instant::now() + DEADLINE;
                while total < written {
                    assert!(std::time::Instant::now() < deadline, "drain never finished");
                    match r.read(&mut buf) {
                        Ok(n) => total += n,
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                            std::thread::sleep(Duration::from_millis(1))
                        }
                        Err(e) => panic!("drain: {e}"),
                    }
                }
                r
            });
            let n = loop {
                let mut guard = writer.writable().await.unwrap();
                if let Ok(result) = guard.try_io(|fd| fd.get_ref().write(b"more")) {
                    break result.unwrap();
                }
            };
            assert_eq!(n, 4);
            let mut r = drainer.join().unwrap();

            // into_inner deregisters and hands back the open descriptor.
            let mut w = writer.into_inner();
            w.write_all(b"!").unwrap();
            let mut buf = [0u8; 8];
            let n = r.read(&mut buf).unwrap();
            assert_eq!(&buf[..n], b"more!");
        });
    });
}

#[test]
fn clear_ready_makes_the_next_wait_block_and_a_regular_file_is_refused() {
    within_deadline("AsyncFd clear_ready", || {
        let rt = Runtime::builder().current_thread().build().unwrap();
        rt.block_on(async {
            let (r, mut w) = pipe();
            let reader = AsyncFd::new(r).unwrap();
            // Fresh sources start out ready; clear it by hand.
            reader.readable().await.unwrap().clear_ready();
            let waited = weft::time::timeout(Duration::from_millis(50), reader.readable()).await;
            assert!(
                waited.is_err(),
                "readable() returned after clear_ready with no data"
            );
            w.write_all(b"x").unwrap();
            let mut buf = [0u8; 4];
            let n = read_some(&reader, &mut buf).await.unwrap();
            assert_eq!(&buf[..n], b"x");

            // epoll refuses regular files (EPERM); the error comes back from new().
            let dir = weft_testkit::TempDir::new("asyncfd");
            let path = dir.path().join("plain");
            std::fs::write(&path, b"data").unwrap();
            let err = AsyncFd::new(File::open(&path).unwrap()).unwrap_err();
            assert_eq!(err.raw_os_error(), Some(libc::EPERM), "{err}");
        });
    });
}

#[test]
fn mut_guards_hand_out_mutable_access() {
    within_deadline("AsyncFd readable_mut", || {
        let rt = Runtime::builder().current_thread().build().unwrap();
        rt.block_on(async {
            let (r, w) = pipe();
            let mut reader = AsyncFd::new(r).unwrap();
            let mut writer = AsyncFd::new(w).unwrap();
            let n = loop {
                let mut guard = writer.writable_mut().await.unwrap();
                // `Write for File` needs `&mut File`.
                if let Ok(result) = guard.try_io(|fd| fd.get_mut().write(b"mutable")) {
                    break result.unwrap();
                }
            };
            assert_eq!(n, 7);
            let mut buf = [0u8; 16];
            let n = loop {
                let mut guard = reader.readable_mut().await.unwrap();
                if let Ok(result) = guard.try_io(|fd| fd.get_mut().read(&mut buf)) {
                    break result.unwrap();
                }
            };
            assert_eq!(&buf[..n], b"mutable");
            // Drained: the next try clears the readiness, and a wait then blocks.
            {
                let mut guard = reader.readable_mut().await.unwrap();
                assert!(guard.try_io(|fd| fd.get_mut().read(&mut buf)).is_err());
            }
            let waited =
                weft::time::timeout(Duration::from_millis(50), reader.readable_mut()).await;
            assert!(waited.is_err(), "readable_mut() returned on an empty pipe");
        });
    });
}
