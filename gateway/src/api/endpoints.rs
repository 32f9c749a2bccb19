//! The business's webhook endpoints: `/v1/endpoints`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, get};
use axum::{Json, Router};
use jiff::Timestamp;
use ratewire_core::Notice;
use ratewire_core::store::{OutboxItem, RecordKind, list_json, put_json};
use serde::{Deserialize, Serialize};

use crate::app::AppState;
use crate::auth::CurrentTenant;
use crate::error::{ApiError, ApiJson};
use crate::notify::EndpointRecord;
use crate::records::{mask, new_id, new_secret};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/endpoints", get(list).post(register))
        .route("/v1/endpoints/{id}", delete(remove))
        .route("/v1/deliveries", get(pending))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RegisterBody {
    url: String,
    /// The events to receive; all when left out.
    #[serde(default)]
    events: Vec<Notice>,
}

#[derive(Serialize)]
struct EndpointView {
    id: String,
    url: String,
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

async fn register(
    State(state): State<AppState>,
    CurrentTenant(tenant): CurrentTenant,
    ApiJson(body): ApiJson<RegisterBody>,
) -> Result<(StatusCode, Json<EndpointView>), ApiError> {
    let url = reqwest::Url::parse(&body.url).map_err(|e| ApiError::invalid("url", e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(ApiError::invalid("url", "must be an http:// or https:// URL"));
    }
    let id = new_id("ep");
    let record = EndpointRecord {
        id: id.clone(),
        url: url.to_string(),
        secret: format!("whsec_{}", new_secret()),
        events: body.events,
        created_at: Timestamp::now(),
    };
    put_json(&*state.store, &tenant, RecordKind::Endpoint, &id, None, &record).await?;
    Ok((StatusCode::CREATED, Json(EndpointView::new(record, true))))
}

async fn list(
    State(state): State<AppState>,
    CurrentTenant(tenant): CurrentTenant,
) -> Result<Json<serde_json::Value>, ApiError> {
    let endpoints: Vec<EndpointView> = list_json::<EndpointRecord>(&*state.store, &tenant, RecordKind::Endpoint)
        .await?
        .into_iter()
        .map(|(_, stored)| EndpointView::new(stored.value, false))
        .collect();
    Ok(Json(serde_json::json!({ "endpoints": endpoints })))
}

async fn remove(
    State(state): State<AppState>,
    CurrentTenant(tenant): CurrentTenant,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    if state.store.delete_record(&tenant, RecordKind::Endpoint, &id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found("endpoint", id))
    }
}

#[derive(Serialize)]
struct DeliveryView {
    id: String,
    endpoint: String,
    attempts: u32,
    next_attempt: Timestamp,
    last_error: Option<String>,
}

/// Events not yet delivered, soonest retry first.
async fn pending(
    State(state): State<AppState>,
    CurrentTenant(tenant): CurrentTenant,
) -> Result<Json<serde_json::Value>, ApiError> {
    let items = state.store.pending_items(&tenant, 200).await?;
    let deliveries: Vec<DeliveryView> = items
        .into_iter()
        .map(|item: OutboxItem| DeliveryView {
            id: item.id,
            endpoint: item.endpoint,
            attempts: item.attempts,
            next_attempt: item.due,
            last_error: item.last_error,
        })
        .collect();
    Ok(Json(serde_json::json!({ "deliveries": deliveries })))
}
