//! The HTTP service: its shared state, its router and its OpenAPI document. Everything that
//! speaks axum lives in this room; handlers parse a request, call the workflow
//! ([`crate::flow`]) and map its errors ([`error`]), and hold no survey logic.
//!
//! Every route is registered through `utoipa_axum`'s `routes!` from a handler that carries its
//! `#[utoipa::path]`, so the router and the document served at `/openapi.json` are made from one
//! list: a route can't be served without being documented, nor documented without being served.

pub mod api;
pub mod auth;
pub mod dashboard;
pub mod demo;
pub mod email_pages;
pub mod error;
pub mod hooks;
pub mod html;
pub mod metrics;
pub mod server;
pub mod widget;

use std::sync::{Arc, OnceLock};

use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::header;
use axum::response::IntoResponse;
use tower_http::trace::TraceLayer;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use self::auth::Tenants;
use self::error::ApiError;
use crate::flow::Flow;

/// Which store the service runs on, as `/healthz` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StoreKind {
    Redis,
    Embedded,
}

#[derive(Clone)]
pub struct AppState {
    /// The survey workflow the handlers call.
    pub flow: Flow,
    pub store_kind: StoreKind,
    pub tenants: Arc<Tenants>,
    pub settings: Arc<HttpConfig>,
    /// The demo's tenant and key, when the demo runs.
    pub demo: Option<demo::Demo>,
    pub stopping: Stopping,
}

/// What the HTTP service reads of the settings.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// How channels and browsers reach the service: the base of webhook URLs and links.
    pub public_url: String,
    /// The largest request body accepted.
    pub body_limit_bytes: usize,
    /// The largest webhook body an email channel takes.
    pub email_body_limit_bytes: usize,
    /// The most surveys one report reads one by one (`report_max_surveys`).
    pub report_max_surveys: usize,
    pub dashboard: auth::DashboardSettings,
    /// Where tenants' URLs may point, judged when they are given.
    pub outbound: ratewire_adapters::outbound::OutboundPolicy,
    /// The serve loop's deadlines and connection cap.
    pub http: server::HttpSettings,
}

/// Set once the service has begun to stop: `/readyz` answers 503 from then on, so a load
/// balancer stops sending before the listener closes.
#[derive(Clone, Default)]
pub struct Stopping(Arc<std::sync::atomic::AtomicBool>);

impl Stopping {
    pub fn begin(&self) {
        self.0.store(true, std::sync::atomic::Ordering::SeqCst);
    }

    pub fn has_begun(&self) -> bool {
        self.0.load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// Every route, each with its part of the document.
fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(api::doc::ApiDoc::openapi())
        .merge(api::routes())
        .merge(widget::routes())
        .merge(dashboard::routes())
        .merge(hooks::routes())
        .merge(email_pages::routes())
        .merge(demo::routes())
        .merge(metrics::routes())
        .routes(routes!(openapi_json))
}

pub fn router(state: AppState) -> Router {
    let body_limit = state.settings.body_limit_bytes;
    let (router, _) = routes().split_for_parts();
    router
        .route_layer(axum::middleware::from_fn(metrics::track))
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(axum::middleware::from_fn_with_state(state.settings.clone(), refuse_declared_too_large))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// 413 at once for a request that declares a body over the limit, before any of it is read:
/// the limit alone would wait for bytes that may never come.
async fn refuse_declared_too_large(
    State(settings): State<Arc<HttpConfig>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    // A webhook's limit is its channel kind's (email's is larger): `hooks` checks that one.
    let limit = if request.uri().path().starts_with("/hooks/") {
        settings.body_limit_bytes.max(settings.email_body_limit_bytes)
    } else {
        settings.body_limit_bytes
    };
    if server::declares_more_than(request.headers(), limit) {
        return ApiError::TooLarge.into_response();
    }
    next.run(request).await
}

/// The OpenAPI document of every route the router serves.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut document = routes().split_for_parts().1;
    api::doc::authenticate_v1(&mut document);
    api::doc::time_limit_bodies(&mut document);
    document
}

/// This document: every route of the service, its parameters, bodies and answers.
#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "operations",
    responses((status = 200, description = "The OpenAPI document", content_type = "application/json", body = Object)),
)]
async fn openapi_json() -> impl IntoResponse {
    static DOCUMENT: OnceLock<String> = OnceLock::new();
    let document = DOCUMENT.get_or_init(|| openapi().to_json().expect("the OpenAPI document serializes"));
    ([(header::CONTENT_TYPE, "application/json")], document.as_str())
}
