//! The addresses that asked for no more rating requests, and taking that back:
//! `/v1/unsubscribes`. End users unsubscribe through the link in every email
//! ([`crate::http::email_pages`]); a business undoes it here when the end user asks it to.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use jiff::Timestamp;
use ratewire_core::RecipientId;
use serde::Serialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::http::AppState;
use crate::http::api::doc::{BadRequest, NotFound};
use crate::http::auth::CurrentTenant;
use crate::http::error::ApiError;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::default().routes(routes!(list)).routes(routes!(remove))
}

/// An address that gets no rating requests from the tenant's email channels.
#[derive(Serialize, utoipa::ToSchema)]
struct UnsubscribeView {
    /// As ratewire keeps it: in lower case.
    address: String,
    /// When its owner unsubscribed.
    at: Timestamp,
    /// The channel whose link they used.
    channel: String,
}

/// The tenant's unsubscribed addresses.
#[derive(Serialize, utoipa::ToSchema)]
struct UnsubscribeList {
    unsubscribes: Vec<UnsubscribeView>,
}

/// Every unsubscribed address, in address order.
#[utoipa::path(
    get,
    path = "/v1/unsubscribes",
    operation_id = "list_unsubscribes",
    tag = "email",
    responses(
        (status = 200, description = "The unsubscribed addresses", body = UnsubscribeList),
    ),
)]
async fn list(
    State(state): State<AppState>,
    CurrentTenant(tenant): CurrentTenant,
) -> Result<Json<UnsubscribeList>, ApiError> {
    let unsubscribes = crate::flow::contacts::unsubscribed(&state.flow, &tenant)
        .await?
        .into_iter()
        .map(|(address, record)| UnsubscribeView { address, at: record.at, channel: record.channel.to_string() })
        .collect();
    Ok(Json(UnsubscribeList { unsubscribes }))
}

/// Takes an unsubscribe back: the address may be invited again. Surveys cancelled when it
/// unsubscribed stay cancelled.
#[utoipa::path(
    delete,
    path = "/v1/unsubscribes/{address}",
    operation_id = "remove_unsubscribe",
    tag = "email",
    params(("address" = RecipientId, Path, description = "The email address, in any case", example = "ana@example.com")),
    responses(
        (status = 204, description = "The address takes rating requests again"),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
    ),
)]
async fn remove(
    State(state): State<AppState>,
    CurrentTenant(tenant): CurrentTenant,
    Path(address): Path<String>,
) -> Result<StatusCode, ApiError> {
    let recipient = RecipientId::new(address.trim()).map_err(|error| ApiError::BadRequest {
        code: "invalid_address",
        message: format!("{address:?} is not an address ratewire keeps: {error}"),
    })?;
    if crate::flow::contacts::resubscribe(&state.flow, &tenant, &recipient).await? {
        tracing::info!(%tenant, "an address was resubscribed");
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found("unsubscribed address", recipient))
    }
}
