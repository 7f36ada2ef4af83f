//! hyper and axum on weft: a hyper server, and an axum `Router` served
//! through hyper, run on a weft runtime and answer a hyper client that also
//! runs on weft. The timer adapter is exercised by hyper's header-read
//! timeout; the executors by running futures through them.

use std::convert::Infallible;
use std::io::Read;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Full};
use hyper::body::Incoming;
use hyper::rt::Executor;
use weft::net::{TcpListener, TcpStream};
use weft_http::hyper_rt::{HyperIo, LocalExecutor, WeftExecutor, WeftTimer};

fn runtime() -> weft::rt::Runtime {
    weft::rt::Runtime::builder()
        .current_thread()
        .build()
        .unwrap()
}

/// Serves every connection of `listener` with hyper's HTTP/1 server and `service`.
fn spawn_hyper_server<S>(listener: TcpListener, service: S)
where
    S: hyper::service::Service<hyper::Request<Incoming>, Response = hyper::Response<Full<Bytes>>>
        + Clone
        + 'static,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    S::Future: 'static,
{
    weft::spawn_local(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let service = service.clone();
            weft::spawn_local(async move {
                let _ = hyper::server::conn::http1::Builder::new()
                    .timer(WeftTimer)
                    .header_read_timeout(Duration::from_millis(200))
                    .serve_connection(HyperIo::new(stream), service)
                    .await;
            })
            .detach();
        }
    })
    .detach();
}

/// GETs `path` with hyper's client over a weft socket; returns (status, body).
async fn hyper_get(addr: std::net::SocketAddr, path: &str) -> (u16, String) {
    let stream = TcpStream::connect(addr).await.unwrap();
    let (mut sender, connection) = hyper::client::conn::http1::handshake(HyperIo::new(stream))
        .await
        .unwrap();
    weft::spawn_local(async move {
        let _ = connection.await;
    })
    .detach();
    let request = hyper::Request::builder()
        .uri(path)
        .header(hyper::header::HOST, "weft.test")
        .body(Empty::<Bytes>::new())
        .unwrap();
    let response = sender.send_request(request).await.unwrap();
    let status = response.status().as_u16();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8(body.to_vec()).unwrap())
}

#[test]
fn hyper_server_answers_hyper_client_on_weft() {
    runtime().block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let service = hyper::service::service_fn(|req: hyper::Request<Incoming>| async move {
            let text = format!("hyper on weft: {} {}", req.method(), req.uri().path());
            Ok::<_, Infallible>(hyper::Response::new(Full::new(Bytes::from(text))))
        });
        spawn_hyper_server(listener, service);
        assert_eq!(
            hyper_get(addr, "/hello").await,
            (200, "hyper on weft: GET /hello".to_string())
        );
        assert_eq!(
            hyper_get(addr, "/again").await,
            (200, "hyper on weft: GET /again".to_string())
        );
    });
}

#[test]
fn axum_router_through_hyper_on_weft() {
    use axum::extract::Path;
    use axum::routing::get;

    runtime().block_on(async {
        let app = axum::Router::new()
            .route("/", get(|| async { "hello from axum" }))
            .route(
                "/users/{id}",
                get(|Path(id): Path<u32>| async move { format!("user {id}") }),
            );
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        weft::spawn_local(async move {
            loop {
                let (stream, _) = listener.accept().await.unwrap();
                let service = hyper_util::service::TowerToHyperService::new(app.clone());
                weft::spawn_local(async move {
                    let _ = hyper::server::conn::http1::Builder::new()
                        .timer(WeftTimer)
                        .serve_connection(HyperIo::new(stream), service)
                        .await;
                })
                .detach();
            }
        })
        .detach();
        assert_eq!(
            hyper_get(addr, "/").await,
            (200, "hello from axum".to_string())
        );
        assert_eq!(
            hyper_get(addr, "/users/42").await,
            (200, "user 42".to_string())
        );
        assert_eq!(hyper_get(addr, "/users/x").await.0, 400);
        assert_eq!(hyper_get(addr, "/missing").await.0, 404);
    });
}

#[test]
fn hyper_header_timeout_runs_on_the_weft_timer() {
    let rt = runtime();
    rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let service = hyper::service::service_fn(|_: hyper::Request<Incoming>| async {
            Ok::<_, Infallible>(hyper::Response::new(Full::new(Bytes::from_static(
                b"never",
            ))))
        });
        spawn_hyper_server(listener, service);
        // A blocking std client on a pool thread sends half a head and waits
        // for hyper to give up on it (the read has a 20 s guard).
        let outcome = weft::pool::spawn_blocking(move || {
            use std::io::Write;
            let mut client = std::net::TcpStream::connect(addr).unwrap();
            client
                .set_read_timeout(Some(Duration::from_secs(20)))
                .unwrap();
            client.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n").unwrap();
            let mut answer = Vec::new();
            match client.read_to_end(&mut answer) {
                Ok(_) => String::from_utf8_lossy(&answer).into_owned(),
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => String::from("reset"),
                Err(e) => panic!("hyper did not time the slow client out: {e}"),
            }
        })
        .await
        .unwrap();
        // hyper answers 408 (or just closes); either way the connection ended.
        assert!(
            outcome.is_empty() || outcome.starts_with("HTTP/1.1 408") || outcome == "reset",
            "{outcome}"
        );
    });
}

#[test]
fn executors_run_futures_on_the_loop() {
    runtime().block_on(async {
        let (tx, rx) = std::sync::mpsc::channel();
        let tx2 = tx.clone();
        WeftExecutor.execute(async move { tx.send("send").unwrap() });
        let not_send = std::rc::Rc::new("local");
        LocalExecutor.execute(async move { tx2.send(*not_send).unwrap() });
        let mut got = Vec::new();
        while got.len() < 2 {
            weft::task::yield_now().await;
            got.extend(rx.try_iter());
        }
        got.sort();
        assert_eq!(got, ["local", "send"]);
    });
}
