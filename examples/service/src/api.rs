//! The HTTP API: the axum `Router`, its shared state, `/healthz`, and the one error type
//! every handler answers with (`{"error": "..."}` and a status code).
//!
//! Bad input gets a 4xx that says what was wrong (a JSON body that does not parse or has the
//! wrong fields: 400/422 with serde's message; an id that is not a number: 400; an unknown
//! route: 404), database trouble a 503 (no connection) or a 500 (a query failed; the details
//! go to the log, not to the client).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

use crate::db::{DbError, Pool};
use crate::jobs::Jobs;
use crate::{items, job_routes};

/// What every handler shares; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    /// The PostgreSQL pool.
    pub pool: Pool,
    /// The job queue.
    pub jobs: Arc<Jobs>,
    /// Whether `shell` jobs are accepted.
    pub allow_shell_jobs: bool,
    /// Set when shutdown began: `/healthz` answers 503 so a balancer stops sending traffic.
    pub draining: Arc<AtomicBool>,
}

/// The service's routes.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/items", get(items::list).post(items::create))
        .route("/items/{id}", get(items::show))
        .route("/jobs", axum::routing::post(job_routes::submit))
        .route("/jobs/{id}", get(job_routes::show))
        .fallback(not_found)
        .with_state(state)
}

/// `GET /healthz`: 200 when PostgreSQL answers a query, 503 when it does not or while the
/// service drains.
async fn healthz(State(state): State<AppState>) -> Response {
    if state.draining.load(Ordering::Relaxed) {
        let body = json!({"status": "draining"});
        return (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response();
    }
    let db = match state.pool.get().await {
        Ok(conn) => conn
            .simple_query("SELECT 1")
            .await
            .map(|_| ())
            .map_err(DbError::from),
        Err(e) => Err(e),
    };
    match db {
        Ok(()) => Json(json!({
            "status": "ok",
            "database": "ok",
            "jobs_waiting": state.jobs.waiting(),
        }))
        .into_response(),
        Err(error) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"status": "unavailable", "database": error.to_string()})),
        )
            .into_response(),
    }
}

async fn not_found(uri: axum::http::Uri) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        format!("no route for {}", uri.path()),
    )
}

/// An error answer: a status and a message, sent as `{"error": message}`.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    message: String,
}

impl ApiError {
    /// An answer of `status` saying `message`.
    pub fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(json!({"error": self.message}))).into_response()
    }
}

impl From<DbError> for ApiError {
    fn from(error: DbError) -> ApiError {
        match error {
            DbError::Unavailable(_) => {
                tracing::warn!(%error, "answering 503");
                ApiError::new(StatusCode::SERVICE_UNAVAILABLE, error.to_string())
            }
            DbError::Query(_) => {
                tracing::error!(%error, "answering 500");
                ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "database error")
            }
        }
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> ApiError {
        ApiError::new(rejection.status(), rejection.body_text())
    }
}

impl From<PathRejection> for ApiError {
    fn from(rejection: PathRejection) -> ApiError {
        ApiError::new(rejection.status(), rejection.body_text())
    }
}
