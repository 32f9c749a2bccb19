//! The business's webhook endpoints: `/v1/endpoints`.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use jiff::Timestamp;
use ratewire_core::Notice;
use ratewire_core::store::{self, OutboxItem, Task};
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::flow::records::EndpointRecord;
use crate::flow::records::{mask, new_id, new_secret};
use crate::http::AppState;
use crate::http::api::doc::{BadRequest, Invalid, NotFound, TooLarge};
use crate::http::auth::CurrentTenant;
use crate::http::error::{ApiError, ApiJson};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::default().routes(routes!(list, register)).routes(routes!(remove)).routes(routes!(pending))
}

/// An endpoint to post the tenant's events to.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct RegisterBody {
    /// An `http://` or `https://` URL.
    #[schema(format = "uri")]
    url: String,
    /// The events to receive; all when left out.
    #[serde(default)]
    events: Vec<Notice>,
}

/// An endpoint the tenant's events are posted to, signed with its secret.
#[derive(Serialize, utoipa::ToSchema)]
struct EndpointView {
    id: String,
    url: String,
    /// The events it receives; empty for all.
    events: Vec<Notice>,
    /// In full only in the answer that creates the endpoint: keep it to verify signatures.
    secret: String,
    created_at: Timestamp,
}

impl EndpointView {
    fn new(record: EndpointRecord, reveal: bool) -> Self {
        let secret = if reveal { record.secret } else { mask(&record.secret) };
        EndpointView { id: record.id, url: record.url, events: record.events, secret, created_at: record.created_at }
    }
}

/// The tenant's webhook endpoints.
#[derive(Serialize, utoipa::ToSchema)]
struct EndpointList {
    endpoints: Vec<EndpointView>,
}

/// Registers an endpoint for event webhooks.
#[utoipa::path(
    post,
    path = "/v1/endpoints",
    operation_id = "register_endpoint",
    tag = "webhooks",
    request_body = RegisterBody,
    responses(
        (status = 201, description = "The endpoint, with its signing secret in full", body = EndpointView),
        (status = 400, response = BadRequest),
        (status = 413, response = TooLarge),
        (status = 422, response = Invalid),
    ),
)]
async fn register(
    State(state): State<AppState>,
    CurrentTenant(tenant): CurrentTenant,
    ApiJson(body): ApiJson<RegisterBody>,
) -> Result<(StatusCode, Json<EndpointView>), ApiError> {
    let url = reqwest::Url::parse(&body.url).map_err(|e| ApiError::invalid("url", e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(ApiError::invalid("url", "must be an http:// or https:// URL"));
    }
    // An address inside ratewire's network is refused now; a name, each time it resolves.
    state.settings.outbound.check_url(&url).map_err(|refused| ApiError::invalid("url", refused.to_string()))?;
    let id = new_id("ep");
    let record = EndpointRecord {
        id: id.clone(),
        url: url.to_string(),
        secret: format!("whsec_{}", new_secret()),
        events: body.events,
        created_at: Timestamp::now(),
    };
    store::write(&*state.flow.store, &tenant, &id, None, &record).await?;
    Ok((StatusCode::CREATED, Json(EndpointView::new(record, true))))
}

/// Every webhook endpoint of the tenant, secrets masked.
#[utoipa::path(
    get,
    path = "/v1/endpoints",
    operation_id = "list_endpoints",
    tag = "webhooks",
    responses(
        (status = 200, description = "The endpoints", body = EndpointList),
    ),
)]
async fn list(
    State(state): State<AppState>,
    CurrentTenant(tenant): CurrentTenant,
) -> Result<Json<EndpointList>, ApiError> {
    let endpoints: Vec<EndpointView> = store::read_all::<EndpointRecord>(&*state.flow.store, &tenant)
        .await?
        .into_iter()
        .map(|(_, stored)| EndpointView::new(stored.value, false))
        .collect();
    Ok(Json(EndpointList { endpoints }))
}

/// Removes an endpoint; nothing more is posted to it.
#[utoipa::path(
    delete,
    path = "/v1/endpoints/{id}",
    operation_id = "remove_endpoint",
    tag = "webhooks",
    params(("id" = String, Path, description = "The endpoint's id")),
    responses(
        (status = 204, description = "The endpoint is removed"),
        (status = 404, response = NotFound),
    ),
)]
async fn remove(
    State(state): State<AppState>,
    CurrentTenant(tenant): CurrentTenant,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    if store::delete::<EndpointRecord>(&*state.flow.store, &tenant, &id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found("endpoint", id))
    }
}

/// An event waiting to be delivered to an endpoint.
#[derive(Serialize, utoipa::ToSchema)]
struct DeliveryView {
    /// The delivery's id.
    id: String,
    /// The endpoint's id.
    endpoint: String,
    /// The posts tried so far.
    attempts: u32,
    next_attempt: Timestamp,
    /// Why the last post failed.
    last_error: Option<String>,
}

/// The tenant's events not yet delivered.
#[derive(Serialize, utoipa::ToSchema)]
struct DeliveryList {
    deliveries: Vec<DeliveryView>,
}

/// Events not yet delivered, soonest retry first (at most 200).
#[utoipa::path(
    get,
    path = "/v1/deliveries",
    operation_id = "list_pending_deliveries",
    tag = "webhooks",
    responses(
        (status = 200, description = "The pending deliveries", body = DeliveryList),
    ),
)]
async fn pending(
    State(state): State<AppState>,
    CurrentTenant(tenant): CurrentTenant,
) -> Result<Json<DeliveryList>, ApiError> {
    let items = state.flow.store.pending_items(&tenant, 200).await?;
    // Event webhooks only: messages to end users are not the business's deliveries.
    let deliveries: Vec<DeliveryView> = items
        .into_iter()
        .filter_map(|item: OutboxItem| match item.task {
            Task::Webhook { endpoint, .. } => Some(DeliveryView {
                id: item.id,
                endpoint,
                attempts: item.attempts,
                next_attempt: item.due,
                last_error: item.last_error,
            }),
            Task::Send { .. } | Task::Prompt { .. } | Task::PrechatDue { .. } => None,
        })
        .collect();
    Ok(Json(DeliveryList { deliveries }))
}
