//! A task dump lists every task of every loop with its state, and for a parked task its wait
//! reason and how long it has waited (a duration that grows between two dumps).

use std::time::{Duration, Instant};

use weft::diag::{Config, TaskState};
use weft::rt::Runtime;

/// Longest the test waits for a condition: only a broken dump makes it fail.
const DEADLINE: Duration = Duration::from_secs(20);

#[test]
fn a_dump_lists_parked_tasks_with_reasons_and_growing_waits() {
    let rt = Runtime::builder()
        .loops(2)
        .diagnostics(Config::default().livelock(1_000_000))
        .build()
        .unwrap();
    let sleep_line = line!() + 1;
    let sleeper = rt.spawn_on(0, async {
        weft::time::sleep(Duration::from_secs(60)).await;
    });
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let reader_line = line!() + 1;
    let reader = rt.spawn_on(1, async move {
        let mut stream = weft::net::TcpStream::connect(addr).await.unwrap();
        let mut buf = [0u8; 16];
        let _ = futures_util::AsyncReadExt::read(&mut stream, &mut buf).await;
    });
    let _peer = listener.accept().unwrap();
    let join_line = line!() + 1;
    let joiner = rt.spawn_on(1, async move {
        let _ = sleeper.await;
    });

    let find = |dump: &weft::diag::TaskDump, line: u32| {
        dump.iter()
            .find(|t| {
                t.spawn_site().file().ends_with("diag_dump.rs") && t.spawn_site().line() == line
            })
            .cloned()
    };
    let deadline = Instant::now() + DEADLINE;
    let (first, text) = loop {
        let dump = weft::diag::dump();
        let parked = find(&dump, sleep_line)
            .zip(find(&dump, reader_line))
            .filter(|(s, r)| s.waited().is_some() && r.waited().is_some())
            .filter(|_| find(&dump, join_line).is_some_and(|j| j.waited().is_some()));
        if let Some(pair) = parked {
            break (pair, dump.to_string());
        }
        assert!(Instant::now() < deadline, "tasks never parked:\n{dump}");
        std::thread::sleep(Duration::from_millis(10));
    };
    println!("{text}");
    let (sleeping, reading) = first;
    assert_eq!(sleeping.state(), TaskState::Parked);
    assert!(
        sleeping.wait_reason().unwrap().starts_with("sleep until +"),
        "{text}"
    );
    assert_eq!(sleeping.loop_index(), Some(0));
    assert!(
        reading
            .wait_reason()
            .unwrap()
            .starts_with("socket read fd "),
        "{text}"
    );
    assert!(text.contains("join of task "), "{text}");

    // The wait was stamped at park time: a later dump shows it longer.
    let before = sleeping.waited().unwrap();
    let deadline = Instant::now() + DEADLINE;
    loop {
        let dump = weft::diag::dump();
        let later = find(&dump, sleep_line).unwrap().waited().unwrap();
        if later > before {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the wait did not grow: {before:?}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    joiner.abort();
    reader.abort();
}
