//! What the `loom_sync_*` models share: the model runner with its preemption bound, and a
//! `block_on` that parks a loom thread between polls.
#![allow(dead_code)]

use std::future::Future;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

/// Preemptions explored per execution: enough for the two-step races modelled here, and keeps
/// each model within CI's time budget.
pub const PREEMPTIONS: usize = 3;

/// Runs `f` under loom with [`PREEMPTIONS`].
pub fn model(f: impl Fn() + Sync + Send + 'static) {
    model_bounded(PREEMPTIONS, f);
}

/// Runs `f` under loom with at most `preemptions` preemptions per execution.
pub fn model_bounded(preemptions: usize, f: impl Fn() + Sync + Send + 'static) {
    let mut b = ::loom::model::Builder::new();
    b.preemption_bound = Some(preemptions);
    b.check(f);
}

/// Wakes a thread parked in [`block_on`], through loom's `Notify` (a stored permit, so a wake
/// before the wait is not lost).
struct NotifyWaker(::loom::sync::Notify);

impl Wake for NotifyWaker {
    fn wake(self: Arc<Self>) {
        self.0.notify();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.0.notify();
    }
}

/// Polls `fut` on this loom thread, parking between polls until woken.
pub fn block_on<F: Future>(fut: F) -> F::Output {
    let notify = Arc::new(NotifyWaker(::loom::sync::Notify::new()));
    let waker = Waker::from(notify.clone());
    let mut fut = std::pin::pin!(fut);
    loop {
        if let Poll::Ready(out) = fut.as_mut().poll(&mut Context::from_waker(&waker)) {
            return out;
        }
        notify.0.wait();
    }
}
