//! Liveness, readiness and the reply reader playground.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use jiff::Timestamp;
use ratewire_core::{Locale, Scale};
use serde::Serialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::api::doc::Unavailable;
use crate::app::{AppState, StoreKind};
use crate::error::ApiError;
use crate::parse_command;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::default().routes(routes!(healthz)).routes(routes!(readyz)).routes(routes!(understand_reply))
}

/// How the process is: `ok` from `/healthz`, `ready` from `/readyz`.
#[derive(Serialize, utoipa::ToSchema)]
struct Health {
    #[schema(examples("ok", "ready"))]
    status: &'static str,
    store: StoreKind,
}

/// The process is up.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "operations",
    responses((status = 200, description = "The process is up", body = Health)),
)]
async fn healthz(State(state): State<AppState>) -> Json<Health> {
    Json(Health { status: "ok", store: state.store_kind })
}

/// The process can do its work: the store answers.
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "operations",
    responses(
        (status = 200, description = "The store answers", body = Health),
        (status = 503, response = Unavailable),
    ),
)]
async fn readyz(State(state): State<AppState>) -> Result<Json<Health>, ApiError> {
    state.store.due(Timestamp::UNIX_EPOCH, 1).await?;
    Ok(Json(Health { status: "ready", store: state.store_kind }))
}

/// The reply reader over HTTP: the body is one `ratewire parse` input line.
///
/// The line is JSON: `{"text", "scale"?, "locale"?, "labels"?}`, read on five stars in English
/// unless it says otherwise. The answer is the command's output line.
#[utoipa::path(
    post,
    path = "/api/understand",
    tag = "operations",
    request_body(
        content = String,
        content_type = "text/plain",
        description = "One `ratewire parse` input line",
        example = json!(r#"{"text": "4 stars, thanks!", "scale": "stars:5", "locale": "en"}"#),
    ),
    responses(
        (status = 200, description = "How the reply is understood", body = parse_command::Answer),
        (
            status = 400,
            description = "The line can't be read: `{\"error\": \"…\"}`, the command's format (not the API's)",
            body = parse_command::Answer,
        ),
    ),
)]
async fn understand_reply(body: String) -> impl IntoResponse {
    let answer = parse_command::answer(&body, Scale::FIVE_STARS, Locale::En);
    let status = match answer {
        parse_command::Answer::Understood(_) => StatusCode::OK,
        parse_command::Answer::Error { .. } => StatusCode::BAD_REQUEST,
    };
    (status, Json(answer))
}
