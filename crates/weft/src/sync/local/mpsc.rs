//! Loop-local mpsc channels: the `!Send` twins of [`crate::sync::mpsc`], with the same errors
//! and the same order and fairness (FIFO values, FIFO waiting senders, no barging, a cancelled
//! sender's slot passed on).

use crate::sync::mpsc::error::{SendError, TryRecvError, TrySendError};
use crate::sync::waiters::{WaitList, WaiterKey};
use std::cell::RefCell;
use std::collections::VecDeque;
use std::fmt;
use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

const UNBOUNDED: usize = usize::MAX;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Grant {
    Waiting,
    Slot,
    Closed,
}

struct State<T> {
    queue: VecDeque<T>,
    cap: usize,
    /// Slots granted to waiting senders not yet filled.
    granted: usize,
    rx_waker: Option<Waker>,
    senders: usize,
    closed: bool,
    send_waiters: WaitList<Grant>,
}

type Chan<T> = Rc<RefCell<State<T>>>;

impl<T> State<T> {
    fn used(&self) -> usize {
        self.queue.len() + self.granted
    }

    fn push(&mut self, value: T) -> Option<Waker> {
        self.queue.push_back(value);
        self.rx_waker.take()
    }

    /// Grants free slots to the oldest waiting senders; returns their wakers.
    fn grant(&mut self) -> Vec<Waker> {
        let mut wakes = Vec::new();
        while self.used() < self.cap {
            let Some((key, waker)) = self.send_waiters.pop_front() else {
                break;
            };
            *self.send_waiters.get_mut(key) = Grant::Slot;
            self.granted += 1;
            wakes.extend(waker);
        }
        wakes
    }

    fn try_push(&mut self, value: T) -> Result<Option<Waker>, TrySendError<T>> {
        if self.closed {
            return Err(TrySendError::Closed(value));
        }
        if self.used() >= self.cap || !self.send_waiters.is_empty() {
            return Err(TrySendError::Full(value));
        }
        Ok(self.push(value))
    }

    fn poll_pop(&mut self, cx: &mut Context<'_>) -> (Poll<Option<T>>, Vec<Waker>) {
        match self.queue.pop_front() {
            Some(v) => {
                let wakes = if self.send_waiters.is_empty() {
                    Vec::new()
                } else {
                    self.grant()
                };
                (Poll::Ready(Some(v)), wakes)
            }
            None if self.senders == 0 || (self.closed && self.granted == 0) => {
                (Poll::Ready(None), Vec::new())
            }
            None => {
                if !self
                    .rx_waker
                    .as_ref()
                    .is_some_and(|w| w.will_wake(cx.waker()))
                {
                    self.rx_waker = Some(cx.waker().clone());
                }
                (Poll::Pending, Vec::new())
            }
        }
    }

    fn close(&mut self) -> Vec<Waker> {
        self.closed = true;
        let mut wakes = Vec::new();
        while let Some((key, waker)) = self.send_waiters.pop_front() {
            *self.send_waiters.get_mut(key) = Grant::Closed;
            wakes.extend(waker);
        }
        wakes
    }
}

fn wake(wakes: impl IntoIterator<Item = Waker>) {
    for w in wakes {
        w.wake();
    }
}

fn new_chan<T>(cap: usize) -> Chan<T> {
    Rc::new(RefCell::new(State {
        queue: VecDeque::new(),
        cap,
        granted: 0,
        rx_waker: None,
        senders: 1,
        closed: false,
        send_waiters: WaitList::new(),
    }))
}

/// Creates a loop-local bounded channel of `buffer` slots.
///
/// # Panics
///
/// If `buffer` is 0.
pub fn channel<T>(buffer: usize) -> (Sender<T>, Receiver<T>) {
    assert!(buffer > 0, "mpsc bounded channel requires buffer > 0");
    let chan = new_chan(buffer);
    (Sender { chan: chan.clone() }, Receiver { chan })
}

/// Creates a loop-local unbounded channel.
pub fn unbounded_channel<T>() -> (UnboundedSender<T>, UnboundedReceiver<T>) {
    let chan = new_chan(UNBOUNDED);
    (
        UnboundedSender { chan: chan.clone() },
        UnboundedReceiver {
            inner: Receiver { chan },
        },
    )
}

/// Sends into a loop-local bounded channel.
pub struct Sender<T> {
    chan: Chan<T>,
}

/// Sends into a loop-local unbounded channel.
pub struct UnboundedSender<T> {
    chan: Chan<T>,
}

