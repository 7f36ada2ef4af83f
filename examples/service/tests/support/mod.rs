//! The service test's harness: a CA and a server certificate made with rcgen, the service
//! binary started as a child against a throw-away PostgreSQL, and two real HTTPS clients
//! (ureq for the routes; rustls by hand for the one request that must be held open).

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose,
};
use serde_json::Value;
use weft_testkit::{Postgres, ServeChild, TempDir, Watch, DEADLINE};

/// What the service logs (on stderr) once it listens over TLS, followed by the address.
pub const START_LINE: &str = "listening on https://";

/// The same without TLS.
pub const PLAIN_START_LINE: &str = "listening on http://";

/// Polling period while a test waits for a job's status over HTTP.
const POLL: Duration = Duration::from_millis(20);

/// A CA, and a certificate for 127.0.0.1 and localhost it signed, written as PEM files.
pub struct Certs {
    pub dir: TempDir,
    pub ca_der: Vec<u8>,
}

impl Certs {
    /// Generates both and writes `cert.pem` (the server's chain) and `key.pem`.
    pub fn generate() -> Certs {
        let ca_key = KeyPair::generate().unwrap();
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "weft service test CA");
        ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca = ca_params.self_signed(&ca_key).unwrap();

        let key = KeyPair::generate().unwrap();
        let mut params =
            CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()]).unwrap();
        params
            .distinguished_name
            .push(DnType::CommonName, "weft service test");
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let cert = params.signed_by(&key, &ca, &ca_key).unwrap();

        let dir = TempDir::new("service-certs");
        std::fs::write(dir.path().join("cert.pem"), cert.pem()).unwrap();
        std::fs::write(dir.path().join("key.pem"), key.serialize_pem()).unwrap();
        Certs {
            dir,
            ca_der: ca.der().to_vec(),
        }
    }

    pub fn cert(&self) -> std::path::PathBuf {
        self.dir.path().join("cert.pem")
    }

    pub fn key(&self) -> std::path::PathBuf {
        self.dir.path().join("key.pem")
    }
}

/// Starts the service binary over TLS on a free port of 127.0.0.1, against `pg`, with shell
/// jobs allowed; returns once it logged its start line.
pub fn start_service(pg: &Postgres, certs: &Certs) -> ServeChild {
    start_service_with(pg, certs, &[])
}

/// [`start_service`] with more flags.
pub fn start_service_with(pg: &Postgres, certs: &Certs, extra: &[&str]) -> ServeChild {
    let mut command = service_command(pg);
    command.args(extra);
    command
        .arg("--allow-shell-jobs")
        .arg("--tls-cert")
        .arg(certs.cert())
        .arg("--tls-key")
        .arg(certs.key());
    ServeChild::spawn(command, Watch::Stderr, START_LINE)
}

/// Starts the service binary over plain HTTP (no TLS flags) and without shell jobs, reaching
/// `pg` through its Unix socket (libpq's `host=<directory>` form).
pub fn start_plain_service(pg: &Postgres) -> ServeChild {
    let mut command = service_command(pg);
    let socket = format!(
        "host={} port={} user=postgres dbname=postgres",
        pg.socket_dir().display(),
        pg.port()
    );
    command
        .env_remove("ALLOW_SHELL_JOBS")
        .arg("--database-url")
        .arg(socket);
    ServeChild::spawn(command, Watch::Stderr, PLAIN_START_LINE)
}

/// The service against `pg` on a free port of 127.0.0.1.
fn service_command(pg: &Postgres) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_service"));
    command
        .arg("--database-url")
        .arg(pg.url())
        .args(["--listen", "127.0.0.1:0"])
        .env_remove("DATABASE_URL")
        .stdin(Stdio::null())
        .stdout(Stdio::null());
    command
}

/// A ureq agent that trusts only the test CA, over rustls, and returns 4xx/5xx as answers.
pub struct Client {
    agent: ureq::Agent,
    base: String,
}

/// A status and the body parsed as JSON (`Value::Null` when it is not JSON).
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub location: Option<String>,
    pub body: Value,
}

impl Client {
    /// A client for `https://<addr>`, trusting `certs`' CA.
    pub fn new(addr: SocketAddr, certs: &Certs) -> Client {
        Client::with_roots(
            addr,
            vec![ureq::tls::Certificate::from_der(&certs.ca_der).to_owned()],
        )
    }

    /// A client for `http://<addr>`.
    pub fn plain(addr: SocketAddr) -> Client {
        let mut client = Client::with_roots(addr, Vec::new());
        client.base = format!("http://{addr}");
        client
    }

    /// A client for `https://<addr>` that trusts only the given roots.
    pub fn with_roots(addr: SocketAddr, roots: Vec<ureq::tls::Certificate<'static>>) -> Client {
        let tls = ureq::tls::TlsConfig::builder()
            .provider(ureq::tls::TlsProvider::Rustls)
            .root_certs(ureq::tls::RootCerts::Specific(Arc::new(roots)))
            .build();
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .tls_config(tls)
            .http_status_as_error(false)
            .timeout_global(Some(DEADLINE))
            .build()
            .into();
        Client {
            agent,
            base: format!("https://{addr}"),
        }
    }

    pub fn get(&self, path: &str) -> Answer {
        self.try_get(path)
            .unwrap_or_else(|e| panic!("GET {path}: {e}"))
    }

    pub fn try_get(&self, path: &str) -> Result<Answer, ureq::Error> {
        let response = self.agent.get(format!("{}{path}", self.base)).call()?;
        Ok(answer(response))
    }

