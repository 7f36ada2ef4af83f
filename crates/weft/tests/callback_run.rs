//! `weft::callback::run`: a callback program runs until nothing is left that could call back,
//! as `node app.js` exits. Timers, a listening server, an open socket and a pending file read
//! keep it going; an EventEmitter alone does not.

use std::cell::{Cell, RefCell};
use std::io::{Read, Write};
use std::rc::Rc;
use std::sync::mpsc;
use std::time::Duration;
use weft::callback::{self, net, EventEmitter};
use weft_testkit::{within_deadline, TempDir, DEADLINE};

#[test]
fn a_timer_chain_exits_after_the_last_timer() {
    let log = within_deadline("timer chain", || {
        let log = Rc::new(RefCell::new(Vec::new()));
        let l = log.clone();
        callback::run(move || {
            let l2 = l.clone();
            callback::set_timeout(20, move || {
                l2.borrow_mut().push("first");
                let l3 = l2.clone();
                callback::set_timeout(20, move || {
                    l3.borrow_mut().push("second");
                    // An interval that clears itself on its third tick.
                    let ticks = Rc::new(Cell::new(0));
                    let id = Rc::new(Cell::new(None));
                    let (t, i, l4) = (ticks.clone(), id.clone(), l3.clone());
                    id.set(Some(callback::set_interval(5, move || {
                        t.set(t.get() + 1);
                        l4.borrow_mut().push("tick");
                        if t.get() == 3 {
                            callback::clear_interval(i.get().unwrap());
                        }
                    })));
                });
            });
            l.borrow_mut().push("main");
        });
        l_into_vec(log)
    });
    assert_eq!(log, ["main", "first", "second", "tick", "tick", "tick"]);
}

fn l_into_vec(log: Rc<RefCell<Vec<&'static str>>>) -> Vec<&'static str> {
    log.borrow().clone()
}

#[test]
fn a_cleared_timer_keeps_nothing_alive_and_run_returns_mains_value() {
    let out = within_deadline("cleared timer", || {
        callback::run(|| {
            // An hour-long timer, cleared at once: run returns without waiting for it.
            let id = callback::set_timeout(3_600_000, || panic!("a cleared timer ran"));
            assert!(callback::clear_timeout(id));
            42
        })
    });
    assert_eq!(out, 42);
}

#[test]
fn an_event_emitter_alone_keeps_nothing_alive() {
    within_deadline("emitter only", || {
        callback::run(|| {
            let emitter: EventEmitter<u32> = EventEmitter::new();
            emitter.on("data", |_| {});
            // Kept past main in a timer that drops it: the run ends with the timer.
            callback::set_timeout(1, move || drop(emitter));
        });
    });
}

#[test]
fn a_server_keeps_it_running_until_closed() {
    let (addr_tx, addr_rx) = mpsc::channel();
    // A real client on another OS thread: it only starts once the server listens, so the
    // program must still be running to answer it.
    let client = std::thread::spawn(move || {
        let addr = addr_rx
            .recv_timeout(DEADLINE)
            .expect("the server never listened");
        // Let run's loop reach idle-but-for-the-server first.
        std::thread::sleep(Duration::from_millis(100));
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(DEADLINE)).unwrap();
        s.write_all(b"hello").unwrap();
        s.shutdown(std::net::Shutdown::Write).unwrap();
        let mut echoed = Vec::new();
        s.read_to_end(&mut echoed).unwrap();
        echoed
    });
    let closed = within_deadline("server program", move || {
        let closed = Rc::new(Cell::new(false));
        let c = closed.clone();
        callback::run(move || {
            // The server, reachable from its own callbacks to close it.
            let slot: Rc<RefCell<Option<net::Server>>> = Rc::new(RefCell::new(None));
            let in_cb = slot.clone();
            let server = net::create_server(move |socket| {
                let s = socket.clone();
                socket.on_data(move |data| {
                    s.write(data);
                });
                let (s, slot, c) = (socket.clone(), in_cb.clone(), c.clone());
                socket.on_end(move || {
                    s.end();
                    // The only client is done: close the server; the program ends once
                    // this socket has closed too.
                    if let Some(server) = slot.borrow_mut().take() {
                        server.close();
                    }
                    c.set(true);
                });
            });
            server.listen("127.0.0.1:0".parse().unwrap(), move |bound| {
                addr_tx.send(bound.unwrap()).unwrap();
            });
            *slot.borrow_mut() = Some(server);
        });
        closed.get()
    });
    let echoed = client.join().unwrap();
    assert_eq!(echoed, b"hello");
    assert!(closed, "run returned before the server was closed");
}

#[test]
fn a_pending_read_file_keeps_it_alive_until_its_callback_ran() {
    let dir = TempDir::new("callback-run-fifo");
    let fifo = dir.path().join("fifo");
    let c_path = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: a NUL-terminated path and a mode.
    assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) }, 0);
    // The read blocks (on the pool) until this writer opens the FIFO and closes it.
    let writer_path = fifo.clone();
    let writer = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(100));
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .open(&writer_path)
            .unwrap();
        f.write_all(b"through a fifo").unwrap();
    });
    let got = within_deadline("pending read_file", move || {
        let got = Rc::new(RefCell::new(None));
        let g = got.clone();
        callback::run(move || {
            callback::fs::read_file(&fifo, move |result| {
                *g.borrow_mut() = Some(result.unwrap());
            });
        });
        let got = got.borrow_mut().take();
        got
    });
    writer.join().unwrap();
    assert_eq!(
        got.as_deref(),
        Some(&b"through a fifo"[..]),
        "run returned before the callback"
    );
}
