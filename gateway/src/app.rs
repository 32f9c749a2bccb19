//! The service's shared state and its router.

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use ratewire_core::Catalog;
use ratewire_core::store::Store;
use tower_http::trace::TraceLayer;

use crate::auth::Tenants;
use crate::settings::Checked;
use crate::widget::WidgetHub;
use crate::{api, demo, metrics, widget};

/// Which store the service runs on, as `/healthz` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StoreKind {
    Redis,
    Embedded,
}

#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub store_kind: StoreKind,
    pub tenants: Arc<Tenants>,
    pub settings: Arc<Checked>,
    pub catalog: &'static Catalog,
    pub widgets: WidgetHub,
    /// The demo's tenant and key, when the demo runs.
    pub demo: Option<demo::Demo>,
}

pub fn router(state: AppState) -> Router {
    let body_limit = state.settings.body_limit_bytes;
    Router::new()
        .merge(api::routes())
        .merge(widget::routes())
        .merge(demo::routes())
        .merge(metrics::routes())
        .route_layer(axum::middleware::from_fn(metrics::track))
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}
