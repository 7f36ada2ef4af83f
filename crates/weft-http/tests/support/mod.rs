//! Shared helpers for the integration tests: start a server, talk raw HTTP
//! over std sockets, parse answers.
//!
//! Every blocking read has a guard deadline ([`IO_GUARD`]): a server that
//! fails to answer makes the test fail instead of hanging. The guard is a
//! hang detector, not a timing assertion.

#![allow(dead_code)]

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use weft_http::{Handler, Server, ServerConfig, ServerHandle};
// The one bounded wait of the workspace's tests.
#[allow(unused_imports)]
pub use weft_testkit::wait_until;

/// Longest any single wait in a test may take before the test fails.
pub const IO_GUARD: Duration = weft_testkit::DEADLINE;

/// Starts `handler` on one loop with `config`.
pub fn start<H: Handler + Clone + Send>(handler: H, config: ServerConfig) -> ServerHandle {
    Server::bind("127.0.0.1:0".parse().unwrap())
        .loops(1)
        .config(config)
        .spawn(handler)
        .expect("server starts")
}

/// One parsed response.
#[derive(Debug)]
pub struct RawResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl RawResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// A raw HTTP/1.1 client over a std socket.
pub struct RawClient {
    pub stream: TcpStream,
    buf: Vec<u8>,
}

impl RawClient {
    pub fn connect(addr: SocketAddr) -> RawClient {
        let stream = TcpStream::connect(addr).expect("connect");
        stream.set_read_timeout(Some(IO_GUARD)).unwrap();
        stream.set_nodelay(true).unwrap();
        RawClient {
            stream,
            buf: Vec::new(),
        }
    }

    pub fn send(&mut self, bytes: impl AsRef<[u8]>) {
        self.stream.write_all(bytes.as_ref()).expect("send");
    }

    /// Sends, ignoring errors (the server may already have closed).
    pub fn send_lossy(&mut self, bytes: impl AsRef<[u8]>) {
        let _ = self.stream.write_all(bytes.as_ref());
    }

    fn fill(&mut self) -> usize {
        let mut chunk = [0u8; 8192];
        match self.stream.read(&mut chunk) {
            Ok(n) => {
                self.buf.extend_from_slice(&chunk[..n]);
                n
            }
            Err(e) if e.kind() == ErrorKind::ConnectionReset => 0,
            Err(e) => panic!("read failed (a hung server trips the {IO_GUARD:?} guard): {e}"),
        }
    }

    /// Reads one response to a non-HEAD request.
    pub fn response(&mut self) -> RawResponse {
        self.read_response(false)
    }

    /// Reads one response; `head` = it answers a HEAD request (no body).
    pub fn read_response(&mut self, head: bool) -> RawResponse {
        let (status, headers, head_len) = loop {
            let mut slots = [httparse::EMPTY_HEADER; 64];
            let mut parsed = httparse::Response::new(&mut slots);
            match parsed.parse(&self.buf).expect("well-formed response head") {
                httparse::Status::Complete(len) => {
                    let headers = parsed
                        .headers
                        .iter()
                        .map(|h| {
                            (
                                h.name.to_owned(),
                                String::from_utf8_lossy(h.value).into_owned(),
                            )
                        })
                        .collect::<Vec<_>>();
                    break (parsed.code.unwrap(), headers, len);
                }
                httparse::Status::Partial => {
                    if self.fill() == 0 {
                        panic!(
                            "connection closed before a full response head: {:?}",
                            String::from_utf8_lossy(&self.buf)
                        );
                    }
                }
            }
        };
        self.buf.drain(..head_len);
        let mut response = RawResponse {
            status,
            headers,
            body: Vec::new(),
        };
        if head || status < 200 || status == 204 || status == 304 {
            return response;
        }
        if response
            .header("transfer-encoding")
            .is_some_and(|te| te.eq_ignore_ascii_case("chunked"))
        {
            response.body = self.read_chunked();
        } else if let Some(len) = response.header("content-length") {
            let len: usize = len.parse().expect("numeric Content-Length");
            while self.buf.len() < len {
                assert!(self.fill() > 0, "connection closed inside a body");
            }
            response.body = self.buf.drain(..len).collect();
        } else {
            while self.fill() > 0 {}
            response.body = std::mem::take(&mut self.buf);
        }
        response
    }

    fn read_line(&mut self) -> String {
        loop {
            if let Some(pos) = self.buf.windows(2).position(|w| w == b"\r\n") {
                let line: Vec<u8> = self.buf.drain(..pos + 2).collect();
                return String::from_utf8(line[..pos].to_vec()).unwrap();
            }
            assert!(self.fill() > 0, "connection closed inside chunked framing");
        }
    }

    fn read_chunked(&mut self) -> Vec<u8> {
        let mut body = Vec::new();
        loop {
            let size_line = self.read_line();
            let size = usize::from_str_radix(size_line.split(';').next().unwrap().trim(), 16)
                .expect("hex chunk size");
            if size == 0 {
                while !self.read_line().is_empty() {}
                return body;
            }
            while self.buf.len() < size + 2 {
                assert!(self.fill() > 0, "connection closed inside a chunk");
            }
            body.extend(self.buf.drain(..size));
            assert_eq!(self.buf.drain(..2).collect::<Vec<_>>(), b"\r\n");
        }
    }

    /// True once the server has closed the connection (EOF or reset), after
    /// discarding anything still unread. Fails if nothing happens within the guard.
    pub fn closed(&mut self) -> bool {
        self.buf.clear();
        loop {
            let mut chunk = [0u8; 8192];
            match self.stream.read(&mut chunk) {
                Ok(0) => return true,
                Ok(_) => continue,
                Err(e) if e.kind() == ErrorKind::ConnectionReset => return true,
                Err(e) => panic!("connection still open after {IO_GUARD:?}: {e}"),
            }
        }
    }

    /// Bytes received but not consumed by `response`.
    pub fn unread(&self) -> &[u8] {
        &self.buf
    }
}
