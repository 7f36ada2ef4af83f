//! `weft serve` end to end: the real binary, a real HTTP client (ureq), every
//! route, and a clean stop on SIGTERM.

use std::ffi::OsString;
use std::io::{Read, Write};
use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use weft_testkit::{ServeChild, TempDir, DEADLINE};

/// Longest any wait in these tests may take before the test fails (a hang
/// detector, not a timing assertion).
const GUARD: Duration = DEADLINE;

/// A running `weft serve` (two loops) on `root`; killed if the test ends without stopping it.
struct Serve(ServeChild);

impl Serve {
    fn start(root: &Path) -> Serve {
        let mut args: Vec<OsString> = ["--host", "127.0.0.1", "--port", "0", "--loops", "2"]
            .map(OsString::from)
            .to_vec();
        args.push("--root".into());
        args.push(root.into());
        Serve(ServeChild::weft_serve(env!("CARGO_BIN_EXE_weft"), args))
    }

    fn url(&self, path: &str) -> String {
        self.0.url(path)
    }

    /// Sends SIGTERM and waits for a successful exit and the stop line.
    fn stop(mut self) {
        let exit = self.0.terminate();
        assert!(exit.success(), "exit status {exit}");
        self.0
            .wait_logged(|l| l.contains("weft serve stopped"), "the stop line");
    }
}

impl std::ops::Deref for Serve {
    type Target = ServeChild;
    fn deref(&self) -> &ServeChild {
        &self.0
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(GUARD))
        .build()
        .into()
}

/// (status, content type, body) of a GET.
fn get(agent: &ureq::Agent, url: &str) -> (u16, String, String) {
    let mut response = agent
        .get(url)
        .call()
        .unwrap_or_else(|e| panic!("GET {url}: {e}"));
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let body = response.body_mut().read_to_string().unwrap();
    (status, content_type, body)
}

/// A raw request (paths a client library would normalize), answer status.
fn raw_status(addr: SocketAddr, target: &str) -> u16 {
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(GUARD)).unwrap();
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

#[test]
fn serve_answers_every_route_and_stops_on_sigterm() {
    let root = TempDir::new("root");
    std::fs::write(root.0.join("hello.txt"), "static hello\n").unwrap();
    std::fs::create_dir(root.0.join("site")).unwrap();
    std::fs::write(root.0.join("site/index.html"), "<h1>index</h1>").unwrap();
    let serve = Serve::start(&root.0);
    let agent = agent();

    assert_eq!(
        get(&agent, &serve.url("/")),
        (200, "text/plain".into(), "Hello, World!".into())
    );
    assert_eq!(
        get(&agent, &serve.url("/plaintext")),
        (200, "text/plain".into(), "Hello, World!".into())
    );
    assert_eq!(
        get(&agent, &serve.url("/json")),
        (
            200,
            "application/json".into(),
            r#"{"message":"Hello, World!"}"#.into()
        )
    );

    let (status, _, body) = get(&agent, &serve.url("/sleep?ms=20"));
    assert_eq!((status, body.as_str()), (200, "slept 20 ms\n"));
    assert_eq!(get(&agent, &serve.url("/sleep?ms=soon")).0, 400);
    assert_eq!(get(&agent, &serve.url("/sleep")).0, 400);
    assert_eq!(get(&agent, &serve.url("/sleep?ms=99999999")).0, 400);

    let (status, _, body) = get(&agent, &serve.url("/cpu?ms=5"));
    assert_eq!(status, 200);
    assert!(body.contains("on the event loop"), "{body}");
    let (status, _, body) = get(&agent, &serve.url("/cpu?ms=5&offload=1"));
    assert_eq!(status, 200);
    assert!(body.contains("cpu lane"), "{body}");

    assert_eq!(
        get(&agent, &serve.url("/static/hello.txt")),
        (
            200,
            "text/plain; charset=utf-8".into(),
            "static hello\n".into()
        )
    );
    assert_eq!(
        get(&agent, &serve.url("/static/site/")),
        (
            200,
            "text/html; charset=utf-8".into(),
            "<h1>index</h1>".into()
        )
    );
    assert_eq!(get(&agent, &serve.url("/static/missing.txt")).0, 404);
    assert_eq!(get(&agent, &serve.url("/nowhere")).0, 404);

    // An upload 5 times the buffered-body limit (1 MiB), read as it arrives.
    let upload = vec![b'u'; 5 << 20];
    let mut response = agent
        .post(&serve.url("/upload"))
        .send(&upload[..])
        .expect("POST /upload");
    assert_eq!(response.status().as_u16(), 200);
    let body = response.body_mut().read_to_string().unwrap();
    assert!(body.starts_with("received 5242880 bytes in "), "{body}");

    serve.stop();
}

