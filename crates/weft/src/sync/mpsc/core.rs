//! What the channel ends ask of a core ([`Core`]), and which core a bounded channel gets
//! ([`BoundedCore`]).
//!
//! Two cores hold the values: `chan::Chan`, one short lock around a `VecDeque` (the unbounded
//! channel, and bounded channels too large for a ring made up front), and `ring::RingChan`, a
//! ring of slots reached without a lock (bounded channels up to `RingChan::fits`). Both have
//! the same inherent methods under the same names; [`Core`] names the ones the ends
//! (`ends::Tx`, `ends::Rx`) use, so that the ends are written once, and [`BoundedCore`] holds
//! either core of a bounded channel and forwards every method to it.

use super::chan::{Chan, TryPop, TryPush};
use super::ring::RingChan;
use crate::sync::waiters::WaiterKey;
use std::collections::VecDeque;
use std::task::{Context, Poll};

/// A bounded channel's core: a ring when one of its capacity is small enough to make up front
/// (`RingChan::fits`), the locked queue otherwise.
// The ring is the larger (its parts on cache lines of their own); it lives once per channel,
// in the channel's `Arc`, and a box would put a pointer chase on every send and receive.
#[allow(clippy::large_enum_variant)]
pub(crate) enum BoundedCore<T> {
    Ring(RingChan<T>),
    Locked(Chan<T>),
}

impl<T> BoundedCore<T> {
    /// The core for a bounded channel of `cap` slots.
    pub(crate) fn new(cap: usize) -> BoundedCore<T> {
        if RingChan::<T>::fits(cap) {
            BoundedCore::Ring(RingChan::new(cap))
        } else {
            BoundedCore::Locked(Chan::new(cap))
        }
    }
}

/// Runs `$body` with `$core` bound to whichever core `$this` holds.
macro_rules! either {
    ($this:expr, |$core:ident| $body:expr) => {
        match $this {
            BoundedCore::Ring($core) => $body,
            BoundedCore::Locked($core) => $body,
        }
    };
}

/// Declares [`Core`] with the `shared` methods, implements it for both cores (by their
/// inherent methods) and for [`BoundedCore`] (by forwarding), and gives [`BoundedCore`] the
/// `bounded` methods (by forwarding).
macro_rules! cores {
    (
        shared { $($(#[$sdoc:meta])* fn $s:ident(&self $(, $sa:ident: $st:ty)*) -> $sr:ty;)* }
        bounded { $($(#[$bdoc:meta])* fn $b:ident(&self $(, $ba:ident: $bt:ty)*) -> $br:ty;)* }
    ) => {
        /// The operations both ends use, whatever holds the values (each is the inherent
        /// method of the same name on `Chan` and `RingChan`, documented there).
        pub(crate) trait Core {
            /// The values sent.
            type Item;
            $($(#[$sdoc])* fn $s(&self $(, $sa: $st)*) -> $sr;)*
        }

        impl<T> Core for Chan<T> {
            type Item = T;
            $(#[inline] fn $s(&self $(, $sa: $st)*) -> $sr { Chan::$s(self $(, $sa)*) })*
        }

        impl<T> Core for RingChan<T> {
            type Item = T;
            $(#[inline] fn $s(&self $(, $sa: $st)*) -> $sr { RingChan::$s(self $(, $sa)*) })*
        }

        impl<T> Core for BoundedCore<T> {
            type Item = T;
            $(#[inline] fn $s(&self $(, $sa: $st)*) -> $sr { either!(self, |c| c.$s($($sa),*)) })*
        }

        impl<T> BoundedCore<T> {
            $(
                $(#[$bdoc])*
                #[inline]
                pub(crate) fn $b(&self $(, $ba: $bt)*) -> $br { either!(self, |c| c.$b($($ba),*)) }
            )*
        }
    };
}

cores! {
    shared {
        fn add_sender(&self) -> ();
        fn try_add_sender(&self) -> bool;
        fn drop_sender(&self) -> ();
        fn senders(&self) -> usize;
        fn close(&self) -> ();
        fn drop_receiver(&self) -> ();
        fn is_closed(&self) -> bool;
        fn len(&self) -> usize;
        fn poll_closed(&self, key: &mut Option<WaiterKey>, cx: &mut Context<'_>) -> Poll<()>;
        fn cancel_closed(&self, key: WaiterKey) -> ();
        /// One value for the receiver; `batch` is the receiver's own queue of values taken
        /// ahead (empty when called), which a core may fill, returning the first.
        fn poll_recv(
            &self,
            batch: &mut VecDeque<Self::Item>,
            cx: &mut Context<'_>
        ) -> Poll<Option<Self::Item>>;
        fn poll_pop_many(
            &self,
            buf: &mut Vec<Self::Item>,
            limit: usize,
            cx: &mut Context<'_>
        ) -> Poll<usize>;
        fn try_pop(&self) -> TryPop<Self::Item>;
    }
    bounded {
        /// The capacity given at creation.
        fn max_capacity(&self) -> usize;
        /// Queues `value` if a slot is free and no sender is queued ahead.
        fn try_push(&self, value: T) -> Result<(), TryPush<T>>;
        /// Reserves a slot without waiting.
        fn try_reserve(&self) -> Result<(), TryPush<()>>;
        /// Reserves `n` slots at once without waiting (all or none).
        fn try_reserve_many(&self, n: usize) -> Result<(), TryPush<()>>;
        /// Waits for `need` slots (see `Chan::poll_reserve`).
        fn poll_reserve(
            &self,
            key: &mut Option<WaiterKey>,
            need: usize,
            cx: &mut Context<'_>
        ) -> Poll<bool>;
        /// A waiting reserve is dropped.
        fn cancel_reserve(&self, key: WaiterKey) -> ();
        /// Fills a reserved slot with `value`.
        fn push_reserved(&self, value: T) -> ();
        /// Gives back a reserved slot unused.
        fn release_reserved(&self) -> ();
        /// Gives back `n` reserved slots unused.
        fn release_reserved_many(&self, n: usize) -> ();
        /// Free slots.
        fn capacity(&self) -> usize;
    }
}

#[cfg(test)]
mod tests {
    use super::BoundedCore;

    #[test]
    fn a_small_bound_gets_a_ring_and_one_past_the_ring_limit_the_locked_queue() {
        assert!(matches!(
            BoundedCore::<u64>::new(1024),
            BoundedCore::Ring(_)
        ));
        assert!(matches!(BoundedCore::<u64>::new(1), BoundedCore::Ring(_)));
        assert!(matches!(
            BoundedCore::<[u8; 32 * 1024]>::new(2),
            BoundedCore::Locked(_)
        ));
        assert!(matches!(
            BoundedCore::<u64>::new(1 << 20),
            BoundedCore::Locked(_)
        ));
    }
}