/// Receives from a loop-local bounded channel.
pub struct Receiver<T> {
    chan: Chan<T>,
}

/// Receives from a loop-local unbounded channel.
pub struct UnboundedReceiver<T> {
    inner: Receiver<T>,
}

fn add_sender<T>(chan: &Chan<T>) -> Chan<T> {
    chan.borrow_mut().senders += 1;
    chan.clone()
}

fn drop_sender<T>(chan: &Chan<T>) {
    let mut st = chan.borrow_mut();
    st.senders -= 1;
    let waker = if st.senders == 0 {
        st.rx_waker.take()
    } else {
        None
    };
    drop(st);
    wake(waker);
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        Sender {
            chan: add_sender(&self.chan),
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        drop_sender(&self.chan);
    }
}

impl<T> Clone for UnboundedSender<T> {
    fn clone(&self) -> Self {
        UnboundedSender {
            chan: add_sender(&self.chan),
        }
    }
}

impl<T> Drop for UnboundedSender<T> {
    fn drop(&mut self) {
        drop_sender(&self.chan);
    }
}

/// A waiting bounded send: queued in FIFO order; on drop, passes on a slot granted to it.
struct SendWait<'a, T> {
    chan: &'a Chan<T>,
    key: Option<WaiterKey>,
    value: Option<T>,
}

impl<T> Future for SendWait<'_, T> {
    type Output = Result<(), SendError<T>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let mut st = this.chan.borrow_mut();
        let value = this.value.take().expect("polled after completion");
        match this.key {
            None => match st.try_push(value) {
                Ok(waker) => {
                    drop(st);
                    wake(waker);
                    Poll::Ready(Ok(()))
                }
                Err(TrySendError::Closed(v)) => Poll::Ready(Err(SendError(v))),
                Err(TrySendError::Full(v)) => {
                    this.key = Some(st.send_waiters.push_back(Grant::Waiting, cx.waker()));
                    this.value = Some(v);
                    Poll::Pending
                }
            },
            Some(k) => match *st.send_waiters.get(k) {
                Grant::Waiting => {
                    st.send_waiters.set_waker(k, cx.waker());
                    this.value = Some(value);
                    Poll::Pending
                }
                Grant::Slot => {
                    st.send_waiters.remove(k);
                    this.key = None;
                    st.granted -= 1;
                    let waker = st.push(value);
                    drop(st);
                    wake(waker);
                    Poll::Ready(Ok(()))
                }
                Grant::Closed => {
                    st.send_waiters.remove(k);
                    this.key = None;
                    Poll::Ready(Err(SendError(value)))
                }
            },
        }
    }
}

/// `SendWait` never pins its value (it only moves it in and out of the `Option`).
impl<T> Unpin for SendWait<'_, T> {}

impl<T> Drop for SendWait<'_, T> {
    fn drop(&mut self) {
        if let Some(k) = self.key.take() {
            let mut st = self.chan.borrow_mut();
            if st.send_waiters.remove(k) == Grant::Slot {
                st.granted -= 1;
                let mut wakes = st.grant();
                if st.closed {
                    wakes.extend(st.rx_waker.take()); // it may be waiting for the last slot
                }
                drop(st);
                wake(wakes);
            }
        }
    }
}

impl<T> Sender<T> {
    /// Sends `value`, waiting for a free slot while the channel is full.
    ///
    /// # Errors
    ///
    /// [`SendError`] with the value if the receiver was closed or dropped.
    ///
    /// # Cancel safety
    ///
    /// **Not cancel safe**: a dropped waiting send drops its value (its place and any slot
    /// granted to it pass to the next sender).
    pub fn send(&self, value: T) -> impl Future<Output = Result<(), SendError<T>>> + '_ {
        SendWait {
            chan: &self.chan,
            key: None,
            value: Some(value),
        }
    }

    /// Sends `value` if a slot is free now and no sender is queued.
    ///
    /// # Errors
    ///
    /// [`TrySendError::Full`] or [`TrySendError::Closed`].
    pub fn try_send(&self, value: T) -> Result<(), TrySendError<T>> {
        let waker = self.chan.borrow_mut().try_push(value)?;
        wake(waker);
        Ok(())
    }

    /// True once the receiver was closed or dropped.
    pub fn is_closed(&self) -> bool {
        self.chan.borrow().closed
    }

    /// Free slots now.
    pub fn capacity(&self) -> usize {
        let st = self.chan.borrow();
        st.cap - st.used()
    }

    /// The capacity given to [`channel`].
    pub fn max_capacity(&self) -> usize {
        self.chan.borrow().cap
    }
}

