//! Request-body decoding: `Content-Length` and chunked, incremental.
//!
//! A [`BodyDecoder`] is fed whatever bytes have arrived, appends the body
//! bytes it finds to the request's buffer, and reports how many input bytes
//! it consumed and whether the body is complete. It can stop anywhere (in
//! the middle of a chunk-size line, a CRLF or a trailer) and resume with the
//! next read; nothing is re-scanned.
//!
//! Chunked framing (RFC 9112 §7.1) is parsed strictly: chunk sizes are hex
//! digits (at most 16), extensions are skipped but bounded
//! ([`MAX_CHUNK_EXTENSION_BYTES`]) and may hold no control byte but HTAB
//! (a NUL or a bare LF in one is 400), every line ends in CRLF, trailer
//! fields are read and discarded (bounded by [`MAX_TRAILER_BYTES`]), except
//! that a trailer naming a framing or routing field (`Content-Length`,
//! `Transfer-Encoding`, `Host`: RFC 9110 §6.5.1 forbids them there) is 400,
//! since a proxy that merged it into the head would frame the stream
//! differently. The decoded
//! size is checked against the body limit before a chunk's data is copied, so
//! a 413 is answered as soon as a chunk header announces too much.

use crate::limits::{MAX_CHUNK_EXTENSION_BYTES, MAX_TRAILER_BYTES};
use crate::{HttpError, StatusCode};

const ERR_TOO_LARGE: HttpError = HttpError::new(
    StatusCode::PAYLOAD_TOO_LARGE,
    "request body exceeds the size limit",
);
const ERR_CHUNK_SIZE: HttpError = HttpError::bad_request("invalid chunk size line");
const ERR_CHUNK_END: HttpError = HttpError::bad_request("chunk data not followed by CRLF");
const ERR_CHUNK_EXT: HttpError = HttpError::bad_request("chunk extension too long");
const ERR_TRAILER_LINE: HttpError = HttpError::bad_request("invalid trailer line ending");
const ERR_CHUNK_EXT_BYTE: HttpError = HttpError::bad_request("control byte in a chunk extension");
const ERR_TRAILER_FORBIDDEN: HttpError = HttpError::bad_request(
    "trailer field not allowed (Content-Length, Transfer-Encoding and Host frame or route the request)",
);

/// Trailer field names refused (lowercase): the ones that frame or route a request.
const FORBIDDEN_TRAILERS: [&[u8]; 3] = [b"content-length", b"transfer-encoding", b"host"];

/// Longest of [`FORBIDDEN_TRAILERS`]: a trailer name is remembered up to this many bytes.
const TRAILER_NAME_MAX: usize = 17;

/// `TrailerName::len` once the name is over (colon seen) or longer than any forbidden one.
const NAME_DONE: u8 = u8::MAX;
const ERR_TRAILERS_TOO_LARGE: HttpError = HttpError::new(
    StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
    "chunked trailer fields too large",
);

/// Where a chunked decoder stands. Each state names the next byte expected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Chunk {
    /// Reading hex digits of a chunk size (`digits` read so far).
    Size { size: u64, digits: u8 },
    /// Skipping extensions (or whitespace) after the size, until CR.
    Extension { size: u64, skipped: usize },
    /// CR seen after the size line; LF expected.
    SizeLf { size: u64 },
    /// Copying `left` more data bytes.
    Data { left: u64 },
    /// Data done; CR expected.
    DataCr,
    /// Data done and CR seen; LF expected.
    DataLf,
    /// In the trailer section, at the start of a line (`line` bytes read of it).
    Trailer { line: usize },
    /// CR seen at the end of a trailer line (empty line ends the body).
    TrailerLf { line: usize },
    /// Body complete.
    Done,
}

/// Incremental decoder for one request body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BodyDecoder {
    /// `Content-Length` body with this many bytes still to come.
    Length { left: u64 },
    /// Chunked body.
    Chunked { state: ChunkState },
}

