//! The io_uring backend: choosing it (builder, `WEFT_BACKEND`, a bad value), the runtime
//! saying which backend runs, and TCP, timers, cross-thread wake-ups, pool completions and
//! green threads running on it.
//!
//! The environment-variable cases run in a child process (this test binary again, filtered to
//! one `child_*` test): setting the variable here would change the backend of every test
//! running in parallel.

mod common;

use common::within_deadline;
use std::io::{Read, Write};
use std::process::Command;
use std::time::{Duration, Instant};
use weft::net::{TcpListener, TcpStream};
use weft::rt::{Backend, Handle, Runtime};

/// The backend a runtime asking for io_uring must report on this machine: io_uring itself,
/// unless the kernel refuses it (`kernel.io_uring_disabled` set), when it falls back to epoll.
fn expected_uring() -> Backend {
    let disabled = std::fs::read_to_string("/proc/sys/kernel/io_uring_disabled")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "0".into());
    if disabled == "0" {
        Backend::IoUring
    } else {
        Backend::Epoll
    }
}

fn uring_runtime(loops: usize) -> Runtime {
    let rt = Runtime::builder()
        .loops(loops)
        .backend(Backend::IoUring)
        .build()
        .unwrap();
    assert_eq!(rt.backend(), expected_uring());
    rt
}

#[test]
fn the_builder_option_chooses_the_backend_and_the_runtime_reports_it() {
    let rt = current_thread_on(Backend::IoUring);
    assert_eq!(rt.backend(), expected_uring());
    assert_eq!(rt.handle().backend(), expected_uring());
    let inside = rt.block_on(async { Handle::current().backend() });
    assert_eq!(inside, expected_uring());

    let rt = current_thread_on(Backend::Epoll);
    assert_eq!(rt.backend(), Backend::Epoll);
    assert_eq!(
        weft::Backend::IoUring,
        Backend::IoUring,
        "re-exported at the root"
    );
}

/// Runs the test `name` of this binary in a child with `WEFT_BACKEND=value`; returns whether it
/// passed and its output.
fn run_child(name: &str, value: &str) -> (bool, String) {
    let out = Command::new(std::env::current_exe().unwrap())
        .args([name, "--exact", "--nocapture", "--test-threads=1"])
        .env("WEFT_BACKEND", value)
        .env("WEFT_BACKEND_CHILD", "1")
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("1 passed") || text.contains("1 failed"),
        "the child ran no test: {text}"
    );
    (out.status.success(), text)
}

fn is_child() -> bool {
    std::env::var_os("WEFT_BACKEND_CHILD").is_some()
}

#[test]
fn child_reports_the_backend_of_the_variable() {
    if !is_child() {
        return;
    }
    let rt = Runtime::builder().current_thread().build().unwrap();
    let expected = match std::env::var("WEFT_BACKEND").unwrap().as_str() {
        "uring" => expected_uring(),
        "epoll" => Backend::Epoll,
        other => panic!("unexpected WEFT_BACKEND {other}"),
    };
    assert_eq!(rt.backend(), expected);
    // The builder's choice wins over the variable.
    let other = match expected {
        Backend::Epoll => Backend::IoUring,
        _ => Backend::Epoll,
    };
    let rt = current_thread_on(other);
    if other == Backend::Epoll {
        assert_eq!(rt.backend(), Backend::Epoll);
    } else {
        assert_eq!(rt.backend(), expected_uring());
    }
}

#[test]
fn child_fails_to_build_with_a_bad_value() {
    if !is_child() {
        return;
    }
    let err = Runtime::builder().current_thread().build().unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    let text = err.to_string();
    assert!(
        text.contains("WEFT_BACKEND") && text.contains("`kqueue`"),
        "the error names neither the variable nor the value: {text}"
    );
    // The builder's choice does not read the variable.
    let rt = current_thread_on(Backend::Epoll);
    assert_eq!(rt.backend(), Backend::Epoll);
}

#[test]
fn weft_backend_selects_the_backend_and_a_bad_value_is_an_error_naming_it() {
    if is_child() {
        return;
    }
    for value in ["uring", "epoll"] {
        let (ok, text) = run_child("child_reports_the_backend_of_the_variable", value);
        assert!(ok, "WEFT_BACKEND={value}: {text}");
    }
    let (ok, text) = run_child("child_fails_to_build_with_a_bad_value", "kqueue");
    assert!(ok, "WEFT_BACKEND=kqueue: {text}");
}

