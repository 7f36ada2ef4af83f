//! `hyper_rt::serve` with axum: path and JSON extractors, shared state, a
//! 404 fallback, a tower timeout on weft's timer, and one `SO_REUSEPORT`
//! listener per loop (new connections reach more than one loop).

mod hyper_support;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use hyper_support::{send, start, Proto, Running};
use serde::{Deserialize, Serialize};
use weft_http::hyper_rt::{serve, Elapsed, TimeoutLayer};
use weft_http::ShutdownSignal;

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
struct Item {
    id: u32,
    name: String,
}

#[derive(Clone, Default)]
struct AppState {
    items: Arc<Mutex<Vec<Item>>>,
}

async fn list(State(state): State<AppState>) -> Json<Vec<Item>> {
    Json(state.items.lock().unwrap().clone())
}

async fn create(State(state): State<AppState>, Json(item): Json<Item>) -> (StatusCode, Json<Item>) {
    state.items.lock().unwrap().push(item.clone());
    (StatusCode::CREATED, Json(item))
}

async fn one(State(state): State<AppState>, Path(id): Path<u32>) -> Result<Json<Item>, StatusCode> {
    let items = state.items.lock().unwrap();
    items
        .iter()
        .find(|item| item.id == id)
        .cloned()
        .map(Json)
        .ok_or(StatusCode::NOT_FOUND)
}

fn app() -> Router {
    Router::new()
        .route("/items", get(list).post(create))
        .route("/items/{id}", get(one))
        .fallback(|| async { (StatusCode::NOT_FOUND, "no such route") })
        .with_state(AppState::default())
}

#[test]
fn axum_app_with_extractors_state_and_fallback() {
    let rt = weft::rt::Runtime::builder()
        .current_thread()
        .build()
        .unwrap();
    rt.block_on(async {
        let Running { addr, stop, server } = start(app());
        let post = send(
            addr,
            Proto::Http1,
            "POST",
            "/items",
            Some(r#"{"id":7,"name":"spool"}"#),
        )
        .await
        .unwrap();
        assert_eq!(post.status, 201, "{post:?}");
        assert_eq!(
            serde_json::from_str::<Item>(&post.body).unwrap(),
            Item {
                id: 7,
                name: "spool".into()
            }
        );

        let list = send(addr, Proto::Http1, "GET", "/items", None)
            .await
            .unwrap();
        assert_eq!(list.status, 200);
        assert_eq!(list.content_type.as_deref(), Some("application/json"));
        assert_eq!(
            serde_json::from_str::<Vec<Item>>(&list.body).unwrap().len(),
            1
        );

        let one = send(addr, Proto::Http1, "GET", "/items/7", None)
            .await
            .unwrap();
        assert_eq!(
            (one.status, one.body.as_str()),
            (200, r#"{"id":7,"name":"spool"}"#)
        );
        assert_eq!(
            send(addr, Proto::Http1, "GET", "/items/8", None)
                .await
                .unwrap()
                .status,
            404
        );
        // A path parameter that is not a number: axum's extractor refuses it.
        assert_eq!(
            send(addr, Proto::Http1, "GET", "/items/x", None)
                .await
                .unwrap()
                .status,
            400
        );
        // Bad JSON: a clear client error, and the server keeps serving.
        let bad = send(addr, Proto::Http1, "POST", "/items", Some("{not json"))
            .await
            .unwrap();
        assert!(bad.status == 400 || bad.status == 422, "{bad:?}");
        let fallback = send(addr, Proto::Http1, "GET", "/nowhere", None)
            .await
            .unwrap();
        assert_eq!(
            (fallback.status, fallback.body.as_str()),
            (404, "no such route")
        );
        assert_eq!(
            send(addr, Proto::Http1, "GET", "/items", None)
                .await
                .unwrap()
                .status,
            200
        );

        stop.trigger();
        server.await.unwrap().unwrap();
    });
}

#[test]
fn tower_timeout_layer_runs_on_the_weft_timer() {
    use axum::error_handling::HandleErrorLayer;
    let rt = weft::rt::Runtime::builder()
        .current_thread()
        .build()
        .unwrap();
    rt.block_on(async {
        let app = Router::new()
            .route("/fast", get(|| async { "fast" }))
            .route(
                "/slow",
                get(|| async {
                    weft::time::sleep(Duration::from_secs(30)).await;
                    "slow"
                }),
            )
            .layer(
                tower::ServiceBuilder::new()
                    .layer(HandleErrorLayer::new(|error: axum::BoxError| async move {
                        match error.downcast_ref::<Elapsed>() {
                            Some(elapsed) => (StatusCode::GATEWAY_TIMEOUT, elapsed.to_string()),
                            None => (StatusCode::INTERNAL_SERVER_ERROR, error.to_string()),
                        }
                    }))
                    .layer(TimeoutLayer::new(Duration::from_millis(100))),
            );
        let Running { addr, stop, server } = start(app);
        let fast = send(addr, Proto::Http1, "GET", "/fast", None)
            .await
            .unwrap();
        assert_eq!((fast.status, fast.body.as_str()), (200, "fast"));
        let slow = send(addr, Proto::Http1, "GET", "/slow", None)
            .await
            .unwrap();
        assert_eq!(slow.status, 504, "{slow:?}");
        assert_eq!(slow.body, "request timed out after 100ms");
        stop.trigger();
        server.await.unwrap().unwrap();
    });
}

#[test]
fn an_address_gets_one_reuseport_listener_per_loop() {
    use std::io::{Read, Write};
    // A free port (the loops all bind it with SO_REUSEPORT).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let stop = ShutdownSignal::new();
    let server = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let rt = weft::rt::Runtime::builder().loops(2).build().unwrap();
            rt.block_on(async move {
                let app = Router::new().route(
                    "/thread",
                    get(|| async { format!("{:?}", std::thread::current().id()) }),
                );
                serve(addr, app).with_graceful_shutdown(stop.wait()).await
            })
        })
    };
    // New connections until two different loop threads have answered.
    let mut threads = HashSet::new();
    weft_testkit::wait_until("answers from both loops", || {
        let Ok(mut client) = std::net::TcpStream::connect(addr) else {
            return false;
        };
        client
            .set_read_timeout(Some(weft_testkit::DEADLINE))
            .unwrap();
        client
            .write_all(b"GET /thread HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
            .unwrap();
        let mut answer = String::new();
        client.read_to_string(&mut answer).unwrap();
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        threads.insert(answer.rsplit("\r\n\r\n").next().unwrap().to_string());
        threads.len() == 2
    });
    stop.trigger();
    server.join().unwrap().unwrap();
}
