//! `weft serve --access-log FILE|-`: real requests to a real `weft serve` child give one JSON
//! line each (parsed with serde_json), with the right fields; lines appear while the server
//! runs (the interval flush) and none is lost at the stop; `-` writes to standard output; with
//! `--workers 2` under concurrent load no line is torn or interleaved with another.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Command, Stdio};
use std::time::Duration;

use weft_testkit::{wait_until, ServeChild, TempDir, Watch, DEADLINE, WEFT_SERVE_START};

/// One raw request (the target exactly as given) on a connection of its own: the status.
fn request(addr: SocketAddr, method: &str, target: &str) -> u16 {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(DEADLINE)).unwrap();
    write!(
        stream,
        "{method} {target} HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).unwrap();
    let head = String::from_utf8_lossy(&response[..response.len().min(12)]).into_owned();
    head.strip_prefix("HTTP/1.1 ")
        .and_then(|s| s.get(..3))
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status in {head:?}"))
}

/// Every line of `text`, parsed (panics naming a line that is not one JSON object).
fn parse_lines(text: &str) -> Vec<serde_json::Value> {
    text.lines()
        .map(|line| {
            let value: serde_json::Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("not a JSON line ({e}): {line:?}"));
            assert!(value.is_object(), "{line}");
            value
        })
        .collect()
}

/// Checks the fields every line has.
fn check_fields(line: &serde_json::Value) {
    let time = line["time"].as_str().expect("time");
    // RFC 3339, UTC, milliseconds: 2026-12-02T14:12:28.123Z
    assert_eq!(time.len(), 24, "{time}");
    let b = time.as_bytes();
    assert!(
        b[4] == b'-' && b[7] == b'-' && b[10] == b'T' && b[13] == b':' && b[19] == b'.',
        "{time}"
    );
    assert!(time.ends_with('Z'), "{time}");
    let remote = line["remote_addr"].as_str().expect("remote_addr");
    assert!(
        remote.parse::<SocketAddr>().unwrap().ip().is_loopback(),
        "{remote}"
    );
    assert!(line["method"].is_string(), "{line}");
    assert!(line["path"].as_str().unwrap().starts_with('/'), "{line}");
    assert!(line["status"].as_u64().is_some(), "{line}");
    assert!(line["bytes"].as_u64().is_some(), "{line}");
    let duration = line["duration"].as_f64().expect("duration");
    assert!(duration >= 0.0, "{line}");
}