/// (status, the named response fields, body) of a GET with `fields`.
fn get_with(
    agent: &ureq::Agent,
    url: &str,
    fields: &[(&str, &str)],
    wanted: &[&str],
) -> (u16, Vec<Option<String>>, Vec<u8>) {
    let mut request = agent.get(url);
    for (name, value) in fields {
        request = request.header(*name, *value);
    }
    let mut response = request.call().unwrap_or_else(|e| panic!("GET {url}: {e}"));
    let found = wanted
        .iter()
        .map(|name| {
            let value = response.headers().get(*name)?;
            Some(value.to_str().unwrap().to_owned())
        })
        .collect();
    let body = response
        .body_mut()
        .with_config()
        .limit(64 << 20)
        .read_to_vec()
        .unwrap();
    (response.status().as_u16(), found, body)
}

#[test]
fn static_files_answer_conditional_and_range_requests() {
    let root = TempDir::new("cond");
    std::fs::write(root.0.join("hello.txt"), "static hello\n").unwrap();
    // Over the 32 MiB a whole response may carry: served by ranges only.
    let big: Vec<u8> = (0..(33u32 << 20)).map(|i| (i % 251) as u8).collect();
    std::fs::write(root.0.join("big.bin"), &big).unwrap();
    let serve = Serve::start(&root.0);
    let agent = agent();
    let url = serve.url("/static/hello.txt");
    const FIELDS: [&str; 4] = ["etag", "last-modified", "content-range", "accept-ranges"];

    let (status, found, body) = get_with(&agent, &url, &[], &FIELDS);
    assert_eq!((status, body.as_slice()), (200, &b"static hello\n"[..]));
    let [etag, modified, range, accept] = <[_; 4]>::try_from(found).unwrap();
    let (etag, modified) = (etag.expect("ETag"), modified.expect("Last-Modified"));
    assert!(etag.starts_with('"') && etag.ends_with('"'), "{etag}");
    assert!(
        weft_http::parse_http_date(&modified).is_some(),
        "{modified}"
    );
    assert_eq!((range, accept.as_deref()), (None, Some("bytes")));

    // Revalidation: the client's copy is current, or not.
    for fields in [
        [("If-None-Match", etag.as_str())],
        [("If-Modified-Since", modified.as_str())],
    ] {
        let (status, found, body) = get_with(&agent, &url, &fields, &FIELDS);
        assert_eq!((status, body.len()), (304, 0), "{fields:?}");
        assert_eq!(found[0].as_deref(), Some(etag.as_str()));
    }
    let (status, ..) = get_with(&agent, &url, &[("If-None-Match", "\"old\"")], &[]);
    assert_eq!(status, 200);
    let (status, ..) = get_with(&agent, &url, &[("If-Match", "\"old\"")], &[]);
    assert_eq!(status, 412);

    // Ranges: satisfiable, past the end, and guarded by If-Range.
    let (status, found, body) = get_with(&agent, &url, &[("Range", "bytes=7-")], &FIELDS);
    assert_eq!((status, body.as_slice()), (206, &b"hello\n"[..]));
    assert_eq!(found[2].as_deref(), Some("bytes 7-12/13"));
    let (status, found, _) = get_with(&agent, &url, &[("Range", "bytes=13-")], &FIELDS);
    assert_eq!((status, found[2].as_deref()), (416, Some("bytes */13")));
    let stale = [("Range", "bytes=0-5"), ("If-Range", "\"old\"")];
    let (status, _, body) = get_with(&agent, &url, &stale, &[]);
    assert_eq!((status, body.len()), (200, 13));
    let fresh = [("Range", "bytes=0-5"), ("If-Range", etag.as_str())];
    let (status, _, body) = get_with(&agent, &url, &fresh, &[]);
    assert_eq!((status, body.as_slice()), (206, &b"static"[..]));

    // The big file: refused whole, served by range, a range cut to 32 MiB.
    let big_url = serve.url("/static/big.bin");
    assert_eq!(get_with(&agent, &big_url, &[], &[]).0, 403);
    let (status, found, body) = get_with(&agent, &big_url, &[("Range", "bytes=-1000")], &FIELDS);
    assert_eq!(status, 206);
    assert_eq!(body, &big[big.len() - 1000..]);
    let total = big.len();
    let expect = format!("bytes {}-{}/{total}", total - 1000, total - 1);
    assert_eq!(found[2].as_deref(), Some(expect.as_str()));
    let (status, found, body) = get_with(&agent, &big_url, &[("Range", "bytes=1-")], &FIELDS);
    assert_eq!((status, body.len()), (206, 32 << 20));
    assert_eq!(body, &big[1..1 + (32 << 20)]);
    let expect = format!("bytes 1-{}/{total}", 32 << 20);
    assert_eq!(found[2].as_deref(), Some(expect.as_str()));

    serve.stop();
}

