//! The borrowed slot permits of a bounded channel: [`Permit`] (one slot) and
//! [`PermitIterator`] (`n` slots from `Sender::reserve_many`); the owned one, which holds a
//! `Sender`, lives with the sender in `bounded`. Each reserved slot counts as a used slot of
//! the channel; a permit used sends into its slot, one dropped gives the slot back to the
//! oldest waiting sender.

use super::core::BoundedCore;
use std::fmt;

/// One reserved slot of a bounded channel: [`send`](Self::send) fills it without waiting;
/// dropping the permit gives the slot back (to the oldest waiting sender).
pub struct Permit<'a, T> {
    pub(super) chan: &'a BoundedCore<T>,
}

/// `n` reserved slots (from [`Sender::reserve_many`](super::Sender::reserve_many) or
/// [`Sender::try_reserve_many`](super::Sender::try_reserve_many)): each
/// [`next`](Iterator::next) gives one [`Permit`]; dropping the iterator gives back the slots
/// not taken.
pub struct PermitIterator<'a, T> {
    pub(super) chan: &'a BoundedCore<T>,
    pub(super) n: usize,
}

impl<'a, T> Iterator for PermitIterator<'a, T> {
    type Item = Permit<'a, T>;

    fn next(&mut self) -> Option<Permit<'a, T>> {
        if self.n == 0 {
            return None;
        }
        self.n -= 1;
        Some(Permit { chan: self.chan })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.n, Some(self.n))
    }
}

impl<T> ExactSizeIterator for PermitIterator<'_, T> {}

impl<T> std::iter::FusedIterator for PermitIterator<'_, T> {}

impl<T> Drop for PermitIterator<'_, T> {
    fn drop(&mut self) {
        if self.n > 0 {
            self.chan.release_reserved_many(self.n);
        }
    }
}

impl<T> Permit<'_, T> {
    /// Sends `value` into the reserved slot; never waits, never fails (a value sent after the
    /// receiver closed is dropped with the channel).
    pub fn send(self, value: T) {
        self.chan.push_reserved(value);
        std::mem::forget(self);
    }
}

impl<T> Drop for Permit<'_, T> {
    fn drop(&mut self) {
        self.chan.release_reserved();
    }
}

impl<T> fmt::Debug for Permit<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("mpsc::Permit").finish_non_exhaustive()
    }
}

impl<T> fmt::Debug for PermitIterator<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("mpsc::PermitIterator")
            .field("n", &self.n)
            .finish_non_exhaustive()
    }
}
