//! Where messaging platforms post: `/hooks/{tenant}/{channel}`. The channel's adapter checks
//! what the headers prove before the body is taken in, and verifies the request over its raw
//! bytes before anything in it is read; what it carries is then handled like any end user's
//! input. Platforms retry, so every message is taken once.

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, Method, header};
use axum::response::{IntoResponse, Response};
use jiff::{SignedDuration, Timestamp};
use ratewire_adapters::{ChoicePayload, DeliveryStatus, Inbound, InboundRequest, WebhookError, WebhookOutcome};
use ratewire_core::store::Sighting;
use ratewire_core::{ChannelId, Event, Survey, TenantId};
use serde::Serialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::api::doc::{
    MalformedWebhook, NotFound, TooLarge, Unavailable, UnverifiedWebhook, WebhookUnavailable, WrongVerifyToken,
};
use crate::app::AppState;
use crate::error::ApiError;
use crate::service::{self, Input, Outcome};
use crate::{records, sending};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::default().routes(routes!(verify, receive))
}

/// How long a handled platform message id is remembered to drop its redeliveries.
const DEDUPE_FOR: SignedDuration = SignedDuration::from_hours(24 * 7);

/// What a webhook delivery amounted to.
#[derive(Serialize, utoipa::ToSchema)]
struct Received {
    /// Items handled.
    received: usize,
    /// Items dropped as redeliveries of ones already handled.
    duplicates: usize,
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
    let record = match records::channel(&*state.store, &tenant, channel_id.as_str()).await {
        Ok(record) => record.value,
        Err(ApiError::NotFound { .. }) => return not_found(),
        Err(error) => return error.into_response(),
    };
    let Ok(adapter) = sending::adapter(state, &tenant, &record) else { return not_found() };
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
    let limit = sending::body_limit(state, record.kind);
    if crate::server::declares_more_than(&headers, limit) {
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
        Ok(WebhookOutcome::Events(events)) => match take(state, &tenant, &channel_id, adapter.as_ref(), events).await {
            Ok(received) => Json(received).into_response(),
            Err(error) => error.into_response(),
        },
        Err(error) => refused(error),
    }
}

/// Handles each item of a verified delivery once.
async fn take(
    state: &AppState,
    tenant: &TenantId,
    channel: &ChannelId,
    adapter: &dyn ratewire_adapters::Channel,
    events: Vec<Inbound>,
) -> Result<Received, ApiError> {
    let now = Timestamp::now();
    let mut received = Received { received: 0, duplicates: 0 };
    for event in events {
        let key = match &event {
            Inbound::Message { platform_id, .. }
            | Inbound::Choice { platform_id, .. }
            | Inbound::Reply { platform_id, .. } => {
                format!("{tenant}/{channel}/{platform_id}")
            }
            Inbound::Status { message_id, status, .. } => format!("{tenant}/{channel}/status/{message_id}/{status:?}"),
        };
        // Whether it is new, and what handling it needs from the store, are independent: their
        // round trips overlap. A repeat reads for nothing, and notes again what was noted.
        let claim = state.store.claim(&key, now, SignedDuration::from_secs(state.settings.delivery.claim_secs as i64));
        let (sighting, context) = tokio::join!(claim, context(state, tenant, channel, &event));
        match sighting? {
            Sighting::First => {}
            Sighting::Handled => {
                received.duplicates += 1;
                continue;
            }
            // Another request is handling it: whether that finishes is not known yet, so the
            // platform is asked to deliver again rather than told it was taken.
            Sighting::InHand => return Err(ApiError::InProgress),
        }
        received.received += 1;
        let handled = match context {
            Ok(latest) => take_one(state, tenant, channel, adapter, event, latest, now).await,
            Err(error) => Err(error),
        };
        match handled {
            // Marked handled only now that it is: a handling that failed, or a gateway that died
            // meanwhile, leaves a claim that runs out, so the redelivery is taken.
            Ok(()) => {
                if let Err(error) = state.store.confirm(&key, now, DEDUPE_FOR).await {
                    // Handled all the same; a redelivery once the claim runs out is handled
                    // again, which changes nothing already recorded.
                    tracing::warn!(%tenant, %channel, %error, "a handled item could not be marked handled");
                }
            }
            Err(error) => {
                if let Err(released) = state.store.release(&key).await {
                    tracing::warn!(
                        %tenant, %channel, error = %released,
                        "a failed item stays claimed until its claim runs out"
                    );
                }
                return Err(error);
            }
        }
    }
    Ok(received)
}

