//! The client side: a TLS connection over a `weft::net::TcpStream`.
//!
//! ```no_run
//! # weft::rt::Runtime::builder().current_thread().build().unwrap().block_on(async {
//! use futures_util::{AsyncReadExt, AsyncWriteExt};
//! use weft_http::tls;
//! let roots = tls::load_certificates("ca.pem").unwrap();
//! let config = tls::client_config(roots).unwrap();
//! let mut stream = tls::connect("127.0.0.1:8443", "localhost", config).await.unwrap();
//! stream.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").await.unwrap();
//! let mut answer = Vec::new();
//! stream.read_to_end(&mut answer).await.unwrap();
//! # });
//! ```

use std::io;
use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use weft::net::TcpStream;

use super::{pem_problem, provider, TlsError};

/// A client's TLS connection over a weft TCP stream (futures-io
/// `AsyncRead + AsyncWrite`).
pub type ClientStream = futures_rustls::client::TlsStream<TcpStream>;

/// The certificates of a PEM file (a CA, or a chain). An error names the
/// file: missing, unreadable, or with no certificate in it.
pub fn load_certificates(path: impl AsRef<Path>) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let path = path.as_ref();
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|error| TlsError::file(path, pem_problem(error, "certificate")))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| TlsError::file(path, pem_problem(error, "certificate")))?;
    if certs.is_empty() {
        return Err(TlsError::file(
            path,
            "no certificate in it (expected a PEM file with `BEGIN CERTIFICATE`)".into(),
        ));
    }
    Ok(certs)
}

/// A client configuration (rustls' `ring` provider, TLS 1.2 and 1.3) that
/// trusts exactly `roots`, offering ALPN `http/1.1`.
pub fn client_config(
    roots: impl IntoIterator<Item = CertificateDer<'static>>,
) -> Result<Arc<rustls::ClientConfig>, TlsError> {
    let mut store = rustls::RootCertStore::empty();
    for root in roots {
        store.add(root).map_err(|error| TlsError::Config {
            reason: format!("a root certificate is not usable: {error}"),
        })?;
    }
    let mut config = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|error| TlsError::Config {
            reason: error.to_string(),
        })?
        .with_root_certificates(store)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// Connects to `addr` over TCP (as [`TcpStream::connect`]) and does a TLS
/// handshake checking the server's certificate for `server_name` (a DNS
/// name or an IP address). The error names the cause: refused, or the
/// certificate's fault ("invalid peer certificate: UnknownIssuer", ...).
///
/// # Cancel safety
///
/// Dropping the future closes the connection; nothing is left behind.
pub async fn connect(
    addr: impl weft::net::ToSocketAddrs,
    server_name: &str,
    config: Arc<rustls::ClientConfig>,
) -> io::Result<ClientStream> {
    let name = ServerName::try_from(server_name.to_owned()).map_err(|error| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("server name {server_name:?}: {error}"),
        )
    })?;
    let tcp = TcpStream::connect(addr).await?;
    let _ = tcp.set_nodelay(true);
    futures_rustls::TlsConnector::from(config)
        .connect(name, tcp)
        .await
        .map_err(|error| {
            io::Error::new(
                error.kind(),
                format!("TLS handshake with {server_name}: {error}"),
            )
        })
}
