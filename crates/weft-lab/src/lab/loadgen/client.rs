//! One HTTP/1.1 request/answer exchange on a keep-alive connection.

use std::io;

use weft::net::TcpStream;

/// Bytes read per `read` call.
pub(super) const READ_CHUNK: usize = 4096;

/// Largest answer head the client accepts: 16 KiB (the lab's are under 200 bytes).
const MAX_HEAD_BYTES: usize = 16 * 1024;

/// An answer's status and whether the server closes the connection after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Answer {
    pub(super) status: u16,
    pub(super) close: bool,
}

/// The bytes of `GET target`.
pub(super) fn request(target: &str) -> Vec<u8> {
    format!("GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").into_bytes()
}

/// Sends `request` and reads one whole answer (head and `Content-Length` body).
///
/// # Cancel safety
///
/// Not cancel safe: cancelled midway, the connection is in an unknown state and must be
/// dropped (the load generator does).
pub(super) async fn exchange(
    stream: &TcpStream,
    request: &[u8],
    buf: &mut Vec<u8>,
) -> io::Result<Answer> {
    buf.clear();
    stream.write_all(request).await?;
    let head_end = loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break end + 4;
        }
        if buf.len() > MAX_HEAD_BYTES {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "answer head too large",
            ));
        }
        read_more(stream, buf).await?;
    };
    let head = std::str::from_utf8(&buf[..head_end])
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "answer head is not UTF-8"))?;
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "no status in the answer"))?;
    let mut length = 0;
    let mut close = false;
    for line in head.split("\r\n").skip(1) {
        if let Some((name, value)) = line.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().map_err(|_| {
                    io::Error::new(
                        io::ErrorKind::InvalidData,
                        "bad Content-Length in the answer",
                    )
                })?;
            } else if name.eq_ignore_ascii_case("connection")
                && value.trim().eq_ignore_ascii_case("close")
            {
                close = true;
            }
        }
    }
    while buf.len() < head_end + length {
        read_more(stream, buf).await?;
    }
    Ok(Answer { status, close })
}

async fn read_more(stream: &TcpStream, buf: &mut Vec<u8>) -> io::Result<()> {
    let old = buf.len();
    buf.resize(old + READ_CHUNK, 0);
    let n = stream.read(&mut buf[old..]).await;
    let n = match n {
        Ok(n) => n,
        Err(e) => {
            buf.truncate(old);
            return Err(e);
        }
    };
    buf.truncate(old + n);
    if n == 0 {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "the server closed the connection before answering",
        ));
    }
    Ok(())
}
