//! mpsc backpressure: a full bounded channel parks the sender until the receiver makes room;
//! waiting senders are served FIFO without a newcomer overtaking them; a dropped or closed
//! receiver fails waiting and later senders; a cancelled waiting sender passes its slot on;
//! permits count as used slots and a dropped permit frees its slot; reserve_many / try_reserve_many
//! take n slots (all or none for try; one FIFO place for all n when waiting) and give back
//! unused or collected ones; try_reserve_owned.

mod common;
mod sync_locks_support;

use sync_locks_support::Probe;
use weft::sync::mpsc::{self, error::TrySendError};

#[test]
fn a_full_channel_parks_the_sender_until_a_recv() {
    let (tx, mut rx) = mpsc::channel(2);
    tx.try_send(1).unwrap();
    tx.try_send(2).unwrap();
    assert!(matches!(tx.try_send(3), Err(TrySendError::Full(3))));
    let mut send = Probe::new(tx.send(3));
    send.pending();
    send.pending(); // still full: no progress without a receive
    assert_eq!(rx.try_recv(), Ok(1));
    assert_eq!(send.wakes(), 1, "the freed slot wakes the parked sender");
    send.ready().unwrap();
    assert_eq!(rx.try_recv(), Ok(2));
    assert_eq!(rx.try_recv(), Ok(3));
}

#[test]
fn waiting_senders_are_served_in_fifo_order_and_not_overtaken() {
    let (tx, mut rx) = mpsc::channel(1);
    tx.try_send(0).unwrap();
    let mut a = Probe::new(tx.send(1));
    let mut b = Probe::new(tx.send(2));
    a.pending();
    b.pending();
    assert_eq!(rx.try_recv(), Ok(0));
    // The slot went to `a`: a newcomer finds the channel full.
    assert!(matches!(tx.try_send(9), Err(TrySendError::Full(9))));
    assert_eq!((a.wakes(), b.wakes()), (1, 0));
    b.pending();
    a.ready().unwrap();
    assert_eq!(rx.try_recv(), Ok(1));
    b.ready().unwrap();
    assert_eq!(rx.try_recv(), Ok(2));
}

#[test]
fn a_dropped_receiver_fails_waiting_and_later_senders() {
    let (tx, rx) = mpsc::channel(1);
    tx.try_send("kept").unwrap();
    let mut send = Probe::new(tx.send("waiting"));
    send.pending();
    drop(rx);
    assert_eq!(send.wakes(), 1);
    assert_eq!(send.ready().unwrap_err().0, "waiting");
    assert!(tx.is_closed());
    assert!(matches!(
        tx.try_send("late"),
        Err(TrySendError::Closed("late"))
    ));
}

#[test]
fn close_fails_senders_but_keeps_queued_values() {
    let (tx, mut rx) = mpsc::channel(4);
    tx.try_send(1).unwrap();
    let permit = tx.try_reserve().unwrap();
    rx.close();
    assert!(matches!(tx.try_send(2), Err(TrySendError::Closed(2))));
    permit.send(3); // a permit taken before the close still delivers
    let mut got = Vec::new();
    let mut recv = Probe::new(async move {
        while let Some(v) = rx.recv().await {
            got.push(v);
        }
        got
    });
    assert_eq!(
        recv.ready(),
        vec![1, 3],
        "then None: closed, drained, no permit left"
    );
}

#[test]
fn a_cancelled_waiting_sender_passes_its_slot_on() {
    let (tx, mut rx) = mpsc::channel(1);
    tx.try_send(0).unwrap();
    let mut a = Probe::new(tx.send(1));
    let mut b = Probe::new(tx.send(2));
    a.pending();
    b.pending();
    assert_eq!(rx.try_recv(), Ok(0)); // the slot is granted to `a` ...
    drop(a); // ... which is dropped before it runs: its value is lost, the slot is not
    assert_eq!(b.wakes(), 1, "the slot passed to the next sender");
    b.ready().unwrap();
    assert_eq!(rx.try_recv(), Ok(2));
    assert_eq!(tx.capacity(), 1);
}

