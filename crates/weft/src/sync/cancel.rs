//! [`CancellationToken`]: a signal to stop, shared by the tasks it concerns, with child tokens
//! for sub-tasks.
//!
//! ```
//! # let rt = weft::rt::Runtime::builder().current_thread().build().unwrap();
//! # rt.block_on(async {
//! use weft::sync::CancellationToken;
//! let token = CancellationToken::new();
//! let child = token.child_token();
//! let worker = weft::spawn(async move {
//!     child.cancelled().await;
//!     "stopped"
//! });
//! token.cancel();
//! assert_eq!(worker.await.unwrap(), "stopped");
//! # });
//! ```
//!
//! # Tree
//!
//! Each token is a node; [`CancellationToken::child_token`] adds a child. Cancelling a node
//! cancels its whole subtree (children, grandchildren ...), never its parent or siblings. A
//! child made from a token already cancelled starts cancelled. Cancellation is permanent.
//!
//! # Design
//!
//! A node is an `Arc` with a `cancelled` flag (an atomic, so `is_cancelled` and an already
//! cancelled `cancelled()` cost one load) and, behind a short lock, its waiters (a FIFO
//! `WaitList`) and its children. A child keeps its parent alive (`Arc`), a parent knows its
//! children only weakly, so a dropped child costs its parent nothing but a dead `Weak`, swept
//! when the children list doubles. `child_token` and `cancel` both run under the parent's
//! lock, so a child made while its parent is cancelled is either in the list `cancel` walks or
//! sees the flag. Locks are taken one node at a time (cancel walks the subtree with an explicit
//! stack), so no two are held at once. That core lives in `cancel_state` (loom-checked by
//! `tests/loom_sync_cancel.rs`); this file is the public face.
//!
//! Every waiter is woken by `cancel`; they are independent, so no order is promised among them.
//!
//! # Bookkeeping
//!
//! Each node carries a `sync::trace` [`Resource`] of kind `Cancel` (created where the token or
//! child was made). A token has no holder, like a `Notify`: a `cancelled()` future that parks
//! records a wait on its node's resource (the slow path only: an already cancelled token
//! records nothing), ended when the future completes or is dropped, so a task dump shows
//! `CancellationToken::cancelled on <site>` for a task waiting on it.

use super::cancel_state;
use super::trace::{Resource, ResourceKind, WaitGuard};
use crate::loom::Arc;
use crate::sync::waiters::WaiterKey;
use std::fmt;
use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::task::{Context, Poll};

/// A node of the token tree with its bookkeeping resource.
type Node = cancel_state::Node<Resource>;

#[track_caller]
fn resource() -> Resource {
    Resource::new(ResourceKind::Cancel, Location::caller())
}

/// A token that can be cancelled once, waking everyone waiting on it and its descendants. Clones
/// are the same token.
///
/// Tokens form a tree: [`child_token`](Self::child_token) adds a child. Cancelling a token
/// cancels its whole subtree (children, grandchildren ...), never its parent or siblings; a
/// child made from a cancelled token starts cancelled; cancellation is permanent.
/// [`is_cancelled`](Self::is_cancelled) and an already cancelled `cancelled()` cost one atomic
/// load. Every waiter is woken by `cancel`; they are independent, so no order is promised
/// among them.
///
/// ```
/// # let rt = weft::rt::Runtime::builder().current_thread().build().unwrap();
/// # rt.block_on(async {
/// use weft::sync::CancellationToken;
/// let token = CancellationToken::new();
/// let child = token.child_token();
/// let worker = weft::spawn(async move {
///     child.cancelled().await;
///     "stopped"
/// });
/// token.cancel();
/// assert_eq!(worker.await.unwrap(), "stopped");
/// # });
/// ```
#[derive(Clone)]
pub struct CancellationToken {
    node: Arc<Node>,
}

impl Default for CancellationToken {
    #[track_caller]
    fn default() -> Self {
        CancellationToken::new()
    }
}

impl CancellationToken {
    /// A new, uncancelled token with no parent.
    #[track_caller]
    pub fn new() -> CancellationToken {
        CancellationToken {
            node: Node::new(None, false, resource()),
        }
    }

    /// A child: cancelled when this token (or an ancestor) is; cancelling the child does not
    /// cancel this token.
    #[track_caller]
    pub fn child_token(&self) -> CancellationToken {
        CancellationToken {
            node: Node::child(&self.node, resource()),
        }
    }

    /// Cancels this token and every descendant, waking all that wait on them. Idempotent.
    pub fn cancel(&self) {
        Node::cancel(&self.node);
    }

    /// True once this token (or an ancestor) was cancelled.
    pub fn is_cancelled(&self) -> bool {
        self.node.is_cancelled()
    }

