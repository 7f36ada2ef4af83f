//! Dropping a runtime with live tasks and sockets: destructors run, descriptors close,
//! threads are joined, nothing hangs.
//!
//! Alone in its test binary so that the process-wide thread and descriptor counts it checks are
//! not disturbed by other tests running in parallel.

mod common;

use common::DropCounter;
use std::io::Read;
use std::time::Duration;
use weft::net::{TcpListener, TcpStream, UdpSocket};
use weft::rt::Runtime;

#[test]
fn shutdown_cancels_tasks_closes_sockets_and_joins_threads() {
    let threads_before = common::thread_count();
    let fds_before = common::fd_count();
    let drops = DropCounter::default();
    let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let outside_addr = std_listener.local_addr().unwrap();

    let (rt_drop_returned, mut outside_peer) = common::within_deadline("runtime shutdown", {
        let drops = drops.clone();
        move || {
            let base = common::thread_count();
            let rt = Runtime::builder().loops(2).build().unwrap();
            assert_eq!(common::thread_count(), base + 2);
            // On each loop thread: a task blocked in accept, one in a read from a peer outside
            // the runtime, one sleeping for an hour, one waiting forever on nothing.
            for i in 0..2 {
                let g = (drops.guard(), drops.guard(), drops.guard(), drops.guard());
                rt.spawn_on(i, async move {
                    let (g1, g2, g3, g4) = g;
                    let l = TcpListener::bind("127.0.0.1:0").unwrap();
                    weft::spawn(async move {
                        let _g = g1;
                        let _ = l.accept().await;
                    });
                    weft::spawn(async move {
                        let _g = g2;
                        let s = TcpStream::connect(outside_addr).await.unwrap();
                        let mut buf = [0u8; 1];
                        let _ = s.read(&mut buf).await;
                    });
                    weft::spawn(async move {
                        let _g = g3;
                        weft::time::sleep(Duration::from_secs(3600)).await;
                    });
                    weft::spawn(async move {
                        let _g = g4;
                        let _u = UdpSocket::bind("127.0.0.1:0").unwrap();
                        std::future::pending::<()>().await
                    });
                })
                .detach();
            }
            // A task on the caller loop too.
            let g = drops.guard();
            rt.block_on(async move {
                weft::spawn(async move {
                    let _g = g;
                    std::future::pending::<()>().await
                })
                .detach();
                weft::yield_now().await;
            });
            // Wait until both outside connections are established (the tasks are idle).
            let peers: Vec<_> = (0..2).map(|_| std_listener.accept().unwrap().0).collect();
            drop(rt);
            (true, peers)
        }
    });
    assert!(rt_drop_returned);
    assert_eq!(drops.count(), 9, "every task's future was dropped");
    // The weft side of each outside connection was closed: the peer reads end of file.
    for peer in outside_peer.iter_mut() {
        peer.set_read_timeout(Some(common::DEADLINE)).unwrap();
        let mut buf = [0u8; 1];
        assert_eq!(peer.read(&mut buf).unwrap(), 0);
    }
    weft_testkit::wait_until(
        &format!("the loop threads to be joined ({threads_before} threads before)"),
        || common::thread_count() == threads_before,
    );
    drop(outside_peer);
    weft_testkit::wait_until(
        &format!("the descriptors to be closed ({fds_before} open before)"),
        || common::fd_count() <= fds_before,
    );
}
