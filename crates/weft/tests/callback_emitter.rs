//! EventEmitter: listeners run in order with the emitted argument; `once`,
//! `off`, and changes during an emit follow Node's rules.

use std::cell::RefCell;
use std::rc::Rc;

use weft::callback::EventEmitter;

#[test]
fn listeners_run_in_order_with_the_argument() {
    let em = EventEmitter::<(String, u32)>::new();
    let log = Rc::new(RefCell::new(Vec::new()));
    for name in ["first", "second"] {
        let log = log.clone();
        em.on("order", move |(item, qty)| {
            log.borrow_mut().push(format!("{name}:{item}x{qty}"))
        });
    }
    let l = log.clone();
    em.once("order", move |(item, _)| {
        l.borrow_mut().push(format!("once:{item}"))
    });
    assert!(em.emit("order", &("tea".into(), 2)));
    assert!(em.emit("order", &("cake".into(), 1)));
    assert_eq!(
        *log.borrow(),
        [
            "first:teax2",
            "second:teax2",
            "once:tea",
            "first:cakex1",
            "second:cakex1"
        ]
    );
    assert_eq!(em.listener_count("order"), 2);
    assert!(!em.emit("nobody", &("x".into(), 0)));
}

#[test]
fn changes_during_an_emit_apply_to_the_next() {
    let em = EventEmitter::<u32>::new();
    let log = Rc::new(RefCell::new(Vec::new()));
    let second = Rc::new(RefCell::new(None));
    let (em2, l, s) = (em.clone(), log.clone(), second.clone());
    em.on("e", move |v| {
        l.borrow_mut().push(("a", *v));
        // Removing a later listener does not stop it for this emit...
        if let Some(id) = s.borrow_mut().take() {
            assert!(em2.off("e", id));
        }
        // ...and a listener added now first runs on the next emit.
        let l2 = l.clone();
        em2.on("e", move |v| l2.borrow_mut().push(("added", *v)));
    });
    let l = log.clone();
    *second.borrow_mut() = Some(em.on("e", move |v| l.borrow_mut().push(("b", *v))));
    em.emit("e", &1);
    em.emit("e", &2);
    assert_eq!(*log.borrow(), [("a", 1), ("b", 1), ("a", 2), ("added", 2)]);
    // The first listener holds a clone of the emitter: a reference cycle, as a Node listener
    // that captures its emitter is one; removing the listeners breaks it (LeakSanitizer).
    em.remove_all_listeners("e");
}

#[test]
fn remove_all_listeners() {
    let em = EventEmitter::<()>::new();
    em.on("x", |_| unreachable!("removed"));
    em.remove_all_listeners("x");
    assert!(!em.emit("x", &()));
    assert_eq!(em.listener_count("x"), 0);
}
