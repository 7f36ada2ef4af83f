//! `/jobs`: submit a job to the queue (`POST /jobs`, 202) and read its record
//! (`GET /jobs/{id}`): status, exit code, output.

use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use serde::Serialize;
use serde_json::json;

use crate::api::{ApiError, AppState};
use crate::db::DbError;
use crate::jobs::{JobSpec, SubmitError, QUEUE_CAPACITY};

/// A job's record, as `GET /jobs/{id}` returns it.
#[derive(Debug, Serialize)]
pub struct JobRecord {
    id: i64,
    kind: String,
    spec: String,
    status: String,
    exit_code: Option<i32>,
    stdout: Option<String>,
    stderr: Option<String>,
    created_at: String,
    started_at: Option<String>,
    finished_at: Option<String>,
}

/// `POST /jobs`: 202 with the job's id and `Location`; 403 for a shell job without
/// `--allow-shell-jobs`; 503 when the queue is full or stopped.
pub async fn submit(
    State(state): State<AppState>,
    body: Result<Json<JobSpec>, JsonRejection>,
) -> Result<impl IntoResponse, ApiError> {
    let Json(spec) = body?;
    if matches!(spec, JobSpec::Shell { .. }) && !state.allow_shell_jobs {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "shell jobs are disabled (start the service with --allow-shell-jobs)",
        ));
    }
    let id = state
        .jobs
        .submit(&state.pool, spec)
        .await
        .map_err(|e| match e {
            SubmitError::QueueFull => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("the job queue is full ({QUEUE_CAPACITY} waiting); retry later"),
            ),
            SubmitError::Stopped => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "the service is shutting down",
            ),
            SubmitError::Db(e) => e.into(),
        })?;
    Ok((
        StatusCode::ACCEPTED,
        [(header::LOCATION, format!("/jobs/{id}"))],
        Json(json!({"id": id, "status": "queued"})),
    ))
}

/// `GET /jobs/{id}`: the record, or 404.
pub async fn show(
    State(state): State<AppState>,
    id: Result<Path<i64>, PathRejection>,
) -> Result<Json<JobRecord>, ApiError> {
    let Path(id) = id?;
    let conn = state.pool.get().await?;
    let row = conn
        .query_opt(
            "SELECT id, kind, spec, status, exit_code, stdout, stderr, created_at::TEXT,
                    started_at::TEXT, finished_at::TEXT
             FROM jobs WHERE id = $1",
            &[&id],
        )
        .await
        .map_err(DbError::from)?;
    let Some(row) = row else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            format!("no job with id {id}"),
        ));
    };
    Ok(Json(JobRecord {
        id: row.get(0),
        kind: row.get(1),
        spec: row.get(2),
        status: row.get(3),
        exit_code: row.get(4),
        stdout: row.get(5),
        stderr: row.get(6),
        created_at: row.get(7),
        started_at: row.get(8),
        finished_at: row.get(9),
    }))
}
