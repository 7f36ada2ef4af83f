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
//! stack), so no two are held at once.
//!
//! Every waiter is woken by `cancel`; they are independent, so no order is promised among them.

use crate::loom::{Arc, AtomicBool, Mutex, MutexGuard, Ordering};
use crate::sync::waiters::{WaitList, WaiterKey, WakeBatch};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Weak;
use std::task::{Context, Poll};

/// Children a node holds before it first sweeps dead ones; the sweep threshold then doubles
/// with the live count, so sweeping costs O(1) amortised per `child_token`.
const FIRST_SWEEP: usize = 16;

struct Links {
    waiters: WaitList<()>,
    children: Vec<Weak<Node>>,
    sweep_at: usize,
}

struct Node {
    cancelled: AtomicBool,
    links: Mutex<Links>,
    /// Keeps the parent alive while this node lives; never read otherwise.
    _parent: Option<Arc<Node>>,
}

impl Node {
    fn new(parent: Option<Arc<Node>>, cancelled: bool) -> Arc<Node> {
        Arc::new(Node {
            cancelled: AtomicBool::new(cancelled),
            links: Mutex::new(Links {
                waiters: WaitList::new(),
                children: Vec::new(),
                sweep_at: FIRST_SWEEP,
            }),
            _parent: parent,
        })
    }

    fn links(&self) -> MutexGuard<'_, Links> {
        self.links.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::Acquire)
    }
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
    fn default() -> Self {
        CancellationToken::new()
    }
}

impl CancellationToken {
    /// A new, uncancelled token with no parent.
    pub fn new() -> CancellationToken {
        CancellationToken {
            node: Node::new(None, false),
        }
    }

    /// A child: cancelled when this token (or an ancestor) is; cancelling the child does not
    /// cancel this token.
    pub fn child_token(&self) -> CancellationToken {
        let mut links = self.node.links();
        if self.node.is_cancelled() {
            drop(links);
            return CancellationToken {
                node: Node::new(Some(self.node.clone()), true),
            };
        }
        let child = Node::new(Some(self.node.clone()), false);
        if links.children.len() >= links.sweep_at {
            links.children.retain(|c| c.strong_count() > 0);
            links.sweep_at = (links.children.len() * 2).max(FIRST_SWEEP);
        }
        links.children.push(Arc::downgrade(&child));
        CancellationToken { node: child }
    }

    /// Cancels this token and every descendant, waking all that wait on them. Idempotent.
    pub fn cancel(&self) {
        let mut stack = vec![self.node.clone()];
        while let Some(node) = stack.pop() {
            let mut links = node.links();
            if node.cancelled.swap(true, Ordering::AcqRel) {
                continue;
            }
            let mut wakes = WakeBatch::new();
            while let Some((_, waker)) = links.waiters.pop_front() {
                wakes.push(waker);
            }
            let children = std::mem::take(&mut links.children);
            drop(links);
            wakes.wake_all();
            stack.extend(children.iter().filter_map(Weak::upgrade));
        }
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
    pub fn cancelled(&self) -> WaitForCancellationFuture<'_> {
        WaitForCancellationFuture {
            wait: Wait {
                node: &self.node,
                key: None,
            },
        }
    }

    /// [`cancelled`](Self::cancelled) owning a clone of the token (`'static`, to move into
    /// tasks or store in structs).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe.
    pub fn cancelled_owned(self) -> WaitForCancellationFutureOwned {
        WaitForCancellationFutureOwned {
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
}

fn poll_wait(node: &Node, key: &mut Option<WaiterKey>, cx: &mut Context<'_>) -> Poll<()> {
    if node.is_cancelled() {
        return Poll::Ready(());
    }
    let mut links = node.links();
    if node.is_cancelled() {
        if let Some(k) = key.take() {
            links.waiters.remove(k);
        }
        return Poll::Ready(());
    }
    match *key {
        Some(k) if links.waiters.is_queued(k) => links.waiters.set_waker(k, cx.waker()),
        Some(k) => {
            links.waiters.remove(k);
            *key = Some(links.waiters.push_back((), cx.waker()));
        }
        None => *key = Some(links.waiters.push_back((), cx.waker())),
    }
    Poll::Pending
}

fn unqueue(node: &Node, key: &mut Option<WaiterKey>) {
    if let Some(k) = key.take() {
        node.links().waiters.remove(k);
    }
}

/// The future of [`CancellationToken::cancelled`].
pub struct WaitForCancellationFuture<'a> {
    wait: Wait<'a>,
}

impl Future for WaitForCancellationFuture<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let Wait { node, key } = &mut self.get_mut().wait;
        poll_wait(node, key, cx)
    }
}

impl Drop for WaitForCancellationFuture<'_> {
    fn drop(&mut self) {
        unqueue(self.wait.node, &mut self.wait.key);
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
    node: Arc<Node>,
    key: Option<WaiterKey>,
}

impl Future for WaitForCancellationFutureOwned {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        poll_wait(&this.node, &mut this.key, cx)
    }
}

impl Drop for WaitForCancellationFutureOwned {
    fn drop(&mut self) {
        unqueue(&self.node, &mut self.key);
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
