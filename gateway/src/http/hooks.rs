//! Where messaging platforms post: `/hooks/{tenant}/{channel}`. The channel's adapter checks
//! what the headers prove before the body is taken in, and verifies the request over its raw
//! bytes before anything in it is read; what it carries is then handled like any end user's
//! input. Platforms retry, so every message is taken once.

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, Method, header};
use axum::response::{IntoResponse, Response};
use ratewire_adapters::{ChannelKind, InboundRequest, WebhookBody, WebhookError, WebhookOutcome};
use ratewire_core::{ChannelId, TenantId};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::flow::inbound::{self, Received};
use crate::flow::records::{self, ChannelInUse};
use crate::flow::{FlowError, channels};
use crate::http::AppState;
use crate::http::api::doc::{
    MalformedWebhook, NotFound, TooLarge, Unavailable, UnverifiedWebhook, WebhookUnavailable, WrongVerifyToken,
};
use crate::http::error::ApiError;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::default().routes(routes!(verify, receive))
}

/// A platform's verification handshake (Meta's `hub.mode=subscribe`).
#[utoipa::path(
    get,
    path = "/hooks/{tenant}/{channel}",
    tag = "channels",
    params(("tenant" = String, Path), ("channel" = String, Path)),
    responses(
        (status = 200, description = "The challenge, echoed", content_type = "text/plain", body = String),
        (status = 400, response = MalformedWebhook),
        (status = 401, response = UnverifiedWebhook),
        (status = 403, response = WrongVerifyToken),
        (status = 404, response = NotFound),
        (status = 503, response = Unavailable),
    ),
)]
async fn verify(
    State(state): State<AppState>,
    Path((tenant, channel)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    handle(&state, &tenant, &channel, Method::GET, headers, query, Body::empty()).await
}

/// A platform's webhook: messages, taps and delivery reports, signed by the platform.
#[utoipa::path(
    post,
    path = "/hooks/{tenant}/{channel}",
    tag = "channels",
    params(("tenant" = String, Path), ("channel" = String, Path)),
    request_body(
        content = String,
        description = "The platform's own payload, signed as the platform signs it; for email, the raw RFC 822 \
            message, with the channel's `verify_token` as a bearer token or Basic password"
    ),
    responses(
        (status = 200, description = "Taken", body = Received),
        (status = 400, response = MalformedWebhook),
        (status = 401, response = UnverifiedWebhook),
        (status = 403, response = WrongVerifyToken),
        (status = 404, response = NotFound),
        (status = 413, response = TooLarge),
        (status = 503, response = WebhookUnavailable),
    ),
)]
async fn receive(
    State(state): State<AppState>,
    Path((tenant, channel)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Response {
    handle(&state, &tenant, &channel, Method::POST, headers, query, body).await
}

async fn handle(
    state: &AppState,
    tenant: &str,
    channel: &str,
    method: Method,
    headers: HeaderMap,
    query: Option<String>,
    body: Body,
) -> Response {
    let not_found = || ApiError::not_found("channel", format!("{tenant}/{channel}")).into_response();
    let (Ok(tenant), Ok(channel_id)) = (TenantId::new(tenant), ChannelId::new(channel)) else { return not_found() };
    let record = match records::channel(&*state.flow.store, &tenant, channel_id.as_str()).await {
        Ok(record) => record.value,
        Err(FlowError::NotFound { .. }) => return not_found(),
        Err(error) => return ApiError::from(error).into_response(),
    };
    let Ok(adapter) = channels::adapter(&state.flow, &tenant, &record) else { return not_found() };
    let refused = |error: WebhookError| {
        // Logged without the body: it is not to be trusted, nor kept.
        tracing::warn!(%tenant, channel = %channel_id, %error, "webhook refused");
        ApiError::from(error).into_response()
    };
    // What the headers can prove is checked before the body is taken in, so a caller without
    // the channel's credential can't make the gateway hold a body.
    if let Err(error) = adapter.admit(&headers) {
        return refused(error);
    }
    // Read only once the channel is known: each kind has its limit. A body cut short can't
    // be verified either way.
    let limit = body_limit(state, record.kind);
    if crate::http::server::declares_more_than(&headers, limit) {
        return ApiError::TooLarge.into_response();
    }
    let body = match axum::body::to_bytes(body, limit).await {
        Ok(body) => body,
        Err(error) => return ApiError::unreadable_body(&error).into_response(),
    };
    let request = InboundRequest { method, headers, query, body };
    match adapter.receive(&request) {
        Ok(WebhookOutcome::Handshake(challenge)) => {
            ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], challenge).into_response()
        }
        Ok(WebhookOutcome::Events(events)) => {
            match inbound::take(
                &state.flow,
                &tenant,
                &ChannelInUse::read(&state.flow.store, &tenant, record),
                adapter.as_ref(),
                events,
            )
            .await
            {
                Ok(received) => Json(received).into_response(),
                Err(error) => ApiError::from(error).into_response(),
            }
        }
        Err(error) => refused(error),
    }
}

/// The largest webhook body a channel kind takes: email's replies carry their signature's
/// images and the quoted HTML, so they have their own limit (`email_body_limit_bytes`).
fn body_limit(state: &AppState, kind: ChannelKind) -> usize {
    match kind.definition().webhook_body {
        WebhookBody::Mail => state.settings.email_body_limit_bytes,
        WebhookBody::Message => state.settings.body_limit_bytes,
    }
}
