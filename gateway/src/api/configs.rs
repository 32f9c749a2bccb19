//! Survey configurations: `/v1/configs`.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use jiff::Timestamp;
use ratewire_core::store::{RecordKind, list_json, put_json};
use ratewire_core::{FieldError, SurveyConfig, TenantId};
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::api::doc::{BadRequest, Conflict, Invalid, NotFound, TooLarge};
use crate::app::AppState;
use crate::auth::CurrentTenant;
use crate::error::{ApiError, ApiJson};
use crate::records::{self, ConfigRecord, new_id};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::default().routes(routes!(list, create)).routes(routes!(read, update))
}

/// A configuration to create, or the whole of one to replace.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct ConfigBody {
    /// Chosen by the business, or generated (`cfg_…`); on update, the id in the URL if given.
    id: Option<String>,
    /// 1 to 100 characters.
    name: String,
    /// The survey configuration; every field left out takes its default.
    #[serde(default)]
    config: SurveyConfig,
    /// On update: the revision the change is based on; a newer stored one answers 409.
    revision: Option<u64>,
}

/// A configuration as stored.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ConfigView {
    id: String,
    name: String,
    /// Increases with every change; send it back on update to refuse overwriting a newer one.
    revision: u64,
    config: SurveyConfig,
    created_at: Timestamp,
    updated_at: Timestamp,
}

/// The tenant's configurations.
#[derive(Serialize, utoipa::ToSchema)]
struct ConfigList {
    configs: Vec<ConfigView>,
}

impl ConfigView {
    fn new(record: ConfigRecord, revision: u64) -> Self {
        ConfigView {
            id: record.id,
            name: record.name,
            revision,
            config: record.config,
            created_at: record.created_at,
            updated_at: record.updated_at,
        }
    }
}

fn check(body: &ConfigBody) -> Result<(), ApiError> {
    let mut problems: Vec<FieldError> = Vec::new();
    if body.name.trim().is_empty() || body.name.chars().count() > 100 {
        problems.push(FieldError { field: "name".into(), problem: "must be 1 to 100 characters".into() });
    }
    if let Err(errors) = body.config.validate() {
        problems.extend(errors.into_iter().map(|e| FieldError { field: format!("config.{}", e.field), ..e }));
    }
    if problems.is_empty() { Ok(()) } else { Err(ApiError::Invalid(problems)) }
}

fn record_id(id: Option<String>) -> Result<String, ApiError> {
    match id {
        None => Ok(new_id("cfg")),
        // Record ids share the alphabet of every other id.
        Some(id) => TenantId::new(id.clone()).map(|_| id).map_err(|e| ApiError::invalid("id", e.to_string())),
    }
}

/// Creates a configuration.
#[utoipa::path(
    post,
    path = "/v1/configs",
    tag = "configs",
    request_body = ConfigBody,
    responses(
        (status = 201, description = "The configuration, created", body = ConfigView),
        (status = 400, response = BadRequest),
        (status = 409, response = Conflict),
        (status = 413, response = TooLarge),
        (status = 422, response = Invalid),
    ),
)]
async fn create(
    State(state): State<AppState>,
    CurrentTenant(tenant): CurrentTenant,
    ApiJson(body): ApiJson<ConfigBody>,
) -> Result<(StatusCode, Json<ConfigView>), ApiError> {
    check(&body)?;
    let id = record_id(body.id)?;
    let now = Timestamp::now();
    let record =
        ConfigRecord { id: id.clone(), name: body.name, config: body.config, created_at: now, updated_at: now };
    let revision =
        put_json(&*state.store, &tenant, RecordKind::Config, &id, None, &record).await.map_err(
            |e| match ApiError::from(e) {
                ApiError::Conflict { .. } => {
                    ApiError::Conflict { code: "already_exists", message: format!("configuration {id} already exists") }
                }
                other => other,
            },
        )?;
    Ok((StatusCode::CREATED, Json(ConfigView::new(record, revision))))
}

/// One configuration.
#[utoipa::path(
    get,
    path = "/v1/configs/{id}",
    tag = "configs",
    params(("id" = String, Path, description = "The configuration's id")),
    responses(
        (status = 200, description = "The configuration", body = ConfigView),
        (status = 404, response = NotFound),
    ),
)]
async fn read(
    State(state): State<AppState>,
    CurrentTenant(tenant): CurrentTenant,
    Path(id): Path<String>,
) -> Result<Json<ConfigView>, ApiError> {
    let stored = records::config(&*state.store, &tenant, &id).await?;
    Ok(Json(ConfigView::new(stored.value, stored.revision)))
}

/// Every configuration of the tenant.
#[utoipa::path(
    get,
    path = "/v1/configs",
    tag = "configs",
    responses(
        (status = 200, description = "The configurations", body = ConfigList),
    ),
)]
async fn list(
    State(state): State<AppState>,
    CurrentTenant(tenant): CurrentTenant,
) -> Result<Json<ConfigList>, ApiError> {
    let configs: Vec<ConfigView> = list_json::<ConfigRecord>(&*state.store, &tenant, RecordKind::Config)
        .await?
        .into_iter()
        .map(|(_, stored)| ConfigView::new(stored.value, stored.revision))
        .collect();
    Ok(Json(ConfigList { configs }))
}

/// Replaces a configuration. Surveys already sent keep the rules they were sent with.
#[utoipa::path(
    put,
    path = "/v1/configs/{id}",
    tag = "configs",
    params(("id" = String, Path, description = "The configuration's id")),
    request_body = ConfigBody,
    responses(
        (status = 200, description = "The configuration, changed", body = ConfigView),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 413, response = TooLarge),
        (status = 422, response = Invalid),
    ),
)]
async fn update(
    State(state): State<AppState>,
    CurrentTenant(tenant): CurrentTenant,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ConfigBody>,
) -> Result<Json<ConfigView>, ApiError> {
    check(&body)?;
    if body.id.as_ref().is_some_and(|given| *given != id) {
        return Err(ApiError::invalid("id", "does not match the configuration in the URL"));
    }
    let stored = records::config(&*state.store, &tenant, &id).await?;
    if let Some(revision) = body.revision
        && revision != stored.revision
    {
        return Err(ApiError::Conflict {
            code: "stale_revision",
            message: format!("configuration {id} is at revision {}, not {revision}", stored.revision),
        });
    }
    let record = ConfigRecord {
        id: id.clone(),
        name: body.name,
        config: body.config,
        created_at: stored.value.created_at,
        updated_at: Timestamp::now(),
    };
    let revision = put_json(&*state.store, &tenant, RecordKind::Config, &id, Some(stored.revision), &record).await?;
    Ok(Json(ConfigView::new(record, revision)))
}
