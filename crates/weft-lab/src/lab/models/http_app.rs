//! The lab's app as a weft_http handler, for the models that run weft_http on event loops
//! (`loop`, `loops`, `cluster`): `/io` is an async sleep on the loop's timer wheel, `/cpu`
//! burns on the loop thread (stalling it) or, with `&offload=1`, on the worker pool's `cpu`
//! lane while the loop serves others.

use weft_http::{Request, Response, StatusCode};

use crate::lab::app::{self, Route};

/// Answers one request of the lab's app.
pub(super) async fn handle(req: Request) -> Response {
    match Route::parse(req.path(), req.query()) {
        Route::Hello => Response::new(StatusCode::OK)
            .with_content_type("text/plain")
            .with_body(app::HELLO),
        Route::Io(wait) => {
            weft::time::sleep(wait).await;
            Response::text(app::io_body(wait))
        }
        Route::Cpu {
            burn,
            offload: false,
        } => {
            app::burn(burn);
            Response::text(app::cpu_body(burn, "the event loop"))
        }
        Route::Cpu {
            burn,
            offload: true,
        } => match weft::spawn_cpu(move || app::burn(burn)).await {
            Ok(()) => Response::text(app::cpu_body(burn, "the worker pool")),
            Err(error) => Response::error(
                StatusCode::SERVICE_UNAVAILABLE,
                &format!("cpu lane: {error}"),
            ),
        },
        Route::Crash => app::crash(),
        Route::NotFound => Response::error(StatusCode::NOT_FOUND, "not found"),
        Route::Bad(why) => Response::error(StatusCode::BAD_REQUEST, &why),
    }
}
