//! Connected channels: `/v1/channels`.

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use jiff::Timestamp;
use ratewire_adapters::ChannelKind;
use ratewire_core::store::{RecordKind, list_json, put_json};
use ratewire_core::{ChannelId, FieldError, TenantId};
use serde::{Deserialize, Serialize};

use crate::app::AppState;
use crate::auth::CurrentTenant;
use crate::error::{ApiError, ApiJson};
use crate::records::{self, ChannelRecord, mask, new_id, new_secret};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/channels", get(list).post(connect))
        .route("/v1/channels/{id}", get(read).patch(rebind).delete(disconnect))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ConnectBody {
    id: Option<String>,
    kind: ChannelKind,
    name: String,
    /// The configuration its surveys use.
    config: String,
    #[serde(default)]
    secrets: BTreeMap<String, String>,
    #[serde(default)]
    settings: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RebindBody {
    config: Option<String>,
    name: Option<String>,
}

/// A channel as the API shows it: secrets masked, with what the business needs to wire it.
#[derive(Serialize)]
pub struct ChannelView {
    id: ChannelId,
    kind: ChannelKind,
    name: String,
    config: String,
    revision: u64,
    secrets: BTreeMap<String, String>,
    settings: BTreeMap<String, String>,
    /// Where the platform posts its webhooks (not for the web widget, which has none).
    #[serde(skip_serializing_if = "Option::is_none")]
    webhook_url: Option<String>,
    verify_token: String,
    /// For the web widget: the tag to put on the business's site.
    #[serde(skip_serializing_if = "Option::is_none")]
    embed: Option<String>,
    /// For the web widget: the key the business signs visitor ids with.
    #[serde(skip_serializing_if = "Option::is_none")]
    visitor_secret: Option<String>,
    created_at: Timestamp,
}

impl ChannelView {
    /// `reveal`: show the generated secrets in full (only in the answer that creates them).
    fn new(state: &AppState, tenant: &TenantId, record: ChannelRecord, revision: u64, reveal: bool) -> Self {
        let base = &state.settings.public_url;
        let shown = |secret: &str| if reveal { secret.to_owned() } else { mask(secret) };
        let widget = record.kind == ChannelKind::WebWidget;
        ChannelView {
            webhook_url: (!widget).then(|| format!("{base}/v1/hooks/{tenant}/{}", record.id)),
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

fn check(body: &ConnectBody) -> Result<(), ApiError> {
    let mut problems = Vec::new();
    let mut problem = |field: String, text: &str| problems.push(FieldError { field, problem: text.to_owned() });
    if body.name.trim().is_empty() || body.name.chars().count() > 100 {
        problem("name".into(), "must be 1 to 100 characters");
    }
    if !body.kind.is_available() {
        problem("kind".into(), "this kind of channel is not available yet");
    }
    for secret in body.kind.required_secrets() {
        if body.secrets.get(*secret).is_none_or(|v| v.trim().is_empty()) {
            problem(format!("secrets.{secret}"), "is required for this kind of channel");
        }
    }
    for setting in body.kind.required_settings() {
        if body.settings.get(*setting).is_none_or(|v| v.trim().is_empty()) {
            problem(format!("settings.{setting}"), "is required for this kind of channel");
        }
    }
    if problems.is_empty() { Ok(()) } else { Err(ApiError::Invalid(problems)) }
}

async fn connect(
    State(state): State<AppState>,
    CurrentTenant(tenant): CurrentTenant,
    ApiJson(body): ApiJson<ConnectBody>,
) -> Result<(StatusCode, Json<ChannelView>), ApiError> {
    check(&body)?;
    let id = match body.id {
        Some(id) => ChannelId::new(id).map_err(|e| ApiError::invalid("id", e.to_string()))?,
        None => ChannelId::new(new_id("ch")).map_err(|_| ApiError::Internal)?,
    };
    // The configuration must exist: a channel bound to nothing could never send a survey.
    records::config(&*state.store, &tenant, &body.config)
        .await
        .map_err(|_| ApiError::invalid("config", format!("no configuration {}", body.config)))?;
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
        put_json(&*state.store, &tenant, RecordKind::Channel, id.as_str(), None, &record).await.map_err(|e| {
            match ApiError::from(e) {
                ApiError::Conflict { .. } => {
                    ApiError::Conflict { code: "already_exists", message: format!("channel {id} already exists") }
                }
                other => other,
            }
        })?;
    Ok((StatusCode::CREATED, Json(ChannelView::new(&state, &tenant, record, revision, true))))
}

async fn read(
    State(state): State<AppState>,
    CurrentTenant(tenant): CurrentTenant,
    Path(id): Path<String>,
) -> Result<Json<ChannelView>, ApiError> {
    let stored = records::channel(&*state.store, &tenant, &id).await?;
    Ok(Json(ChannelView::new(&state, &tenant, stored.value, stored.revision, false)))
}

async fn list(
    State(state): State<AppState>,
    CurrentTenant(tenant): CurrentTenant,
) -> Result<Json<serde_json::Value>, ApiError> {
    let channels: Vec<ChannelView> = list_json::<ChannelRecord>(&*state.store, &tenant, RecordKind::Channel)
        .await?
        .into_iter()
        .map(|(_, stored)| ChannelView::new(&state, &tenant, stored.value, stored.revision, false))
        .collect();
    Ok(Json(serde_json::json!({ "channels": channels })))
}

/// Rebinds a channel to another configuration (or renames it): one call.
async fn rebind(
    State(state): State<AppState>,
    CurrentTenant(tenant): CurrentTenant,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<RebindBody>,
) -> Result<Json<ChannelView>, ApiError> {
    let stored = records::channel(&*state.store, &tenant, &id).await?;
    let mut record = stored.value;
    if let Some(config) = body.config {
        records::config(&*state.store, &tenant, &config)
            .await
            .map_err(|_| ApiError::invalid("config", format!("no configuration {config}")))?;
        record.config = config;
    }
    if let Some(name) = body.name {
        if name.trim().is_empty() || name.chars().count() > 100 {
            return Err(ApiError::invalid("name", "must be 1 to 100 characters"));
        }
        record.name = name;
    }
    let revision = put_json(&*state.store, &tenant, RecordKind::Channel, &id, Some(stored.revision), &record).await?;
    Ok(Json(ChannelView::new(&state, &tenant, record, revision, false)))
}

async fn disconnect(
    State(state): State<AppState>,
    CurrentTenant(tenant): CurrentTenant,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    if state.store.delete_record(&tenant, RecordKind::Channel, &id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found("channel", id))
    }
}