/// A weft echo server on io_uring loop threads, real blocking std clients on other threads;
/// each connection is closed by the server after the echo, so the client also sees the FIN
/// (a poll request that outlived its socket would keep it open).
#[test]
fn tcp_echo_on_uring_loop_threads_with_std_clients() {
    let rt = uring_runtime(2);
    let (tx, rx) = std::sync::mpsc::channel();
    let server = rt.spawn(async move {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        tx.send(listener.local_addr().unwrap()).unwrap();
        assert_eq!(Handle::current().backend(), expected_uring());
        for _ in 0..64 {
            let (stream, _) = listener.accept().await.unwrap();
            weft::spawn(async move {
                let mut buf = [0u8; 64 * 1024];
                let mut want = 100_000usize;
                while want > 0 {
                    let n = stream.read(&mut buf).await.unwrap();
                    assert!(n > 0, "client closed early");
                    stream.write_all(&buf[..n]).await.unwrap();
                    want -= n;
                }
                // Dropped here: the client must see end of file.
            });
        }
    });
    let addr = rx.recv_timeout(Duration::from_secs(10)).unwrap();
    within_deadline("64 echo clients", move || {
        let clients: Vec<_> = (0..64)
            .map(|i| {
                std::thread::spawn(move || {
                    let mut conn = std::net::TcpStream::connect(addr).unwrap();
                    let payload: Vec<u8> = (0..100_000).map(|j| (i * 7 + j) as u8).collect();
                    let writer = {
                        let mut conn = conn.try_clone().unwrap();
                        let payload = payload.clone();
                        std::thread::spawn(move || conn.write_all(&payload).unwrap())
                    };
                    let mut got = Vec::new();
                    conn.read_to_end(&mut got).unwrap();
                    writer.join().unwrap();
                    assert!(got == payload, "client {i}: echoed bytes differ");
                })
            })
            .collect();
        for c in clients {
            c.join().unwrap();
        }
    });
    rt.block_on(server).unwrap();
}

/// A socket registered on one io_uring loop and used on another loop's thread: only the loop
/// that waits submits to its ring, so the other thread's writability subscription (the writes
/// fill the socket buffer) and its deregistration (the drop) are queued there and that loop,
/// asleep meanwhile, is woken to submit them. Without the wake-up the writer would wait for
/// ever, and the client would never see end of file (the poll request keeps the socket open).
#[test]
fn a_socket_written_and_dropped_on_another_loop_thread() {
    const LEN: usize = 32 << 20;
    let rt = uring_runtime(2);
    let handle = rt.handle();
    let (tx, rx) = std::sync::mpsc::channel();
    let server = rt.spawn_on(0, async move {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        tx.send(listener.local_addr().unwrap()).unwrap();
        let (stream, _) = listener.accept().await.unwrap();
        // Registered with loop 0; written, and dropped, by a task on loop 1.
        handle
            .spawn_on(1, async move {
                let chunk = vec![7u8; 1 << 20];
                for _ in 0..LEN / chunk.len() {
                    stream.write_all(&chunk).await.unwrap();
                }
            })
            .await
            .unwrap();
    });
    let addr = rx.recv_timeout(Duration::from_secs(10)).unwrap();
    within_deadline("32 MiB written from the other loop, then EOF", move || {
        let mut conn = std::net::TcpStream::connect(addr).unwrap();
        // Let the writer fill the socket buffers before reading.
        std::thread::sleep(Duration::from_millis(100));
        let mut got = Vec::with_capacity(LEN);
        conn.read_to_end(&mut got).unwrap();
        assert_eq!(got.len(), LEN);
        assert!(got.iter().all(|&b| b == 7));
    });
    rt.block_on(server).unwrap();
}

/// Client and server both on one current-thread io_uring loop; a thousand short connections,
/// so registrations come and go (slots are recycled) while others are live.
#[test]
fn short_connections_on_one_uring_loop() {
    let rt = current_thread_on(Backend::IoUring);
    rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = weft::spawn_local(async move {
            for _ in 0..1000 {
                let (stream, _) = listener.accept().await.unwrap();
                weft::spawn_local(async move {
                    let mut buf = [0u8; 16];
                    let n = stream.read(&mut buf).await.unwrap();
                    stream.write_all(&buf[..n]).await.unwrap();
                });
            }
        });
        for i in 0..1000u32 {
            let client = TcpStream::connect(addr).await.unwrap();
            client.write_all(&i.to_le_bytes()).await.unwrap();
            let mut buf = [0u8; 4];
            let mut got = 0;
            while got < 4 {
                let n = client.read(&mut buf[got..]).await.unwrap();
                assert!(n > 0);
                got += n;
            }
            assert_eq!(u32::from_le_bytes(buf), i);
        }
        weft::time::timeout(Duration::from_secs(30), server)
            .await
            .expect("the server accepted all connections")
            .unwrap();
    });
}