#[test]
fn permits_use_slots_and_give_them_back_on_drop() {
    let (tx, mut rx) = mpsc::channel::<u8>(2);
    let p1 = tx.try_reserve().unwrap();
    let p2 = tx.try_reserve().unwrap();
    assert_eq!(tx.capacity(), 0);
    assert!(matches!(tx.try_reserve(), Err(TrySendError::Full(()))));
    let mut reserve = Probe::new(tx.reserve());
    reserve.pending();
    drop(p1);
    assert_eq!(reserve.wakes(), 1);
    let p3 = reserve.ready().unwrap();
    p2.send(2);
    p3.send(3);
    assert_eq!(rx.try_recv(), Ok(2));
    assert_eq!(rx.try_recv(), Ok(3));
    assert_eq!(tx.capacity(), 2);
    assert_eq!(tx.max_capacity(), 2);
}

#[test]
fn an_owned_permit_gives_its_sender_back() {
    let (tx, mut rx) = mpsc::channel(1);
    let mut reserve = Probe::new(tx.reserve_owned());
    let permit = reserve.ready().unwrap();
    let tx = permit.send(10);
    assert_eq!(rx.try_recv(), Ok(10));
    let mut reserve = Probe::new(tx.reserve_owned());
    let tx = reserve.ready().unwrap().release();
    assert_eq!(tx.capacity(), 1);
}

#[test]
#[should_panic(expected = "buffer > 0")]
fn a_zero_capacity_is_refused() {
    let _ = mpsc::channel::<u8>(0);
}

#[test]
fn send_timeout_gives_the_value_back_on_a_timeout_or_a_close() {
    use weft::sync::mpsc::error::SendTimeoutError;
    let rt = weft::rt::Runtime::builder()
        .current_thread()
        .build()
        .unwrap();
    rt.block_on(async {
        let (tx, mut rx) = mpsc::channel::<u32>(1);
        let short = std::time::Duration::from_millis(20);
        tx.send_timeout(1, short).await.unwrap();
        match tx.send_timeout(2, short).await {
            Err(SendTimeoutError::Timeout(v)) => assert_eq!(v, 2),
            other => panic!("full channel: expected a timeout, got {other:?}"),
        }
        // A slot freed while it waits: it sends.
        let sender = {
            let tx = tx.clone();
            weft::spawn(async move { tx.send_timeout(3, common::DEADLINE).await })
        };
        assert_eq!(rx.recv().await, Some(1));
        sender.await.unwrap().unwrap();
        assert_eq!(rx.recv().await, Some(3));
        drop(rx);
        match tx.send_timeout(4, short).await {
            Err(SendTimeoutError::Closed(v)) => assert_eq!(v, 4),
            other => panic!("closed channel: expected Closed, got {other:?}"),
        }
    });
}

#[test]
fn reserve_many_takes_all_slots_or_waits_and_gives_back_what_is_left() {
    let (tx, mut rx) = mpsc::channel::<u8>(3);
    assert!(matches!(
        tx.try_reserve_many(4),
        Err(TrySendError::Full(()))
    ));
    let mut permits = tx.try_reserve_many(2).unwrap();
    assert_eq!(permits.len(), 2);
    assert_eq!(tx.capacity(), 1);
    assert!(
        matches!(tx.try_reserve_many(2), Err(TrySendError::Full(()))),
        "all or none"
    );
    assert_eq!(tx.capacity(), 1, "a refused try_reserve_many takes nothing");
    permits.next().unwrap().send(1);
    drop(permits); // the unused slot goes back
    assert_eq!(tx.capacity(), 2);
    assert_eq!(tx.try_reserve_many(0).unwrap().len(), 0);

    // Waiting: 3 slots while 1 is filled and 1 is held by a permit.
    let held = tx.try_reserve().unwrap();
    let mut many = Probe::new(tx.reserve_many(3));
    many.pending();
    assert_eq!(rx.try_recv(), Ok(1));
    many.pending();
    drop(held);
    let all = many.ready().unwrap();
    assert_eq!(all.len(), 3);
    assert_eq!(tx.capacity(), 0);
    for (i, permit) in all.enumerate() {
        permit.send(10 + i as u8);
    }
    assert_eq!(
        [rx.try_recv(), rx.try_recv(), rx.try_recv()],
        [Ok(10), Ok(11), Ok(12)]
    );
}

