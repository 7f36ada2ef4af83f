//! The slot permits of a bounded channel: [`Permit`] (one slot, borrowing the sender),
//! [`OwnedPermit`] (one slot, owning it) and [`PermitIterator`] (`n` slots from
//! [`Sender::reserve_many`]). Each reserved slot counts in the channel's `reserved`; a permit
//! used sends into its slot, one dropped gives the slot back to the oldest waiting sender.

use super::bounded::Sender;
use super::chan::Chan;
use std::fmt;

/// One reserved slot of a bounded channel: [`send`](Self::send) fills it without waiting;
/// dropping the permit gives the slot back (to the oldest waiting sender).
pub struct Permit<'a, T> {
    pub(super) chan: &'a Chan<T>,
}

/// A reserved slot that owns its [`Sender`] (from [`Sender::reserve_owned`]).
pub struct OwnedPermit<T> {
    pub(super) sender: Option<Sender<T>>,
}

/// `n` reserved slots (from [`Sender::reserve_many`] or [`Sender::try_reserve_many`]): each
/// [`next`](Iterator::next) gives one [`Permit`]; dropping the iterator gives back the slots
/// not taken.
pub struct PermitIterator<'a, T> {
    pub(super) chan: &'a Chan<T>,
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

impl<T> OwnedPermit<T> {
    /// Sends `value` into the reserved slot and gives the sender back.
    pub fn send(mut self, value: T) -> Sender<T> {
        let sender = self.sender.take().expect("a permit is used once");
        sender.tx.shared.chan.push_reserved(value);
        sender
    }

    /// Gives the slot back unused, and the sender.
    pub fn release(mut self) -> Sender<T> {
        let sender = self.sender.take().expect("a permit is used once");
        sender.tx.shared.chan.release_reserved();
        sender
    }
}

impl<T> Drop for OwnedPermit<T> {
    fn drop(&mut self) {
        if let Some(sender) = self.sender.take() {
            sender.tx.shared.chan.release_reserved();
        }
    }
}

impl<T> fmt::Debug for Permit<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("mpsc::Permit").finish_non_exhaustive()
    }
}

impl<T> fmt::Debug for OwnedPermit<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("mpsc::OwnedPermit").finish_non_exhaustive()
    }
}

impl<T> fmt::Debug for PermitIterator<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("mpsc::PermitIterator")
            .field("n", &self.n)
            .finish_non_exhaustive()
    }
}
