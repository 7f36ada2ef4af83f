//! A `tower` timeout on weft's timer.
//!
//! tower's own `Timeout` sleeps with `tokio::time`, which panics outside a
//! tokio runtime. [`TimeoutLayer`] / [`Timeout`] do the same job with
//! `weft::time::sleep`: the inner service's future races a deadline set when
//! the request is called, and losing gives the error [`Elapsed`] (boxed, as
//! tower's does), which axum's `HandleErrorLayer` turns into a response.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use pin_project_lite::pin_project;
use tower_layer::Layer;
use tower_service::Service;

use super::serve::BoxError;

/// The error a [`Timeout`] gives when the inner service took too long.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Elapsed {
    after: Duration,
}

impl Elapsed {
    /// The timeout that passed.
    pub fn after(&self) -> Duration {
        self.after
    }
}

impl fmt::Display for Elapsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "request timed out after {:?}", self.after)
    }
}

impl std::error::Error for Elapsed {}

/// Applies [`Timeout`] to a service.
#[derive(Clone, Copy, Debug)]
pub struct TimeoutLayer {
    timeout: Duration,
}

impl TimeoutLayer {
    /// Requests through the layer fail with [`Elapsed`] after `timeout`.
    pub fn new(timeout: Duration) -> TimeoutLayer {
        TimeoutLayer { timeout }
    }
}

impl<S> Layer<S> for TimeoutLayer {
    type Service = Timeout<S>;

    fn layer(&self, inner: S) -> Timeout<S> {
        Timeout::new(inner, self.timeout)
    }
}

/// A service whose requests fail with [`Elapsed`] when `inner` takes longer
/// than the timeout (counted from the call, on weft's timer).
#[derive(Clone, Debug)]
pub struct Timeout<S> {
    inner: S,
    timeout: Duration,
}

impl<S> Timeout<S> {
    /// Wraps `inner`.
    pub fn new(inner: S, timeout: Duration) -> Timeout<S> {
        Timeout { inner, timeout }
    }

    /// The wrapped service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }
}

impl<S, R> Service<R> for Timeout<S>
where
    S: Service<R>,
    S::Error: Into<BoxError>,
{
    type Response = S::Response;
    type Error = BoxError;
    type Future = TimeoutFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, request: R) -> TimeoutFuture<S::Future> {
        TimeoutFuture {
            inner: self.inner.call(request),
            sleep: weft::time::sleep(self.timeout),
            after: self.timeout,
        }
    }
}

pin_project! {
    /// The future of [`Timeout::call`].
    ///
    /// # Cancel safety
    ///
    /// Dropping it drops the inner service's future (the request is abandoned).
    #[derive(Debug)]
    pub struct TimeoutFuture<F> {
        #[pin]
        inner: F,
        sleep: weft::time::Sleep,
        after: Duration,
    }
}

impl<F, T, E> Future for TimeoutFuture<F>
where
    F: Future<Output = Result<T, E>>,
    E: Into<BoxError>,
{
    type Output = Result<T, BoxError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        if let Poll::Ready(outcome) = this.inner.poll(cx) {
            return Poll::Ready(outcome.map_err(Into::into));
        }
        match Pin::new(this.sleep).poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(Box::new(Elapsed { after: *this.after }))),
            Poll::Pending => Poll::Pending,
        }
    }
}