#[test]
fn static_files_never_escape_the_root() {
    let outside = TempDir::new("outside");
    std::fs::write(outside.0.join("secret.txt"), "secret").unwrap();
    let root = TempDir::new("jail");
    std::fs::write(root.0.join("ok.txt"), "ok").unwrap();
    std::os::unix::fs::symlink(outside.0.join("secret.txt"), root.0.join("link-out.txt")).unwrap();
    std::os::unix::fs::symlink(&outside.0, root.0.join("dir-out")).unwrap();
    std::os::unix::fs::symlink(root.0.join("ok.txt"), root.0.join("link-in.txt")).unwrap();
    let serve = Serve::start(&root.0);
    let secret_name = outside.0.file_name().unwrap().to_str().unwrap().to_owned();

    // `..` in any spelling is refused before the file system is consulted.
    for target in [
        format!("/static/../{secret_name}/secret.txt"),
        format!("/static/%2e%2e/{secret_name}/secret.txt"),
        format!("/static/sub/%2E%2E/%2e%2e/{secret_name}/secret.txt"),
        "/static/..%2f..%2fetc%2fpasswd".to_string(),
    ] {
        assert_eq!(raw_status(serve.addr, &target), 403, "{target}");
    }
    // Symlinks leading out of the root are refused; inside ones are followed.
    assert_eq!(raw_status(serve.addr, "/static/link-out.txt"), 403);
    assert_eq!(raw_status(serve.addr, "/static/dir-out/secret.txt"), 403);
    assert_eq!(raw_status(serve.addr, "/static/link-in.txt"), 200);
    assert_eq!(raw_status(serve.addr, "/static/a%00b"), 400);

    serve.stop();
}

#[test]
fn bad_arguments_are_reported() {
    let output = Command::new(env!("CARGO_BIN_EXE_weft"))
        .args(["serve", "--loops", "0"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("--loops"));

    let output = Command::new(env!("CARGO_BIN_EXE_weft"))
        .args(["serve", "--port", "0", "--root", "/definitely/not/here"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("/definitely/not/here"));
}
