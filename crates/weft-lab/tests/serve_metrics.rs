//! `GET /metrics` of `weft serve`, read by a real Prometheus parser: the `prometheus_client`
//! Python package's `text_string_to_metric_families` (the test fails, with the install command,
//! when it is missing). Real requests to a real `weft serve` child; the counters must equal
//! what was sent, the histogram count the requests timed, and the open-connections gauge must
//! follow connections the test holds open.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Command, Stdio};

use weft_testkit::{log_field, send_signal, wait_until, Cluster, ServeChild, DEADLINE};

/// Parses the exposition on stdin with prometheus_client and prints every sample as JSON.
const PARSE: &str = r#"
import json, math, sys
try:
    from prometheus_client.parser import text_string_to_metric_families
except ImportError as e:
    print("prometheus_client is not importable (%s): python3 -m pip install prometheus_client" % e, file=sys.stderr)
    sys.exit(3)
out = []
for family in text_string_to_metric_families(sys.stdin.read()):
    for s in family.samples:
        v = s.value if math.isfinite(s.value) else str(s.value)
        out.append({"family": family.name, "type": family.type, "name": s.name, "labels": s.labels, "value": v})
print(json.dumps(out))
"#;

/// One sample as the parser read it.
#[derive(Debug, Clone)]
struct Sample {
    /// The family's type as the parser read it from `# TYPE`.
    kind: String,
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// The samples of `text`, parsed by prometheus_client (panics with its complaint if it refuses
/// the text, or with the install command if it is missing).
fn parse(text: &str) -> Vec<Sample> {
    let mut python = Command::new("python3")
        .args(["-c", PARSE])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 not found: apt-get install -y python3, then python3 -m pip install prometheus_client");
    python
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let output = python.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "prometheus_client refused the exposition ({}):\n{}\n--- the text ---\n{text}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    let all: Vec<serde_json::Value> = serde_json::from_slice(&output.stdout).unwrap();
    all.into_iter()
        .map(|s| Sample {
            kind: s["type"].as_str().unwrap().to_owned(),
            name: s["name"].as_str().unwrap().to_owned(),
            labels: serde_json::from_value(s["labels"].clone()).unwrap(),
            value: s["value"].as_f64().unwrap_or(f64::NAN),
        })
        .collect()
}

/// The value of the sample `name` whose labels include `labels`; panics if not exactly one.
fn value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> f64 {
    let found: Vec<&Sample> = matching(samples, name, labels).collect();
    assert_eq!(
        found.len(),
        1,
        "samples {name}{labels:?}: {found:?} (of {} samples)",
        samples.len()
    );
    found[0].value
}

fn matching<'a>(
    samples: &'a [Sample],
    name: &'a str,
    labels: &'a [(&'a str, &'a str)],
) -> impl Iterator<Item = &'a Sample> + 'a {
    samples.iter().filter(move |s| {
        s.name == name
            && labels
                .iter()
                .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
    })
}

/// `GET /metrics` on a connection of its own: (Content-Type, body).
fn scrape(addr: SocketAddr) -> (String, String) {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(DEADLINE)).unwrap();
    stream
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").expect("a response head");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    let content_type = head
        .lines()
        .find_map(|l| l.strip_prefix("Content-Type: "))
        .unwrap_or("")
        .to_owned();
    (content_type, body.to_owned())
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(DEADLINE))
        .build()
        .new_agent()
}

