//! Several loops: shared-nothing loop threads, spawn_on, one SO_REUSEPORT listener per loop.

mod common;

use std::collections::HashSet;
use std::io::{Read, Write};
use weft::net::{ListenOptions, TcpListener};
use weft::rt::{Handle, Runtime};

#[test]
fn spawn_on_runs_on_the_named_loop_thread() {
    let rt = Runtime::builder().loops(3).build().unwrap();
    assert_eq!(rt.loops(), 3);
    for i in 0..3 {
        let (name, index) = rt
            .block_on(rt.spawn_on(i, async {
                (
                    std::thread::current().name().unwrap().to_string(),
                    Handle::current().current_loop(),
                )
            }))
            .unwrap();
        assert_eq!(name, format!("weft-loop-{i}"));
        assert_eq!(index, Some(i));
    }
}

#[test]
#[should_panic(expected = "spawn_on(5): the runtime has 2 loop threads")]
fn spawn_on_a_missing_loop_panics_clearly() {
    let rt = Runtime::builder().loops(2).build().unwrap();
    drop(rt.spawn_on(5, async {}));
}

#[test]
fn one_reuseport_listener_per_loop_all_accept() {
    let loops = 2;
    let rt = Runtime::builder()
        .loops(loops)
        .pin_cores(true)
        .build()
        .unwrap();
    let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = probe.local_addr().unwrap();
    drop(probe);
    let opts = ListenOptions::default().reuse_port(true);
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    for i in 0..loops {
        let (opts, ready_tx) = (opts.clone(), ready_tx.clone());
        rt.spawn_on(i, async move {
            let listener = TcpListener::bind_with(addr, &opts).unwrap();
            ready_tx.send(()).unwrap();
            loop {
                let (s, _) = listener.accept().await.unwrap();
                weft::spawn(async move {
                    let mut buf = [0u8; 1];
                    if s.read_exact(&mut buf).await.is_ok() {
                        let name = std::thread::current().name().unwrap().to_string();
                        let _ = s.write_all(name.as_bytes()).await;
                    }
                });
            }
        })
        .detach();
    }
    for _ in 0..loops {
        ready_rx.recv().unwrap();
    }
    // The kernel spreads connections over the listeners by a hash of the client address and
    // port: with enough connections every loop answers. Each answer names its loop thread.
    let mut seen = HashSet::new();
    for _ in 0..500 {
        let mut c = std::net::TcpStream::connect(addr).unwrap();
        c.write_all(b"?").unwrap();
        let mut name = String::new();
        c.read_to_string(&mut name).unwrap();
        seen.insert(name);
        if seen.len() == loops {
            break;
        }
    }
    let expected: HashSet<String> = (0..loops).map(|i| format!("weft-loop-{i}")).collect();
    assert_eq!(seen, expected);
}

#[test]
fn a_stream_polled_off_its_home_loop_is_still_woken() {
    // The connection is created (registered) on the caller loop, then read
    // and written by a task on loop thread 0: its waits go through the
    // cross-thread waiter, and the home loop's events must still wake it.
    let rt = Runtime::builder().loops(1).build().unwrap();
    let echoed = rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let client = weft::net::TcpStream::connect(addr).await.unwrap();
        let (server_side, _) = listener.accept().await.unwrap();
        let echo = Handle::current().spawn_on(0, async move {
            let mut buf = [0u8; 16];
            let mut got = Vec::new();
            // Several waits, each parked on loop 0 and woken by the caller loop.
            while got.len() < 10 {
                let n = server_side.read(&mut buf).await.unwrap();
                assert!(n > 0, "closed early");
                got.extend_from_slice(&buf[..n]);
            }
            server_side.write_all(&got).await.unwrap();
            got
        });
        for part in [&b"hello"[..], b"world"] {
            // Give the reader time to park before each part (not required for
            // correctness: either way it must see the bytes).
            weft::time::sleep(std::time::Duration::from_millis(20)).await;
            client.write_all(part).await.unwrap();
        }
        let mut back = vec![0u8; 10];
        let mut at = 0;
        while at < back.len() {
            let n = weft::time::timeout(common::DEADLINE, client.read(&mut back[at..]))
                .await
                .expect("the echo arrives")
                .unwrap();
            assert!(n > 0);
            at += n;
        }
        assert_eq!(echo.await.unwrap(), b"helloworld");
        back
    });
    assert_eq!(echoed, b"helloworld");
}