    /// Waits until the token is cancelled (at once if it already is).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: dropping the future only removes its waiter.
    #[track_caller]
    pub fn cancelled(&self) -> WaitForCancellationFuture<'_> {
        WaitForCancellationFuture {
            wait: Wait {
                node: &self.node,
                key: None,
                trace: None,
                site: Location::caller(),
            },
        }
    }

    /// [`cancelled`](Self::cancelled) owning a clone of the token (`'static`, to move into
    /// tasks or store in structs).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe.
    #[track_caller]
    pub fn cancelled_owned(self) -> WaitForCancellationFutureOwned {
        WaitForCancellationFutureOwned {
            trace: None,
            site: Location::caller(),
            node: self.node,
            key: None,
        }
    }

    /// A guard that cancels the token when dropped (unless [`DropGuard::disarm`]ed).
    pub fn drop_guard(self) -> DropGuard {
        DropGuard { token: Some(self) }
    }

    /// Runs `fut` until it completes or the token is cancelled: `Some(output)`, or `None` if
    /// cancelled first (checked before each poll of `fut`).
    ///
    /// # Cancel safety
    ///
    /// As cancel safe as `fut`.
    pub async fn run_until_cancelled<F: Future>(&self, fut: F) -> Option<F::Output> {
        let mut fut = std::pin::pin!(fut);
        let mut cancelled = std::pin::pin!(self.cancelled());
        std::future::poll_fn(|cx| {
            if cancelled.as_mut().poll(cx).is_ready() {
                return Poll::Ready(None);
            }
            fut.as_mut().poll(cx).map(Some)
        })
        .await
    }
}

impl fmt::Debug for CancellationToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CancellationToken")
            .field("is_cancelled", &self.is_cancelled())
            .finish()
    }
}

/// One waiter on a node: queued on its first pending poll, unqueued on drop.
struct Wait<'a> {
    node: &'a Node,
    key: Option<WaiterKey>,
    /// The recorded wait, from the first pending poll until ready or dropped.
    trace: Option<WaitGuard>,
    site: &'static Location<'static>,
}

/// One poll of a wait on `node`, recording the wait (at `site`) while it is pending.
fn poll_wait(
    node: &Node,
    key: &mut Option<WaiterKey>,
    trace: &mut Option<WaitGuard>,
    site: &'static Location<'static>,
    cx: &mut Context<'_>,
) -> Poll<()> {
    let out = node.poll_wait(key, cx.waker());
    if out.is_pending() {
        if trace.is_none() {
            *trace = Some(node.extra.wait(site));
        }
    } else {
        *trace = None;
    }
    out
}

/// Ends a wait whose future is dropped: its recorded wait, then its slot.
fn unqueue(node: &Node, key: &mut Option<WaiterKey>, trace: &mut Option<WaitGuard>) {
    *trace = None;
    node.unqueue(key);
}

/// The future of [`CancellationToken::cancelled`].
pub struct WaitForCancellationFuture<'a> {
    wait: Wait<'a>,
}

impl Future for WaitForCancellationFuture<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let Wait {
            node,
            key,
            trace,
            site,
        } = &mut self.get_mut().wait;
        poll_wait(node, key, trace, site, cx)
    }
}

impl Drop for WaitForCancellationFuture<'_> {
    fn drop(&mut self) {
        let Wait {
            node, key, trace, ..
        } = &mut self.wait;
        unqueue(node, key, trace);
    }
}

impl fmt::Debug for WaitForCancellationFuture<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WaitForCancellationFuture")
            .finish_non_exhaustive()
    }
}

/// The future of [`CancellationToken::cancelled_owned`].
pub struct WaitForCancellationFutureOwned {
    /// Ended in `drop` before `node` (which may be the last reference to the resource the
    /// record points at) is released.
    trace: Option<WaitGuard>,
    site: &'static Location<'static>,
    node: Arc<Node>,
    key: Option<WaiterKey>,
}

impl Future for WaitForCancellationFutureOwned {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        poll_wait(&this.node, &mut this.key, &mut this.trace, this.site, cx)
    }
}

impl Drop for WaitForCancellationFutureOwned {
    fn drop(&mut self) {
        unqueue(&self.node, &mut self.key, &mut self.trace);
    }
}

impl fmt::Debug for WaitForCancellationFutureOwned {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WaitForCancellationFutureOwned")
            .finish_non_exhaustive()
    }
}

/// Cancels its token when dropped; from [`CancellationToken::drop_guard`].
pub struct DropGuard {
    token: Option<CancellationToken>,
}

impl DropGuard {
    /// Gives the token back without cancelling it.
    pub fn disarm(mut self) -> CancellationToken {
        self.token.take().expect("a drop guard is disarmed once")
    }
}

impl Drop for DropGuard {
    fn drop(&mut self) {
        if let Some(token) = self.token.take() {
            token.cancel();
        }
    }
}

impl fmt::Debug for DropGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DropGuard")
            .field("armed", &self.token.is_some())
            .finish()
    }
}