#[test]
fn metrics_count_requests_by_route_and_status_and_show_loops_and_lanes() {
    let child = ServeChild::weft_serve(env!("CARGO_BIN_EXE_weft"), ["--port", "0", "--loops", "2"]);
    let agent = agent();
    let get = |path: &str| {
        agent
            .get(&child.url(path))
            .call()
            .unwrap()
            .status()
            .as_u16()
    };
    for _ in 0..7 {
        assert_eq!(get("/"), 200);
    }
    for _ in 0..3 {
        assert_eq!(get("/json?x=1"), 200);
    }
    assert_eq!(get("/nope"), 404);
    assert_eq!(get("/static/a/b.css"), 404); // no --root: the /static/* route answers 404
    assert_eq!(get("/cpu?ms=1&offload=1"), 200);
    let post = agent.post(&child.url("/json")).send("x").unwrap();
    assert_eq!(post.status().as_u16(), 405);

    let (content_type, text) = scrape(child.addr);
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    let samples = parse(&text);
    let requests = |route, status| {
        value(
            &samples,
            "weft_http_requests_total",
            &[("route", route), ("status", status)],
        )
    };
    assert_eq!(requests("/", "200"), 7.0);
    assert_eq!(requests("/json", "200"), 3.0);
    assert_eq!(requests("/static/*", "404"), 1.0);
    assert_eq!(requests("/cpu", "200"), 1.0);
    assert_eq!(requests("unmatched", "404"), 1.0);
    assert_eq!(requests("unmatched", "405"), 1.0);
    let family = |name: &str| samples.iter().find(|s| s.name.starts_with(name)).unwrap();
    assert_eq!(family("weft_http_requests_total").kind, "counter");
    assert_eq!(
        family("weft_http_request_duration_seconds").kind,
        "histogram"
    );
    assert_eq!(family("weft_http_open_connections").kind, "gauge");

    // The histogram of `/`: 7 timed, cumulative buckets, +Inf equal to the count.
    let route = [("route", "/")];
    let count = value(&samples, "weft_http_request_duration_seconds_count", &route);
    assert_eq!(count, 7.0);
    let mut buckets: Vec<(f64, f64)> = matching(
        &samples,
        "weft_http_request_duration_seconds_bucket",
        &route,
    )
    .map(|s| (s.labels["le"].parse::<f64>().unwrap(), s.value))
    .collect();
    buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
    assert!(buckets.len() > 5, "{buckets:?}");
    assert!(buckets.windows(2).all(|w| w[0].1 <= w[1].1), "{buckets:?}");
    assert_eq!(buckets.last().unwrap(), &(f64::INFINITY, 7.0));
    let sum = value(&samples, "weft_http_request_duration_seconds_sum", &route);
    assert!(sum > 0.0 && sum < 7.0 * DEADLINE.as_secs_f64(), "{sum}");

    // Per loop: both loops, with a label each; figures in range.
    for l in ["0", "1"] {
        let at = [("loop", l)];
        assert!(value(&samples, "weft_loop_tasks", &at) >= 0.0);
        assert!(value(&samples, "weft_loop_ready_depth", &at) >= 0.0);
        let ratio = value(&samples, "weft_loop_busy_ratio", &at);
        assert!((0.0..=1.0).contains(&ratio), "busy ratio {ratio}");
        assert!(value(&samples, "weft_loop_busy_seconds_total", &at) >= 0.0);
        assert!(value(&samples, "weft_loop_mean_poll_seconds", &at) >= 0.0);
    }
    let polls: f64 = matching(&samples, "weft_loop_polls_total", &[])
        .map(|s| s.value)
        .sum();
    assert!(polls >= 14.0, "the loops polled the connections: {polls}");
    // Per lane: every lane; the cpu lane ran the /cpu job.
    for lane in ["fs", "dns", "cpu", "blocking"] {
        let at = [("lane", lane)];
        for gauge in [
            "weft_pool_queued",
            "weft_pool_running",
            "weft_pool_threads",
            "weft_pool_max_threads",
        ] {
            assert!(value(&samples, gauge, &at) >= 0.0, "{gauge} {lane}");
        }
        value(&samples, "weft_pool_queue_wait_seconds_count", &at);
    }
    let cpu = [("lane", "cpu"), ("outcome", "completed")];
    assert_eq!(value(&samples, "weft_pool_jobs_total", &cpu), 1.0);
    assert_eq!(
        value(
            &samples,
            "weft_pool_queue_wait_seconds_count",
            &[("lane", "cpu")]
        ),
        1.0
    );

    // The next scrape counts the first one.
    let samples = parse(&scrape(child.addr).1);
    assert_eq!(
        value(
            &samples,
            "weft_http_requests_total",
            &[("route", "/metrics"), ("status", "200")]
        ),
        1.0
    );
}

