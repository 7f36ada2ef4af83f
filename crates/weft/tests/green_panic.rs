//! A panic in a green thread comes back as an error; the loop and the
//! other green threads carry on.

use weft::green;

// The workspace's one hang guard (30 s): a lost wake-up fails instead of hanging.
use weft_testkit::DEADLINE;

#[test]
fn panic_is_returned_as_error() {
    let rt = weft::rt::Runtime::builder()
        .current_thread()
        .build()
        .unwrap();
    rt.block_on(async {
        let bystander = green::spawn(|| {
            green::yield_now();
            green::yield_now();
            "still here"
        });
        let code = 7;
        let h = green::spawn(move || -> u32 {
            green::yield_now();
            panic!("green thread failed with code {code}");
        });
        let err = weft::time::timeout(DEADLINE, h)
            .await
            .expect("in time")
            .unwrap_err();
        assert!(err.is_panic());
        assert_eq!(err.panic_message(), Some("green thread failed with code 7"));
        assert_eq!(
            err.to_string(),
            "green thread panicked: green thread failed with code 7"
        );
        assert_eq!(bystander.await.unwrap(), "still here");

        // join() from a green thread sees the same error.
        let joined = green::spawn(|| {
            let h = green::spawn(|| -> () { std::panic::panic_any(42u32) });
            h.join()
                .unwrap_err()
                .into_panic()
                .downcast::<u32>()
                .map(|b| *b)
        });
        assert_eq!(joined.await.unwrap().unwrap(), 42);

        // The loop still runs new work.
        assert_eq!(green::spawn(|| 1 + 1).await.unwrap(), 2);
    });
}
