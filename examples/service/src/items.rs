//! `/items`: a JSON collection in PostgreSQL (`GET /items`, `POST /items`,
//! `GET /items/{id}`).

use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use serde::{Deserialize, Serialize};

use crate::api::{ApiError, AppState};

/// Longest accepted name, in characters.
pub const NAME_MAX: usize = 200;

/// Most items `GET /items` returns (the first ones by id).
pub const LIST_MAX: i64 = 1000;

/// An item as stored and returned.
#[derive(Debug, Serialize)]
pub struct Item {
    id: i64,
    name: String,
    quantity: i32,
    created_at: String,
}

/// The body of `POST /items`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewItem {
    name: String,
    #[serde(default = "one")]
    quantity: i32,
}

fn one() -> i32 {
    1
}

const COLUMNS: &str = "id, name, quantity, created_at::TEXT";

fn item(row: &tokio_postgres::Row) -> Item {
    Item {
        id: row.get(0),
        name: row.get(1),
        quantity: row.get(2),
        created_at: row.get(3),
    }
}

/// `GET /items`: every item by id (at most [`LIST_MAX`]).
pub async fn list(State(state): State<AppState>) -> Result<Json<Vec<Item>>, ApiError> {
    let conn = state.pool.get().await?;
    let sql = format!("SELECT {COLUMNS} FROM items ORDER BY id LIMIT $1");
    let rows = conn
        .query(&sql, &[&LIST_MAX])
        .await
        .map_err(crate::db::DbError::from)?;
    Ok(Json(rows.iter().map(item).collect()))
}

/// `POST /items`: 201 with the stored item and its `Location`; 422 for an empty or overlong
/// name or a negative quantity.
pub async fn create(
    State(state): State<AppState>,
    body: Result<Json<NewItem>, JsonRejection>,
) -> Result<impl IntoResponse, ApiError> {
    let Json(new) = body?;
    let name = new.name.trim();
    if name.is_empty() {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "name must not be empty",
        ));
    }
    if name.chars().count() > NAME_MAX {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("name is longer than {NAME_MAX} characters"),
        ));
    }
    if new.quantity < 0 {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("quantity must be 0 or more, not {}", new.quantity),
        ));
    }
    let conn = state.pool.get().await?;
    let sql = format!("INSERT INTO items (name, quantity) VALUES ($1, $2) RETURNING {COLUMNS}");
    let row = conn
        .query_one(&sql, &[&name, &new.quantity])
        .await
        .map_err(crate::db::DbError::from)?;
    let item = item(&row);
    let location = format!("/items/{}", item.id);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(item),
    ))
}

/// `GET /items/{id}`: the item, or 404.
pub async fn show(
    State(state): State<AppState>,
    id: Result<Path<i64>, PathRejection>,
) -> Result<Json<Item>, ApiError> {
    let Path(id) = id?;
    let conn = state.pool.get().await?;
    let sql = format!("SELECT {COLUMNS} FROM items WHERE id = $1");
    let row = conn
        .query_opt(&sql, &[&id])
        .await
        .map_err(crate::db::DbError::from)?;
    match row {
        Some(row) => Ok(Json(item(&row))),
        None => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            format!("no item with id {id}"),
        )),
    }
}
