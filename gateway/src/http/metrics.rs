//! Prometheus metrics at `/metrics`: requests and their latency, survey transitions by the
//! state they reach, invitations sent by channel kind and result, event webhooks by result.

use std::sync::OnceLock;
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::http::AppState;

/// The process's one recorder: metrics are global, whatever number of services a process runs.
fn handle() -> &'static Option<PrometheusHandle> {
    static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
    HANDLE.get_or_init(|| match PrometheusBuilder::new().install_recorder() {
        Ok(handle) => Some(handle),
        Err(error) => {
            tracing::warn!(%error, "metrics are off: another recorder is installed");
            None
        }
    })
}

pub fn routes() -> OpenApiRouter<AppState> {
    // Installing at router time makes every counter below land in it.
    let _ = handle();
    OpenApiRouter::default().routes(routes!(render))
}

/// The service's metrics, in Prometheus' text format.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "operations",
    responses((status = 200, description = "The metrics", content_type = "text/plain; version=0.0.4", body = String)),
)]
async fn render() -> impl IntoResponse {
    let body = handle().as_ref().map(PrometheusHandle::render).unwrap_or_default();
    ([(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4")], body)
}

/// Counts every request and times it, by method, route template and status.
pub async fn track(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |path| path.as_str().to_owned());
    let method = request.method().to_string();
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    let labels = [("method", method), ("route", route), ("status", status)];
    metrics::counter!("ratewire_http_requests_total", &labels).increment(1);
    metrics::histogram!("ratewire_http_request_duration_seconds", &labels).record(started.elapsed().as_secs_f64());
    response
}