/// Chunked decoder state (kept opaque to the rest of the crate).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ChunkState {
    chunk: Chunk,
    /// Data bytes announced by chunk sizes so far (checked against the limit).
    decoded: u64,
    /// Trailer bytes read so far.
    trailer: usize,
    /// The start of the current trailer line's field name (lowercased).
    name: TrailerName,
}

/// The field name of a trailer line as it arrives, kept only as long as it could still be
/// one of [`FORBIDDEN_TRAILERS`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct TrailerName {
    bytes: [u8; TRAILER_NAME_MAX],
    /// Bytes kept, or [`NAME_DONE`].
    len: u8,
}

impl TrailerName {
    const EMPTY: TrailerName = TrailerName {
        bytes: [0; TRAILER_NAME_MAX],
        len: 0,
    };

    /// Takes one byte of a trailer line; an error if the name just ended as a forbidden one.
    fn push(&mut self, byte: u8) -> Result<(), HttpError> {
        if self.len == NAME_DONE {
            return Ok(());
        }
        if byte == b':' {
            let name = &self.bytes[..usize::from(self.len)];
            self.len = NAME_DONE;
            if FORBIDDEN_TRAILERS.contains(&name) {
                return Err(ERR_TRAILER_FORBIDDEN);
            }
            return Ok(());
        }
        if usize::from(self.len) == TRAILER_NAME_MAX {
            self.len = NAME_DONE;
            return Ok(());
        }
        self.bytes[usize::from(self.len)] = byte.to_ascii_lowercase();
        self.len += 1;
        Ok(())
    }
}

impl BodyDecoder {
    /// A decoder for a body of exactly `len` bytes.
    pub(crate) fn length(len: u64) -> BodyDecoder {
        BodyDecoder::Length { left: len }
    }

    /// A decoder for a chunked body.
    pub(crate) fn chunked() -> BodyDecoder {
        BodyDecoder::Chunked {
            state: ChunkState {
                chunk: Chunk::Size { size: 0, digits: 0 },
                decoded: 0,
                trailer: 0,
                name: TrailerName::EMPTY,
            },
        }
    }

    /// Decodes from `input`, appending body bytes to `out`. Returns the
    /// number of input bytes consumed and whether the body is complete;
    /// when complete, input after the body was not touched. `max_body` is
    /// the most decoded bytes accepted (413 beyond it).
    pub(crate) fn decode(
        &mut self,
        input: &[u8],
        out: &mut Vec<u8>,
        max_body: usize,
    ) -> Result<(usize, bool), HttpError> {
        match self {
            BodyDecoder::Length { left } => {
                let take = (*left).min(input.len() as u64) as usize;
                out.extend_from_slice(&input[..take]);
                *left -= take as u64;
                Ok((take, *left == 0))
            }
            BodyDecoder::Chunked { state } => state.decode(input, out, max_body as u64),
        }
    }
}

