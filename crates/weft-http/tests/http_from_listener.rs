//! A server on a socket that is already bound and listening (inherited from a cluster
//! supervisor or systemd): every loop serves its own duplicate of it, on the socket's own
//! address, and after shutdown no copy is left open in the process.

mod support;

use std::collections::HashSet;
use std::net::TcpStream;

use support::{wait_until, RawClient};
use weft_http::{Request, Response, Server};

/// Loops sharing the one socket: more than one, so the duplicates are exercised.
const LOOPS: usize = 2;

#[test]
fn every_loop_serves_the_inherited_socket_and_none_keeps_it_open() {
    let inherited = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = inherited.local_addr().unwrap();
    let server = Server::from_listener(inherited)
        .loops(LOOPS)
        .spawn(|_: Request| async {
            let thread = std::thread::current();
            Response::text(thread.name().unwrap_or("?").to_string())
        })
        .expect("server starts on the inherited socket");
    assert_eq!(server.local_addr(), addr, "the socket's own address");

    // The loops take turns at the one accept queue: keep connecting until every loop answered.
    let mut threads = HashSet::new();
    let mut kept = Vec::new();
    wait_until("every loop to answer on the inherited socket", || {
        let mut client = RawClient::connect(addr);
        client.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n");
        let answer = client.response();
        assert_eq!(answer.status, 200);
        threads.insert(answer.text());
        // Held open, so that the next connection goes to a loop that is not busy with it.
        kept.push(client);
        threads.len() == LOOPS
    });
    drop(kept);

    server.shutdown().unwrap();
    // Every duplicate is closed, and so is the socket: nothing listens on the port.
    let refused = TcpStream::connect(addr).map_err(|e| e.kind());
    assert_eq!(
        refused.err(),
        Some(std::io::ErrorKind::ConnectionRefused),
        "the inherited socket is closed after shutdown"
    );
}
