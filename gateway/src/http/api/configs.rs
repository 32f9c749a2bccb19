//! Survey configurations: `/v1/configs`.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use jiff::Timestamp;
use ratewire_core::store;
use ratewire_core::{FieldError, SurveyConfig, TenantId};
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::flow::records::{self, ConfigRecord, new_id};
use crate::http::AppState;
use crate::http::api::doc::{BadRequest, Conflict, Invalid, NotFound, TooLarge};
use crate::http::auth::CurrentTenant;
use crate::http::error::{ApiError, ApiJson};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::default().routes(routes!(list, create)).routes(routes!(read, update))
}

/// A configuration to create, or the whole of one to replace.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct ConfigBody {
    /// Chosen by the business, or generated (`cfg_…`); on update, the id in the URL if given.
    id: Option<String>,
    /// 1 to 100 characters, not all spaces.
    #[schema(min_length = 1, max_length = 100, pattern = r"\S")]
    name: String,
    /// The survey configuration; every field left out takes its default. Read after the rest
    /// of the body, so that every problem in it is reported at once.
    #[serde(default = "empty_object")]
    #[schema(value_type = SurveyConfig)]
    config: serde_json::Value,
    /// On update: the revision the change is based on; a newer stored one answers 409.
    /// A JSON integer of 64 bits, as the document's `int64` says (so not a `u64`).
    #[schema(minimum = 0)]
    revision: Option<i64>,
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

fn empty_object() -> serde_json::Value {
    serde_json::Value::Object(serde_json::Map::new())
}

/// The body's configuration, read and checked, or every problem with the body.
fn check(body: &mut ConfigBody) -> Result<SurveyConfig, ApiError> {
    let mut problems: Vec<FieldError> = Vec::new();
    if body.name.trim().is_empty() || body.name.chars().count() > 100 {
        problems.push(FieldError { field: "name".into(), problem: "must be 1 to 100 characters".into() });
    }
    if body.revision.is_some_and(|revision| revision < 0) {
        problems.push(FieldError { field: "revision".into(), problem: "must be 0 or more".into() });
    }
    let config = SurveyConfig::from_json(body.config.take()).map_err(|errors| {
        let in_body = |e: FieldError| match e.field.as_str() {
            "" => FieldError { field: "config".into(), ..e },
            field => FieldError { field: format!("config.{field}"), ..e },
        };
        problems.extend(errors.into_iter().map(in_body));
    });
    match config {
        Ok(config) if problems.is_empty() => Ok(config),
        _ => Err(ApiError::Invalid(problems)),
    }
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
    operation_id = "create_config",
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
    ApiJson(mut body): ApiJson<ConfigBody>,
) -> Result<(StatusCode, Json<ConfigView>), ApiError> {
    let config = check(&mut body)?;
    let id = record_id(body.id)?;
    let now = Timestamp::now();
    let record = ConfigRecord { id: id.clone(), name: body.name, config, created_at: now, updated_at: now };
    let revision =
        store::write(&*state.flow.store, &tenant, &id, None, &record).await.map_err(|e| match ApiError::from(e) {
            ApiError::Conflict { .. } => {
                ApiError::Conflict { code: "already_exists", message: format!("configuration {id} already exists") }
            }
            other => other,
        })?;
    Ok((StatusCode::CREATED, Json(ConfigView::new(record, revision))))
}

/// One configuration.
#[utoipa::path(
    get,
    path = "/v1/configs/{id}",
    operation_id = "read_config",
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
    let stored = records::config(&*state.flow.store, &tenant, &id).await?;
    Ok(Json(ConfigView::new(stored.value, stored.revision)))
}

/// Every configuration of the tenant.
#[utoipa::path(
    get,
    path = "/v1/configs",
    operation_id = "list_configs",
    tag = "configs",
    responses(
        (status = 200, description = "The configurations", body = ConfigList),
    ),
)]
async fn list(
    State(state): State<AppState>,
    CurrentTenant(tenant): CurrentTenant,
) -> Result<Json<ConfigList>, ApiError> {
    let configs: Vec<ConfigView> = store::read_all::<ConfigRecord>(&*state.flow.store, &tenant)
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
    operation_id = "update_config",
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
    ApiJson(mut body): ApiJson<ConfigBody>,
) -> Result<Json<ConfigView>, ApiError> {
    let config = check(&mut body)?;
    if body.id.as_ref().is_some_and(|given| *given != id) {
        return Err(ApiError::invalid("id", "does not match the configuration in the URL"));
    }
    let stored = records::config(&*state.flow.store, &tenant, &id).await?;
    if let Some(revision) = body.revision
        && u64::try_from(revision).ok() != Some(stored.revision)
    {
        return Err(ApiError::Conflict {
            code: "stale_revision",
            message: format!("configuration {id} is at revision {}, not {revision}", stored.revision),
        });
    }
    let record = ConfigRecord {
        id: id.clone(),
        name: body.name,
        config,
        created_at: stored.value.created_at,
        updated_at: Timestamp::now(),
    };
    let revision = store::write(&*state.flow.store, &tenant, &id, Some(stored.revision), &record).await?;
    Ok(Json(ConfigView::new(record, revision)))
}
