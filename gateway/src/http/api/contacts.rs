//! What ratewire knows of an end user on a channel: `/v1/contacts/{channel}/{recipient}`, with
//! what they answered in pre-chats as their fields.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use ratewire_core::store;
use ratewire_core::{ChannelId, RecipientId};
use serde::Serialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::flow::events::PrechatPayload;
use crate::flow::records::{self, PrechatRecord};
use crate::flow::{contacts, prechat};
use crate::http::AppState;
use crate::http::api::doc::{BadRequest, NotFound};
use crate::http::auth::CurrentTenant;
use crate::http::error::ApiError;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::default().routes(routes!(read))
}

/// An end user on a channel.
#[derive(Serialize, utoipa::ToSchema)]
struct ContactView<'a> {
    channel: ChannelId,
    /// As the channel keeps it (an email address in lower case).
    recipient: RecipientId,
    /// Their language as their platform or browser last gave it.
    language: Option<String>,
    /// When they last wrote on the channel.
    last_inbound_at: Option<Timestamp>,
    /// What they answered in pre-chats, by question id, as plain JSON: a text, a number, a
    /// boolean, an option's id, a list of them, or an ISO date.
    #[schema(value_type = BTreeMap<String, Object>)]
    fields: BTreeMap<String, serde_json::Value>,
    /// Their latest pre-chat on the channel, under way or finished.
    prechat: Option<PrechatPayload<'a>>,
}

/// What ratewire knows of an end user on a channel: their language, when they last wrote,
/// their pre-chat answers, and their latest pre-chat. An end user it knows nothing of has no
/// fields; only an unknown channel is not found.
#[utoipa::path(
    get,
    path = "/v1/contacts/{channel}/{recipient}",
    operation_id = "read_contact",
    tag = "contacts",
    params(
        ("channel" = ChannelId, Path, description = "The channel's id"),
        ("recipient" = RecipientId, Path, description = "The end user's id on the channel", example = "34612345678"),
    ),
    responses(
        (status = 200, description = "The contact", body = ContactView),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
    ),
)]
async fn read(
    State(state): State<AppState>,
    CurrentTenant(tenant): CurrentTenant,
    Path((channel, recipient)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let flow = &state.flow;
    let record = records::channel(&*flow.store, &tenant, &channel).await?.value;
    let recipient = RecipientId::new(recipient.trim()).map_err(|error| ApiError::BadRequest {
        code: "invalid_recipient",
        message: format!("{recipient:?} is not an end user's id: {error}"),
    })?;
    let recipient = contacts::canonical_recipient(record.kind, recipient);
    let prechat_id = prechat::record_id(&record.id, &recipient);
    let (contact, prechat) = tokio::try_join!(
        contacts::contact(flow, &tenant, &record.id, &recipient),
        store::read::<PrechatRecord>(&*flow.store, &tenant, &prechat_id),
    )?;
    let prechat = prechat.map(|stored| stored.value);
    // An end user ratewire has heard nothing of has no fields yet: not an error.
    let contact = contact.unwrap_or_default();
    let view = ContactView {
        fields: contact.fields.iter().map(|(id, answer)| (id.to_string(), answer.plain())).collect(),
        prechat: prechat.as_ref().map(|prechat| PrechatPayload::new(&record.id, &recipient, prechat)),
        channel: record.id.clone(),
        recipient: recipient.clone(),
        language: contact.language,
        last_inbound_at: contact.last_inbound_at,
    };
    // Made into the response here: the view borrows what it shows.
    Ok(Json(view).into_response())
}
