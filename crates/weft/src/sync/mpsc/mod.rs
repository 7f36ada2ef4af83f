//! Multi-producer, single-consumer channels: [`channel`] (bounded: senders wait while it is
//! full) and [`unbounded_channel`] (sending never waits).
//!
//! ```
//! # let rt = weft::rt::Runtime::builder().current_thread().build().unwrap();
//! # rt.block_on(async {
//! let (tx, mut rx) = weft::sync::mpsc::channel(16);
//! for i in 0..3 {
//!     let tx = tx.clone();
//!     weft::spawn(async move { tx.send(i).await.unwrap() });
//! }
//! drop(tx);
//! let mut got = Vec::new();
//! while let Some(v) = rx.recv().await {
//!     got.push(v);
//! }
//! got.sort();
//! assert_eq!(got, [0, 1, 2]);
//! # });
//! ```
//!
//! # Order and fairness
//!
//! Values are received in the order their sends completed (FIFO; one sender's values keep its
//! order). On a full bounded channel, waiting senders are served in FIFO order: each slot the
//! receiver frees goes to the oldest waiting sender, and a newcomer (`send`, `try_send`,
//! `reserve`) does not overtake queued senders (no barging). A sender whose waiting future is
//! dropped gives its place up, and a slot granted to it meanwhile passes to the next one.
//!
//! # Design
//!
//! Two cores (`core` picks one; the ends in `ends` are written once against either):
//!
//! - **the ring** (`ring`), for a bounded channel whose slots fit in 64 KiB (`channel::<u64>`
//!   up to 4,096 slots): the values in a ring of slots made with the channel, the used-slot
//!   count, the next index and the flags in one atomic word. A send is one compare-exchange on
//!   that word and a store into its slot, a receive a load and a store in the slot and one
//!   subtraction; a lock is taken only to wait (a full channel, an empty one) or to wake a
//!   waiter. The `ring` module doc states its admission, wake-up and close protocols.
//! - **the locked queue** (`chan`), for the unbounded channel and for larger bounds: one
//!   short spin lock around a `VecDeque`, the capacity count and the waiters (its module doc
//!   argues why that beats a lock-free list plus a semaphore there; the unbounded receiver
//!   takes the whole queue per lock).
//!
//! Both are model-checked in `tests/loom_sync_mpsc.rs` (each bounded model runs on both).
//!
//! # Who holds, who waits
//!
//! A channel is two resources: the queue (`ResourceKind::MpscRecv`: the receiver waits on
//! it, held by every live sender) and, for a bounded channel, its capacity
//! (`ResourceKind::MpscSend`: senders wait on it, held by the receiver, who frees slots).
//! An end is created by one actor and usually moved into another, so its hold follows its
//! user: each send, reserve and receive re-stamps the end's hold with the current actor
//! (`trace::Resource::rehold`, a load and, when the actor changed, a store). A receive whose
//! every sender is held by a parked waiter is then a wait-for edge like any other, and a
//! cycle through a channel is found (`tests/diag_channel_cycle.rs`). An end moved but not used
//! yet is still its creator's.

#[macro_use]
mod recv_methods;

mod bounded;
pub(crate) mod chan;
mod core;
pub(crate) mod ends;
pub mod error;
mod peers;
mod permit;
pub(crate) mod ring;
mod unbounded;

pub use bounded::{OwnedPermit, Receiver, Sender, WeakSender};
pub use permit::{Permit, PermitIterator};
pub use unbounded::{UnboundedReceiver, UnboundedSender, WeakUnboundedSender};

use std::panic::Location;

/// Creates a bounded channel of `buffer` slots: a send waits while `buffer` values (and
/// reserved permits) are queued.
///
/// Memory: when `buffer` slots of `T` fit in 64 KiB (4,096 `u64`s, say), they are allocated
/// now, as one ring (the fast core: no lock per value; see the module doc); a larger bound
/// grows its queue as values arrive, as the unbounded channel does.
///
/// # Panics
///
/// If `buffer` is 0 ("mpsc bounded channel requires buffer > 0").
#[track_caller]
pub fn channel<T>(buffer: usize) -> (Sender<T>, Receiver<T>) {
    assert!(buffer > 0, "mpsc bounded channel requires buffer > 0");
    assert!(
        buffer < chan::UNBOUNDED,
        "mpsc bounded channel: buffer must be below usize::MAX"
    );
    let (tx, rx) = ends::pair(core::BoundedCore::new(buffer), Location::caller());
    (Sender { tx }, Receiver { rx })
}

/// Creates an unbounded channel: sending never waits (memory is the limit).
#[track_caller]
pub fn unbounded_channel<T>() -> (UnboundedSender<T>, UnboundedReceiver<T>) {
    let (tx, rx) = ends::pair(chan::Chan::new(chan::UNBOUNDED), Location::caller());
    (UnboundedSender { tx }, UnboundedReceiver { rx })
}