    pub fn post_json(&self, path: &str, body: &Value) -> Answer {
        let response = self
            .agent
            .post(format!("{}{path}", self.base))
            .send_json(body)
            .unwrap_or_else(|e| panic!("POST {path}: {e}"));
        answer(response)
    }

    pub fn post_raw(&self, path: &str, content_type: &str, body: &str) -> Answer {
        let response = self
            .agent
            .post(format!("{}{path}", self.base))
            .header("content-type", content_type)
            .send(body)
            .unwrap_or_else(|e| panic!("POST {path}: {e}"));
        answer(response)
    }

    /// Polls `GET /jobs/{id}` until its status is not one of `pending`; the final record.
    pub fn wait_job(&self, id: i64, pending: &[&str]) -> Value {
        let deadline = Instant::now() + DEADLINE;
        loop {
            let job = self.get(&format!("/jobs/{id}"));
            assert_eq!(job.status, 200, "{job:?}");
            let status = job.body["status"].as_str().unwrap().to_string();
            if !pending.contains(&status.as_str()) {
                return job.body;
            }
            assert!(
                Instant::now() < deadline,
                "job {id} still {status} after {DEADLINE:?}: {:?}",
                job.body
            );
            std::thread::sleep(POLL);
        }
    }
}

fn answer(response: ureq::http::Response<ureq::Body>) -> Answer {
    let status = response.status().as_u16();
    let location = response
        .headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_string());
    let text = response.into_body().read_to_string().unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    Answer {
        status,
        location,
        body,
    }
}

/// An HTTPS connection driven by hand (rustls over a std socket), for a request that must
/// stay in flight while the test acts: its every read times out after [`DEADLINE`].
pub struct RawTls {
    stream: rustls::StreamOwned<rustls::ClientConnection, std::net::TcpStream>,
}

impl RawTls {
    /// Connects to `addr` and completes the handshake, trusting `certs`' CA.
    pub fn connect(addr: SocketAddr, certs: &Certs) -> RawTls {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(certs.ca_der.clone().into()).unwrap();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        let name = rustls::pki_types::ServerName::IpAddress(addr.ip().into());
        let conn = rustls::ClientConnection::new(Arc::new(config), name).unwrap();
        let tcp = std::net::TcpStream::connect(addr).unwrap();
        tcp.set_read_timeout(Some(DEADLINE)).unwrap();
        let mut stream = rustls::StreamOwned::new(conn, tcp);
        while stream.conn.is_handshaking() {
            stream
                .conn
                .complete_io(&mut stream.sock)
                .expect("TLS handshake with the service");
        }
        RawTls { stream }
    }

    pub fn write(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).unwrap();
        self.stream.flush().unwrap();
    }

    /// Reads one response head (through the blank line).
    pub fn read_head(&mut self) -> String {
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            let n = self
                .stream
                .read(&mut byte)
                .expect("reading a response head");
            assert_eq!(
                n,
                1,
                "the connection closed mid-head: {:?}",
                String::from_utf8_lossy(&head)
            );
            head.push(byte[0]);
        }
        String::from_utf8(head).unwrap()
    }

    /// Reads `len` body bytes.
    pub fn read_body(&mut self, len: usize) -> Vec<u8> {
        let mut body = vec![0u8; len];
        self.stream.read_exact(&mut body).unwrap();
        body
    }
}

/// The value of header `name` in a response head.
pub fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.trim().eq_ignore_ascii_case(name).then(|| value.trim())
    })
}

/// Whether the service is still running (not exited, not a zombie).
pub fn is_running(service: &mut ServeChild) -> bool {
    service.try_wait().is_none()
}

/// `GET path` over HTTP/2, negotiated by ALPN: hyper's client over futures-rustls over a weft
/// `TcpStream`, on a weft runtime. The negotiated protocol, the response's version, status
/// and body.
pub fn h2_get(
    addr: SocketAddr,
    certs: &Certs,
    path: &str,
) -> (Vec<u8>, hyper::Version, u16, String) {
    use http_body_util::BodyExt;
    use weft_http::hyper_rt::{HyperIo, WeftExecutor, WeftTimer};

    let mut roots = rustls::RootCertStore::empty();
    roots.add(certs.ca_der.clone().into()).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec()];
    let connector = futures_rustls::TlsConnector::from(Arc::new(config));
    let uri = format!("https://{addr}{path}");
    let rt = weft::rt::Runtime::builder()
        .current_thread()
        .build()
        .unwrap();
    rt.block_on(async move {
        weft::time::timeout(DEADLINE, async move {
            let tcp = weft::net::TcpStream::connect(addr).await.unwrap();
            let name = rustls::pki_types::ServerName::IpAddress(addr.ip().into());
            let tls = connector.connect(name, tcp).await.expect("TLS handshake");
            let alpn = tls.get_ref().1.alpn_protocol().unwrap_or_default().to_vec();
            let (mut sender, conn) = hyper::client::conn::http2::Builder::new(WeftExecutor)
                .timer(WeftTimer)
                .handshake(HyperIo::new(tls))
                .await
                .expect("HTTP/2 handshake");
            weft::spawn_local(async move {
                let _ = conn.await;
            })
            .detach();
            let request = hyper::Request::get(uri)
                .body(http_body_util::Empty::<bytes::Bytes>::new())
                .unwrap();
            let response = sender.send_request(request).await.expect("HTTP/2 request");
            let (version, status) = (response.version(), response.status().as_u16());
            let body = response.into_body().collect().await.unwrap().to_bytes();
            (
                alpn,
                version,
                status,
                String::from_utf8(body.to_vec()).unwrap(),
            )
        })
        .await
        .expect("the HTTP/2 request took longer than the deadline")
    })
}
