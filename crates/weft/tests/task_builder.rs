//! `weft::task::Builder` names tasks, and every spawn path records the caller's line as the
//! task's spawn site (what diagnostics print).

mod common;

use common::DEADLINE;
use std::panic::Location;
use weft::rt::Runtime;
use weft::task::{Builder, JoinSet};
use weft::time::timeout;

/// Asserts that `site` is this file at `line`.
#[track_caller]
fn assert_site(site: &Location<'_>, line: u32) {
    assert_eq!(site.file(), file!(), "spawn site file: {site}");
    assert_eq!(site.line(), line, "spawn site line: {site}");
}

#[test]
fn a_named_task_carries_its_name_and_an_unnamed_one_none() {
    let rt = Runtime::builder().current_thread().build().unwrap();
    rt.block_on(async {
        let named = Builder::new().name("worker-3").spawn(async { 3 });
        assert_eq!(named.name(), Some("worker-3"));
        assert_eq!(named.abort_handle().name(), Some("worker-3"));
        assert!(format!("{named:?}").contains("worker-3"));
        let plain = weft::spawn(async { 4 });
        assert_eq!(plain.name(), None);
        assert_eq!(named.await.unwrap() + plain.await.unwrap(), 7);
    });
}

#[test]
fn builder_spawn_local_and_spawn_on_name_and_place_the_task() {
    let rt = Runtime::builder().loops(2).build().unwrap();
    rt.block_on(async {
        let local = Builder::new()
            .name("local")
            .spawn_local(async { std::rc::Rc::new(1) });
        assert_eq!(local.name(), Some("local"));
        assert_eq!(*local.await.unwrap(), 1);

        for index in 0..2 {
            let placed = Builder::new()
                .name("placed")
                .spawn_on(index, async { weft::rt::Handle::current().current_loop() });
            assert_eq!(placed.name(), Some("placed"));
            let ran_on = timeout(DEADLINE, placed).await.unwrap().unwrap();
            assert_eq!(
                ran_on,
                Some(index),
                "spawn_on({index}) runs on loop {index}"
            );
        }
    });
}

#[test]
fn builder_with_a_handle_spawns_from_a_plain_thread() {
    let rt = Runtime::builder().loops(2).build().unwrap();
    let handle = rt.handle();
    let task = std::thread::spawn(move || {
        let on_one = Builder::new()
            .name("from-thread")
            .handle(&handle)
            .spawn_on(1, async { weft::rt::Handle::current().current_loop() });
        let anywhere = Builder::new()
            .name("round-robin")
            .handle(&handle)
            .spawn(async { 5 });
        (on_one, anywhere)
    })
    .join()
    .unwrap();
    let (on_one, anywhere) = task;
    assert_eq!(on_one.name(), Some("from-thread"));
    assert_eq!(anywhere.name(), Some("round-robin"));
    rt.block_on(async {
        assert_eq!(timeout(DEADLINE, on_one).await.unwrap().unwrap(), Some(1));
        assert_eq!(timeout(DEADLINE, anywhere).await.unwrap().unwrap(), 5);
    });
}

#[test]
#[should_panic(expected = "spawn_on(5): the runtime has 2 loop threads")]
fn builder_spawn_on_a_missing_loop_says_which() {
    let rt = Runtime::builder().loops(2).build().unwrap();
    let handle = rt.handle();
    drop(Builder::new().handle(&handle).spawn_on(5, async {}));
}

#[test]
fn every_spawn_path_records_the_callers_line() {
    let rt = Runtime::builder().loops(1).build().unwrap();
    let handle = rt.handle();

    let (t, line) = (rt.spawn(async {}), line!());
    assert_site(t.spawn_site(), line);
    let (t, line) = (rt.spawn_on(0, async {}), line!());
    assert_site(t.spawn_site(), line);
    let (t, line) = (handle.spawn(async {}), line!());
    assert_site(t.spawn_site(), line);
    let (t, line) = (handle.spawn_on(0, async {}), line!());
    assert_site(t.spawn_site(), line);
    let (t, line) = (Builder::new().handle(&handle).spawn(async {}), line!());
    assert_site(t.spawn_site(), line);

    rt.block_on(async {
        let (t, line) = (weft::spawn(async {}), line!());
        assert_site(t.spawn_site(), line);
        let (t, line) = (weft::spawn_local(async {}), line!());
        assert_site(t.spawn_site(), line);
        let (t, line) = (weft::task::spawn(async {}), line!());
        assert_site(t.spawn_site(), line);
        // Handle::spawn on one of its own loops takes the local path: still the caller's line.
        let (t, line) = (weft::rt::Handle::current().spawn(async {}), line!());
        assert_site(t.spawn_site(), line);
        let (t, line) = (Builder::new().name("b").spawn(async {}), line!());
        assert_site(t.spawn_site(), line);
        let (t, line) = (Builder::new().spawn_local(async {}), line!());
        assert_site(t.spawn_site(), line);
        let (t, line) = (Builder::new().spawn_on(0, async {}), line!());
        assert_site(t.spawn_site(), line);
        let here = weft::rt::Handle::current();
        let (t, line) = (Builder::new().spawn_on(async {}, &here), line!());
        assert_site(t.spawn_site(), line);

        let mut set = JoinSet::new();
        let (a, line) = (set.spawn(async {}), line!());
        assert_site(a.spawn_site(), line);
        let (a, line) = (set.spawn_local(async {}), line!());
        assert_site(a.spawn_site(), line);
        let (a, line) = (set.spawn_on(0, async {}), line!());
        assert_site(a.spawn_site(), line);
        let (a, line) = (set.spawn_on(async {}, &here), line!());
        assert_site(a.spawn_site(), line);
        let handle = weft::rt::Handle::current();
        let (a, line) = (set.spawn_on_handle(async {}, &handle), line!());
        assert_site(a.spawn_site(), line);
        timeout(DEADLINE, set.shutdown()).await.unwrap();
    });
}

#[test]
fn spawn_on_takes_tokios_shape_too() {
    let rt = Runtime::builder().loops(2).build().unwrap();
    let handle = rt.handle();
    // From a plain thread: the future first, then the runtime's handle.
    let named = std::thread::spawn({
        let handle = handle.clone();
        move || {
            Builder::new().name("tokio-shaped").spawn_on(
                async { weft::rt::Handle::current().current_loop() },
                &handle,
            )
        }
    })
    .join()
    .unwrap();
    assert_eq!(named.name(), Some("tokio-shaped"));
    let ran_on = rt.block_on(async { timeout(DEADLINE, named).await.unwrap().unwrap() });
    assert!(
        ran_on.is_some(),
        "placed on one of the runtime's loop threads"
    );

    let mut set = JoinSet::new();
    for i in 0..4u32 {
        set.spawn_on(async move { i }, &handle);
    }
    let mut got = rt.block_on(async move { timeout(DEADLINE, set.join_all()).await.unwrap() });
    got.sort();
    assert_eq!(got, [0, 1, 2, 3]);
}