impl ChunkState {
    fn decode(
        &mut self,
        input: &[u8],
        out: &mut Vec<u8>,
        max_body: u64,
    ) -> Result<(usize, bool), HttpError> {
        let mut at = 0;
        while at < input.len() {
            let byte = input[at];
            self.chunk = match self.chunk {
                Chunk::Size { size, digits } => match hex_value(byte) {
                    Some(d) if digits < 16 => Chunk::Size {
                        size: size << 4 | u64::from(d),
                        digits: digits + 1,
                    },
                    Some(_) => return Err(ERR_CHUNK_SIZE),
                    None if digits == 0 => return Err(ERR_CHUNK_SIZE),
                    None => match byte {
                        b'\r' => Chunk::SizeLf { size },
                        b';' | b' ' | b'\t' => Chunk::Extension { size, skipped: 1 },
                        _ => return Err(ERR_CHUNK_SIZE),
                    },
                },
                Chunk::Extension { size, skipped } => match byte {
                    b'\r' => Chunk::SizeLf { size },
                    b'\n' => return Err(ERR_CHUNK_SIZE),
                    b if (b < 0x20 && b != b'\t') || b == 0x7f => return Err(ERR_CHUNK_EXT_BYTE),
                    _ if skipped >= MAX_CHUNK_EXTENSION_BYTES => return Err(ERR_CHUNK_EXT),
                    _ => Chunk::Extension {
                        size,
                        skipped: skipped + 1,
                    },
                },
                Chunk::SizeLf { size } => {
                    if byte != b'\n' {
                        return Err(ERR_CHUNK_SIZE);
                    }
                    if size == 0 {
                        Chunk::Trailer { line: 0 }
                    } else if self.decoded.saturating_add(size) > max_body {
                        return Err(ERR_TOO_LARGE);
                    } else {
                        self.decoded += size;
                        Chunk::Data { left: size }
                    }
                }
                Chunk::Data { left } => {
                    let take = left.min((input.len() - at) as u64) as usize;
                    out.extend_from_slice(&input[at..at + take]);
                    at += take;
                    let left = left - take as u64;
                    self.chunk = if left == 0 {
                        Chunk::DataCr
                    } else {
                        Chunk::Data { left }
                    };
                    continue;
                }
                Chunk::DataCr if byte == b'\r' => Chunk::DataLf,
                Chunk::DataLf if byte == b'\n' => Chunk::Size { size: 0, digits: 0 },
                Chunk::DataCr | Chunk::DataLf => return Err(ERR_CHUNK_END),
                Chunk::Trailer { line } => {
                    if byte == b'\r' {
                        Chunk::TrailerLf { line }
                    } else if byte == b'\n' {
                        return Err(ERR_TRAILER_LINE);
                    } else {
                        self.trailer += 1;
                        if self.trailer > MAX_TRAILER_BYTES {
                            return Err(ERR_TRAILERS_TOO_LARGE);
                        }
                        self.name.push(byte)?;
                        Chunk::Trailer { line: line + 1 }
                    }
                }
                Chunk::TrailerLf { line } => {
                    if byte != b'\n' {
                        return Err(ERR_TRAILER_LINE);
                    }
                    if line == 0 {
                        self.chunk = Chunk::Done;
                        return Ok((at + 1, true));
                    }
                    self.name = TrailerName::EMPTY;
                    Chunk::Trailer { line: 0 }
                }
                Chunk::Done => return Ok((at, true)),
            };
            at += 1;
        }
        Ok((at, self.chunk == Chunk::Done))
    }
}

