//! A pending `JoinHandle` await is a wait on `ResourceKind::Join` held by the joined task,
//! checked through `sync::trace`'s crate-internal interface.

use crate::rt::Runtime;
use crate::sync::trace::{self, ResourceKind};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Waker};

fn join_edges_for(task: u64) -> Vec<trace::WaitEdge> {
    trace::edges()
        .into_iter()
        .filter(|e| e.kind == ResourceKind::Join && e.holders.iter().any(|h| h.actor.id.0 == task))
        .collect()
}

#[test]
fn a_pending_join_is_a_wait_held_by_the_joined_task() {
    let rt = Runtime::builder().current_thread().build().unwrap();
    rt.block_on(async {
        // The switch is process-wide and another unit test turns it off when it ends; a
        // scenario that ran while it was off is run again (it can be turned off only once).
        for attempt in 0.. {
            trace::set_enabled(true);
            let (tx, rx) = crate::sync::oneshot::channel::<u32>();
            let mut task = crate::spawn(async move { rx.await.unwrap() });
            let id = task.id().as_u64();
            let polled = Pin::new(&mut task).poll(&mut Context::from_waker(Waker::noop()));
            assert!(polled.is_pending());
            let edges = join_edges_for(id);
            if edges.is_empty() && !trace::enabled() && attempt < 3 {
                continue;
            }
            assert_eq!(edges.len(), 1, "one wait, recorded on the slow path");
            let edge = &edges[0];
            assert_eq!(edge.waiter, trace::current_actor());
            assert_eq!(edge.holders.len(), 1);
            assert_eq!(edge.holders[0].actor.kind, trace::ActorKind::Task);
            assert_eq!(edge.resource_site.file(), file!(), "the task's spawn site");
            // Polled again: still one wait, not one per poll.
            let again = Pin::new(&mut task).poll(&mut Context::from_waker(Waker::noop()));
            assert!(again.is_pending());
            assert_eq!(join_edges_for(id).len(), 1);

            tx.send(7).unwrap();
            assert_eq!(task.await.unwrap(), 7);
            assert!(
                join_edges_for(id).is_empty(),
                "the wait ends with the output"
            );

            // A dropped pending handle ends its wait too.
            let mut idle = crate::spawn(std::future::pending::<()>());
            let idle_id = idle.id().as_u64();
            let _ = Pin::new(&mut idle).poll(&mut Context::from_waker(Waker::noop()));
            drop(idle);
            assert!(
                join_edges_for(idle_id).is_empty(),
                "a dropped await ends its wait"
            );
            break;
        }
    });
}