#[test]
fn a_cancelled_reserve_many_gives_back_the_slots_it_collected() {
    let (tx, mut rx) = mpsc::channel::<u8>(2);
    tx.try_send(0).unwrap();
    tx.try_send(1).unwrap();
    let mut many = Probe::new(tx.reserve_many(2));
    many.pending();
    assert_eq!(rx.try_recv(), Ok(0)); // one slot collected, one still awaited
    many.pending();
    drop(many);
    assert_eq!(tx.capacity(), 1, "the collected slot came back");
    let mut too_many = Probe::new(tx.reserve_many(3));
    assert!(
        too_many.ready().is_err(),
        "more than max_capacity never fits"
    );
    drop(too_many);
    rx.close();
    assert!(matches!(
        tx.try_reserve_many(1),
        Err(TrySendError::Closed(()))
    ));
    assert!(Probe::new(tx.reserve_many(1)).ready().is_err());
}

#[test]
fn reserve_many_queues_once_for_all_its_slots_and_no_later_sender_overtakes_it() {
    let (tx, mut rx) = mpsc::channel::<u8>(3);
    for v in 0..3 {
        tx.try_send(v).unwrap();
    }
    let mut many = Probe::new(tx.reserve_many(3));
    many.pending();
    let mut single = Probe::new(tx.send(9));
    single.pending();
    assert_eq!(rx.try_recv(), Ok(0));
    assert_eq!(rx.try_recv(), Ok(1));
    many.pending();
    single.pending();
    assert_eq!(
        single.wakes(),
        0,
        "the slots freed so far are the front waiter's"
    );
    assert!(matches!(tx.try_send(8), Err(TrySendError::Full(8))));
    assert_eq!(rx.try_recv(), Ok(2));
    assert_eq!(many.wakes(), 1, "woken once, when all three are collected");
    let permits = many.ready().unwrap();
    assert_eq!(permits.len(), 3);
    single.pending();
    for (i, permit) in permits.enumerate() {
        permit.send(20 + i as u8);
    }
    assert_eq!(rx.try_recv(), Ok(20));
    single.ready().unwrap();
    assert_eq!(
        [rx.try_recv(), rx.try_recv(), rx.try_recv()],
        [Ok(21), Ok(22), Ok(9)]
    );
}

#[test]
fn a_cancelled_reserve_many_passes_its_collected_slots_to_the_next_sender() {
    let (tx, mut rx) = mpsc::channel::<u8>(2);
    tx.try_send(0).unwrap();
    tx.try_send(1).unwrap();
    let mut many = Probe::new(tx.reserve_many(2));
    many.pending();
    let mut single = Probe::new(tx.send(7));
    single.pending();
    assert_eq!(rx.try_recv(), Ok(0)); // collected by `many`, which still needs one
    assert_eq!(single.wakes(), 0);
    drop(many);
    assert_eq!(
        single.wakes(),
        1,
        "the slot `many` held goes to the next waiter"
    );
    single.ready().unwrap();
    assert_eq!([rx.try_recv(), rx.try_recv()], [Ok(1), Ok(7)]);
    assert_eq!(tx.capacity(), 2, "nothing leaked");
}

#[test]
fn closing_gives_back_what_a_waiting_reserve_many_collected() {
    let (tx, mut rx) = mpsc::channel::<u8>(2);
    tx.try_send(0).unwrap();
    tx.try_send(1).unwrap();
    let mut many = Probe::new(tx.reserve_many(2));
    many.pending();
    assert_eq!(rx.try_recv(), Ok(0));
    rx.close();
    assert!(many.ready().is_err());
    assert_eq!(rx.try_recv(), Ok(1));
    assert_eq!(
        rx.try_recv(),
        Err(mpsc::error::TryRecvError::Disconnected),
        "no slot is left reserved, so the closed channel is finished"
    );
}

#[test]
fn try_reserve_owned_gives_the_sender_back_either_way() {
    let (tx, mut rx) = mpsc::channel(1);
    let permit = tx.try_reserve_owned().unwrap();
    let tx = permit.send(5);
    let tx = match tx.try_reserve_owned() {
        Err(TrySendError::Full(tx)) => tx,
        other => panic!("expected Full with the sender, got {other:?}"),
    };
    assert_eq!(rx.try_recv(), Ok(5));
    drop(rx);
    assert!(matches!(
        tx.try_reserve_owned(),
        Err(TrySendError::Closed(_))
    ));
}
