//! examples/service end to end: the service binary against a throw-away PostgreSQL
//! (`weft_testkit::Postgres`), over HTTPS with a certificate from a test CA, driven by real
//! clients (ureq on rustls; rustls by hand for a request held in flight).
//!
//! - `every_route_over_https`: `/healthz`, `/items` (list, create, show, and the bad inputs),
//!   `/jobs` (a sha256sum job, a failing shell job, the bad inputs), an unknown route, HTTP/2
//!   by ALPN (hyper's client over futures-rustls on weft), plain
//!   HTTP and an untrusting client on the TLS port (the server keeps serving); SIGTERM exits 0;
//!   PostgreSQL is stopped.
//! - `a_job_past_the_shutdown_timeout_is_killed_and_the_exit_is_1`: a job that never ends
//!   does not hold the process forever: past `--shutdown-timeout` the service exits 1 and the
//!   job's child process is killed, not left behind.
//! - `plain_http_without_tls_flags`: without `--tls-cert`/`--tls-key` the same API is served
//!   over plain HTTP by `hyper_rt::serve`, with PostgreSQL reached over its Unix socket; without `--allow-shell-jobs` a shell job is a 403.
//! - `sigterm_lets_the_request_and_job_in_flight_finish`: a job (a child process) running and
//!   a request half sent when SIGTERM arrives; new connections are refused, the request is
//!   answered, the job finishes and is recorded, the process exits 0.

mod support;

use std::io::{Read, Write};

use serde_json::json;
use support::{
    h2_get, header, is_running, start_plain_service, start_service, start_service_with, Certs,
    Client, RawTls,
};
use weft_testkit::{wait_until, Postgres};

