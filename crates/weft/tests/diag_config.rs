//! Configuration: `WEFT_DIAG` is read when the builder is given no configuration, a bad item
//! is an error naming it, and a configuration given in code wins over the variable.

use std::io::ErrorKind;
use std::time::Duration;
use weft::diag::Config;
use weft::rt::Runtime;

// One test: the variable is process-wide, so the cases run in sequence.
#[test]
fn weft_diag_is_parsed_and_the_builder_wins() {
    std::env::set_var("WEFT_DIAG", "deadlocks,watchdog=fast");
    let err = Runtime::builder().current_thread().build().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(err.to_string().contains("`watchdog=fast`"), "{err}");

    std::env::set_var("WEFT_DIAG", "deadlocks,lock-order,watchdog=100ms");
    drop(Runtime::builder().current_thread().build().unwrap());
    assert_eq!(
        weft::diag::current(),
        Config::default()
            .deadlocks(true)
            .lock_order(true)
            .watchdog(Duration::from_millis(100))
    );

    // The code wins: the (bad) variable is not even read.
    std::env::set_var("WEFT_DIAG", "bogus");
    let given = Config::default().lock_order(true);
    drop(
        Runtime::builder()
            .current_thread()
            .diagnostics(given.clone())
            .build()
            .unwrap(),
    );
    assert_eq!(weft::diag::current(), given);

    std::env::set_var("WEFT_DIAG", "all");
    drop(Runtime::builder().current_thread().build().unwrap());
    assert_eq!(weft::diag::current(), Config::all());
    std::env::remove_var("WEFT_DIAG");
}
