//! `weft serve`'s safe defaults: without `--root` it serves no files (run
//! from a checkout, `/static/.git/config` is 404, not the repository's
//! config); with a root, dot-files and dot-directories are refused like
//! `..`; a port another `weft serve` already holds (with `SO_REUSEPORT`) is
//! refused with "address in use" naming it, in every model; `--host
//! localhost` is resolved.

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::process::Command;

use weft_testkit::{run_to_end, ServeChild, TempDir, DEADLINE};

const WEFT: &str = env!("CARGO_BIN_EXE_weft");

/// The status of `GET target` on a fresh connection.
fn status(addr: SocketAddr, target: &str) -> u16 {
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(DEADLINE)).unwrap();
    write!(
        stream,
        "GET {target} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    answer
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status in {answer:?}"))
}

/// A directory that looks like a checkout: a `.git/config`, a `.env`, a
/// public file.
fn checkout() -> TempDir {
    let dir = TempDir::new("checkout");
    std::fs::create_dir(dir.path().join(".git")).unwrap();
    std::fs::write(dir.path().join(".git/config"), "[core]\n").unwrap();
    std::fs::write(dir.path().join(".env"), "SECRET=1\n").unwrap();
    std::fs::write(dir.path().join("hello.txt"), "hello\n").unwrap();
    dir
}

fn serve_in(dir: &TempDir, args: &[&str]) -> ServeChild {
    let mut command = Command::new(WEFT);
    command
        .arg("serve")
        .args(["--port", "0", "--loops", "2"])
        .args(args)
        .current_dir(dir.path())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null());
    ServeChild::spawn(
        command,
        weft_testkit::Watch::Stderr,
        weft_testkit::WEFT_SERVE_START,
    )
}

#[test]
fn without_root_no_file_is_served_and_the_start_line_says_so() {
    let dir = checkout();
    for model in ["async", "green"] {
        let mut serve = serve_in(&dir, &["--model", model]);
        let start = serve
            .log
            .iter()
            .find(|l| l.contains(weft_testkit::WEFT_SERVE_START))
            .cloned()
            .unwrap();
        assert!(start.contains("root=none"), "{model}: {start}");
        for target in ["/static/.git/config", "/static/hello.txt", "/static/"] {
            assert_eq!(status(serve.addr, target), 404, "{model} {target}");
        }
        assert_eq!(status(serve.addr, "/plaintext"), 200, "{model}");
        assert!(serve.terminate().success(), "{model}");
    }
}

#[test]
fn dot_files_and_dot_directories_are_refused_under_a_root() {
    let dir = checkout();
    std::os::unix::fs::symlink(dir.path().join(".git"), dir.path().join("public")).unwrap();
    let root = dir.path().to_str().unwrap().to_owned();
    let mut serve = serve_in(&dir, &["--root", &root]);
    assert_eq!(status(serve.addr, "/static/hello.txt"), 200);
    for target in [
        "/static/.git/config",
        "/static/.git/",
        "/static/.env",
        "/static/%2egit/config",
        "/static/./.env",
        // A symlink with an ordinary name cannot lead into a dot-directory.
        "/static/public/config",
    ] {
        assert_eq!(status(serve.addr, target), 403, "{target}");
    }
    assert!(serve.terminate().success());
}

/// Starts a second `weft serve` on `addr` and checks that it fails, saying
/// "address in use" and naming the address.
fn second_is_refused(addr: SocketAddr, extra: &[&str]) {
    let mut command = Command::new(WEFT);
    command
        .args(["serve", "--host", "127.0.0.1", "--port"])
        .arg(addr.port().to_string())
        .args(extra);
    let output = run_to_end(command, DEADLINE);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{extra:?} started: {stderr}");
    assert!(
        stderr.contains("address in use") && stderr.contains(&addr.to_string()),
        "{extra:?}: {stderr}"
    );
}

#[test]
fn a_port_another_weft_serve_holds_is_refused_as_address_in_use() {
    let dir = TempDir::new("port");
    // The first server's listeners use SO_REUSEPORT (two loops share the port).
    let mut first = serve_in(&dir, &["--host", "127.0.0.1"]);
    second_is_refused(first.addr, &["--loops", "2"]);
    second_is_refused(first.addr, &["--model", "green"]);
    second_is_refused(first.addr, &["--workers", "1"]);
    // The first still serves, on its own.
    assert_eq!(status(first.addr, "/plaintext"), 200);
    assert!(first.terminate().success());
}

#[test]
fn host_localhost_is_resolved() {
    let dir = TempDir::new("localhost");
    let mut serve = serve_in(&dir, &["--host", "localhost"]);
    assert!(serve.addr.ip().is_loopback(), "{}", serve.addr);
    assert_eq!(status(serve.addr, "/plaintext"), 200);
    assert!(serve.terminate().success());
    let mut command = Command::new(WEFT);
    command.args(["serve", "--port", "0", "--host", "no-such-host.invalid"]);
    let output = run_to_end(command, DEADLINE);
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("--host no-such-host.invalid"));
}
