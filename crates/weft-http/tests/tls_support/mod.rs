//! Shared by the `tls_*` tests: throw-away certificates (rcgen), a weft
//! HTTPS server on one loop, and two real clients that are not weft's: ureq
//! (rustls) and rustls' own blocking `StreamOwned` over a std socket.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use weft_http::tls::TlsConfig;
use weft_http::{Handler, Server, ServerHandle};

#[allow(unused_imports)]
pub use weft_testkit::{wait_until, DEADLINE};

/// A CA and a leaf certificate for `localhost` and `127.0.0.1` it signed.
pub struct Certs {
    pub ca_pem: String,
    pub ca_der: CertificateDer<'static>,
    pub cert_pem: String,
    pub key_pem: String,
}

impl Certs {
    /// A fresh CA and leaf.
    pub fn new() -> Certs {
        let ca_key = KeyPair::generate().unwrap();
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        // A name of its own: two CAs of one name would look like one CA with a bad signature.
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        ca_params.distinguished_name.push(
            rcgen::DnType::CommonName,
            format!("weft test CA {} {n}", std::process::id()),
        );
        let ca = ca_params.self_signed(&ca_key).unwrap();
        let leaf_key = KeyPair::generate().unwrap();
        let leaf_params =
            CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()]).unwrap();
        let leaf = leaf_params.signed_by(&leaf_key, &ca, &ca_key).unwrap();
        Certs {
            ca_pem: ca.pem(),
            ca_der: ca.der().clone(),
            cert_pem: leaf.pem(),
            key_pem: leaf_key.serialize_pem(),
        }
    }

    /// The server's TLS configuration.
    pub fn server_config(&self) -> TlsConfig {
        TlsConfig::from_pem(self.cert_pem.as_bytes(), self.key_pem.as_bytes()).unwrap()
    }

    /// The leaf chain and key as DER, for a server that is not weft's.
    pub fn leaf_der(&self) -> (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>) {
        use rustls::pki_types::pem::PemObject;
        let chain = CertificateDer::pem_slice_iter(self.cert_pem.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .unwrap();
        let key = PrivateKeyDer::from_pem_slice(self.key_pem.as_bytes()).unwrap();
        (chain, key)
    }

    /// A client configuration that trusts this CA only.
    pub fn client_config(&self) -> Arc<rustls::ClientConfig> {
        weft_http::tls::client_config([self.ca_der.clone()]).unwrap()
    }
}

/// Starts `handler` on one loop over HTTPS.
pub fn start_tls<H: Handler + Clone + Send>(handler: H, tls: TlsConfig) -> ServerHandle {
    Server::bind("127.0.0.1:0".parse().unwrap())
        .loops(1)
        .tls(tls)
        .spawn(handler)
        .expect("server starts")
}

/// A ureq agent (rustls) that trusts `ca_der` only.
pub fn ureq_agent(ca_der: &CertificateDer<'static>) -> ureq::Agent {
    let roots =
        ureq::tls::RootCerts::new_with_certs(
            &[ureq::tls::Certificate::from_der(ca_der).to_owned()],
        );
    ureq::Agent::config_builder()
        .tls_config(
            ureq::tls::TlsConfig::builder()
                .provider(ureq::tls::TlsProvider::Rustls)
                .root_certs(roots)
                .build(),
        )
        .http_status_as_error(false)
        .timeout_global(Some(DEADLINE))
        .build()
        .new_agent()
}

/// A blocking rustls client over a std socket (not weft's): sends `request`
/// raw and reads the answer to the end (the request should say
/// `Connection: close`).
pub fn std_rustls_exchange(
    addr: SocketAddr,
    config: Arc<rustls::ClientConfig>,
    request: &[u8],
) -> std::io::Result<String> {
    let tcp = TcpStream::connect(addr)?;
    tcp.set_read_timeout(Some(DEADLINE))?;
    tcp.set_write_timeout(Some(DEADLINE))?;
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let conn = rustls::ClientConnection::new(config, name).map_err(std::io::Error::other)?;
    let mut tls = rustls::StreamOwned::new(conn, tcp);
    tls.write_all(request)?;
    tls.flush()?;
    let mut answer = Vec::new();
    tls.read_to_end(&mut answer)?;
    Ok(String::from_utf8_lossy(&answer).into_owned())
}