#[test]
fn every_route_over_https() {
    let mut pg = Postgres::start();
    let certs = Certs::generate();
    let mut service = start_service(&pg, &certs);
    let client = Client::new(service.addr, &certs);

    let health = client.get("/healthz");
    assert_eq!(health.status, 200, "{health:?}");
    assert_eq!(health.body["status"], "ok");
    assert_eq!(health.body["database"], "ok");

    // Items: empty, create two, show, list.
    let empty = client.get("/items");
    assert_eq!((empty.status, empty.body.clone()), (200, json!([])));
    let widget = client.post_json("/items", &json!({"name": "widget", "quantity": 3}));
    assert_eq!(widget.status, 201, "{widget:?}");
    let id = widget.body["id"].as_i64().unwrap();
    assert_eq!(
        widget.location.as_deref(),
        Some(format!("/items/{id}").as_str())
    );
    assert_eq!(widget.body["name"], "widget");
    assert_eq!(widget.body["quantity"], 3);
    let gadget = client.post_json("/items", &json!({"name": "gadget"}));
    assert_eq!(gadget.status, 201, "{gadget:?}");
    assert_eq!(gadget.body["quantity"], 1, "quantity defaults to 1");
    let shown = client.get(&format!("/items/{id}"));
    assert_eq!(
        (shown.status, shown.body.clone()),
        (200, widget.body.clone())
    );
    let listed = client.get("/items");
    assert_eq!(listed.status, 200);
    let names: Vec<&str> = listed
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["widget", "gadget"]);

    // Items: bad input gets a clear answer.
    let missing = client.get("/items/999999");
    assert_eq!(missing.status, 404);
    assert_eq!(missing.body["error"], "no item with id 999999");
    let not_a_number = client.get("/items/abc");
    assert_eq!(not_a_number.status, 400, "{not_a_number:?}");
    assert!(
        not_a_number.body["error"].as_str().unwrap().contains("abc")
            || not_a_number.body["error"]
                .as_str()
                .unwrap()
                .contains("parse"),
        "{not_a_number:?}"
    );
    let broken = client.post_raw("/items", "application/json", "{\"name\": ");
    assert_eq!(broken.status, 400, "{broken:?}");
    let empty_name = client.post_json("/items", &json!({"name": "  "}));
    assert_eq!(empty_name.status, 422);
    assert_eq!(empty_name.body["error"], "name must not be empty");
    let negative = client.post_json("/items", &json!({"name": "x", "quantity": -1}));
    assert_eq!(negative.status, 422);
    let unknown_field = client.post_json("/items", &json!({"name": "x", "colour": "red"}));
    assert_eq!(unknown_field.status, 422, "{unknown_field:?}");
    assert!(
        unknown_field.body["error"]
            .as_str()
            .unwrap()
            .contains("colour"),
        "{unknown_field:?}"
    );
    let no_route = client.get("/nowhere");
    assert_eq!(no_route.status, 404);
    assert_eq!(no_route.body["error"], "no route for /nowhere");

    // Jobs: sha256sum of a payload, run as a child process, its output recorded.
    let job = client.post_json("/jobs", &json!({"kind": "sha256", "input": "hello"}));
    assert_eq!(job.status, 202, "{job:?}");
    let job_id = job.body["id"].as_i64().unwrap();
    assert_eq!(
        job.location.as_deref(),
        Some(format!("/jobs/{job_id}").as_str())
    );
    let done = client.wait_job(job_id, &["queued", "running"]);
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(done["exit_code"], 0);
    assert_eq!(
        done["stdout"],
        "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824  -\n"
    );
    assert!(done["finished_at"].is_string(), "{done}");

    // Jobs: a shell job that fails keeps its exit code, stdout and stderr apart.
    let job = client.post_json(
        "/jobs",
        &json!({"kind": "shell", "script": "read line; echo \"got $line\"; echo oops >&2; exit 3", "input": "payload\n"}),
    );
    assert_eq!(job.status, 202, "{job:?}");
    let failed = client.wait_job(job.body["id"].as_i64().unwrap(), &["queued", "running"]);
    assert_eq!(failed["status"], "failed", "{failed}");
    assert_eq!(failed["exit_code"], 3);
    assert_eq!(failed["stdout"], "got payload\n");
    assert_eq!(failed["stderr"], "oops\n");

    // Jobs: bad input.
    let bad_kind = client.post_json("/jobs", &json!({"kind": "rm", "input": "/"}));
    assert_eq!(bad_kind.status, 422, "{bad_kind:?}");
    assert!(
        bad_kind.body["error"].as_str().unwrap().contains("rm"),
        "{bad_kind:?}"
    );
    let no_job = client.get("/jobs/424242");
    assert_eq!(no_job.status, 404);
    assert_eq!(no_job.body["error"], "no job with id 424242");

    // HTTP/2 over TLS: ALPN picks h2 and the same routes answer.
    let (alpn, version, status, body) = h2_get(service.addr, &certs, &format!("/items/{id}"));
    assert_eq!(alpn, b"h2");
    assert_eq!((version, status), (hyper::Version::HTTP_2, 200));
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&body).unwrap(),
        widget.body
    );

    // Plain HTTP to the TLS port: a clear 400, and the server keeps serving.
    let mut plain = std::net::TcpStream::connect(service.addr).unwrap();
    plain
        .set_read_timeout(Some(weft_testkit::DEADLINE))
        .unwrap();
    plain
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut answer = String::new();
    plain.read_to_string(&mut answer).unwrap();
    assert!(
        answer.starts_with("HTTP/1.1 400 Bad Request\r\n"),
        "{answer:?}"
    );
    assert!(
        answer.ends_with("this port speaks HTTPS: send the request with https://\n"),
        "{answer:?}"
    );

    // A client that does not trust the certificate fails its handshake; the server keeps serving.
    let untrusting = Client::with_roots(service.addr, Vec::new());
    let refused = untrusting.try_get("/healthz").unwrap_err();
    assert!(
        refused.to_string().to_lowercase().contains("certificate")
            || refused.to_string().contains("UnknownIssuer"),
        "{refused}"
    );
    assert_eq!(client.get("/healthz").status, 200);

    // SIGTERM: a clean exit, then PostgreSQL stops.
    let status = service.terminate();
    assert!(
        status.success(),
        "exit {status}; log:\n{}",
        service.log.join("\n")
    );
    assert!(
        service
            .log
            .iter()
            .any(|l| l.contains("stopped: every request and job finished")),
        "{}",
        service.log.join("\n")
    );
    pg.stop();
    assert!(!pg.is_running(), "PostgreSQL still running after stop");
    assert!(
        std::net::TcpStream::connect(pg.addr()).is_err(),
        "PostgreSQL's port still accepts"
    );
}

