//! The routes of `weft serve` (see the [parent module](super) for the table; `/debug/tasks`
//! answers only with `--diag`).

use std::time::{Duration, Instant};

use weft_http::health::Readiness;
use weft_http::{stream_body, Either, Handler, Request, Response, Router, StatusCode};

use weft_http::metrics::Metrics;

use super::access_log::AccessLog;
use super::static_files::{StaticRoot, NO_ROOT};

/// Body of `/` and `/plaintext`.
const HELLO: &str = "Hello, World!";
/// Body of `/json`.
const HELLO_JSON: &str = r#"{"message":"Hello, World!"}"#;

/// Longest `/sleep`: one minute, so a typo cannot park a connection for days.
pub(crate) const MAX_SLEEP_MS: u64 = 60_000;

/// Longest `/cpu` burn: 10 s. A burn on the loop stalls every connection of
/// that loop for its whole length; beyond this it is a mistake, not a test.
pub(crate) const MAX_CPU_MS: u64 = 10_000;

/// The `weft serve` application: the routes, recorded in `metrics` (and served at
/// `/metrics`), each request logged in `log` if there is one.
/// Without a root (`weft serve` with no `--root`), `/static/...` answers 404 for every path.
pub(crate) fn app(
    root: Option<StaticRoot>,
    readiness: &Readiness,
    metrics: &Metrics,
    log: Option<&AccessLog>,
) -> impl Handler + Clone + Send {
    let recorded = metrics.record(routes(root, readiness, metrics));
    // Without --access-log, no wrapper at all (not one that checks per request).
    match log {
        Some(log) => Either::Left(log.layer(recorded)),
        None => Either::Right(recorded),
    }
}

fn routes(
    root: Option<StaticRoot>,
    readiness: &Readiness,
    metrics: &Metrics,
) -> Router<impl weft_http::RouteTable + Clone + Send> {
    Router::new()
        .get("/healthz", weft_http::health::healthz)
        .get("/readyz", readiness.handler())
        .get("/metrics", metrics.handler())
        .get("/", plaintext)
        .get("/plaintext", plaintext)
        .get("/json", json)
        .get("/pid", pid)
        // The slow routes box their futures: a connection keeps its handler's
        // future inline, sized for the largest route, so an unboxed file or
        // pool future would make every hello-world request move ~0.7 KiB.
        .get("/sleep", |req| Box::pin(sleep(req)))
        .get("/cpu", |req| Box::pin(cpu(req)))
        .get("/debug/tasks", |req| Box::pin(debug_tasks(req)))
        .post("/upload", stream_body(|req| Box::pin(upload(req))))
        .get("/static/*", move |req: Request| {
            let root = root.clone();
            Box::pin(async move {
                let Some(root) = root else {
                    return NO_ROOT.response();
                };
                let path = req.path().strip_prefix("/static/").unwrap_or("");
                root.serve(&req, path).await
            })
        })
}

async fn plaintext(_: Request) -> Response {
    Response::new(StatusCode::OK)
        .with_content_type("text/plain")
        .with_body(HELLO)
}

/// The serving process's id: tells the workers of `weft serve --workers N` apart.
async fn pid(_: Request) -> Response {
    Response::text(format!("{}\n", std::process::id()))
}

async fn json(_: Request) -> Response {
    Response::json(HELLO_JSON)
}

/// Reads an upload of any size as it arrives (one read at a time, never whole) and answers
/// how many bytes and chunks came.
async fn upload(mut req: Request) -> Response {
    let mut body = req.body_stream();
    let (mut bytes, mut chunks) = (0u64, 0u64);
    while let Some(chunk) = body.chunk().await {
        match chunk {
            Ok(chunk) => {
                bytes += chunk.len() as u64;
                chunks += 1;
            }
            Err(error) => return Response::error(error.status(), error.reason()),
        }
    }
    Response::text(format!("received {bytes} bytes in {chunks} chunks\n"))
}

async fn sleep(req: Request) -> Response {
    let ms = match millis(&req, MAX_SLEEP_MS) {
        Ok(ms) => ms,
        Err(answer) => return answer,
    };
    weft::time::sleep(Duration::from_millis(ms)).await;
    Response::text(format!("slept {ms} ms\n"))
}

async fn cpu(req: Request) -> Response {
    let ms = match millis(&req, MAX_CPU_MS) {
        Ok(ms) => ms,
        Err(answer) => return answer,
    };
    let offload = matches!(req.query_param("offload"), Some("1" | "true"));
    let duration = Duration::from_millis(ms);
    if !offload {
        burn(duration);
        return Response::text(format!("burned {ms} ms of CPU on the event loop\n"));
    }
    match weft::pool::spawn_cpu(move || burn(duration)).await {
        Ok(()) => Response::text(format!("burned {ms} ms of CPU on the pool's cpu lane\n")),
        Err(error) => Response::error(
            StatusCode::SERVICE_UNAVAILABLE,
            &format!("cpu lane: {error}"),
        ),
    }
}

/// `GET /debug/tasks`: the task dump of every loop (`weft::diag::dump`), for loopback clients
/// only (a dump names code sites and timings an outsider has no business seeing); 404 unless
/// the server runs with `--diag`. The dump is taken on the pool: it waits for every loop,
/// this one included, to list its tasks.
async fn debug_tasks(req: Request) -> Response {
    if !weft::diag::current().any() {
        return Response::error(
            StatusCode::NOT_FOUND,
            "/debug/tasks needs diagnostics on (weft serve --diag)",
        );
    }
    if !req.remote_addr().is_some_and(|a| a.ip().is_loopback()) {
        return Response::error(
            StatusCode::FORBIDDEN,
            "/debug/tasks answers loopback clients only",
        );
    }
    match weft::spawn_blocking(weft::diag::dump).await {
        Ok(dump) => Response::text(dump.to_string()),
        Err(error) => Response::error(
            StatusCode::SERVICE_UNAVAILABLE,
            &format!("task dump: {error}"),
        ),
    }
}

/// The `ms` query parameter, required, at most `max`; otherwise the 400 to send.
fn millis(req: &Request, max: u64) -> Result<u64, Response> {
    let bad = |why: String| Err(Response::error(StatusCode::BAD_REQUEST, &why));
    match req.query_param("ms").map(str::parse::<u64>) {
        None => bad("missing query parameter ms (milliseconds)".into()),
        Some(Err(_)) => bad("ms must be a whole number of milliseconds".into()),
        Some(Ok(ms)) if ms > max => bad(format!("ms must be at most {max}")),
        Some(Ok(ms)) => Ok(ms),
    }
}

/// Spins the current thread for `duration` (real work the optimizer keeps).
fn burn(duration: Duration) {
    let start = Instant::now();
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    while start.elapsed() < duration {
        for _ in 0..1000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
        }
        std::hint::black_box(x);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The size of the future `handler.call` returns.
    fn answer_size<H: Handler>(_: &H) -> usize {
        fn of<'a, H: 'a, F>(_: impl Fn(&'a H, Request) -> F) -> usize {
            std::mem::size_of::<F>()
        }
        of(<H as Handler>::call)
    }

    /// Every request moves one answer future into its connection, and that future is as large
    /// as the largest the app may return, so a layer that grows it (an `async` block around
    /// the handler's future keeps it twice) slows every hello-world request: 320 bytes cost
    /// about 150 instructions of copying per request against 128.
    #[test]
    fn the_answer_future_of_weft_serve_stays_small() {
        let app = app(None, &Readiness::new(), &Metrics::new(), None);
        let size = answer_size(&app);
        assert!(size <= 136, "weft serve's answer future is {size} bytes");
    }
}
