//! `hyper_rt::serve` speaks HTTP/2 over plain TCP (h2c, prior knowledge) to
//! hyper's HTTP/2-only client, and HTTP/1.1 on the same port.

mod hyper_support;

use axum::extract::Path;
use axum::routing::get;
use axum::Router;
use hyper_support::{send, start, Proto, Running};

#[test]
fn h2c_and_http1_on_one_port() {
    let rt = weft::rt::Runtime::builder()
        .current_thread()
        .build()
        .unwrap();
    rt.block_on(async {
        let app = Router::new().route(
            "/echo/{word}",
            get(
                |Path(word): Path<String>, version: axum::http::Version| async move {
                    format!("{word} over {version:?}")
                },
            ),
        );
        let Running { addr, stop, server } = start(app);
        let h2 = send(addr, Proto::H2c, "GET", "/echo/hi", None)
            .await
            .unwrap();
        assert_eq!(h2.version, hyper::Version::HTTP_2);
        assert_eq!((h2.status, h2.body.as_str()), (200, "hi over HTTP/2.0"));
        let h1 = send(addr, Proto::Http1, "GET", "/echo/hey", None)
            .await
            .unwrap();
        assert_eq!(h1.version, hyper::Version::HTTP_11);
        assert_eq!((h1.status, h1.body.as_str()), (200, "hey over HTTP/1.1"));
        assert_eq!(
            send(addr, Proto::H2c, "GET", "/none", None)
                .await
                .unwrap()
                .status,
            404
        );
        stop.trigger();
        server.await.unwrap().unwrap();
    });
}
