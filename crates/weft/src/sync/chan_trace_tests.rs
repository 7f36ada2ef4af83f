//! The channels' holder/waiter bookkeeping, checked through `trace`'s crate-internal interface:
//! senders are the holders of a channel's queue (and the receiver of a bounded channel's
//! capacity; weak senders hold nothing, watch sender clones do), waits are recorded only on
//! the slow path and end when the waiting future is dropped.
//!
//! The switch is process-wide: the test holds `locks_trace_tests::TRACE_SWITCH` while it is on,
//! as every unit test that flips it does.

use super::trace::{self, ResourceKind};
use super::{broadcast, mpsc, oneshot, watch};
use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

fn poll_once<F: Future>(fut: std::pin::Pin<&mut F>) -> Poll<F::Output> {
    fut.poll(&mut Context::from_waker(Waker::noop()))
}

fn edges_on(res: &trace::Resource) -> Vec<trace::WaitEdge> {
    let addr = res as *const trace::Resource as usize;
    trace::edges()
        .into_iter()
        .filter(|e| e.resource == addr)
        .collect()
}

fn checks() {
    // mpsc: every live sender holds the queue; a parked receiver waits on it.
    let (tx, mut rx) = mpsc::channel::<u8>(1);
    let tx2 = tx.clone();
    let queue = &tx.tx.shared.recv_res;
    let capacity = &tx.tx.shared.send_res;
    assert_eq!(queue.holders().len(), 2, "one shared hold per sender");
    assert_eq!(
        capacity.holders().len(),
        1,
        "the receiver holds the capacity"
    );
    {
        let mut recv = pin!(rx.recv());
        assert!(poll_once(recv.as_mut()).is_pending());
        let edges = edges_on(queue);
        assert_eq!(edges.len(), 1);
        assert_eq!(edges[0].kind, ResourceKind::MpscRecv);
        assert_eq!(edges[0].holders.len(), 2, "the edge names both senders");
        assert_eq!(edges[0].wait_site.file(), file!());
    }
    assert!(edges_on(queue).is_empty(), "a dropped recv ends its wait");
    // A full bounded channel: the parked sender waits on the capacity, held by the receiver.
    tx.try_send(1).unwrap();
    {
        let mut send = pin!(tx2.send(2));
        assert!(poll_once(send.as_mut()).is_pending());
        let edges = edges_on(capacity);
        assert_eq!(edges.len(), 1);
        assert_eq!(edges[0].kind, ResourceKind::MpscSend);
        assert_eq!(edges[0].holders.len(), 1);
    }
    assert!(edges_on(capacity).is_empty());
    assert!(
        tx.try_send(3).is_err(),
        "the fast path records nothing and still works"
    );
    drop(tx2);
    assert_eq!(
        tx.tx.shared.recv_res.holders().len(),
        1,
        "a dropped sender's hold ends"
    );

    // oneshot: the sender holds it; an awaiting receiver waits on it.
    let (otx, orx) = oneshot::channel::<u8>();
    let mut orx = pin!(orx);
    assert!(poll_once(orx.as_mut()).is_pending());
    let edges = edges_on(otx.resource());
    assert_eq!(edges.len(), 1);
    assert_eq!(edges[0].kind, ResourceKind::Oneshot);
    assert_eq!(edges[0].holders.len(), 1);
    otx.send(1).unwrap();
    assert_eq!(poll_once(orx.as_mut()), Poll::Ready(Ok(1)));

    // broadcast and watch: a waiting receiver, the sender as holder.
    let (btx, mut brx) = broadcast::channel::<u8>(2);
    {
        let mut recv = pin!(brx.recv());
        assert!(poll_once(recv.as_mut()).is_pending());
        let edges = edges_on(btx.resource());
        assert_eq!((edges.len(), edges[0].kind), (1, ResourceKind::Broadcast));
        assert_eq!(edges[0].holders.len(), 1);
    }
    assert!(edges_on(btx.resource()).is_empty());
    // A broadcast sender upgraded from a weak one holds like a clone; the weak one does not.
    let weak = btx.downgrade();
    assert_eq!(
        btx.resource().holders().len(),
        1,
        "a weak sender holds nothing"
    );
    let btx2 = weak.upgrade().unwrap();
    assert_eq!(btx.resource().holders().len(), 2);
    drop(btx2);
    assert_eq!(btx.resource().holders().len(), 1);
    let (wtx, mut wrx) = watch::channel(0u8);
    // Every watch sender (clones too) holds the channel.
    let wtx2 = wtx.clone();
    assert_eq!(wtx.resource().holders().len(), 2);
    drop(wtx2);
    assert_eq!(wtx.resource().holders().len(), 1);
    {
        let mut changed = pin!(wrx.changed());
        assert!(poll_once(changed.as_mut()).is_pending());
        let edges = edges_on(wtx.resource());
        assert_eq!((edges.len(), edges[0].kind), (1, ResourceKind::Watch));
    }
    assert!(edges_on(wtx.resource()).is_empty());
}

#[test]
fn channels_record_holders_and_slow_path_waits() {
    let _switch = super::locks_trace_tests::TRACE_SWITCH
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    trace::set_enabled(true);
    checks();
    trace::set_enabled(false);
}

/// A oneshot receiver keeps its wait record in the channel, not in itself (`oneshot`'s
/// `Shared::rx_wait`): each end is one word, so `channel()` returns the pair in two registers
/// instead of through memory (see the README's "Stalled copies, found and removed").
#[test]
fn each_oneshot_end_is_one_word() {
    let word = std::mem::size_of::<usize>();
    assert_eq!(std::mem::size_of::<oneshot::Sender<u64>>(), word);
    assert_eq!(std::mem::size_of::<oneshot::Receiver<u64>>(), word);
}