fn lines_in(path: &std::path::Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

#[test]
fn every_request_gives_one_json_line_with_its_fields() {
    let dir = TempDir::new("access-log");
    let log = dir.0.join("access.log");
    let mut child = ServeChild::weft_serve(
        env!("CARGO_BIN_EXE_weft"),
        [
            "--port",
            "0",
            "--loops",
            "2",
            "--drain-grace",
            "0",
            "--access-log",
            log.to_str().unwrap(),
        ],
    );
    let addr = child.addr;
    for _ in 0..20 {
        assert_eq!(request(addr, "GET", "/"), 200);
    }
    for i in 0..10 {
        assert_eq!(request(addr, "GET", &format!("/json?i={i}")), 200);
    }
    assert_eq!(request(addr, "GET", "/nope"), 404);
    assert_eq!(request(addr, "HEAD", "/"), 200);
    assert_eq!(request(addr, "POST", "/json"), 405);
    // Quotes, a backslash and percent-escapes in the path: escaped in the JSON, read back whole.
    assert_eq!(request(addr, "GET", r#"/a"b\c%FF%0A"#), 404);
    let sent = 34;

    // The lines appear while the server runs (the interval flush), all of them.
    wait_until("34 lines in the access log", || {
        lines_in(&log).lines().count() == sent
    });
    let exit = child.terminate();
    assert!(exit.success(), "{exit:?}\n{}", child.log.join("\n"));
    let text = lines_in(&log);
    let lines = parse_lines(&text);
    assert_eq!(lines.len(), sent, "{text}");
    lines.iter().for_each(check_fields);

    let with = |path: &str| {
        lines
            .iter()
            .filter(|l| l["path"] == path)
            .collect::<Vec<_>>()
    };
    let root = with("/");
    assert_eq!(root.len(), 21, "20 GET and 1 HEAD of /");
    let gets: Vec<_> = root.iter().filter(|l| l["method"] == "GET").collect();
    assert_eq!(gets.len(), 20);
    assert!(gets
        .iter()
        .all(|l| l["status"] == 200 && l["bytes"] == 13 && l["query"].is_null()));
    let head = root.iter().find(|l| l["method"] == "HEAD").unwrap();
    assert_eq!(
        (head["status"].as_u64(), head["bytes"].as_u64()),
        (Some(200), Some(0))
    );
    let json = with("/json");
    assert_eq!(json.len(), 11);
    let mut queries: Vec<&str> = json.iter().filter_map(|l| l["query"].as_str()).collect();
    queries.sort_unstable();
    assert_eq!(queries.len(), 10);
    assert_eq!(queries[0], "i=0");
    assert!(json.iter().all(|l| l["bytes"] == 27 || l["status"] == 405));
    assert_eq!(
        with("/json").iter().filter(|l| l["status"] == 405).count(),
        1
    );
    assert_eq!(with("/nope")[0]["status"], 404);
    let odd = with(r#"/a"b\c%FF%0A"#);
    assert_eq!(odd.len(), 1, "the escaped path read back as sent: {text}");
}

/// `weft serve ARGS --access-log -` with standard output on a pipe the test reads to its end
/// (when every process holding it, supervisor and workers, has exited). A `slow` reader takes
/// 4 KiB per 5 ms (slower than the load writes), so the pipe fills and writers block part-way: where writes larger
/// than `PIPE_BUF` would interleave.
fn serve_to_stdout(args: &[&str], slow: bool) -> (ServeChild, std::thread::JoinHandle<String>) {
    let (mut reader, writer) = std::io::pipe().unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_weft"));
    command
        .arg("serve")
        .args(args)
        .args(["--access-log", "-"])
        .stdin(Stdio::null())
        .stdout(writer);
    // `spawn` drops the command, and with it this process's copy of the pipe's write end.
    let child = ServeChild::spawn(command, Watch::Stderr, WEFT_SERVE_START);
    let out = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let mut piece = [0u8; 4096];
        loop {
            let n = reader.read(&mut piece).unwrap();
            if n == 0 {
                break;
            }
            bytes.extend_from_slice(&piece[..n]);
            if slow {
                // A slow consumer on purpose (not a wait for anything).
                std::thread::sleep(Duration::from_millis(5));
            }
        }
        String::from_utf8(bytes).expect("the log is UTF-8")
    });
    (child, out)
}

#[test]
fn dash_writes_the_lines_to_stdout() {
    let (mut child, out) = serve_to_stdout(
        &["--port", "0", "--loops", "1", "--drain-grace", "0"],
        false,
    );
    for _ in 0..5 {
        assert_eq!(request(child.addr, "GET", "/plaintext"), 200);
    }
    let exit = child.terminate();
    assert!(exit.success(), "{exit:?}\n{}", child.log.join("\n"));
    let text = out.join().unwrap();
    let lines = parse_lines(&text);
    assert_eq!(lines.len(), 5, "{text}");
    lines.iter().for_each(check_fields);
    assert!(lines.iter().all(|l| l["path"] == "/plaintext"));
}

#[test]
fn two_workers_under_load_write_whole_lines() {
    let (mut child, out) = serve_to_stdout(
        &["--port", "0", "--workers", "2", "--drain-grace", "0"],
        true,
    );
    let addr = child.addr;
    // Long paths (~1.5 KB lines) from 4 concurrent clients: many 4 KiB writes from both
    // workers into one pipe at once.
    const CLIENTS: usize = 4;
    const EACH: usize = 300;
    let clients: Vec<_> = (0..CLIENTS)
        .map(|c| {
            std::thread::spawn(move || {
                let agent = ureq::Agent::config_builder()
                    .http_status_as_error(false)
                    .timeout_global(Some(DEADLINE))
                    .build()
                    .new_agent();
                for i in 0..EACH {
                    let filler = "x".repeat(1400 + i);
                    let url = format!("http://{addr}/c{c}/r{i}/{filler}");
                    let status = agent.get(&url).call().unwrap().status().as_u16();
                    assert_eq!(status, 404);
                }
            })
        })
        .collect();
    for client in clients {
        client.join().unwrap();
    }
    let exit = child.terminate();
    assert!(exit.success(), "{exit:?}\n{}", child.log.join("\n"));
    let text = out.join().unwrap();
    let lines = parse_lines(&text);
    assert_eq!(
        lines.len(),
        CLIENTS * EACH,
        "every request, one whole line each"
    );
    let mut seen = std::collections::BTreeSet::new();
    for line in &lines {
        check_fields(line);
        let path = line["path"].as_str().unwrap();
        let mut parts = path.splitn(4, '/').skip(1);
        let (c, r, filler) = (
            parts.next().unwrap(),
            parts.next().unwrap(),
            parts.next().unwrap(),
        );
        let i: usize = r[1..].parse().unwrap();
        assert_eq!(filler.len(), 1400 + i, "a line cut short: {path}");
        assert!(seen.insert((c.to_owned(), i)), "a line twice: {path}");
    }
}

#[test]
fn an_unwritable_log_is_refused_at_start_by_name() {
    for extra in [&[][..], &["--workers", "2"][..]] {
        let mut command = Command::new(env!("CARGO_BIN_EXE_weft"));
        command
            .args([
                "serve",
                "--port",
                "0",
                "--access-log",
                "/definitely/not/here/a.log",
            ])
            .args(extra);
        let output = weft_testkit::run_to_end(command, DEADLINE);
        assert!(!output.status.success(), "{extra:?}: {output:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains("--access-log /definitely/not/here/a.log"),
            "{extra:?}: {stderr}"
        );
    }
    let mut command = Command::new(env!("CARGO_BIN_EXE_weft"));
    command.args(["serve", "--port", "0", "--access-log", ""]);
    let output = weft_testkit::run_to_end(command, DEADLINE);
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("--access-log"));
}
