//! `weft::signal`: signals delivered to the process reach every stream that asked for them, on
//! any loop, whichever thread the kernel interrupts; deliveries are not lost between `recv`s.

use std::time::Duration;
use weft::signal::{signal, SignalKind, Signals};

// The workspace's one hang guard (30 s): a lost wake-up fails instead of hanging.
use weft_testkit::DEADLINE;

fn raise(kind: SignalKind) {
    // SAFETY: kill has no memory-safety preconditions; the handler for `kind` is installed.
    assert_eq!(unsafe { libc::kill(libc::getpid(), kind.as_raw()) }, 0);
}

#[test]
fn a_signal_reaches_every_stream_on_every_loop() {
    let rt = weft::rt::Runtime::builder().loops(2).build().unwrap();
    let handle = rt.handle();
    rt.block_on(async move {
        // Streams on both loop threads and on the caller loop.
        let (tx, rx) = std::sync::mpsc::channel();
        let mut tasks = Vec::new();
        for i in 0..2 {
            let tx = tx.clone();
            tasks.push(handle.spawn_on(i, async move {
                let mut s = signal(SignalKind::User2).unwrap();
                tx.send(()).unwrap();
                s.recv().await.unwrap()
            }));
        }
        let mut here = Signals::new(&[SignalKind::User2, SignalKind::Hangup]).unwrap();
        for _ in 0..2 {
            rx.recv_timeout(DEADLINE).unwrap();
        }
        raise(SignalKind::User2);
        let got = weft::time::timeout(DEADLINE, here.recv())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(got, SignalKind::User2);
        for task in tasks {
            let got = weft::time::timeout(DEADLINE, task).await.unwrap().unwrap();
            assert_eq!(got, SignalKind::User2);
        }
    });
}

#[test]
fn deliveries_between_receives_are_kept_and_kinds_are_told_apart() {
    let rt = weft::rt::Runtime::builder()
        .current_thread()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut s =
            Signals::new(&[SignalKind::User1, SignalKind::TtyIn, SignalKind::TtyOut]).unwrap();
        let mut other = signal(SignalKind::TtyOut).unwrap();
        // Sent before anyone waits: kept, and both reported.
        raise(SignalKind::TtyIn);
        raise(SignalKind::User1);
        let mut got = vec![
            weft::time::timeout(DEADLINE, s.recv())
                .await
                .unwrap()
                .unwrap(),
            weft::time::timeout(DEADLINE, s.recv())
                .await
                .unwrap()
                .unwrap(),
        ];
        got.sort_by_key(|k| k.as_raw());
        assert_eq!(got, [SignalKind::User1, SignalKind::TtyIn]);
        // Nothing else is pending: a further recv waits.
        assert!(weft::time::timeout(Duration::from_millis(50), s.recv())
            .await
            .is_err());
        // A stream only hears its own kinds.
        raise(SignalKind::TtyOut);
        assert_eq!(
            weft::time::timeout(DEADLINE, other.recv())
                .await
                .unwrap()
                .unwrap(),
            SignalKind::TtyOut
        );
        assert_eq!(
            weft::time::timeout(DEADLINE, s.recv())
                .await
                .unwrap()
                .unwrap(),
            SignalKind::TtyOut
        );
    });
}

#[test]
fn a_signal_sent_from_another_thread_wakes_a_sleeping_loop() {
    let rt = weft::rt::Runtime::builder()
        .current_thread()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut s = signal(SignalKind::Child).unwrap();
        // A child that exits: the kernel sends SIGCHLD, to whichever thread it picks.
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let got = weft::time::timeout(DEADLINE, s.recv())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(got, SignalKind::Child);
        child.wait().unwrap();
    });
}

#[test]
fn an_empty_set_is_refused_with_a_clear_error() {
    let rt = weft::rt::Runtime::builder()
        .current_thread()
        .build()
        .unwrap();
    rt.block_on(async {
        let err = Signals::new(&[]).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
        assert!(err.to_string().contains("empty"), "{err}");
    });
    // Outside a loop: an error, not a panic.
    let err = signal(SignalKind::User1).unwrap_err();
    assert!(err.to_string().contains("inside a weft loop"), "{err}");
}

#[test]
fn handlers_installed_before_any_loop_keep_the_signal_for_the_stream() {
    // SIGTERM's default action kills the process: this test only survives
    // the `raise` if `install` put the handler in place, outside any loop.
    let installed = Signals::install(&[SignalKind::Terminate]).unwrap();
    raise(SignalKind::Terminate);
    let rt = weft::rt::Runtime::builder()
        .current_thread()
        .build()
        .unwrap();
    let got = rt
        .block_on(async {
            let mut stream = installed.attach().unwrap();
            weft::time::timeout(DEADLINE, stream.recv()).await
        })
        .expect("the signal raised before the loop ran is reported")
        .unwrap();
    assert_eq!(got, SignalKind::Terminate);
}
