//! Cluster IPC: typed round trips and broadcast between real processes, backpressure (a worker
//! that does not read makes the supervisor's `send` wait, with a bounded number of messages
//! queued), and clear errors (peer gone, oversized or corrupt frames) on an in-process pair.

mod cluster_support;

use cluster_support::{send_signal, start_cluster};
use std::io::Write;
use std::time::Duration;
use weft::cluster::ipc::{Channel, IpcError, MAX_FRAME_BYTES, SOCKET_BUFFER_BYTES};
use weft::cluster::OUTBOX_BYTES;

fn main() {
    cluster_support::main(&[
        (
            "round_trips_and_broadcast_between_processes",
            round_trips_and_broadcast_between_processes,
        ),
        (
            "send_to_a_worker_that_does_not_read_waits_and_is_bounded",
            send_to_a_worker_that_does_not_read_waits_and_is_bounded,
        ),
        (
            "channel_send_waits_when_the_peer_does_not_read",
            channel_send_waits_when_the_peer_does_not_read,
        ),
        (
            "channel_reports_peer_gone_and_bad_frames",
            channel_reports_peer_gone_and_bad_frames,
        ),
    ]);
}

fn round_trips_and_broadcast_between_processes() {
    let workers = 3;
    let mut cluster = start_cluster(workers, &[("WEFT_TEST_MODE", "ipc".into())]);
    let ready = cluster.wait_ready(workers);
    // Each worker answers the ping sent to its own slot, from its own pid.
    for (slot, pid) in &ready {
        let line = cluster.wait_logged(
            |l| l.starts_with(&format!("PONG {slot} ")),
            &format!("the pong of worker {slot}"),
        );
        assert_eq!(line, format!("PONG {slot} {pid} {}", *slot as u64 * 10));
    }
    cluster.wait_logged(
        |l| l == format!("BROADCAST sent={workers}"),
        "the broadcast",
    );
    cluster.wait_logged(
        |l| l.starts_with("HELLOACK") && l.ends_with(&format!("total={workers}")),
        "an acknowledgement of the broadcast from every worker",
    );
    let mut acked: Vec<&str> = cluster
        .lines_with("HELLOACK")
        .iter()
        .map(|l| l.split_whitespace().nth(1).unwrap())
        .collect();
    acked.sort();
    assert_eq!(acked, ["0", "1", "2"]);
    cluster.signal(libc::SIGTERM);
    assert!(cluster.wait_exit().success());
}

fn send_to_a_worker_that_does_not_read_waits_and_is_bounded() {
    let mut cluster = start_cluster(1, &[("WEFT_TEST_MODE", "stall".into())]);
    let stalled = cluster.wait_line(|l| l.starts_with("STALLED 0 "), "worker 0 to stop reading");
    let worker_pid: u32 = stalled.split_whitespace().nth(2).unwrap().parse().unwrap();
    let blocked = cluster.wait_logged(
        |l| l.starts_with("BLOCKED") || l == "NEVER BLOCKED",
        "send to block",
    );
    assert!(
        blocked.starts_with("BLOCKED"),
        "send never waited: {blocked}"
    );
    let after: usize = blocked
        .split_whitespace()
        .find_map(|w| w.strip_prefix("after="))
        .unwrap()
        .parse()
        .unwrap();
    // Bounded: the outbox, plus the two kernel socket buffers (which the kernel may double),
    // plus one frame in the sender; each message is a 4 KiB blob (~16 KiB as JSON numbers).
    let bound_bytes = OUTBOX_BYTES + 2 * 2 * SOCKET_BUFFER_BYTES;
    let min_frame = 4096 * 2; // "7," per byte
    assert!(
        after * min_frame <= bound_bytes + min_frame,
        "{after} messages were queued before send waited; bound is {bound_bytes} bytes"
    );
    assert!(after > 0);
    cluster.wait_logged(|l| l == "RESUME", "the script to wait for the worker");
    send_signal(worker_pid, libc::SIGUSR1);
    let sent = cluster.wait_line(|l| l.starts_with("SENT "), "the remaining sends");
    let sent: usize = sent[5..].parse().unwrap();
    let drained = cluster.wait_line(|l| l.starts_with("DRAINED "), "the worker's count");
    assert_eq!(
        drained,
        format!("DRAINED {sent}"),
        "every message queued arrives once"
    );
    println!("backpressure: send waited after {after} messages of 4 KiB; all {sent} arrived after the worker resumed");
    cluster.signal(libc::SIGTERM);
    assert!(cluster.wait_exit().success());
}

