//! `weft::signal::ctrl_c()`: completes on the next SIGINT, which no longer kills the process;
//! a SIGINT between the call and the first poll is not lost.

use std::time::Duration;

const DEADLINE: Duration = Duration::from_secs(30);

fn raise_sigint() {
    // SAFETY: kill has no memory-safety preconditions; ctrl_c() installed the handler.
    assert_eq!(unsafe { libc::kill(libc::getpid(), libc::SIGINT) }, 0);
}

#[test]
fn ctrl_c_completes_on_sigint() {
    let rt = weft::rt::Runtime::builder()
        .current_thread()
        .build()
        .unwrap();
    rt.block_on(async {
        // Called (handler installed) before the signal, polled only after it was sent.
        let wait = weft::signal::ctrl_c();
        raise_sigint();
        weft::time::timeout(DEADLINE, wait)
            .await
            .expect("ctrl_c completed before the deadline")
            .unwrap();

        // And again, the signal sent while the future is already waiting.
        let wait = weft::spawn(weft::signal::ctrl_c());
        weft::time::sleep(Duration::from_millis(20)).await;
        raise_sigint();
        weft::time::timeout(DEADLINE, wait)
            .await
            .expect("ctrl_c completed before the deadline")
            .unwrap()
            .unwrap();
    });
}