/// What an end user's message needs from the store before it is handled: their writing noted
/// (the channel's window rules count from it, so it is stored before anything is sent), and
/// the survey they are answering, read alongside.
async fn context(
    state: &AppState,
    tenant: &TenantId,
    channel: &ChannelId,
    event: &Inbound,
) -> Result<Option<Survey>, ApiError> {
    let (from, language, at) = match event {
        Inbound::Message { from, language, at, .. } | Inbound::Choice { from, language, at, .. } => {
            (from, language.clone(), *at)
        }
        Inbound::Reply { from, at, .. } => (from, None, *at),
        Inbound::Status { .. } => return Ok(None),
    };
    let answered = async {
        match event {
            Inbound::Reply { survey, .. } => service::named_survey(state, tenant, channel, survey).await,
            _ => Ok(state.store.latest_for_recipient(tenant, channel, from).await?),
        }
    };
    let (noted, latest) = tokio::join!(sending::note_inbound(state, tenant, channel, from, at, language), answered);
    noted?;
    latest
}

/// Handles one item of a verified delivery, given its [`context`].
async fn take_one(
    state: &AppState,
    tenant: &TenantId,
    channel: &ChannelId,
    adapter: &dyn ratewire_adapters::Channel,
    event: Inbound,
    latest: Option<Survey>,
    now: Timestamp,
) -> Result<(), ApiError> {
    match event {
        Inbound::Message { text, .. } => {
            service::respond(state, latest, Input::Text { text, conversation: None }, now).await?;
        }
        Inbound::Reply { survey, text, .. } => {
            service::respond(state, latest, Input::Reply { survey, text }, now).await?;
        }
        Inbound::Choice { from, payload, tap, .. } => {
            let reason = match &payload {
                ChoicePayload::Reason { reason, .. } => Some(reason.clone()),
                ChoicePayload::Score { .. } => None,
            };
            let input = match payload {
                ChoicePayload::Score { survey, score } => Input::Rate { survey, score },
                ChoicePayload::Reason { survey, reason } => Input::Reason { survey, reason },
            };
            let outcome = service::respond(state, latest.clone(), input, now).await;
            let acknowledgement = acknowledgement(state, latest, reason.as_deref(), &outcome).await;
            if let Err(error) = adapter.acknowledge_tap(&from, &tap, &acknowledgement).await {
                tracing::warn!(%tenant, %channel, %error, "the tap could not be acknowledged");
            }
            match outcome {
                // A tap on someone else's or a forgotten survey: nothing to do.
                Err(ApiError::NotFound { .. }) | Ok(_) => {}
                Err(error) => return Err(error),
            }
        }
        Inbound::Status { message_id, status, reference, .. } => {
            // The reference ratewire sent names the invitation's survey even when the gateway
            // that sent it died before it could record the platform's id for the message: this
            // report is then what tells it went out.
            let survey = match reference.as_deref().and_then(sending::invitation_of_reference) {
                Some(survey) => {
                    sending::record_sent(state, tenant, channel, &message_id, &survey, None).await?;
                    survey
                }
                None => match sending::survey_of_message(state, tenant, channel, &message_id).await? {
                    Some(survey) => survey,
                    None => return Ok(()),
                },
            };
            let event = match status {
                DeliveryStatus::Failed(reason) => Event::Fail(reason),
                DeliveryStatus::Sent | DeliveryStatus::Delivered | DeliveryStatus::Read => Event::SENT,
            };
            match service::apply(state, tenant, &survey, event, now).await {
                // Already recorded, or a survey that is gone: nothing to do.
                Ok(_)
                | Err(ratewire_core::store::ApplyError::Refused(_))
                | Err(ratewire_core::store::ApplyError::NotFound(_)) => {}
                Err(error) => return Err(error.into()),
            }
        }
    }
    Ok(())
}

/// What a tap's acknowledgement says, in the survey's language: the choice as recorded, or the
/// notice the end user is owed when it wasn't (the survey expired, the rating is final).
async fn acknowledgement(
    state: &AppState,
    latest: Option<Survey>,
    reason: Option<&str>,
    outcome: &Result<Outcome, ApiError>,
) -> String {
    let survey = match outcome {
        Ok(Outcome::Applied(transition)) => Some(transition.survey.clone()),
        _ => latest,
    };
    let Some(survey) = survey else { return String::new() };
    let Ok(texts) = service::texts_for(state, &survey).await else { return String::new() };
    match outcome {
        Ok(Outcome::Applied(_)) => match reason {
            Some(id) => texts.reasons.iter().find(|(r, _)| r == id).map(|(_, label)| label.clone()).unwrap_or_default(),
            None => survey
                .score()
                .map(|score| {
                    let title = ratewire_adapters::level_title(survey.rules.scale, score);
                    texts.labels.get(score).map_or(title.clone(), |label| format!("{title} {label}"))
                })
                .unwrap_or_default(),
        },
        Ok(Outcome::Refused(refusal)) => {
            refusal.reply().map(|reply| service::reply_text(&texts, reply).to_owned()).unwrap_or_default()
        }
        Ok(Outcome::PassThrough) | Err(_) => String::new(),
    }
}