fn channel_send_waits_when_the_peer_does_not_read() {
    let rt = weft::rt::Runtime::builder()
        .current_thread()
        .build()
        .unwrap();
    rt.block_on(async {
        let (mut a, mut b) = Channel::<Vec<u8>, Vec<u8>>::pair().unwrap();
        let blob = vec![1u8; 8192];
        let mut sent = 0usize;
        loop {
            match weft::time::timeout(Duration::from_millis(200), a.send(blob.clone())).await {
                Ok(result) => {
                    result.unwrap();
                    sent += 1;
                }
                Err(_) => break,
            }
            assert!(sent < 10_000, "send never waited");
        }
        // JSON of 8192 ones is 2 bytes per element: the kernel buffers bound what was queued.
        assert!(
            sent * 16_384 <= 4 * SOCKET_BUFFER_BYTES + 16_384,
            "{sent} frames queued"
        );
        // The cancelled send's frame stays in the sender; flush finishes it once b reads.
        let reader = weft::spawn_local(async move {
            let mut got = 0usize;
            while let Ok(frame) = b.recv().await {
                assert_eq!(frame.len(), 8192);
                got += 1;
            }
            got
        });
        a.send(vec![1u8; 8192]).await.unwrap();
        drop(a);
        let got = reader.await.unwrap();
        assert!(
            got == sent + 2 || got == sent + 1,
            "sent {sent} (+1 or 2), got {got}"
        );
    });
}

fn channel_reports_peer_gone_and_bad_frames() {
    let rt = weft::rt::Runtime::builder()
        .current_thread()
        .build()
        .unwrap();
    rt.block_on(async {
        // Peer gone: recv and send both say Closed.
        let (mut a, b) = Channel::<u32, u32>::pair().unwrap();
        drop(b);
        assert!(matches!(a.recv().await, Err(IpcError::Closed)));
        let mut failed = None;
        for _ in 0..100 {
            if let Err(e) = a.send(1).await {
                failed = Some(e);
                break;
            }
        }
        let failed = failed.expect("sending to a closed peer fails");
        assert!(failed.is_closed(), "{failed}");
        assert!(
            failed.to_string().contains("closed by the peer"),
            "{failed}"
        );

        // A message over the limit is refused before anything is written.
        let (mut a, _b) = Channel::<String, String>::pair().unwrap();
        let huge = "x".repeat(MAX_FRAME_BYTES + 1);
        let err = a.send(huge).await.unwrap_err();
        assert!(matches!(err, IpcError::FrameTooLarge { .. }), "{err}");

        // Frames written by hand: a wrong type is a decode error and the channel stays usable;
        // a corrupt length is refused before allocating; EOF inside a frame is reported.
        let frame = |payload: &[u8]| {
            let mut f = (payload.len() as u32).to_be_bytes().to_vec();
            f.extend_from_slice(payload);
            f
        };
        let (raw, ours) = std::os::unix::net::UnixStream::pair().unwrap();
        let mut rx = Channel::<u32, u32>::from_std(ours).unwrap();
        (&raw).write_all(&frame(b"\"seven\"")).unwrap();
        (&raw).write_all(&frame(b"7")).unwrap();
        let err = rx.recv().await.unwrap_err();
        assert!(matches!(err, IpcError::Decode { len: 7, .. }), "{err}");
        assert!(err.to_string().contains("not a valid message"), "{err}");
        assert_eq!(rx.recv().await.unwrap(), 7);
        (&raw).write_all(&u32::MAX.to_be_bytes()).unwrap();
        let err = rx.recv().await.unwrap_err();
        assert!(matches!(err, IpcError::FrameTooLarge { .. }), "{err}");
        assert!(err.to_string().contains("exceeds the limit"), "{err}");

        let (raw, ours) = std::os::unix::net::UnixStream::pair().unwrap();
        let mut rx = Channel::<u32, u32>::from_std(ours).unwrap();
        (&raw).write_all(&frame(b"12345")[..6]).unwrap();
        drop(raw);
        let err = rx.recv().await.unwrap_err();
        assert!(matches!(err, IpcError::Truncated { received: 6 }), "{err}");
    });
}
