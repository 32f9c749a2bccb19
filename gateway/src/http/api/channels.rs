//! Connected channels: `/v1/channels`.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use ratewire_adapters::{ChannelKind, MessagePath, SendError};
use ratewire_core::store;
use ratewire_core::{ChannelId, FieldError, TenantId};
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::flow::records::{self, ChannelRecord, mask, new_id, new_secret};
use crate::http::AppState;
use crate::http::api::doc::{BadGateway, BadRequest, Conflict, Invalid, NotFound, TooLarge};
use crate::http::auth::CurrentTenant;
use crate::http::error::{ApiError, ApiJson};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::default().routes(routes!(list, connect)).routes(routes!(read, rebind, disconnect))
}

/// A channel to connect.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct ConnectBody {
    /// Chosen by the business, or generated (`ch_…`).
    #[schema(value_type = Option<ChannelId>)]
    id: Option<String>,
    /// `web_widget`, `whatsapp`, `messenger`, `telegram` or `email`.
    kind: ChannelKind,
    /// 1 to 100 characters, not all spaces.
    #[schema(min_length = 1, max_length = 100, pattern = r"\S")]
    name: String,
    /// The configuration its surveys use.
    config: String,
    /// The platform's credentials, by name, as the kind requires (e.g. `bot_token` for Telegram).
    #[serde(default)]
    secrets: BTreeMap<String, String>,
    /// The platform's plain settings, by name, as the kind requires; for the web widget,
    /// `visitor_tokens: "off"` accepts visitors without a token.
    #[serde(default)]
    settings: BTreeMap<String, String>,
}

/// What to change of a channel; what is left out stays.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct RebindBody {
    /// Another configuration for the channel's surveys.
    config: Option<String>,
    /// 1 to 100 characters, not all spaces.
    #[schema(min_length = 1, max_length = 100, pattern = r"\S")]
    name: Option<String>,
    /// Settings to change, by name: a value replaces the setting, `null` removes it, and those
    /// left out stay (e.g. `{"sends_per_second": "5"}`, which applies from the next send).
    #[serde(default)]
    settings: BTreeMap<String, Option<String>>,
}

/// A channel as the API shows it: secrets masked, with what the business needs to wire it.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ChannelView {
    id: ChannelId,
    kind: ChannelKind,
    name: String,
    /// The configuration its surveys use.
    config: String,
    revision: u64,
    /// The credentials given, masked.
    secrets: BTreeMap<String, String>,
    settings: BTreeMap<String, String>,
    /// Where the platform posts its webhooks (not for the web widget, which has none).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = String)]
    webhook_url: Option<String>,
    /// In full only in the answer that connects the channel; masked afterwards.
    verify_token: String,
    /// For the web widget: the tag to put on the business's site.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = String)]
    embed: Option<String>,
    /// For the web widget: the key the business signs visitor ids with. In full only in the
    /// answer that connects the channel; masked afterwards.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = String)]
    visitor_secret: Option<String>,
    created_at: Timestamp,
}

impl ChannelView {
    /// `reveal`: show the generated secrets in full (only in the answer that creates them).
    fn new(state: &AppState, tenant: &TenantId, record: ChannelRecord, revision: u64, reveal: bool) -> Self {
        let base = &state.settings.public_url;
        let shown = |secret: &str| if reveal { secret.to_owned() } else { mask(secret) };
        // End users reach it live through an embedded snippet, not through a platform's webhooks.
        let widget = record.kind.definition().messages == MessagePath::LiveClient;
        ChannelView {
            webhook_url: (!widget).then(|| format!("{base}/hooks/{tenant}/{}", record.id)),
            verify_token: shown(&record.verify_token),
            embed: widget.then(|| {
                format!(
                    r#"<script src="{base}/widget.js" data-tenant="{tenant}" data-channel="{}" data-visitor="VISITOR_ID" data-visitor-token="HMAC_OF_VISITOR_ID" async></script>"#,
                    record.id
                )
            }),
            visitor_secret: widget.then(|| shown(&record.visitor_secret)),
            secrets: record.secrets.iter().map(|(k, v)| (k.clone(), mask(v))).collect(),
            id: record.id,
            kind: record.kind,
            name: record.name,
            config: record.config,
            revision,
            settings: record.settings,
            created_at: record.created_at,
        }
    }
}

fn check(state: &AppState, body: &ConnectBody) -> Result<(), ApiError> {
    let mut problems = Vec::new();
    if body.name.trim().is_empty() || body.name.chars().count() > 100 {
        problems.push(FieldError { field: "name".into(), problem: "must be 1 to 100 characters".into() });
    }
    for secret in body.kind.definition().required_secrets {
        if body.secrets.get(*secret).is_none_or(|v| v.trim().is_empty()) {
            problems.push(FieldError {
                field: format!("secrets.{secret}"),
                problem: "is required for this kind of channel".into(),
            });
        }
    }
    problems.extend(settings_problems(state, body.kind, &body.secrets, &body.settings));
    refuse_any(problems)
}

