//! TLS in the service itself: rustls (ring provider) through futures-rustls over the accepted
//! `weft::net::TcpStream`, which is a futures-io stream already: no adapter.
//!
//! - [`load`] reads the PEM certificate chain and private key (rustls-pki-types' PEM parser)
//!   and builds the server config, with ALPN `h2` and `http/1.1` (hyper-util's auto builder
//!   serves either). Each failure names the file and what is wrong with it.
//! - [`accept`] reads the connection's first byte before the handshake. A TLS client opens
//!   with a handshake record (`0x16`); the byte is put back in front of the stream
//!   ([`Rewind`]) and rustls takes over. A client speaking plain HTTP to the TLS port (its
//!   first byte is a method's capital letter) gets a plain-text `400` saying to use https,
//!   instead of a connection reset; anything else is closed. Either way the server keeps
//!   serving. Every step runs under [`HANDSHAKE_TIMEOUT`].

use std::io;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_io::{AsyncRead, AsyncWrite};
use futures_rustls::server::TlsStream;
use futures_rustls::TlsAcceptor;
use futures_util::AsyncWriteExt;
use rustls::ServerConfig;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use weft::net::TcpStream;

/// How long a client has to open a connection and finish the TLS handshake.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// The first byte of a TLS record carrying a handshake message (a ClientHello).
const TLS_HANDSHAKE: u8 = 0x16;

/// What a plain-HTTP request to the TLS port is answered with.
const PLAIN_HTTP_ANSWER: &[u8] = b"HTTP/1.1 400 Bad Request\r\n\
content-type: text/plain; charset=utf-8\r\n\
content-length: 55\r\n\
connection: close\r\n\
\r\n\
this port speaks HTTPS: send the request with https://\n";

/// How much of an unwanted plain-HTTP request is read (and dropped) after the answer, so the
/// close is not a reset that loses the answer.
const PLAIN_DRAIN_MAX: usize = 64 * 1024;

/// Reads `cert` (a PEM chain, leaf first) and `key` (PEM, PKCS#8, PKCS#1 or SEC1) into a
/// server config with ALPN `h2`, `http/1.1`.
pub fn load(cert: &Path, key: &Path) -> Result<Arc<ServerConfig>, String> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .map_err(|e| format!("--tls-cert {}: {e}", cert.display()))?
        .collect::<Result<_, _>>()
        .map_err(|e| format!("--tls-cert {}: {e}", cert.display()))?;
    if certs.is_empty() {
        return Err(format!(
            "--tls-cert {}: no CERTIFICATE block in the file",
            cert.display()
        ));
    }
    let private = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| format!("--tls-key {}: {e}", key.display()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS protocol versions: {e}"))?
        .with_no_client_auth()
        .with_single_cert(certs, private)
        .map_err(|e| {
            format!(
                "--tls-cert {} with --tls-key {}: {e}",
                cert.display(),
                key.display()
            )
        })?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// Why a connection on the TLS port is not served.
#[derive(Debug)]
pub enum Refused {
    /// It spoke plain HTTP; it was answered 400.
    PlainHttp,
    /// The handshake failed, timed out, or the client left.
    Handshake(io::Error),
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refused::PlainHttp => f.write_str("plain HTTP sent to the TLS port (answered 400)"),
            Refused::Handshake(e) => write!(f, "TLS handshake failed: {e}"),
        }
    }
}

/// Runs the server side of the handshake on `stream` (see the module docs).
///
/// # Cancel safety
///
/// Dropping the future drops the connection.
pub async fn accept(
    acceptor: &TlsAcceptor,
    stream: TcpStream,
) -> Result<TlsStream<Rewind<TcpStream>>, Refused> {
    let opened = weft::time::timeout(HANDSHAKE_TIMEOUT, async {
        let mut first = [0u8; 1];
        match stream.read(&mut first).await? {
            0 => Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the client closed before the handshake",
            )),
            _ => Ok(first[0]),
        }
    })
    .await;
    let first = match opened {
        Ok(Ok(byte)) => byte,
        Ok(Err(e)) => return Err(Refused::Handshake(e)),
        Err(_) => return Err(Refused::Handshake(timed_out())),
    };
    if first != TLS_HANDSHAKE {
        if first.is_ascii_uppercase() {
            answer_plain_http(stream).await;
            return Err(Refused::PlainHttp);
        }
        return Err(Refused::Handshake(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("the first byte is {first:#04x}, not a TLS handshake record"),
        )));
    }
    let rewound = Rewind {
        first: Some(first),
        inner: stream,
    };
    match weft::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(rewound)).await {
        Ok(Ok(tls)) => Ok(tls),
        Ok(Err(e)) => Err(Refused::Handshake(e)),
        Err(_) => Err(Refused::Handshake(timed_out())),
    }
}

fn timed_out() -> io::Error {
    io::Error::new(
        io::ErrorKind::TimedOut,
        format!("no handshake within {HANDSHAKE_TIMEOUT:?}"),
    )
}

/// Answers 400, half-closes, and reads what the client still sends (bounded) before closing.
async fn answer_plain_http(mut stream: TcpStream) {
    let _ = weft::time::timeout(HANDSHAKE_TIMEOUT, async {
        stream.write_all(PLAIN_HTTP_ANSWER).await?;
        stream.close().await?;
        let mut sink = [0u8; 4096];
        let mut drained = 0;
        while drained < PLAIN_DRAIN_MAX {
            match stream.read(&mut sink).await? {
                0 => break,
                n => drained += n,
            }
        }
        io::Result::Ok(())
    })
    .await;
}

/// A stream with one byte already read put back in front of it.
#[derive(Debug)]
pub struct Rewind<S> {
    first: Option<u8>,
    inner: S,
}

impl<S: AsyncRead + Unpin> AsyncRead for Rewind<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        if let Some(byte) = self.first.take() {
            buf[0] = byte;
            return Poll::Ready(Ok(1));
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Rewind<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_close(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A self-signed certificate and its key, as PEM.
    fn self_signed() -> (String, String) {
        let key = rcgen::KeyPair::generate().unwrap();
        let params = rcgen::CertificateParams::new(vec!["localhost".to_string()]).unwrap();
        let cert = params.self_signed(&key).unwrap();
        (cert.pem(), key.serialize_pem())
    }

    #[test]
    fn bad_certificate_files_are_named_with_what_is_wrong() {
        let dir = std::env::temp_dir().join(format!("service-tls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (cert, key) = self_signed();
        let (_, other_key) = self_signed();
        let write = |name: &str, text: &str| {
            let path = dir.join(name);
            std::fs::write(&path, text).unwrap();
            path
        };
        let (cert, key, other_key, empty) = (
            write("cert.pem", &cert),
            write("key.pem", &key),
            write("other-key.pem", &other_key),
            write("empty.pem", "not PEM at all\n"),
        );

        assert!(load(&cert, &key).is_ok());
        let missing = load(&dir.join("missing.pem"), &key).unwrap_err();
        assert!(
            missing.starts_with("--tls-cert ") && missing.contains("missing.pem"),
            "{missing}"
        );
        let no_cert = load(&empty, &key).unwrap_err();
        assert!(no_cert.contains("no CERTIFICATE block"), "{no_cert}");
        let no_key = load(&cert, &empty).unwrap_err();
        assert!(
            no_key.starts_with("--tls-key ") && no_key.contains("empty.pem"),
            "{no_key}"
        );
        let mismatch = load(&cert, &other_key).unwrap_err();
        assert!(mismatch.contains("other-key.pem"), "{mismatch}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
