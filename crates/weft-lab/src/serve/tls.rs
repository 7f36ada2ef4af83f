//! `weft serve --tls-cert F --tls-key F`: HTTPS.
//!
//! Both files are read once, at start, before anything listens: a file that
//! is missing, holds no certificate or no key, or a key that does not fit
//! the certificate stops the command with an error naming the file and why
//! (exit status non-zero). With `--workers` the supervisor checks them and
//! every worker loads them again (they run the same command line).
//! Handshakes run on each connection's task (see `weft_http::tls`); a failed
//! one is logged at `info` and ends only that connection.

use std::io;
use std::path::PathBuf;

use clap::Args;
use weft_http::tls::TlsConfig;
use weft_http::Server;

/// The TLS options of `weft serve`.
#[derive(Debug, Args)]
pub(crate) struct TlsArgs {
    /// Serve HTTPS with this PEM certificate chain (leaf first); needs --tls-key.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The PEM private key (PKCS#8, PKCS#1 or SEC1) of --tls-cert.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
}

impl TlsArgs {
    /// The TLS configuration, if HTTPS was asked for; the error names the file.
    pub(crate) fn load(&self) -> io::Result<Option<TlsConfig>> {
        match (&self.tls_cert, &self.tls_key) {
            (Some(cert), Some(key)) => {
                TlsConfig::from_pem_files(cert, key)
                    .map(Some)
                    .map_err(|error| {
                        let error = io::Error::from(error);
                        io::Error::new(error.kind(), format!("TLS: {error}"))
                    })
            }
            _ => Ok(None),
        }
    }
}

/// The URL scheme of the start line.
pub(crate) fn scheme(tls: &Option<TlsConfig>) -> &'static str {
    if tls.is_some() {
        "https"
    } else {
        "http"
    }
}

/// `server`, serving HTTPS when `tls` is given.
pub(crate) fn apply(server: Server, tls: Option<TlsConfig>) -> Server {
    match tls {
        Some(tls) => server.tls(tls),
        None => server,
    }
}
