//! Bad certificates: a client that does not trust the server's certificate
//! (another CA, another name) gets an error that names the cause, and the
//! server keeps serving clients that do; certificate and key files that are
//! wrong are refused with an error naming the file and why.

mod tls_support;

use tls_support::{start_tls, ureq_agent, Certs};
use weft_http::tls::{TlsConfig, TlsError};
use weft_http::{Request, Response};

fn hello(_: Request) -> std::future::Ready<Response> {
    std::future::ready(Response::text("hello"))
}

#[test]
fn untrusted_certificate_is_named_by_the_client_and_the_server_keeps_serving() {
    let certs = Certs::new();
    let stranger = Certs::new();
    let server = start_tls(hello, certs.server_config());
    let port = server.local_addr().port();

    // ureq trusting another CA.
    let error = ureq_agent(&stranger.ca_der)
        .get(&format!("https://localhost:{port}/"))
        .call()
        .unwrap_err()
        .to_string();
    assert!(error.contains("UnknownIssuer"), "ureq's error: {error}");

    let rt = weft::rt::Runtime::builder()
        .current_thread()
        .build()
        .unwrap();
    rt.block_on(async {
        // weft's client trusting another CA.
        let error =
            weft_http::tls::connect(server.local_addr(), "localhost", stranger.client_config())
                .await
                .unwrap_err()
                .to_string();
        assert!(error.contains("invalid peer certificate"), "{error}");
        assert!(error.contains("UnknownIssuer"), "{error}");
        // The right CA, the wrong name.
        let error =
            weft_http::tls::connect(server.local_addr(), "example.com", certs.client_config())
                .await
                .unwrap_err()
                .to_string();
        assert!(error.contains("not valid for name"), "{error}");
        assert!(error.contains("example.com"), "{error}");
    });

    // The server is still there for a client that trusts it.
    let mut response = ureq_agent(&certs.ca_der)
        .get(&format!("https://localhost:{port}/"))
        .call()
        .unwrap();
    assert_eq!(response.body_mut().read_to_string().unwrap(), "hello");
    server.shutdown().unwrap();
}

/// Writes `text` to a fresh file in a fresh temporary directory.
fn file(dir: &std::path::Path, name: &str, text: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn file_error(error: TlsError) -> (std::path::PathBuf, String) {
    match error {
        TlsError::File { path, reason } => (path, reason),
        other => panic!("expected a file error, got {other}"),
    }
}

#[test]
fn bad_certificate_and_key_files_are_named_with_the_reason() {
    let dir = std::env::temp_dir().join(format!("weft-tls-files-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let certs = Certs::new();
    let other = Certs::new();
    let cert = file(&dir, "cert.pem", &certs.cert_pem);
    let key = file(&dir, "key.pem", &certs.key_pem);
    let missing = dir.join("missing.pem");

    // The good pair loads.
    TlsConfig::from_pem_files(&cert, &key).unwrap();

    let (path, reason) = file_error(TlsConfig::from_pem_files(&missing, &key).unwrap_err());
    assert_eq!(path, missing);
    assert!(reason.contains("cannot read"), "{reason}");
    let (path, reason) = file_error(TlsConfig::from_pem_files(&cert, &missing).unwrap_err());
    assert_eq!(path, missing);
    assert!(reason.contains("cannot read"), "{reason}");

    // Swapped: the key file as the certificate, the certificate as the key.
    let (path, reason) = file_error(TlsConfig::from_pem_files(&key, &cert).unwrap_err());
    assert_eq!(path, key);
    assert!(reason.contains("no certificate"), "{reason}");
    let (path, reason) = file_error(TlsConfig::from_pem_files(&cert, &cert).unwrap_err());
    assert_eq!(path, cert);
    assert!(reason.contains("no private key"), "{reason}");

    // Not PEM at all.
    let junk = file(&dir, "junk.pem", "this is not a certificate\n");
    let (path, reason) = file_error(TlsConfig::from_pem_files(&junk, &key).unwrap_err());
    assert_eq!(path, junk);
    assert!(reason.contains("no certificate"), "{reason}");

    // A key that belongs to another certificate.
    let wrong_key = file(&dir, "other-key.pem", &other.key_pem);
    let error = TlsConfig::from_pem_files(&cert, &wrong_key)
        .unwrap_err()
        .to_string();
    assert!(error.contains("does not fit"), "{error}");
    assert!(error.contains("other-key.pem"), "{error}");

    // As an io::Error (what `weft serve` prints), the path is in the message.
    let io: std::io::Error = TlsConfig::from_pem_files(&missing, &key)
        .unwrap_err()
        .into();
    assert!(io.to_string().contains("missing.pem"), "{io}");
    std::fs::remove_dir_all(&dir).unwrap();
}
