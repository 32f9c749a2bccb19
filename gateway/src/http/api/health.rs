//! Liveness, readiness and the reply reader playground.

use axum::Json;
use axum::extract::State;
use jiff::Timestamp;
use ratewire_core::store::Buckets;
use ratewire_core::{Locale, Scale};
use serde::Serialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::flow::understanding;
use crate::http::api::doc::{BadRequest, Invalid, TooLarge, Unavailable};
use crate::http::error::{ApiError, JsonOfAnyType};
use crate::http::{AppState, StoreKind};

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

/// The process can do its work: the store answers, and the service is not stopping (503
/// `stopping` from the moment it begins to, while it still answers everything else).
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
    if state.stopping.has_begun() {
        return Err(ApiError::Stopping);
    }
    state.flow.store.due(Timestamp::UNIX_EPOCH, Buckets::of([0]), 1).await?;
    Ok(Json(Health { status: "ready", store: state.store_kind }))
}

/// The reply reader over HTTP: the body is one `ratewire parse` input line.
///
/// The line is JSON, `{"text", "scale"?, "locale"?, "labels"?}`, sent with any Content-Type (as a
/// page's `fetch` or `curl -d` sends it), read on five stars in English unless it says
/// otherwise. The answer is the command's output line; errors answer as the API's do: a body
/// that isn't JSON 400 `malformed_json`, a field that is wrong 422 `invalid` naming it.
#[utoipa::path(
    post,
    path = "/api/understand",
    tag = "operations",
    request_body(
        content(
            (understanding::Input = "application/json",
                example = json!({"text": "4 stars, thanks!", "scale": "stars:5", "locale": "en"})),
            (understanding::Input = "text/plain"),
        ),
        description = "One `ratewire parse` input line, with any Content-Type",
    ),
    responses(
        (status = 200, description = "How the reply is understood", body = understanding::Output),
        (status = 400, response = BadRequest),
        (status = 413, response = TooLarge),
        (status = 422, response = Invalid),
    ),
)]
async fn understand_reply(
    JsonOfAnyType(input): JsonOfAnyType<understanding::Input>,
) -> Result<Json<understanding::Output>, ApiError> {
    Ok(Json(understanding::understand_input(input, Scale::FIVE_STARS, Locale::En)?))
}
