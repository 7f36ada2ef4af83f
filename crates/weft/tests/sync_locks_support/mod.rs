//! Helpers for the lock tests: poll a future by hand, with a waker that counts its wakes, so
//! the tests can stop a waiting future at an exact point (before its first poll, queued, served
//! but not yet polled) and check what happens when it is dropped there.
#![allow(dead_code)]

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

/// Counts how often it was woken.
#[derive(Default)]
pub struct CountingWaker(AtomicUsize);

impl Wake for CountingWaker {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, SeqCst);
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.0.fetch_add(1, SeqCst);
    }
}

/// A future polled by hand, with its own counting waker.
pub struct Probe<F: Future> {
    fut: Pin<Box<F>>,
    wakes: Arc<CountingWaker>,
    waker: Waker,
}

impl<F: Future> Probe<F> {
    pub fn new(fut: F) -> Probe<F> {
        let wakes = Arc::new(CountingWaker::default());
        Probe {
            fut: Box::pin(fut),
            waker: Waker::from(wakes.clone()),
            wakes,
        }
    }

    /// Polls once.
    pub fn poll(&mut self) -> Poll<F::Output> {
        self.fut
            .as_mut()
            .poll(&mut Context::from_waker(&self.waker))
    }

    /// Polls once and expects `Pending`.
    #[track_caller]
    pub fn pending(&mut self) {
        assert!(self.poll().is_pending(), "expected the future to wait");
    }

    /// Polls once and expects `Ready`.
    #[track_caller]
    pub fn ready(&mut self) -> F::Output {
        match self.poll() {
            Poll::Ready(v) => v,
            Poll::Pending => panic!("expected the future to be ready"),
        }
    }

    /// How often this future's waker was woken.
    pub fn wakes(&self) -> usize {
        self.wakes.0.load(SeqCst)
    }
}
