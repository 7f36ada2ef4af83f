//! A one-shot, cross-thread shutdown signal.
//!
//! The server's accept loops (one per event loop) each wait on a clone of
//! the same [`ShutdownSignal`]; any thread triggers it once and every waiter
//! wakes. Waiting registers the task's waker under a mutex; triggering takes
//! the registered wakers and wakes each (a weft waker posts to its loop's
//! inbox, so waking from another thread is safe). The flag is checked again
//! after registering, so a trigger racing with a new waiter is never missed.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Waker};

/// A cloneable signal that, once triggered, stays triggered.
#[derive(Clone, Default)]
pub struct ShutdownSignal {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    triggered: AtomicBool,
    waiters: Mutex<Vec<Waker>>,
}

impl ShutdownSignal {
    /// A signal not yet triggered.
    pub fn new() -> ShutdownSignal {
        ShutdownSignal::default()
    }

    /// Triggers the signal and wakes every waiter. Idempotent.
    pub fn trigger(&self) {
        if self.inner.triggered.swap(true, Ordering::AcqRel) {
            return;
        }
        let waiters = std::mem::take(
            &mut *self
                .inner
                .waiters
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        );
        for waker in waiters {
            waker.wake();
        }
    }

    /// Whether [`trigger`](Self::trigger) was called.
    pub fn is_triggered(&self) -> bool {
        self.inner.triggered.load(Ordering::Acquire)
    }

    /// A future that completes once the signal is triggered.
    pub fn wait(&self) -> WaitForShutdown {
        WaitForShutdown {
            signal: self.clone(),
        }
    }
}

impl fmt::Debug for ShutdownSignal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ShutdownSignal")
            .field("triggered", &self.is_triggered())
            .finish()
    }
}

/// Future returned by [`ShutdownSignal::wait`].
///
/// # Cancel safety
/// Cancel safe: dropping it loses nothing (a stale waker may stay registered
/// until the trigger, which then wakes a task that ignores it).
#[derive(Debug)]
pub struct WaitForShutdown {
    signal: ShutdownSignal,
}

impl Future for WaitForShutdown {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let inner = &self.signal.inner;
        if inner.triggered.load(Ordering::Acquire) {
            return Poll::Ready(());
        }
        {
            let mut waiters = inner.waiters.lock().unwrap_or_else(PoisonError::into_inner);
            if !waiters.iter().any(|w| w.will_wake(cx.waker())) {
                waiters.push(cx.waker().clone());
            }
        }
        if inner.triggered.load(Ordering::Acquire) {
            return Poll::Ready(());
        }
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;
    use std::task::Wake;

    struct CountWakes(AtomicUsize);
    impl Wake for CountWakes {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn trigger_wakes_waiters_once() {
        let signal = ShutdownSignal::new();
        let counter = Arc::new(CountWakes(AtomicUsize::new(0)));
        let waker = Waker::from(counter.clone());
        let mut cx = Context::from_waker(&waker);
        let mut wait = signal.wait();
        assert!(Pin::new(&mut wait).poll(&mut cx).is_pending());
        assert!(Pin::new(&mut wait).poll(&mut cx).is_pending());
        signal.clone().trigger();
        signal.trigger();
        assert_eq!(counter.0.load(Ordering::SeqCst), 1);
        assert!(Pin::new(&mut wait).poll(&mut cx).is_ready());
        assert!(Pin::new(&mut signal.wait()).poll(&mut cx).is_ready());
    }
}
