//! The receiving methods both flavours share, written once: [`Receiver`](super::Receiver) and
//! [`UnboundedReceiver`](super::UnboundedReceiver) each wrap an [`Rx`](super::ends::Rx) in a
//! field `rx`, and `receiver_methods!` gives both the same `recv`, `recv_many`, `poll_*`,
//! `try_recv`, `blocking_*`, `close`, counts and `same_channel`, delegating to that `Rx`
//! (where the logic and the wait bookkeeping live). Only the bounded one adds its capacity.

/// Implements the shared receiving methods for `$ty` (named `$name` in panic messages).
macro_rules! receiver_methods {
    ($ty:ident, $name:literal) => {
        impl<T> $ty<T> {
            /// Receives the oldest value, waiting while the channel is empty; `None` once it is
            /// empty and every sender is gone (or it was closed and drained).
            ///
            /// # Cancel safety
            ///
            /// Cancel safe: a value is taken only in the poll that returns it, so a dropped
            /// `recv()` (a `select!` branch that loses) loses nothing.
            #[track_caller]
            pub fn recv(&mut self) -> impl std::future::Future<Output = Option<T>> + '_ {
                self.rx.recv(std::panic::Location::caller())
            }

            /// Moves up to `limit` queued values into `buf` (appending), waiting while none is
            /// queued. Returns how many were added: 0 only when `limit` is 0 or the channel is
            /// finished.
            ///
            /// # Cancel safety
            ///
            /// Cancel safe, as [`recv`](Self::recv).
            #[track_caller]
            pub fn recv_many<'a>(
                &'a mut self,
                buf: &'a mut Vec<T>,
                limit: usize,
            ) -> impl std::future::Future<Output = usize> + 'a {
                self.rx.recv_many(buf, limit, std::panic::Location::caller())
            }

            /// The poll form of [`recv`](Self::recv).
            pub fn poll_recv(
                &mut self,
                cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<Option<T>> {
                self.rx.poll_recv(cx)
            }

            /// The poll form of [`recv_many`](Self::recv_many): `Ready(n)` with `n` values
            /// appended to `buf` (0 only when `limit` is 0 or the channel is finished).
            pub fn poll_recv_many(
                &mut self,
                cx: &mut std::task::Context<'_>,
                buf: &mut Vec<T>,
                limit: usize,
            ) -> std::task::Poll<usize> {
                self.rx.poll_recv_many(cx, buf, limit)
            }

            /// Takes the oldest value without waiting.
            ///
            /// # Errors
            ///
            /// [`TryRecvError::Empty`](super::error::TryRecvError::Empty) when nothing is
            /// queued; [`TryRecvError::Disconnected`](super::error::TryRecvError::Disconnected)
            /// when nothing is queued and nothing can come.
            pub fn try_recv(&mut self) -> Result<T, super::error::TryRecvError> {
                self.rx.try_recv()
            }

            /// Receives from code that is not async; see
            /// [`weft::sync`](crate::sync#three-kinds-of-caller).
            ///
            /// # Panics
            ///
            #[doc = concat!("On an event-loop thread outside a green thread: \"weft::sync::mpsc::", $name, "::blocking_recv")]
            /// called on an event-loop thread outside a green thread: ...".
            #[track_caller]
            pub fn blocking_recv(&mut self) -> Option<T> {
                let site = std::panic::Location::caller();
                crate::sync::park::block_on(
                    concat!("mpsc::", $name, "::blocking_recv"),
                    self.rx.recv(site),
                )
            }

            /// [`recv_many`](Self::recv_many) from code that is not async, like
            /// [`blocking_recv`](Self::blocking_recv).
            ///
            /// # Panics
            ///
            /// On an event-loop thread outside a green thread, as `blocking_recv`.
            #[track_caller]
            pub fn blocking_recv_many(&mut self, buf: &mut Vec<T>, limit: usize) -> usize {
                let site = std::panic::Location::caller();
                crate::sync::park::block_on(
                    concat!("mpsc::", $name, "::blocking_recv_many"),
                    self.rx.recv_many(buf, limit, site),
                )
            }

            /// Closes the channel: sends fail from now on and waiting senders wake with an
            /// error; values already queued (or sent through permits already held) can still
            /// be received.
            pub fn close(&mut self) {
                self.rx.shared.chan.close();
            }

            /// True once closed or every sender is gone.
            pub fn is_closed(&self) -> bool {
                self.rx.shared.chan.is_closed() || self.rx.shared.chan.senders() == 0
            }

            /// Queued values.
            pub fn len(&self) -> usize {
                self.rx.len()
            }

            /// True when nothing is queued.
            pub fn is_empty(&self) -> bool {
                self.len() == 0
            }

            /// Live senders.
            pub fn sender_strong_count(&self) -> usize {
                self.rx.shared.chan.senders()
            }

            /// Weak senders of the channel still alive.
            pub fn sender_weak_count(&self) -> usize {
                self.rx.weak_count()
            }

            /// True if both receivers belong to the same channel (a channel has one receiver,
            /// so this is true only of a receiver and itself).
            pub fn same_channel(&self, other: &$ty<T>) -> bool {
                crate::loom::Arc::ptr_eq(&self.rx.shared, &other.rx.shared)
            }
        }
    };
}
