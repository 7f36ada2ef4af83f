//! Semaphore: permits counted exactly, FIFO service, close, owned permits, forget.

mod common;

use std::sync::Arc;
use weft::rt::Runtime;
use weft::sync::{Semaphore, TryAcquireError};

#[test]
fn permits_are_counted_and_given_back() {
    let rt = Runtime::builder().current_thread().build().unwrap();
    rt.block_on(async {
        let sem = Semaphore::new(3);
        let a = sem.acquire().await.unwrap();
        let b = sem.acquire_many(2).await.unwrap();
        assert_eq!(b.num_permits(), 2);
        assert_eq!(sem.available_permits(), 0);
        assert_eq!(sem.try_acquire().unwrap_err(), TryAcquireError::NoPermits);
        drop(a);
        assert_eq!(sem.available_permits(), 1);
        b.forget();
        assert_eq!(sem.available_permits(), 1);
        sem.add_permits(4);
        assert_eq!(sem.available_permits(), 5);
        let many = sem.try_acquire_many(5).unwrap();
        drop(many);
        assert_eq!(sem.forget_permits(2), 2);
        assert_eq!(sem.available_permits(), 3);
    });
}

#[test]
fn a_waiter_is_woken_by_a_release_on_another_loop() {
    let got = common::within_deadline("cross-loop acquire", || {
        let rt = Runtime::builder().loops(2).build().unwrap();
        let sem = Arc::new(Semaphore::new(0));
        let waiter = rt.spawn_on(1, {
            let sem = sem.clone();
            async move { sem.acquire_owned().await.map(|p| p.num_permits()) }
        });
        let releaser = rt.spawn_on(0, {
            let sem = sem.clone();
            async move { sem.add_permits(1) }
        });
        rt.block_on(async move {
            releaser.await.unwrap();
            waiter.await.unwrap()
        })
    });
    assert_eq!(got, Ok(1));
}

#[test]
fn close_fails_queued_and_later_acquires() {
    let rt = Runtime::builder().current_thread().build().unwrap();
    rt.block_on(async {
        let sem = Arc::new(Semaphore::new(1));
        let held = sem.clone().try_acquire_owned().unwrap();
        let waiter = weft::spawn({
            let sem = sem.clone();
            async move { sem.acquire_many(2).await.is_err() }
        });
        weft::yield_now().await;
        sem.close();
        assert!(sem.is_closed());
        assert!(waiter.await.unwrap(), "a queued acquire fails on close");
        assert!(sem.acquire().await.is_err());
        assert_eq!(sem.try_acquire().unwrap_err(), TryAcquireError::Closed);
        drop(held);
        assert_eq!(
            sem.available_permits(),
            1,
            "permits held across close come back"
        );
    });
}

#[test]
#[should_panic(expected = "exceed MAX_PERMITS")]
fn too_many_permits_is_a_clear_panic() {
    let _ = Semaphore::new(Semaphore::MAX_PERMITS + 1);
}

#[test]
#[should_panic(expected = "exceeds MAX_PERMITS")]
fn adding_too_many_permits_is_a_clear_panic() {
    let sem = Semaphore::new(1);
    sem.add_permits(usize::MAX);
}

#[test]
#[should_panic(expected = "exceeds MAX_PERMITS")]
fn adding_permits_past_the_maximum_is_a_clear_panic() {
    let sem = Semaphore::new(Semaphore::MAX_PERMITS);
    sem.add_permits(1);
}

#[test]
fn split_permits_are_given_back_separately() {
    let sem = Semaphore::new(5);
    let mut permit = sem.try_acquire_many(4).unwrap();
    assert!(permit.split(5).is_none(), "holds only 4");
    assert_eq!(permit.num_permits(), 4, "a refused split changes nothing");
    let part = permit.split(3).unwrap();
    assert_eq!((permit.num_permits(), part.num_permits()), (1, 3));
    assert_eq!(sem.available_permits(), 1);
    drop(part);
    assert_eq!(
        sem.available_permits(),
        4,
        "the split-off part alone came back"
    );
    drop(permit);
    assert_eq!(sem.available_permits(), 5);

    let sem = Arc::new(Semaphore::new(2));
    let mut owned = sem.clone().try_acquire_many_owned(2).unwrap();
    let half = owned.split(1).unwrap();
    drop(owned);
    assert_eq!(sem.available_permits(), 1);
    drop(half);
    assert_eq!(sem.available_permits(), 2);
}