#[test]
fn timers_fire_in_order_and_never_early_on_uring() {
    let rt = current_thread_on(Backend::IoUring);
    rt.block_on(async {
        let start = Instant::now();
        let order = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
        let mut tasks = Vec::new();
        for ms in [30u64, 10, 20, 0, 5] {
            let order = order.clone();
            tasks.push(weft::spawn_local(async move {
                weft::time::sleep(Duration::from_millis(ms)).await;
                assert!(
                    start.elapsed() >= Duration::from_millis(ms),
                    "{ms} ms fired early"
                );
                order.borrow_mut().push(ms);
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(*order.borrow(), vec![0, 5, 10, 20, 30]);
        // A timeout that elapses while the loop sleeps in io_uring_enter with nothing else.
        let never = std::future::pending::<()>();
        let before = Instant::now();
        assert!(weft::time::timeout(Duration::from_millis(20), never)
            .await
            .is_err());
        assert!(before.elapsed() >= Duration::from_millis(20));
    });
}

/// A loop asleep in `io_uring_enter` is woken by work from another thread (its inbox and
/// notifier) and by a worker-pool completion.
#[test]
fn inbox_wake_ups_and_pool_completions_on_uring() {
    let rt = uring_runtime(1);
    let handle = rt.handle();
    within_deadline(
        "cross-thread spawns onto a sleeping uring loop",
        move || {
            for i in 0..200 {
                // Give the loop time to fall asleep now and then.
                if i % 50 == 0 {
                    std::thread::sleep(Duration::from_millis(5));
                }
                let task = handle.spawn_on(0, async move { i * 2 });
                let (tx, rx) = std::sync::mpsc::channel();
                handle.spawn(async move { tx.send(task.await.unwrap()).unwrap() });
                assert_eq!(rx.recv_timeout(Duration::from_secs(10)).unwrap(), i * 2);
            }
        },
    );
    let sum = rt.block_on(async {
        let mut sum = 0;
        for i in 0..50u64 {
            sum += weft::spawn_blocking(move || {
                std::thread::sleep(Duration::from_millis(1));
                i
            })
            .await
            .unwrap();
        }
        sum
    });
    assert_eq!(sum, (0..50).sum::<u64>());
}

/// Green threads block in their own style on the io_uring reactor: a green echo server and
/// green clients, with green sleeps, on one loop.
#[test]
fn green_threads_echo_and_sleep_on_uring() {
    let rt = current_thread_on(Backend::IoUring);
    rt.block_on(async {
        let listener = weft::green::TcpListener::bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let addr = listener.local_addr().unwrap();
        let server = weft::green::spawn(move || {
            for _ in 0..20 {
                let (mut conn, _) = listener.accept().unwrap();
                weft::green::spawn(move || {
                    let mut buf = [0u8; 256];
                    loop {
                        let n = conn.read(&mut buf).unwrap();
                        if n == 0 {
                            break;
                        }
                        conn.write_all(&buf[..n]).unwrap();
                    }
                });
            }
        });
        let clients: Vec<_> = (0..20u8)
            .map(|i| {
                weft::green::spawn(move || {
                    let mut conn = weft::green::TcpStream::connect(addr).unwrap();
                    weft::green::sleep(Duration::from_millis(u64::from(i % 4)));
                    conn.write_all(&[i; 100]).unwrap();
                    let mut got = [0u8; 100];
                    conn.read_exact(&mut got).unwrap();
                    assert_eq!(got, [i; 100]);
                })
            })
            .collect();
        for c in clients {
            c.await.unwrap();
        }
        server.await.unwrap();
    });
}

/// A current-thread runtime on `backend` (what most cases here run on).
fn current_thread_on(backend: Backend) -> Runtime {
    Runtime::builder()
        .current_thread()
        .backend(backend)
        .build()
        .unwrap()
}
