//! `weft serve --tls-cert F --tls-key F`: the real binary serves HTTPS to
//! curl (`--cacert`), with one process and with `--workers 2`; a client that
//! does not trust the certificate fails naming why while the server logs the
//! refused handshake and keeps serving; plain HTTP to the port gets a plain
//! 400; bad certificate or key files stop the command with an error naming
//! the file (exit status non-zero).

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};
use weft_testkit::{run_to_end, ServeChild, TempDir, Watch, DEADLINE};

const START: &str = "listening on https://";

/// A CA, and a certificate for localhost/127.0.0.1 it signed, as files in `dir`:
/// (ca.pem, cert.pem, key.pem).
fn write_certs(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "weft serve_tls test CA");
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])
        .unwrap()
        .signed_by(&key, &ca, &ca_key)
        .unwrap();
    let paths = (
        dir.join("ca.pem"),
        dir.join("cert.pem"),
        dir.join("key.pem"),
    );
    std::fs::write(&paths.0, ca.pem()).unwrap();
    std::fs::write(&paths.1, leaf.pem()).unwrap();
    std::fs::write(&paths.2, key.serialize_pem()).unwrap();
    paths
}

fn curl_present() {
    let found = Command::new("curl")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(found, "curl not found: apt-get install -y curl");
}

/// curl with `args` (silent, errors shown, bounded).
fn curl(args: &[&str]) -> Output {
    let mut command = Command::new("curl");
    command.args(["-sS", "--max-time", "20"]).args(args);
    run_to_end(command, DEADLINE)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn weft_serve_tls(cert: &Path, key: &Path, extra: &[&str]) -> ServeChild {
    let mut command = Command::new(env!("CARGO_BIN_EXE_weft"));
    command
        .args(["serve", "--host", "127.0.0.1", "--port", "0"])
        .args(extra)
        .arg("--tls-cert")
        .arg(cert)
        .arg("--tls-key")
        .arg(key)
        .stdin(Stdio::null())
        .stdout(Stdio::null());
    ServeChild::spawn(command, Watch::Stderr, START)
}

#[test]
fn serves_https_to_curl_and_keeps_serving_after_bad_clients() {
    curl_present();
    let dir = TempDir::new("serve-tls");
    let (ca, cert, key) = write_certs(dir.path());
    let ca = ca.to_str().unwrap();
    let mut serve = weft_serve_tls(&cert, &key, &["--loops", "2"]);
    let base = format!("https://127.0.0.1:{}", serve.addr.port());

    let ok = curl(&[
        "--cacert",
        ca,
        "-w",
        " %{http_code} %{http_version}",
        &format!("{base}/"),
    ]);
    assert!(ok.status.success(), "curl: {}", text(&ok.stderr));
    assert_eq!(text(&ok.stdout), "Hello, World! 200 1.1");
    let json = curl(&["--cacert", ca, &format!("{base}/json")]);
    assert_eq!(text(&json.stdout), r#"{"message":"Hello, World!"}"#);

    // Not trusted: curl names the certificate problem; the server logs the refusal.
    let untrusted = curl(&[&format!("{base}/")]);
    assert_eq!(
        untrusted.status.code(),
        Some(60),
        "{}",
        text(&untrusted.stderr)
    );
    assert!(
        text(&untrusted.stderr).contains("certificate"),
        "{}",
        text(&untrusted.stderr)
    );
    serve.wait_logged(
        |l| l.contains("TLS connection refused") && l.contains("alert"),
        "the refused handshake logged",
    );

    // Plain HTTP to the HTTPS port: a plain-text 400.
    let plain = curl(&[
        "-w",
        " %{http_code}",
        &format!("http://127.0.0.1:{}/", serve.addr.port()),
    ]);
    assert!(plain.status.success(), "curl: {}", text(&plain.stderr));
    assert!(
        text(&plain.stdout).contains("This port speaks HTTPS"),
        "{}",
        text(&plain.stdout)
    );
    assert!(
        text(&plain.stdout).ends_with(" 400"),
        "{}",
        text(&plain.stdout)
    );

    // Still serving.
    let again = curl(&["--cacert", ca, &format!("{base}/plaintext")]);
    assert_eq!(text(&again.stdout), "Hello, World!");

    let exit = serve.terminate();
    assert!(exit.success(), "exit status {exit}");
}

#[test]
fn serves_https_with_workers() {
    curl_present();
    let dir = TempDir::new("serve-tls-workers");
    let (ca, cert, key) = write_certs(dir.path());
    let ca = ca.to_str().unwrap();
    let mut serve = weft_serve_tls(&cert, &key, &["--workers", "2", "--drain-grace", "0s"]);
    let base = format!("https://127.0.0.1:{}", serve.addr.port());
    // The listener is bound before the workers start: curl's connection waits in its queue.
    let mut pids = std::collections::BTreeSet::new();
    for _ in 0..4 {
        let pid = curl(&["--cacert", ca, &format!("{base}/pid")]);
        assert!(pid.status.success(), "curl: {}", text(&pid.stderr));
        pids.insert(text(&pid.stdout));
    }
    assert!(
        pids.iter().all(|p| p.trim().parse::<u32>().is_ok()),
        "{pids:?}"
    );
    let exit = serve.terminate();
    assert!(exit.success(), "exit status {exit}");
}

/// `weft serve` with these TLS files, run to its end (it should refuse to start).
fn refused(cert: &Path, key: &Path) -> (Option<i32>, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_weft"));
    command
        .args(["serve", "--port", "0", "--tls-cert"])
        .arg(cert)
        .arg("--tls-key")
        .arg(key);
    let out = run_to_end(command, DEADLINE);
    (out.status.code(), text(&out.stderr))
}

#[test]
fn bad_tls_files_stop_the_command_naming_the_file() {
    let dir = TempDir::new("serve-tls-bad");
    let (_, cert, key) = write_certs(dir.path());
    let missing = dir.path().join("nowhere.pem");

    let (code, log) = refused(&missing, &key);
    assert_eq!(code, Some(1), "{log}");
    assert!(
        log.contains("nowhere.pem") && log.contains("cannot read"),
        "{log}"
    );

    let (code, log) = refused(&key, &cert);
    assert_eq!(code, Some(1), "{log}");
    assert!(log.contains("key.pem: no certificate"), "{log}");

    let (code, log) = refused(&cert, &cert);
    assert_eq!(code, Some(1), "{log}");
    assert!(log.contains("cert.pem: no private key"), "{log}");
    assert!(!log.contains("listening"), "it must not start: {log}");

    // One without the other is a usage error.
    let mut command = Command::new(env!("CARGO_BIN_EXE_weft"));
    command
        .args(["serve", "--port", "0", "--tls-cert"])
        .arg(&cert);
    let out = run_to_end(command, DEADLINE);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("--tls-key"),
        "{}",
        text(&out.stderr)
    );
}