fn hex_value(byte: u8) -> Option<u8> {
    match byte {
        b'0'..=b'9' => Some(byte - b'0'),
        b'a'..=b'f' => Some(byte - b'a' + 10),
        b'A'..=b'F' => Some(byte - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMIT: usize = 1 << 20;

    /// Feeds `input` in pieces of `step` bytes, as reads would deliver it.
    fn decode_in_steps(
        mut decoder: BodyDecoder,
        input: &[u8],
        step: usize,
    ) -> Result<(Vec<u8>, usize), HttpError> {
        let mut out = Vec::new();
        let mut fed = 0;
        let mut consumed = 0;
        let mut pending: Vec<u8> = Vec::new();
        while fed < input.len() {
            let end = (fed + step).min(input.len());
            pending.extend_from_slice(&input[fed..end]);
            fed = end;
            let (used, done) = decoder.decode(&pending, &mut out, LIMIT)?;
            pending.drain(..used);
            consumed += used;
            if done {
                return Ok((out, consumed));
            }
        }
        Err(HttpError::bad_request("incomplete"))
    }

    #[test]
    fn content_length_stops_at_the_end() {
        let mut d = BodyDecoder::length(5);
        let mut out = Vec::new();
        assert_eq!(d.decode(b"he", &mut out, LIMIT).unwrap(), (2, false));
        assert_eq!(d.decode(b"lloGET", &mut out, LIMIT).unwrap(), (3, true));
        assert_eq!(out, b"hello");
    }

    #[test]
    fn chunked_in_every_split() {
        let wire = b"4;ext=1\r\nWiki\r\n5\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\nX-Trailer: 1\r\n\r\nNEXT";
        let body_len = wire.len() - 4;
        for step in 1..wire.len() {
            let (out, used) = decode_in_steps(BodyDecoder::chunked(), wire, step).unwrap();
            assert_eq!(out, b"Wikipedia in\r\n\r\nchunks.", "step {step}");
            assert_eq!(used, body_len, "step {step}");
        }
    }

    #[test]
    fn chunked_stops_before_next_request() {
        let mut d = BodyDecoder::chunked();
        let mut out = Vec::new();
        let input = b"3\r\nabc\r\n0\r\n\r\nGET / HTTP/1.1";
        let (used, done) = d.decode(input, &mut out, LIMIT).unwrap();
        assert!(done);
        assert_eq!(&input[used..], b"GET / HTTP/1.1");
        assert_eq!(out, b"abc");
    }

    #[test]
    fn chunked_errors() {
        let cases: [(&[u8], u16); 12] = [
            (b"1;a=\0\r\nx\r\n", 400),
            (b"1;a=\x7f\r\nx\r\n", 400),
            (b"0\r\nContent-Length: 5\r\n\r\n", 400),
            (b"0\r\nX-A: 1\r\nTRANSFER-ENCODING: chunked\r\n\r\n", 400),
            (b"0\r\nHost: evil\r\n\r\n", 400),
            (b"x\r\n", 400),
            (b"\r\n", 400),
            (b"3\nabc\r\n0\r\n\r\n", 400),
            (b"3\r\nabcX\r\n", 400),
            (b"11111111111111111\r\n", 400),
            (b"0\r\nTrailer\n", 400),
            (b"200001\r\n", 413),
        ];
        for (input, status) in cases {
            let mut out = Vec::new();
            let err = BodyDecoder::chunked()
                .decode(input, &mut out, LIMIT)
                .unwrap_err();
            assert_eq!(
                err.status().as_u16(),
                status,
                "{:?}",
                String::from_utf8_lossy(input)
            );
        }
    }

    #[test]
    fn harmless_trailers_and_extensions_are_tolerated() {
        for input in [
            &b"1;name=\"q v\"\t\r\nx\r\n0\r\n\r\n"[..],
            b"0\r\nContent-Lengthy: 5\r\nX-Host: a\r\nhost-name: b\r\n\r\n",
            b"0\r\nX-Very-Long-Trailer-Name-Indeed: content-length\r\n\r\n",
        ] {
            let mut out = Vec::new();
            let (used, done) = BodyDecoder::chunked()
                .decode(input, &mut out, LIMIT)
                .unwrap_or_else(|e| panic!("{e:?} for {:?}", String::from_utf8_lossy(input)));
            assert!(
                done && used == input.len(),
                "{:?}",
                String::from_utf8_lossy(input)
            );
        }
    }

    #[test]
    fn limit_counts_all_chunks() {
        let mut d = BodyDecoder::chunked();
        let mut out = Vec::new();
        let (used, done) = d.decode(b"8\r\n12345678\r\n", &mut out, 10).unwrap();
        assert_eq!((used, done), (13, false));
        let err = d.decode(b"3\r\n", &mut out, 10).unwrap_err();
        assert_eq!(err.status().as_u16(), 413);
    }

    #[test]
    fn extension_and_trailer_bounds() {
        let mut long_ext = b"1;".to_vec();
        long_ext.extend(vec![b'a'; MAX_CHUNK_EXTENSION_BYTES + 1]);
        let err = BodyDecoder::chunked()
            .decode(&long_ext, &mut Vec::new(), LIMIT)
            .unwrap_err();
        assert_eq!(err.status().as_u16(), 400);

        let mut long_trailer = b"0\r\n".to_vec();
        long_trailer.extend(vec![b'a'; MAX_TRAILER_BYTES + 1]);
        let err = BodyDecoder::chunked()
            .decode(&long_trailer, &mut Vec::new(), LIMIT)
            .unwrap_err();
        assert_eq!(err.status().as_u16(), 431);
    }
}
