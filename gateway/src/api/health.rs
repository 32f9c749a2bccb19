//! Liveness, readiness and the reply reader playground.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use jiff::Timestamp;
use ratewire_core::{Locale, Scale};

use crate::app::AppState;
use crate::error::ApiError;
use crate::parse_command;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/api/understand", post(understand_reply))
}

/// The process is up.
async fn healthz(State(state): State<AppState>) -> impl IntoResponse {
    Json(serde_json::json!({ "status": "ok", "store": state.store_kind }))
}

/// The process can do its work: the store answers.
async fn readyz(State(state): State<AppState>) -> Result<impl IntoResponse, ApiError> {
    state.store.due(Timestamp::UNIX_EPOCH, 1).await?;
    Ok(Json(serde_json::json!({ "status": "ready", "store": state.store_kind })))
}

/// The reply reader over HTTP: the body is one `ratewire parse` input line.
async fn understand_reply(body: String) -> impl IntoResponse {
    let answer = parse_command::answer(&body, Scale::FIVE_STARS, Locale::En);
    let status = match answer {
        parse_command::Answer::Understood(_) => StatusCode::OK,
        parse_command::Answer::Error { .. } => StatusCode::BAD_REQUEST,
    };
    (status, Json(answer))
}
