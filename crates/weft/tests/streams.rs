//! `futures_core::Stream` for `Signals`, `Interval`, `ReadDir` and incoming connections
//! (`TcpListener::incoming`, `UnixListener::incoming`), driven by `futures_util::StreamExt`.

use futures_util::StreamExt;
use std::time::Duration;
use weft::net::{TcpListener, TcpStream, UnixListener, UnixStream};
use weft::rt::Runtime;
use weft::signal::{SignalKind, Signals};
use weft_testkit::{within_deadline, TempDir};

#[test]
fn signals_stream_yields_each_delivered_signal() {
    within_deadline("signal stream", || {
        let rt = Runtime::builder().current_thread().build().unwrap();
        rt.block_on(async {
            let mut signals = Signals::new(&[SignalKind::User1, SignalKind::User2]).unwrap();
            // SAFETY: kill(2) on our own pid with a signal whose handler Signals installed.
            assert_eq!(unsafe { libc::kill(libc::getpid(), libc::SIGUSR2) }, 0);
            let got = signals
                .next()
                .await
                .expect("a signal stream never ends")
                .unwrap();
            assert_eq!(got, SignalKind::User2);
            // SAFETY: as above.
            assert_eq!(unsafe { libc::kill(libc::getpid(), libc::SIGUSR1) }, 0);
            let got = signals.next().await.unwrap().unwrap();
            assert_eq!(got, SignalKind::User1);
        });
    });
}

#[test]
fn interval_stream_ticks_one_period_apart() {
    within_deadline("interval stream", || {
        let rt = Runtime::builder().current_thread().build().unwrap();
        rt.block_on(async {
            weft::time::pause();
            let period = Duration::from_millis(10);
            let ticks: Vec<_> = weft::time::interval(period).take(4).collect().await;
            assert_eq!(ticks.len(), 4);
            for pair in ticks.windows(2) {
                assert_eq!(pair[1] - pair[0], period);
            }
        });
    });
}

#[test]
fn read_dir_stream_lists_every_entry_then_ends() {
    within_deadline("read_dir stream", || {
        let dir = TempDir::new("streams-readdir");
        // More than one batch of the fs lane's listing.
        let names: Vec<String> = (0..(weft::fs::READ_DIR_BATCH + 5))
            .map(|i| format!("f{i:03}"))
            .collect();
        for n in &names {
            std::fs::write(dir.path().join(n), b"").unwrap();
        }
        let rt = Runtime::builder().current_thread().build().unwrap();
        let path = dir.path().to_path_buf();
        let mut listed: Vec<String> = rt.block_on(async move {
            let entries = weft::fs::read_dir(&path).await.unwrap();
            entries
                .map(|e| e.unwrap().file_name().into_string().unwrap())
                .collect()
                .await
        });
        listed.sort();
        assert_eq!(listed, names);
    });
}

#[test]
fn tcp_incoming_yields_each_connection() {
    within_deadline("tcp incoming", || {
        let rt = Runtime::builder().current_thread().build().unwrap();
        rt.block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            let addr = listener.local_addr().unwrap();
            let clients = weft::spawn(async move {
                let mut got = Vec::new();
                for i in 0..3u8 {
                    let c = TcpStream::connect(addr).await.unwrap();
                    c.write_all(&[i]).await.unwrap();
                    let mut b = [0u8; 1];
                    c.read_exact(&mut b).await.unwrap();
                    got.push(b[0]);
                }
                got
            });
            let mut incoming = listener.incoming();
            for _ in 0..3 {
                let stream = incoming.next().await.unwrap().unwrap();
                let mut b = [0u8; 1];
                stream.read_exact(&mut b).await.unwrap();
                stream.write_all(&[b[0] + 10]).await.unwrap();
            }
            assert_eq!(clients.await.unwrap(), vec![10, 11, 12]);
        });
    });
}

#[test]
fn unix_incoming_yields_each_connection() {
    within_deadline("unix incoming", || {
        let dir = TempDir::new("streams-unix");
        let path = dir.path().join("in.sock");
        let rt = Runtime::builder().current_thread().build().unwrap();
        rt.block_on(async move {
            let listener = UnixListener::bind(&path).unwrap();
            let connector = weft::spawn(async move {
                let a = UnixStream::connect(&path).await.unwrap();
                let b = UnixStream::connect(&path).await.unwrap();
                a.write_all(b"a").await.unwrap();
                b.write_all(b"b").await.unwrap();
                (a, b)
            });
            let accepted: Vec<UnixStream> = listener
                .incoming()
                .take(2)
                .map(Result::unwrap)
                .collect()
                .await;
            let mut seen = Vec::new();
            for s in &accepted {
                let mut b = [0u8; 1];
                s.read_exact(&mut b).await.unwrap();
                seen.push(b[0]);
            }
            seen.sort();
            assert_eq!(seen, b"ab");
            drop(connector.await.unwrap());
        });
    });
}