#[test]
fn sigterm_lets_the_request_and_job_in_flight_finish() {
    let mut pg = Postgres::start();
    let certs = Certs::generate();
    let mut service = start_service(&pg, &certs);
    let client = Client::new(service.addr, &certs);
    let release = certs.dir.path().join("release-the-job");

    // A job whose child runs until the test releases it.
    let script = format!(
        "while [ ! -e '{}' ]; do sleep 0.01; done; echo released",
        release.display()
    );
    let job = client.post_json("/jobs", &json!({"kind": "shell", "script": script}));
    assert_eq!(job.status, 202, "{job:?}");
    let job_id = job.body["id"].as_i64().unwrap();
    let running = client.wait_job(job_id, &["queued"]);
    assert_eq!(running["status"], "running", "{running}");

    // A request in flight: its head is sent and its handler waits for the body (the server's
    // `100 Continue` says the handler asked for it).
    let body = br#"{"name": "sent during the drain", "quantity": 7}"#;
    let mut raw = RawTls::connect(service.addr, &certs);
    raw.write(
        format!(
            "POST /items HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n\
             content-length: {}\r\nexpect: 100-continue\r\n\r\n",
            body.len()
        )
        .as_bytes(),
    );
    let interim = raw.read_head();
    assert!(
        interim.starts_with("HTTP/1.1 100 Continue\r\n"),
        "{interim:?}"
    );

    service.signal(libc::SIGTERM);
    service.wait_line(
        |l| l.contains("received SIGTERM: draining"),
        "the drain to start",
    );
    // New connections are refused once every loop's listener is closed.
    wait_until("the listeners to close", || {
        matches!(std::net::TcpStream::connect(service.addr),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused)
    });
    assert!(
        is_running(&mut service),
        "the service exited with a request in flight"
    );

    // The request in flight is answered in full.
    raw.write(body);
    let head = raw.read_head();
    assert!(head.starts_with("HTTP/1.1 201 Created\r\n"), "{head:?}");
    let len: usize = header(&head, "content-length").unwrap().parse().unwrap();
    let item: serde_json::Value = serde_json::from_slice(&raw.read_body(len)).unwrap();
    assert_eq!(item["name"], "sent during the drain");
    assert_eq!(item["quantity"], 7);

    // The job still runs, and the service waits for it.
    assert!(
        is_running(&mut service),
        "the service exited with a job running"
    );
    std::fs::write(&release, b"").unwrap();
    let status = service.wait_exit();
    let log = service.log.join("\n");
    assert!(status.success(), "exit {status}; log:\n{log}");
    assert!(
        log.contains("stopped: every request and job finished"),
        "{log}"
    );

    // What the drain finished is in PostgreSQL.
    assert_eq!(
        pg.psql(&format!(
            "SELECT status || ':' || exit_code || ':' || stdout FROM jobs WHERE id = {job_id}"
        )),
        "succeeded:0:released"
    );
    assert_eq!(
        pg.psql("SELECT quantity FROM items WHERE name = 'sent during the drain'"),
        "7"
    );
    pg.stop();
    assert!(!pg.is_running(), "PostgreSQL still running after stop");
}

#[test]
fn plain_http_without_tls_flags() {
    let mut pg = Postgres::start();
    let mut service = start_plain_service(&pg);
    let client = Client::plain(service.addr);
    let health = client.get("/healthz");
    assert_eq!(
        (health.status, health.body["database"].clone()),
        (200, json!("ok"))
    );
    let item = client.post_json("/items", &json!({"name": "plain", "quantity": 2}));
    assert_eq!(item.status, 201, "{item:?}");
    let id = item.body["id"].as_i64().unwrap();
    assert_eq!(client.get(&format!("/items/{id}")).body, item.body);
    let job = client.post_json("/jobs", &json!({"kind": "sha256", "input": ""}));
    let done = client.wait_job(job.body["id"].as_i64().unwrap(), &["queued", "running"]);
    assert_eq!(
        done["stdout"],
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855  -\n"
    );
    // The pool's connections are on the Unix socket (no client address), none over TCP; psql
    // is one more on the socket.
    let sessions = pg.psql(
        "SELECT count(*) FILTER (WHERE client_addr IS NULL) || ' ' || \
                count(*) FILTER (WHERE client_addr IS NOT NULL) \
         FROM pg_stat_activity WHERE backend_type = 'client backend'",
    );
    let (unix, tcp) = sessions.split_once(' ').unwrap();
    assert!(
        unix.parse::<u32>().unwrap() >= 2,
        "sessions on the socket: {sessions}"
    );
    assert_eq!(tcp, "0", "sessions over TCP: {sessions}");
    let shell = client.post_json("/jobs", &json!({"kind": "shell", "script": "true"}));
    assert_eq!(shell.status, 403, "{shell:?}");
    let error = shell.body["error"].as_str().unwrap();
    assert!(error.contains("--allow-shell-jobs"), "{error}");
    let status = service.terminate();
    assert!(
        status.success(),
        "exit {status}; log:\n{}",
        service.log.join("\n")
    );
    pg.stop();
    assert!(!pg.is_running(), "PostgreSQL still running after stop");
}

#[test]
fn a_job_past_the_shutdown_timeout_is_killed_and_the_exit_is_1() {
    let mut pg = Postgres::start();
    let certs = Certs::generate();
    let mut service = start_service_with(&pg, &certs, &["--shutdown-timeout", "1"]);
    let client = Client::new(service.addr, &certs);
    let pid_file = certs.dir.path().join("job.pid");
    let script = format!(
        "echo $$ > '{}'; while true; do sleep 0.01; done",
        pid_file.display()
    );
    let job = client.post_json("/jobs", &json!({"kind": "shell", "script": script}));
    assert_eq!(job.status, 202, "{job:?}");
    wait_until("the job to write its pid", || {
        std::fs::read_to_string(&pid_file).is_ok_and(|p| p.ends_with('\n'))
    });
    let pid: i32 = std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();

    let status = service.terminate();
    let log = service.log.join("\n");
    assert_eq!(status.code(), Some(1), "{log}");
    assert!(log.contains("jobs still running after 1s"), "{log}");
    // The child was killed with the service (reaped by init once the service is gone).
    wait_until("the job's child process to be gone", || {
        // SAFETY: kill with signal 0 only checks that the process exists.
        unsafe { libc::kill(pid, 0) != 0 }
    });
    pg.stop();
}
