//! Callback TCP: an echo server built from `data`/`end`/`close` events,
//! talked to by a callback client; events arrive in order with the
//! expected arguments.

mod common;

use common::until;

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use weft::callback::net::{connect, create_server};

/// Clients of the multi-client test.
const CLIENTS: usize = 50;

#[test]
fn echo_server_events_in_order() {
    let rt = weft::rt::Runtime::builder()
        .current_thread()
        .build()
        .unwrap();
    rt.block_on(async {
        let server_log = Rc::new(RefCell::new(Vec::<String>::new()));
        let log = server_log.clone();
        let server = create_server(move |socket| {
            log.borrow_mut().push("connection".into());
            let (s, l) = (socket.clone(), log.clone());
            socket.on_data(move |data| {
                l.borrow_mut()
                    .push(format!("data:{}", String::from_utf8_lossy(data)));
                s.write(data);
            });
            let (s, l) = (socket.clone(), log.clone());
            socket.on_end(move || {
                l.borrow_mut().push("end".into());
                s.write(b"bye");
            });
            let l = log.clone();
            socket.on_close(move |had_error| l.borrow_mut().push(format!("close:{had_error}")));
        });
        let addr = Rc::new(Cell::new(None));
        let a = addr.clone();
        server.listen("127.0.0.1:0".parse().unwrap(), move |bound| {
            a.set(Some(bound.unwrap()))
        });
        until(|| addr.get().is_some()).await;

        let received = Rc::new(RefCell::new(Vec::new()));
        let client_log = Rc::new(RefCell::new(Vec::<String>::new()));
        let (r, l) = (received.clone(), client_log.clone());
        connect(addr.get().unwrap(), move |sock| {
            let sock = sock.expect("connected");
            l.borrow_mut().push("connect".into());
            let r = r.clone();
            sock.on_data(move |d| r.borrow_mut().extend_from_slice(d));
            let l2 = l.clone();
            sock.on_end(move || l2.borrow_mut().push("end".into()));
            let l2 = l.clone();
            sock.on_close(move |e| l2.borrow_mut().push(format!("close:{e}")));
            assert!(sock.write(b"hello"));
            // Queued output is still sent before our side shuts down.
            sock.end();
        });
        until(|| {
            client_log
                .borrow()
                .last()
                .is_some_and(|e| e.starts_with("close"))
        })
        .await;
        until(|| {
            server_log
                .borrow()
                .last()
                .is_some_and(|e| e.starts_with("close"))
        })
        .await;
        assert_eq!(&*received.borrow(), b"hellobye");
        assert_eq!(*client_log.borrow(), ["connect", "end", "close:false"]);
        assert_eq!(
            *server_log.borrow(),
            ["connection", "data:hello", "end", "close:false"]
        );
        server.close();
        assert!(server.local_addr().is_none());
    });
}

#[test]
fn many_callback_clients() {
    let rt = weft::rt::Runtime::builder()
        .current_thread()
        .build()
        .unwrap();
    rt.block_on(async {
        let server = create_server(|socket| {
            let s = socket.clone();
            socket.on_data(move |d| {
                s.write(d);
            });
        });
        let addr = Rc::new(Cell::new(None));
        let a = addr.clone();
        server.listen("127.0.0.1:0".parse().unwrap(), move |bound| {
            a.set(Some(bound.unwrap()))
        });
        until(|| addr.get().is_some()).await;
        let done = Rc::new(Cell::new(0usize));
        for id in 0..CLIENTS {
            let done = done.clone();
            connect(addr.get().unwrap(), move |sock| {
                let sock = sock.unwrap();
                let msg = format!("client {id} says hi");
                let got = Rc::new(RefCell::new(Vec::new()));
                let (g, s, m) = (got.clone(), sock.clone(), msg.clone());
                sock.on_data(move |d| {
                    g.borrow_mut().extend_from_slice(d);
                    if g.borrow().len() == m.len() {
                        assert_eq!(&*g.borrow(), m.as_bytes());
                        s.end();
                    }
                });
                sock.on_close(move |had_error| {
                    assert!(!had_error);
                    done.set(done.get() + 1);
                });
                sock.write(msg.as_bytes());
            });
        }
        until(|| done.get() == CLIENTS).await;
    });
}

#[test]
fn a_panicking_listener_closes_only_its_socket() {
    let rt = weft::rt::Runtime::builder()
        .current_thread()
        .build()
        .unwrap();
    rt.block_on(async {
        let server = create_server(|socket| {
            let s = socket.clone();
            socket.on_data(move |d| {
                if d == b"boom" {
                    panic!("listener failed");
                }
                s.write(d);
            });
        });
        let addr = Rc::new(Cell::new(None));
        let a = addr.clone();
        server.listen("127.0.0.1:0".parse().unwrap(), move |bound| {
            a.set(Some(bound.unwrap()))
        });
        until(|| addr.get().is_some()).await;
        let addr = addr.get().unwrap();

        // The failing client's connection is closed by the server...
        let failed_closed = Rc::new(Cell::new(false));
        let f = failed_closed.clone();
        connect(addr, move |sock| {
            let sock = sock.unwrap();
            sock.on_close(move |_| f.set(true));
            sock.write(b"boom");
        });
        until(|| failed_closed.get()).await;

        // ...and the server still serves the next one.
        let echoed = Rc::new(RefCell::new(Vec::new()));
        let e = echoed.clone();
        connect(addr, move |sock| {
            let sock = sock.unwrap();
            sock.on_data(move |d| e.borrow_mut().extend_from_slice(d));
            sock.write(b"still serving");
        });
        until(|| echoed.borrow().as_slice() == b"still serving").await;
    });
}
