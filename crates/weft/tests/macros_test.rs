//! `#[weft::test]`: each test runs on its own current-thread runtime, or with `loops = N` on
//! N loop threads besides the caller's; the body's value is the test's result.

use std::time::Duration;

#[weft::test]
async fn runs_on_a_current_thread_runtime() {
    let handle = weft::rt::Handle::current();
    assert_eq!(
        handle.loops(),
        0,
        "no loop threads: only the test's own loop"
    );
    weft::time::sleep(Duration::from_millis(1)).await;
    assert_eq!(weft::spawn(async { 6 * 7 }).await.unwrap(), 42);
}

#[weft::test(loops = 2)]
async fn loops_option_starts_loop_threads() {
    assert_eq!(weft::rt::Handle::current().loops(), 2);
    let on_loop_1 = weft::rt::Handle::current()
        .spawn_on(1, async { weft::rt::Handle::current().current_loop() })
        .await
        .unwrap();
    assert_eq!(on_loop_1, Some(1));
}

#[weft::test]
async fn result_returning_test_can_use_question_mark() -> std::io::Result<()> {
    let listener = weft::net::TcpListener::bind("127.0.0.1:0")?;
    listener.local_addr()?;
    Ok(())
}

#[weft::test]
#[should_panic(expected = "the body's panic")]
async fn a_panicking_body_fails_the_test() {
    panic!("the body's panic");
}

/// Every test gets a fresh runtime: state from another test's runtime is not visible.
#[weft::test]
async fn each_test_has_its_own_runtime() {
    thread_local!(static SEEN: std::cell::Cell<bool> = const { std::cell::Cell::new(false) });
    // libtest runs each test on its own thread, but the point is the runtime: a task spawned
    // here runs on this test's loop and finishes before the test does.
    let task = weft::spawn(async { SEEN.with(|s| s.replace(true)) });
    assert!(!task.await.unwrap());
}
