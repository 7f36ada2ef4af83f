//! `weft::signal` by number: any catchable signal (SIGQUIT, SIGWINCH, real-time signals) can be
//! streamed through `SignalKind::from_raw`; uncatchable and fault signals are refused with a
//! reason.

use std::time::Duration;
use weft::signal::{signal, SignalKind, Signals};

const DEADLINE: Duration = Duration::from_secs(30);

fn raise(signum: i32) {
    // SAFETY: kill has no memory-safety preconditions; the handler for `signum` is installed.
    assert_eq!(unsafe { libc::kill(libc::getpid(), signum) }, 0);
}

#[test]
fn named_numbers_map_to_named_kinds() {
    assert_eq!(
        SignalKind::from_raw(libc::SIGTERM),
        Some(SignalKind::Terminate)
    );
    assert_eq!(
        SignalKind::from_raw(libc::SIGINT),
        Some(SignalKind::Interrupt)
    );
    let quit = SignalKind::from_raw(libc::SIGQUIT).unwrap();
    assert!(matches!(quit, SignalKind::Other(_)));
    assert_eq!(quit.as_raw(), libc::SIGQUIT);
    assert_eq!(quit.to_string(), "SIGQUIT");
    let rt3 = SignalKind::from_raw(libc::SIGRTMIN() + 3).unwrap();
    assert_eq!(rt3.to_string(), "SIGRTMIN+3");
}

#[test]
fn uncatchable_and_fault_signals_are_refused_with_a_reason() {
    for (signum, why) in [
        (libc::SIGKILL, "cannot be caught"),
        (libc::SIGSTOP, "cannot be caught"),
        (libc::SIGSEGV, "faulting instruction"),
        (libc::SIGBUS, "faulting instruction"),
        (0, "not a signal number"),
        (65, "not a signal number"),
        (-1, "not a signal number"),
    ] {
        assert_eq!(SignalKind::from_raw(signum), None, "signal {signum}");
        let err = SignalKind::try_from_raw(signum).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
        let msg = err.to_string();
        assert!(
            msg.contains(&signum.to_string()) && msg.contains(why),
            "{msg}"
        );
    }
}

#[test]
fn any_catchable_signal_can_be_streamed() {
    let rt = weft::rt::Runtime::builder()
        .current_thread()
        .build()
        .unwrap();
    rt.block_on(async {
        let quit = SignalKind::from_raw(libc::SIGQUIT).unwrap();
        let winch = SignalKind::from_raw(libc::SIGWINCH).unwrap();
        let realtime = SignalKind::from_raw(libc::SIGRTMAX()).unwrap();
        let mut both = Signals::new(&[quit, winch]).unwrap();
        let mut rt_stream = signal(realtime).unwrap();

        raise(libc::SIGWINCH);
        let got = weft::time::timeout(DEADLINE, both.recv())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(got, winch);

        raise(libc::SIGQUIT);
        let got = weft::time::timeout(DEADLINE, both.recv())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(got, quit);

        // The highest signal number (64) uses the mask's top bit.
        raise(libc::SIGRTMAX());
        let got = weft::time::timeout(DEADLINE, rt_stream.recv())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(got.as_raw(), libc::SIGRTMAX());
    });
}
