//! Errors reach callbacks as values, naming what failed and where; nothing
//! panics.

mod common;

use common::until;

use std::cell::RefCell;
use std::io;
use std::rc::Rc;

use weft::callback::net::{connect, create_server};

#[test]
fn connect_refused_reaches_the_callback() {
    weft::rt::Runtime::builder()
        .current_thread()
        .build()
        .unwrap()
        .block_on(async {
            // A port nobody listens on: bind one, learn it, close it.
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap();
            let result = Rc::new(RefCell::new(None));
            let r = result.clone();
            connect(port, move |sock| *r.borrow_mut() = Some(sock.map(|_| ())));
            until(|| result.borrow().is_some()).await;
            let err = result.borrow_mut().take().unwrap().unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused);
            assert!(
                err.to_string().contains(&port.to_string()),
                "names the address: {err}"
            );
        });
}

#[test]
fn listen_on_a_taken_address_reaches_the_callback() {
    weft::rt::Runtime::builder()
        .current_thread()
        .build()
        .unwrap()
        .block_on(async {
            let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            let addr = taken.local_addr().unwrap();
            let server = create_server(|_| unreachable!("never listening"));
            let result = Rc::new(RefCell::new(None));
            let r = result.clone();
            server.listen(addr, move |bound| *r.borrow_mut() = Some(bound));
            until(|| result.borrow().is_some()).await;
            let err = result.borrow_mut().take().unwrap().unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::AddrInUse);
            assert!(err.to_string().contains(&addr.to_string()), "{err}");
        });
}

#[test]
fn read_file_error_reaches_the_callback() {
    weft::rt::Runtime::builder()
        .current_thread()
        .build()
        .unwrap()
        .block_on(async {
            let missing = std::env::temp_dir().join("weft-no-such-dir/no-such-file");
            let result = Rc::new(RefCell::new(None));
            let r = result.clone();
            weft::callback::fs::read_file(&missing, move |contents| {
                *r.borrow_mut() = Some(contents)
            });
            until(|| result.borrow().is_some()).await;
            let err = result.borrow_mut().take().unwrap().unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::NotFound);
            assert!(
                err.to_string().contains("no-such-file"),
                "names the path: {err}"
            );
        });
}

#[test]
fn reset_connection_emits_error_then_close() {
    weft::rt::Runtime::builder()
        .current_thread()
        .build()
        .unwrap()
        .block_on(async {
            let events = Rc::new(RefCell::new(Vec::<String>::new()));
            let ev = events.clone();
            let server = create_server(move |socket| {
                let e = ev.clone();
                socket.on_error(move |err| e.borrow_mut().push(format!("error:{:?}", err.kind())));
                let e = ev.clone();
                socket.on_close(move |had_error| e.borrow_mut().push(format!("close:{had_error}")));
            });
            let addr = Rc::new(RefCell::new(None));
            let a = addr.clone();
            server.listen("127.0.0.1:0".parse().unwrap(), move |b| {
                *a.borrow_mut() = Some(b.unwrap())
            });
            until(|| addr.borrow().is_some()).await;
            let addr = addr.borrow().unwrap();
            // A std client that resets the connection (linger 0 + close).
            std::thread::spawn(move || {
                let s = socket_with_linger_zero(addr);
                drop(s);
            })
            .join()
            .unwrap();
            until(|| events.borrow().iter().any(|e| e.starts_with("close"))).await;
            assert_eq!(*events.borrow(), ["error:ConnectionReset", "close:true"]);
        });
}

/// Connects and sets SO_LINGER to zero, so dropping the socket sends RST.
fn socket_with_linger_zero(addr: std::net::SocketAddr) -> std::net::TcpStream {
    use std::os::fd::AsRawFd;
    let s = std::net::TcpStream::connect(addr).unwrap();
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: `s` is an open socket; the option value is a valid `linger`
    // of the size passed.
    let rc = unsafe {
        libc::setsockopt(
            s.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            std::ptr::from_ref(&linger).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        )
    };
    assert_eq!(rc, 0);
    s
}