fn refuse_any(problems: Vec<FieldError>) -> Result<(), ApiError> {
    if problems.is_empty() { Ok(()) } else { Err(ApiError::Invalid(problems)) }
}

/// A channel's settings as they would be stored (connected, or changed): what is wrong with them.
fn settings_problems(
    state: &AppState,
    kind: ChannelKind,
    secrets: &BTreeMap<String, String>,
    settings: &BTreeMap<String, String>,
) -> Vec<FieldError> {
    let mut problems = Vec::new();
    for setting in kind.definition().required_settings {
        if settings.get(*setting).is_none_or(|v| v.trim().is_empty()) {
            problems.push(FieldError {
                field: format!("settings.{setting}"),
                problem: "is required for this kind of channel".into(),
            });
        }
    }
    // What the kind itself says of its settings (e.g. Messenger's retired message tags).
    let setup = ratewire_adapters::ChannelSetup {
        secrets: secrets.clone(),
        settings: settings.clone(),
        outbound: state.settings.outbound.clone(),
        ..Default::default()
    };
    for (field, problem) in ratewire_adapters::validate_settings(kind, &setup) {
        problems.push(FieldError { field, problem });
    }
    problems
}

/// The tenant's channels.
#[derive(Serialize, utoipa::ToSchema)]
struct ChannelList {
    channels: Vec<ChannelView>,
}

/// Connects a channel, bound to a configuration.
#[utoipa::path(
    post,
    path = "/v1/channels",
    operation_id = "connect_channel",
    tag = "channels",
    request_body = ConnectBody,
    responses(
        (status = 201, description = "The channel, with its generated secrets in full", body = ChannelView),
        (status = 400, response = BadRequest),
        (status = 409, response = Conflict),
        (status = 413, response = TooLarge),
        (status = 422, response = Invalid),
        (status = 502, response = BadGateway),
    ),
)]
async fn connect(
    State(state): State<AppState>,
    CurrentTenant(tenant): CurrentTenant,
    ApiJson(body): ApiJson<ConnectBody>,
) -> Result<(StatusCode, Json<ChannelView>), ApiError> {
    check(&state, &body)?;
    let id = match body.id {
        Some(id) => ChannelId::new(id).map_err(|e| ApiError::invalid("id", e.to_string()))?,
        None => ChannelId::new(new_id("ch")).map_err(|_| ApiError::Internal)?,
    };
    // The configuration must exist: a channel bound to nothing could never send a survey.
    records::config(&*state.flow.store, &tenant, &body.config)
        .await
        .map_err(|e| ApiError::from(e).in_field("config"))?;
    let record = ChannelRecord {
        id: id.clone(),
        kind: body.kind,
        name: body.name,
        config: body.config,
        secrets: body.secrets,
        settings: body.settings,
        verify_token: new_secret(),
        visitor_secret: new_secret(),
        created_at: Timestamp::now(),
    };
    let revision =
        store::write(&*state.flow.store, &tenant, id.as_str(), None, &record).await.map_err(
            |e| match ApiError::from(e) {
                ApiError::Conflict { .. } => {
                    ApiError::Conflict { code: "already_exists", message: format!("channel {id} already exists") }
                }
                other => other,
            },
        )?;
    // Where the platform allows it (Telegram's setWebhook), ratewire's webhook is registered
    // now, once the channel is stored and its URL answers; a channel the platform refuses is
    // not kept.
    if let Ok(adapter) = crate::flow::channels::adapter(&state.flow, &tenant, &record)
        && let Err(error) = adapter.register_webhook().await
    {
        tracing::warn!(%tenant, channel = %id, %error, "the platform refused the webhook");
        if let Err(removal) = store::delete::<ChannelRecord>(&*state.flow.store, &tenant, id.as_str()).await {
            tracing::error!(%tenant, channel = %id, %removal, "the refused channel could not be removed");
        }
        return Err(ApiError::BadGateway {
            code: "webhook_registration_failed",
            message: format!("the platform refused ratewire's webhook: {}", platform_said(error)),
        });
    }
    Ok((StatusCode::CREATED, Json(ChannelView::new(&state, &tenant, record, revision, true))))
}

/// One channel.
#[utoipa::path(
    get,
    path = "/v1/channels/{id}",
    operation_id = "read_channel",
    tag = "channels",
    params(("id" = String, Path, description = "The channel's id")),
    responses(
        (status = 200, description = "The channel", body = ChannelView),
        (status = 404, response = NotFound),
    ),
)]
async fn read(
    State(state): State<AppState>,
    CurrentTenant(tenant): CurrentTenant,
    Path(id): Path<String>,
) -> Result<Json<ChannelView>, ApiError> {
    let stored = records::channel(&*state.flow.store, &tenant, &id).await?;
    Ok(Json(ChannelView::new(&state, &tenant, stored.value, stored.revision, false)))
}

