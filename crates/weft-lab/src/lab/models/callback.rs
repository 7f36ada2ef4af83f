//! `callback`: Node-style code on one event loop with weft::callback. A connection is a
//! [`Socket`] with a `data` listener that buffers bytes and answers each complete request;
//! `/io` answers from a `set_timeout` callback, `/cpu&offload=1` from the completion of a
//! worker-pool job (weft::callback has no pool call of its own, so that one completion is a
//! small local task that calls back, as Node's libuv work queue does). Requests on one
//! connection are answered in order, one at a time.

use std::cell::{Cell, RefCell};
use std::io;
use std::net::SocketAddr;
use std::rc::Rc;

use weft::callback::{self, net::Socket};
use weft::rt::Runtime;

use crate::lab::app::http1::{parse_head, response, Parsed};
use crate::lab::app::{self, Route};

/// One connection's state, shared by its callbacks.
struct Conn {
    /// `None` once closed (which also breaks the socket ↔ listener cycle).
    socket: RefCell<Option<Socket>>,
    /// Bytes received and not yet parsed.
    pending: RefCell<Vec<u8>>,
    /// A request is being answered (its callback has not run yet).
    busy: Cell<bool>,
}

/// Serves forever.
pub(super) fn serve(addr: SocketAddr) -> io::Result<()> {
    let runtime = Runtime::builder().current_thread().build()?;
    runtime.block_on(async move {
        let server = callback::net::create_server(on_connection);
        server.listen(addr, |bound| match bound {
            Ok(addr) => super::announce(addr),
            Err(error) => {
                eprintln!("weft lab model callback: {error}");
                std::process::exit(1);
            }
        });
        server.on_error(|error| eprintln!("weft lab model callback: accept: {error}"));
        std::future::pending::<()>().await;
    });
    Ok(())
}

fn on_connection(socket: Socket) {
    let conn = Rc::new(Conn {
        socket: RefCell::new(Some(socket.clone())),
        pending: RefCell::new(Vec::new()),
        busy: Cell::new(false),
    });
    let on_data = Rc::clone(&conn);
    socket.on_data(move |bytes| {
        on_data.pending.borrow_mut().extend_from_slice(bytes);
        pump(&on_data);
    });
    let on_close = Rc::clone(&conn);
    socket.on_close(move |_| {
        on_close.socket.borrow_mut().take();
        on_close.pending.borrow_mut().clear();
    });
}

/// Answers the next complete request, unless one is being answered.
fn pump(conn: &Rc<Conn>) {
    if conn.busy.get() {
        return;
    }
    let parsed = parse_head(&conn.pending.borrow());
    let (head, len) = match parsed {
        Parsed::Incomplete => return,
        Parsed::Refused(status, why) => {
            if let Some(socket) = conn.socket.borrow().as_ref() {
                socket.write(&response(status, why, true));
                socket.end();
            }
            return;
        }
        Parsed::Complete(head, len) => (head, len),
    };
    conn.pending.borrow_mut().drain(..len);
    conn.busy.set(true);
    let done = {
        let conn = Rc::clone(conn);
        let close = head.close;
        move |status: u16, body: String| {
            if let Some(socket) = conn.socket.borrow().as_ref() {
                socket.write(&response(status, &body, close));
                if close {
                    socket.end();
                }
            }
            conn.busy.set(false);
            if !close {
                pump(&conn);
            }
        }
    };
    match Route::of_target(&head.target) {
        Route::Hello => done(200, app::HELLO.to_string()),
        Route::Io(wait) => {
            callback::set_timeout(wait.as_millis() as u64, move || {
                done(200, app::io_body(wait))
            });
        }
        Route::Cpu {
            burn,
            offload: false,
        } => {
            app::burn(burn);
            done(200, app::cpu_body(burn, "the event loop (in a callback)"));
        }
        Route::Cpu {
            burn,
            offload: true,
        } => weft::spawn_local(async move {
            match weft::spawn_cpu(move || app::burn(burn)).await {
                Ok(()) => done(200, app::cpu_body(burn, "the worker pool")),
                Err(error) => done(503, format!("cpu lane: {error}")),
            }
        })
        .detach(),
        Route::Crash => app::crash(),
        Route::NotFound => done(404, "not found\n".to_string()),
        Route::Bad(why) => done(400, why),
    }
}