impl<T> UnboundedSender<T> {
    /// Queues `value`; never waits.
    ///
    /// # Errors
    ///
    /// [`SendError`] with the value if the receiver was closed or dropped.
    pub fn send(&self, value: T) -> Result<(), SendError<T>> {
        let mut st = self.chan.borrow_mut();
        if st.closed {
            return Err(SendError(value));
        }
        let waker = st.push(value);
        drop(st);
        wake(waker);
        Ok(())
    }

    /// True once the receiver was closed or dropped.
    pub fn is_closed(&self) -> bool {
        self.chan.borrow().closed
    }
}

impl<T> Receiver<T> {
    /// The poll form of [`recv`](Self::recv).
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let (out, wakes) = self.chan.borrow_mut().poll_pop(cx);
        wake(wakes);
        out
    }

    /// Receives the oldest value; `None` once empty and every sender is gone (or closed).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: a dropped `recv()` loses no value.
    pub fn recv(&mut self) -> impl Future<Output = Option<T>> + '_ {
        poll_fn(move |cx| self.poll_recv(cx))
    }

    /// Moves up to `limit` values into `buf`, waiting while none is queued; 0 only when `limit`
    /// is 0 or the channel is finished.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe.
    pub fn recv_many<'a>(
        &'a mut self,
        buf: &'a mut Vec<T>,
        limit: usize,
    ) -> impl Future<Output = usize> + 'a {
        poll_fn(move |cx| {
            if limit == 0 {
                return Poll::Ready(0);
            }
            match self.poll_recv(cx) {
                Poll::Ready(Some(v)) => {
                    buf.push(v);
                    while buf.len() < limit {
                        match self.try_recv() {
                            Ok(v) => buf.push(v),
                            Err(_) => break,
                        }
                    }
                    Poll::Ready(buf.len())
                }
                Poll::Ready(None) => Poll::Ready(0),
                Poll::Pending => Poll::Pending,
            }
        })
    }

    /// Takes the oldest value without waiting.
    ///
    /// # Errors
    ///
    /// [`TryRecvError::Empty`] or [`TryRecvError::Disconnected`].
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        match self.poll_recv(&mut Context::from_waker(Waker::noop())) {
            Poll::Ready(Some(v)) => Ok(v),
            Poll::Ready(None) => Err(TryRecvError::Disconnected),
            Poll::Pending => Err(TryRecvError::Empty),
        }
    }

    /// Closes the channel: sends fail from now on; queued values can still be received.
    pub fn close(&mut self) {
        let wakes = self.chan.borrow_mut().close();
        wake(wakes);
    }

    /// Queued values.
    pub fn len(&self) -> usize {
        self.chan.borrow().queue.len()
    }

    /// True when nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        let mut st = self.chan.borrow_mut();
        let wakes = st.close();
        let queue = std::mem::take(&mut st.queue);
        st.rx_waker = None;
        drop(st);
        drop(queue);
        wake(wakes);
    }
}

impl<T> UnboundedReceiver<T> {
    /// As [`Receiver::recv`].
    ///
    /// # Cancel safety
    ///
    /// Cancel safe.
    pub fn recv(&mut self) -> impl Future<Output = Option<T>> + '_ {
        self.inner.recv()
    }

    /// As [`Receiver::recv_many`].
    ///
    /// # Cancel safety
    ///
    /// Cancel safe.
    pub fn recv_many<'a>(
        &'a mut self,
        buf: &'a mut Vec<T>,
        limit: usize,
    ) -> impl Future<Output = usize> + 'a {
        self.inner.recv_many(buf, limit)
    }

    /// As [`Receiver::poll_recv`].
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<T>> {
        self.inner.poll_recv(cx)
    }

    /// As [`Receiver::try_recv`].
    ///
    /// # Errors
    ///
    /// [`TryRecvError::Empty`] or [`TryRecvError::Disconnected`].
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        self.inner.try_recv()
    }

    /// As [`Receiver::close`].
    pub fn close(&mut self) {
        self.inner.close();
    }

    /// Queued values.
    pub fn len(&self) -> usize {
        self.inner.len()
    }

    /// True when nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.inner.is_empty()
    }
}

macro_rules! debug_named {
    ($($ty:ident),*) => {$(
        impl<T> fmt::Debug for $ty<T> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(concat!("local::mpsc::", stringify!($ty))).finish_non_exhaustive()
            }
        }
    )*};
}

debug_named!(Sender, UnboundedSender, Receiver, UnboundedReceiver);