/// `weft_http_open_connections` as a scrape sees it (its own connection included).
fn open_connections(addr: SocketAddr) -> f64 {
    value(&parse(&scrape(addr).1), "weft_http_open_connections", &[])
}

#[test]
fn open_connections_gauge_follows_connections() {
    let child = ServeChild::weft_serve(env!("CARGO_BIN_EXE_weft"), ["--port", "0", "--loops", "2"]);
    // Only the scrape's own connection (earlier scrapes' may still be closing: wait).
    wait_until("one open connection, the scrape's", || {
        open_connections(child.addr) == 1.0
    });
    let held: Vec<TcpStream> = (0..3)
        .map(|_| {
            // A kept-alive connection with one request answered: certainly accepted.
            let stream = TcpStream::connect(child.addr).unwrap();
            stream.set_read_timeout(Some(DEADLINE)).unwrap();
            (&stream)
                .write_all(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
                .unwrap();
            let mut reader = BufReader::new(&stream);
            let mut status = String::new();
            reader.read_line(&mut status).unwrap();
            assert!(status.starts_with("HTTP/1.1 200"), "{status}");
            stream
        })
        .collect();
    assert_eq!(open_connections(child.addr), 4.0, "3 held + the scrape's");
    let accepted = value(
        &parse(&scrape(child.addr).1),
        "weft_http_connections_total",
        &[],
    );
    assert!(accepted >= 5.0, "connections_total {accepted}");
    drop(held);
    wait_until("the held connections closed", || {
        open_connections(child.addr) == 1.0
    });
}

#[test]
fn cluster_scrapes_carry_the_worker_label_and_the_supervisors_restart_count() {
    let mut cluster = Cluster::weft_serve(
        env!("CARGO_BIN_EXE_weft"),
        ["--port", "0", "--workers", "2", "--drain-grace", "0"],
    );
    let pids: Vec<u32> = cluster.wait_ready(2).into_iter().map(|(_, p)| p).collect();
    let addr = cluster.addr;
    let mut seen_workers = std::collections::BTreeSet::new();
    wait_until("scrapes from both workers", || {
        let samples = parse(&scrape(addr).1);
        let workers: std::collections::BTreeSet<&str> = samples
            .iter()
            .map(|s| s.labels.get("worker").map_or("none", String::as_str))
            .collect();
        assert_eq!(
            workers.len(),
            1,
            "one worker's figures per scrape: {workers:?}"
        );
        let worker = workers.into_iter().next().unwrap();
        assert!(worker == "0" || worker == "1", "worker label {worker:?}");
        assert_eq!(
            value(&samples, "weft_cluster_worker_restarts_total", &[]),
            0.0
        );
        seen_workers.insert(worker.to_owned());
        seen_workers.len() == 2
    });

    send_signal(pids[0], libc::SIGKILL);
    // The replacement's ready line (a pid not seen before).
    cluster.wait_line(
        |l| {
            l.contains("cluster worker ready")
                && log_field(l, "pid=").is_some_and(|p| !pids.contains(&p))
        },
        "the replacement worker ready",
    );
    // Every worker learns the count once one reports ready; scrapes of both must show it.
    let mut showing = std::collections::BTreeSet::new();
    wait_until("both workers show one restart", || {
        let samples = parse(&scrape(addr).1);
        let restarts = value(&samples, "weft_cluster_worker_restarts_total", &[]);
        let worker = samples[0].labels["worker"].clone();
        if restarts == 1.0 {
            showing.insert(worker);
        }
        showing.len() == 2
    });
    let exit = cluster.terminate();
    assert!(exit.success(), "{exit:?}\n{}", cluster.log.join("\n"));
}
