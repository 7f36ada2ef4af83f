//! `WEFT_POOL_*` environment variables configure the runtime's pool; the
//! builder overrides them; malformed values are refused at build time.
//!
//! One test in its own binary: it changes the process environment, which
//! other tests building runtimes at the same time would otherwise see.

use std::io::ErrorKind;
use std::time::Duration;

use weft::pool::Lane;
use weft::rt::Runtime;

#[test]
fn environment_configures_the_pool() {
    std::env::set_var("WEFT_POOL_FS_THREADS", "6");
    std::env::set_var("WEFT_POOL_IDLE_TIMEOUT_MS", "1500");
    let rt = Runtime::builder().current_thread().build().unwrap();
    assert_eq!(rt.metrics().pool.lane(Lane::Fs).max_threads, 6);
    let pool = rt.block_on(async { weft::rt::current_pool() });
    assert_eq!(pool.config().idle_timeout, Duration::from_millis(1500));
    drop(rt);

    let rt = Runtime::builder()
        .current_thread()
        .pool_threads(Lane::Fs, 2)
        .build()
        .unwrap();
    assert_eq!(
        rt.metrics().pool.lane(Lane::Fs).max_threads,
        2,
        "builder wins"
    );
    drop(rt);

    std::env::set_var("WEFT_POOL_FS_THREADS", "four");
    let err = Runtime::builder().current_thread().build().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(
        err.to_string().contains("WEFT_POOL_FS_THREADS=\"four\""),
        "{err}"
    );
    std::env::remove_var("WEFT_POOL_FS_THREADS");
    std::env::remove_var("WEFT_POOL_IDLE_TIMEOUT_MS");
}