/// Every channel of the tenant.
#[utoipa::path(
    get,
    path = "/v1/channels",
    operation_id = "list_channels",
    tag = "channels",
    responses(
        (status = 200, description = "The channels", body = ChannelList),
    ),
)]
async fn list(
    State(state): State<AppState>,
    CurrentTenant(tenant): CurrentTenant,
) -> Result<Json<ChannelList>, ApiError> {
    let channels: Vec<ChannelView> = store::read_all::<ChannelRecord>(&*state.flow.store, &tenant)
        .await?
        .into_iter()
        .map(|(_, stored)| ChannelView::new(&state, &tenant, stored.value, stored.revision, false))
        .collect();
    Ok(Json(ChannelList { channels }))
}

/// Rebinds a channel to another configuration (or renames it): one call.
#[utoipa::path(
    patch,
    path = "/v1/channels/{id}",
    operation_id = "rebind_channel",
    tag = "channels",
    params(("id" = String, Path, description = "The channel's id")),
    request_body = RebindBody,
    responses(
        (status = 200, description = "The channel, changed", body = ChannelView),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 413, response = TooLarge),
        (status = 422, response = Invalid),
    ),
)]
async fn rebind(
    State(state): State<AppState>,
    CurrentTenant(tenant): CurrentTenant,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<RebindBody>,
) -> Result<Json<ChannelView>, ApiError> {
    let stored = records::channel(&*state.flow.store, &tenant, &id).await?;
    let mut record = stored.value;
    if let Some(config) = body.config {
        records::config(&*state.flow.store, &tenant, &config)
            .await
            .map_err(|e| ApiError::from(e).in_field("config"))?;
        record.config = config;
    }
    if let Some(name) = body.name {
        if name.trim().is_empty() || name.chars().count() > 100 {
            return Err(ApiError::invalid("name", "must be 1 to 100 characters"));
        }
        record.name = name;
    }
    if !body.settings.is_empty() {
        for (name, value) in body.settings {
            match value {
                Some(value) => record.settings.insert(name, value),
                None => record.settings.remove(&name),
            };
        }
        refuse_any(settings_problems(&state, record.kind, &record.secrets, &record.settings))?;
    }
    let revision = store::write(&*state.flow.store, &tenant, &id, Some(stored.revision), &record).await?;
    Ok(Json(ChannelView::new(&state, &tenant, record, revision, false)))
}

/// A channel disconnected while the platform kept ratewire's webhook.
#[derive(Serialize, utoipa::ToSchema)]
struct Disconnected {
    id: ChannelId,
    /// What the platform answered when ratewire removed its webhook. The platform may go on
    /// posting the bot's updates to ratewire, which refuses them (404) now that the channel is
    /// gone: connect the bot elsewhere or remove the webhook at the platform.
    webhook_warning: String,
}

/// Disconnects a channel. Its surveys are kept.
///
/// Where ratewire registered its webhook with the platform (Telegram), it removes it; the
/// channel is disconnected even when the platform refuses or can't be reached, and the answer
/// then says so.
#[utoipa::path(
    delete,
    path = "/v1/channels/{id}",
    operation_id = "disconnect_channel",
    tag = "channels",
    params(("id" = String, Path, description = "The channel's id")),
    responses(
        (status = 204, description = "The channel is disconnected"),
        (
            status = 200,
            description = "The channel is disconnected, but the platform kept ratewire's webhook",
            body = Disconnected,
        ),
        (status = 404, response = NotFound),
    ),
)]
async fn disconnect(
    State(state): State<AppState>,
    CurrentTenant(tenant): CurrentTenant,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let record = records::channel(&*state.flow.store, &tenant, &id).await?.value;
    if !store::delete::<ChannelRecord>(&*state.flow.store, &tenant, &id).await? {
        return Err(ApiError::not_found("channel", id));
    }
    // Removed once the channel is gone, so a failure here never leaves a channel without its
    // webhook.
    let adapter = crate::flow::channels::adapter(&state.flow, &tenant, &record);
    // The channel is gone: so is its adapter, with an email channel's pooled connections.
    state.flow.adapters.forget(&tenant, &record.id);
    let Ok(adapter) = adapter else {
        return Ok(StatusCode::NO_CONTENT.into_response());
    };
    match adapter.unregister_webhook().await {
        Ok(()) => Ok(StatusCode::NO_CONTENT.into_response()),
        Err(error) => {
            tracing::warn!(%tenant, channel = %record.id, %error, "the platform kept the webhook");
            let webhook_warning = format!("the platform kept ratewire's webhook: {}", platform_said(error));
            Ok((StatusCode::OK, Json(Disconnected { id: record.id, webhook_warning })).into_response())
        }
    }
}

/// A platform's refusal, as the answers tell it: the failure's code and detail.
fn platform_said(error: SendError) -> String {
    match error {
        SendError::Permanent(reason) => format!("{}: {}", reason.code, reason.detail),
        other => other.to_string(),
    }
}
