//! HTTPS on rustls (feature `tls`): certificates from PEM files, a server
//! acceptor whose handshake runs on the connection's own task, and a client
//! connection over a `weft::net::TcpStream`.
//!
//! # Design
//!
//! weft's sockets are futures-io streams, and so are [`futures_rustls`]'s TLS
//! streams over them; weft-http's connection driver and
//! `hyper_rt::serve_connection` (feature `hyper`) are written against futures-io, so
//! TLS is a layer between the accepted socket and the driver, nothing more:
//!
//! - [`TlsConfig`] is a rustls `ServerConfig` (the `ring` provider, TLS 1.2
//!   and 1.3) plus a handshake time limit; [`TlsConfig::from_pem_files`]
//!   reads a certificate chain and a private key, and names the file and the
//!   reason when one is wrong.
//! - [`TlsAcceptor`] turns an accepted `TcpStream` into a [`TlsStream`]. The
//!   handshake is lazy: it runs inside the stream's first reads and writes,
//!   so on the connection's task, in parallel with every other connection,
//!   and for weft's [`Server`](crate::Server) inside the connection driver
//!   (the connection counts for the drain, and the request-head deadline
//!   covers the handshake as well). [`TlsAcceptor::accept`] drives it to the
//!   end explicitly, for code that wants the outcome first (a hyper server).
//! - Before the handshake the first byte is looked at: a TLS connection
//!   opens with a handshake record (`0x16`). Anything else is a client
//!   speaking plain text to the TLS port; if it looks like an HTTP request it
//!   is answered `400` in plain text (as nginx does), then the connection
//!   closes after the client's input is drained (so the answer is not lost
//!   to a reset). Handshake failures (an untrusted certificate, a protocol
//!   mismatch, a timeout) are logged at `info` with the peer and the cause,
//!   and end only that connection.
//! - [`connect`] is the client side: a `TcpStream` plus
//!   `futures_rustls::TlsConnector`, checked against [`client_config`]'s
//!   roots (or any rustls `ClientConfig`).
//!
//! ```no_run
//! use weft_http::tls::TlsConfig;
//! use weft_http::{Request, Response, Server, ShutdownSignal};
//! let tls = TlsConfig::from_pem_files("cert.pem", "key.pem").unwrap();
//! let stop = ShutdownSignal::new();
//! Server::bind("127.0.0.1:8443".parse().unwrap())
//!     .tls(tls)
//!     .start(|_: Request| async { Response::text("Hello over TLS") })
//!     .unwrap()
//!     .run_until(stop.wait())
//!     .unwrap();
//! ```

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

mod accept;
mod client;

pub use accept::{TlsAcceptor, TlsStream};
pub use client::{client_config, connect, load_certificates, ClientStream};
pub use futures_rustls;
pub use rustls;

/// Default for [`TlsConfig::handshake_timeout`]: 10 s from the first byte
/// to a finished handshake (as weft-http's request-head limit).
pub const DEFAULT_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// A server's TLS settings: a rustls `ServerConfig` and a handshake time limit.
#[derive(Clone)]
pub struct TlsConfig {
    pub(crate) server: Arc<rustls::ServerConfig>,
    pub(crate) handshake_timeout: Duration,
}

impl fmt::Debug for TlsConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsConfig")
            .field("alpn", &self.server.alpn_protocols)
            .field("handshake_timeout", &self.handshake_timeout)
            .finish()
    }
}

impl TlsConfig {
    /// Reads a PEM certificate chain (leaf first) from `cert` and a PEM
    /// private key (PKCS#8, PKCS#1 or SEC1) from `key`. An error names the
    /// file and what is wrong with it (missing, no certificate in it, no key
    /// in it, or a key that does not match the certificate).
    pub fn from_pem_files(
        cert: impl AsRef<Path>,
        key: impl AsRef<Path>,
    ) -> Result<TlsConfig, TlsError> {
        let (cert, key) = (cert.as_ref(), key.as_ref());
        let chain = load_certificates(cert)?;
        let key_der = match PrivateKeyDer::from_pem_file(key) {
            Ok(key_der) => key_der,
            Err(error) => return Err(TlsError::file(key, pem_problem(error, "private key"))),
        };
        TlsConfig::from_der(chain, key_der).map_err(|error| match error {
            TlsError::Config { reason, .. } => TlsError::Config {
                reason: format!(
                    "{reason} (certificate {}, key {})",
                    cert.display(),
                    key.display()
                ),
            },
            other => other,
        })
    }

