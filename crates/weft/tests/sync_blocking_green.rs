//! A green thread parked in `blocking_lock` (or `blocking_acquire`, `blocking_write`) leaves
//! its loop free: the same loop answers a real TCP client meanwhile, and the green thread goes
//! on once the lock is released.

mod common;

use std::io::{Read, Write};
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::Arc;
use weft::net::TcpListener;
use weft::rt::Runtime;
use weft::sync::{Mutex, RwLock, Semaphore};

/// Serves one echo connection on this loop; a std::thread client sends `msg` and returns what
/// came back.
async fn echo_once_on_this_loop(msg: &'static [u8]) -> Vec<u8> {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = weft::spawn_local(async move {
        let (stream, _) = listener.accept().await.unwrap();
        let mut buf = [0u8; 64];
        loop {
            let n = stream.read(&mut buf).await.unwrap();
            if n == 0 {
                break;
            }
            stream.write_all(&buf[..n]).await.unwrap();
        }
    });
    let (tx, rx) = common::oneshot();
    std::thread::spawn(move || {
        let mut c = std::net::TcpStream::connect(addr).unwrap();
        c.set_read_timeout(Some(common::DEADLINE)).unwrap();
        c.write_all(msg).unwrap();
        let mut back = vec![0u8; msg.len()];
        c.read_exact(&mut back).unwrap();
        tx.send(back);
    });
    let back = rx.await.expect("the client thread answered");
    server.await.unwrap();
    back
}

/// Yields until `flag` is set; on one loop, a green thread that set it and then parked is now
/// parked (its only suspension point is the park).
async fn until(flag: &AtomicBool) {
    while !flag.load(SeqCst) {
        weft::yield_now().await;
    }
}

#[test]
fn the_loop_serves_tcp_while_a_green_thread_is_parked_in_blocking_lock() {
    let value = common::within_deadline("green blocking_lock + tcp", || {
        let rt = Runtime::builder().current_thread().build().unwrap();
        rt.block_on(async {
            let m = Arc::new(Mutex::new(0));
            let held = m.clone().lock_owned().await;
            let parked = Arc::new(AtomicBool::new(false));
            let green = weft::green::spawn({
                let (m, parked) = (m.clone(), parked.clone());
                move || {
                    parked.store(true, SeqCst);
                    *m.blocking_lock() += 1;
                }
            });
            until(&parked).await;
            assert_eq!(echo_once_on_this_loop(b"ping").await, b"ping");
            assert!(!green.is_finished(), "still parked: the lock is held");
            drop(held);
            green.await.unwrap();
            let v = *m.lock().await;
            v
        })
    });
    assert_eq!(value, 1);
}

#[test]
fn blocking_acquire_and_blocking_write_park_only_the_green_thread() {
    let done = common::within_deadline("green blocking_acquire/write + tcp", || {
        let rt = Runtime::builder().current_thread().build().unwrap();
        rt.block_on(async {
            let sem = Arc::new(Semaphore::new(0));
            let lock = Arc::new(RwLock::new(0));
            let reader = lock.clone().read_owned().await;
            let parked = Arc::new(AtomicBool::new(false));
            let green = weft::green::spawn({
                let (sem, lock, parked) = (sem.clone(), lock.clone(), parked.clone());
                move || {
                    parked.store(true, SeqCst);
                    let _p = sem.blocking_acquire().unwrap();
                    *lock.blocking_write() += 1;
                }
            });
            until(&parked).await;
            assert_eq!(echo_once_on_this_loop(b"one").await, b"one");
            sem.add_permits(1);
            assert_eq!(echo_once_on_this_loop(b"two").await, b"two");
            assert!(!green.is_finished(), "waits for the write lock");
            drop(reader);
            green.await.unwrap();
            let v = *lock.read().await;
            v
        })
    });
    assert_eq!(done, 1);
}