    /// As [`from_pem_files`](TlsConfig::from_pem_files), from PEM text in memory.
    pub fn from_pem(cert: &[u8], key: &[u8]) -> Result<TlsConfig, TlsError> {
        let chain = CertificateDer::pem_slice_iter(cert)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|error| TlsError::Config {
                reason: format!("certificate PEM: {error}"),
            })?;
        if chain.is_empty() {
            return Err(TlsError::Config {
                reason: "certificate PEM: no certificate in it".into(),
            });
        }
        let key = PrivateKeyDer::from_pem_slice(key).map_err(|error| TlsError::Config {
            reason: format!("private key PEM: {error}"),
        })?;
        TlsConfig::from_der(chain, key)
    }

    /// A certificate chain and its key, already decoded.
    pub fn from_der(
        chain: Vec<CertificateDer<'static>>,
        key: PrivateKeyDer<'static>,
    ) -> Result<TlsConfig, TlsError> {
        let server = rustls::ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .and_then(|builder| builder.with_no_client_auth().with_single_cert(chain, key))
            .map_err(|error| TlsError::Config {
                reason: format!("the key does not fit the certificate, or is not usable: {error}"),
            })?;
        Ok(TlsConfig::from_rustls(Arc::new(server)))
    }

    /// A rustls `ServerConfig` built by the caller (client certificates,
    /// session resumption, certificate resolvers: everything rustls offers).
    pub fn from_rustls(server: Arc<rustls::ServerConfig>) -> TlsConfig {
        TlsConfig {
            server,
            handshake_timeout: DEFAULT_HANDSHAKE_TIMEOUT,
        }
    }

    /// How long a client may take from connecting to a finished handshake
    /// (default [`DEFAULT_HANDSHAKE_TIMEOUT`]); then the connection closes.
    pub fn handshake_timeout(mut self, timeout: Duration) -> TlsConfig {
        self.handshake_timeout = timeout;
        self
    }

    /// The ALPN protocols offered, most preferred first (`b"h2"`,
    /// `b"http/1.1"`). weft's own [`Server`](crate::Server) speaks HTTP/1.1
    /// only and sets `http/1.1` itself; a hyper server offers both.
    pub fn alpn(mut self, protocols: &[&[u8]]) -> TlsConfig {
        let mut server = (*self.server).clone();
        server.alpn_protocols = protocols.iter().map(|p| p.to_vec()).collect();
        self.server = Arc::new(server);
        self
    }

    /// The rustls configuration.
    pub fn rustls(&self) -> &Arc<rustls::ServerConfig> {
        &self.server
    }

    /// An acceptor for this configuration.
    pub fn acceptor(&self) -> TlsAcceptor {
        TlsAcceptor::new(self.clone())
    }
}

/// The crypto provider every config here is built with: rustls' `ring`.
pub(crate) fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A TLS set-up error: which file, and why.
#[derive(Debug)]
pub enum TlsError {
    /// A certificate or key file could not be used.
    File {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The certificates and key read fine but rustls refused them.
    Config {
        /// Why.
        reason: String,
    },
}

impl TlsError {
    fn file(path: &Path, reason: String) -> TlsError {
        TlsError::File {
            path: path.to_path_buf(),
            reason,
        }
    }
}

impl fmt::Display for TlsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TlsError::File { path, reason } => write!(f, "{}: {reason}", path.display()),
            TlsError::Config { reason } => f.write_str(reason),
        }
    }
}

impl std::error::Error for TlsError {}

impl From<TlsError> for io::Error {
    fn from(error: TlsError) -> io::Error {
        let kind = match &error {
            TlsError::File { reason, .. } if reason.starts_with("cannot read") => {
                io::ErrorKind::NotFound
            }
            _ => io::ErrorKind::InvalidInput,
        };
        io::Error::new(kind, error.to_string())
    }
}

/// Words for a PEM parsing failure of a file expected to hold `what`.
fn pem_problem(error: rustls::pki_types::pem::Error, what: &str) -> String {
    use rustls::pki_types::pem::Error;
    match error {
        Error::Io(error) => format!("cannot read: {error}"),
        Error::NoItemsFound => format!("no {what} in it (expected a PEM file with one)"),
        other => format!("not a valid PEM {what}: {other}"),
    }
}
