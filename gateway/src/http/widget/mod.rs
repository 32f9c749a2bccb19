//! The web widget channel: an embeddable script served by the gateway that talks to it over a
//! WebSocket. It renders the visitor's survey from a view the gateway sends whenever the survey
//! changes, so a reconnect simply shows the survey as it is now.
//!
//! Visitors are named by the business's page (`data-visitor`) and vouched for by a token
//! (`data-visitor-token`): hex HMAC-SHA256 of the visitor id under the channel's visitor secret,
//! computed by the business's server. Without it, anyone could answer anyone's survey.

use std::time::Duration;

use axum::extract::State;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use hmac::{Hmac, Mac};
use jiff::Timestamp;
use ratewire_adapters::{MessagePath, level_title};
use ratewire_core::{
    ChannelId, ConversationId, Locale, Origin, RecipientId, Scale, Score, StateName, Survey, SurveyId, SurveyState,
    TenantId,
};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use tokio::sync::broadcast;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::flow::FlowError;
use crate::flow::live::Push;
use crate::flow::records::{self, ChannelInUse, ChannelRecord};
use crate::flow::surveys::{self, Input, InviteRequest, Outcome};
use crate::http::AppState;
use crate::http::api::doc::Forbidden;
use crate::http::error::{ApiError, ApiQuery};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::default().routes(routes!(script)).routes(routes!(connect))
}

const SCRIPT: &str = include_str!("widget.js");

/// The widget's script, to embed with the tag a web widget channel shows (`embed`).
#[utoipa::path(
    get,
    path = "/widget.js",
    tag = "widget",
    responses((status = 200, description = "The script", content_type = "text/javascript", body = String)),
)]
async fn script() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/javascript; charset=utf-8"), (header::CACHE_CONTROL, "public, max-age=300")], SCRIPT)
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct ConnectQuery {
    #[param(inline)]
    tenant: TenantId,
    /// A web widget channel of the tenant.
    #[param(inline)]
    channel: ChannelId,
    /// The business's id for the visitor.
    #[param(inline)]
    visitor: RecipientId,
    /// Hex HMAC-SHA256 of `visitor` under the channel's visitor secret; unless the channel's
    /// `visitor_tokens` setting is `off`.
    token: Option<String>,
    /// The browser's languages, comma-separated.
    lang: Option<String>,
    /// The conversation the page is about, for ratings the visitor gives on their own.
    conversation: Option<String>,
}

/// The token a business's server gives its page for a visitor.
pub fn visitor_token(secret: &str, visitor: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(visitor.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// Whether a channel lets visitors in without a token (the demo's does).
fn tokens_required(channel: &ChannelRecord) -> bool {
    channel.settings.get("visitor_tokens").is_none_or(|v| v != "off")
}

/// The widget's WebSocket: the visitor's survey as it changes, and their answers.
///
/// The messages each way, and how the protocol is versioned, are in `docs/widget.md` (version 1):
/// a business can build its own rating screen (a mobile app's) against it.
#[utoipa::path(
    get,
    path = "/widget/ws",
    operation_id = "connect_widget",
    tag = "widget",
    params(ConnectQuery),
    responses(
        (status = 101, description = "The WebSocket is open"),
        (
            status = 400,
            description = "The query is not a widget's (`invalid_query`), or the request is no WebSocket handshake \
                (plain text, from the WebSocket layer)",
            content((crate::http::error::Body = "application/json"), (String = "text/plain")),
        ),
        (status = 403, response = Forbidden),
    ),
)]
async fn connect(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<ConnectQuery>,
    upgrade: WebSocketUpgrade,
) -> Result<Response, ApiError> {
    let channel = records::channel(&*state.flow.store, &query.tenant, query.channel.as_str())
        .await
        .map_err(|error| match error {
            FlowError::NotFound { .. } => ApiError::Forbidden("unknown widget channel".into()),
            other => other.into(),
        })?
        .value;
    if channel.kind.definition().messages != MessagePath::LiveClient {
        return Err(ApiError::Forbidden("not a web widget channel".into()));
    }
    if tokens_required(&channel) {
        let expected = visitor_token(&channel.visitor_secret, query.visitor.as_str());
        let given = query.token.as_deref().unwrap_or_default();
        if !bool::from(subtle::ConstantTimeEq::ct_eq(expected.as_bytes(), given.as_bytes())) {
            return Err(ApiError::Forbidden("the visitor token does not match".into()));
        }
    }
    Ok(upgrade.max_message_size(16 * 1024).on_upgrade(move |socket| session(state, query, socket)))
}

/// What the widget sends.
#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum ClientMessage {
    Rate {
        survey: SurveyId,
        score: u8,
    },
    Reason {
        survey: SurveyId,
        reason: String,
    },
    Comment {
        survey: SurveyId,
        text: String,
    },
    /// Text the visitor typed in the chat.
    Text {
        text: String,
    },
    Ping,
}

/// What the gateway sends the widget.
#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum ServerMessage {
    Survey { survey: Option<Box<SurveyView>> },
    Say { text: String },
    Error { code: String, message: String },
    Pong,
}

/// A survey as the widget draws it.
#[derive(Serialize)]
struct SurveyView {
    id: SurveyId,
    state: StateName,
    kind: &'static str,
    locale: Locale,
    rtl: bool,
    invitation: String,
    levels: Vec<Level>,
    score: Option<u8>,
    reason: Option<String>,
    comment: Option<String>,
    reasons: Vec<(String, String)>,
    awaits_reason: bool,
    awaits_comment: bool,
    /// The visitor may still pick another score.
    can_change: bool,
    texts: WidgetTexts,
}

#[derive(Serialize)]
struct Level {
    score: u8,
    title: String,
    label: Option<String>,
}

#[derive(Serialize)]
struct WidgetTexts {
    thank_you: String,
    comment_prompt: String,
    reason_prompt: String,
    comment_thanks: String,
    expiry_notice: String,
    send: String,
    /// The floating card's close button's label.
    close: String,
}

async fn view(state: &AppState, survey: &Survey, now: Timestamp) -> Result<SurveyView, ApiError> {
    let texts = surveys::texts_for(&state.flow, survey).await?;
    let scale = survey.rules.scale;
    let levels = scale
        .scores()
        .map(|score| Level {
            score: score.value(),
            title: match scale {
                Scale::Stars { .. } => "★".into(),
                _ => level_title(scale, score),
            },
            label: texts.labels.get(score).map(str::to_owned),
        })
        .collect();
    let awaits_reason = survey.awaits_reason(now);
    let locale = survey.invitation.locale;
    Ok(SurveyView {
        id: survey.id.clone(),
        state: survey.state.name(),
        kind: match scale {
            Scale::Stars { .. } => "stars",
            Scale::Numeric { .. } => "numbers",
            Scale::Faces => "faces",
        },
        locale,
        rtl: locale.is_rtl(),
        invitation: texts.invitation,
        levels,
        score: survey.score().map(Score::value),
        reason: survey.reason().map(str::to_owned),
        comment: survey.comment().map(str::to_owned),
        reasons: texts.reasons,
        awaits_reason,
        awaits_comment: survey.awaits_comment(now) && !awaits_reason,
        can_change: survey.takes_rating(now),
        texts: WidgetTexts {
            thank_you: texts.thank_you,
            comment_prompt: texts.comment_prompt,
            reason_prompt: texts.reason_prompt,
            comment_thanks: texts.comment_thanks,
            expiry_notice: texts.expiry_notice,
            send: state.flow.catalog.text(locale, ratewire_core::Message::WidgetSend, scale),
            close: state.flow.catalog.text(locale, ratewire_core::Message::WidgetClose, scale),
        },
    })
}

/// The survey the visitor should see: their latest one on this channel, unless it ended
/// without a rating long ago (failed or cancelled surveys are never shown).
async fn current(state: &AppState, query: &ConnectQuery) -> Result<Option<Survey>, ApiError> {
    let latest = state.flow.store.latest_for_recipient(&query.tenant, &query.channel, &query.visitor).await?;
    Ok(latest.filter(|s| !matches!(s.state, SurveyState::Failed { .. } | SurveyState::Cancelled { .. })))
}

async fn send(socket: &mut WebSocket, message: &ServerMessage) -> bool {
    let Ok(text) = serde_json::to_string(message) else { return false };
    socket.send(Message::Text(text.into())).await.is_ok()
}

async fn send_survey(state: &AppState, query: &ConnectQuery, socket: &mut WebSocket) -> Shown {
    let now = Timestamp::now();
    let survey = match current(state, query).await {
        Ok(survey) => survey,
        // Nothing the visitor sent failed (an `error` would say so): the view is drawn again
        // once the store answers.
        Err(error) => {
            tracing::warn!(%error, "a widget's survey could not be read: drawing it again shortly");
            return Shown::Unreadable;
        }
    };
    let view = match survey {
        Some(survey) => view(state, &survey, now).await.ok().map(Box::new),
        None => None,
    };
    if send(socket, &ServerMessage::Survey { survey: view }).await { Shown::Sent } else { Shown::Closed }
}

/// What became of a survey view the gateway meant to send.
enum Shown {
    Sent,
    /// The store could not be read (it is failing over, say): nothing was sent.
    Unreadable,
    /// The socket is gone.
    Closed,
}

/// How long after a view the store could not give the gateway tries again.
const REDRAW_AFTER: Duration = Duration::from_secs(1);

impl Shown {
    /// When to draw the view again (`Some(None)`: not until something changes), or `None`
    /// when the socket is gone.
    fn redraw_at(self) -> Option<Option<tokio::time::Instant>> {
        match self {
            Shown::Sent => Some(None),
            Shown::Unreadable => Some(Some(tokio::time::Instant::now() + REDRAW_AFTER)),
            Shown::Closed => None,
        }
    }
}

/// How long a socket may stay silent before the gateway closes it; the widget pings every 25 s.
const IDLE: Duration = Duration::from_secs(90);

/// The browser's languages as the widget sends them, kept short: a few tags are all that
/// choosing a locale needs, and the record is kept.
fn browser_languages(lang: &str) -> Option<String> {
    let tags: Vec<&str> =
        lang.split(',').map(str::trim).filter(|tag| !tag.is_empty() && tag.len() <= 35).take(8).collect();
    (!tags.is_empty()).then(|| tags.join(","))
}

async fn session(state: AppState, query: ConnectQuery, mut socket: WebSocket) {
    let mut pushes = state.flow.live.subscribe();
    // The visitor's languages, as a platform would give them: invitations the helpdesk sends
    // without a language use them. Noted before the first view, so a survey made once the widget
    // showed anything finds them.
    if let Some(languages) = query.lang.as_deref().and_then(browser_languages)
        && let Err(error) =
            crate::flow::contacts::note_language(&state.flow, &query.tenant, &query.channel, &query.visitor, languages)
                .await
    {
        tracing::warn!(%error, "could not note the visitor's languages");
    }
    let Some(mut redraw_at) = send_survey(&state, &query, &mut socket).await.redraw_at() else { return };
    loop {
        tokio::select! {
            () = tokio::time::sleep_until(redraw_at.unwrap_or_else(tokio::time::Instant::now)), if redraw_at.is_some() => {
                let Some(next) = send_survey(&state, &query, &mut socket).await.redraw_at() else { return };
                redraw_at = next;
            }
            incoming = tokio::time::timeout(IDLE, socket.recv()) => {
                let Ok(Some(Ok(message))) = incoming else { return };
                let reply = match message {
                    Message::Text(text) => handle(&state, &query, &text).await,
                    Message::Close(_) => return,
                    _ => continue,
                };
                if let Some(reply) = reply && !send(&mut socket, &reply).await {
                    return;
                }
            }
            push = pushes.recv() => {
                match push {
                    Ok(Push::Visitor { tenant, channel, visitor, say })
                        if tenant == query.tenant && channel == query.channel && visitor == query.visitor =>
                    {
                        if let Some(text) = say && !send(&mut socket, &ServerMessage::Say { text }).await {
                            return;
                        }
                        let Some(next) = send_survey(&state, &query, &mut socket).await.redraw_at() else { return };
                        redraw_at = next;
                    }
                    Ok(Push::Visitor { .. }) => {}
                    // Missed pushes: redraw from the store, which is always right.
                    Ok(Push::Redraw) | Err(broadcast::error::RecvError::Lagged(_)) => {
                        let Some(next) = send_survey(&state, &query, &mut socket).await.redraw_at() else { return };
                        redraw_at = next;
                    }
                    Err(broadcast::error::RecvError::Closed) => return,
                }
            }
        }
    }
}

/// The conversation the page names (`data-conversation`), if it names a valid one.
fn page_conversation(query: &ConnectQuery) -> Option<ConversationId> {
    query.conversation.as_deref().and_then(|id| ConversationId::new(id).ok())
}

/// Handles one message from the widget; the answer, if any, goes back to it alone.
async fn handle(state: &AppState, query: &ConnectQuery, text: &str) -> Option<ServerMessage> {
    let message: ClientMessage = match serde_json::from_str(text) {
        Ok(message) => message,
        Err(error) => {
            return Some(ServerMessage::Error { code: "malformed_message".into(), message: error.to_string() });
        }
    };
    let now = Timestamp::now();
    let input = match message {
        ClientMessage::Ping => return Some(ServerMessage::Pong),
        ClientMessage::Rate { survey, score } => {
            let Ok(score) = Scale::NPS.score(score.into()) else {
                return Some(ServerMessage::Error {
                    code: "out_of_scale".into(),
                    message: format!("{score} is not a level"),
                });
            };
            Input::Rate { survey, score }
        }
        ClientMessage::Reason { survey, reason } => Input::Reason { survey, reason },
        ClientMessage::Comment { survey, text } => Input::Comment { survey, text },
        ClientMessage::Text { text } => Input::Text { text, conversation: page_conversation(query) },
    };
    let typed = matches!(input, Input::Text { .. });
    match surveys::take_input(&state.flow, &query.tenant, &query.channel, &query.visitor, input.clone(), now).await {
        Ok(Outcome::PassThrough) if typed => user_initiated(state, query, input, now).await,
        Ok(Outcome::Refused(refusal)) if refusal.reply().is_none() => Some(error_message(refusal)),
        Ok(_) => None,
        Err(error) => Some(error_message(error)),
    }
}

/// What the widget is told of a failure: the API's code and message for it.
fn error_message(error: impl Into<ApiError>) -> ServerMessage {
    let error = error.into();
    ServerMessage::Error { code: error.code().into(), message: error.to_string() }
}

/// A typed rating with no survey to answer: recorded as the visitor's own, when the
/// configuration allows it and the page named the conversation.
async fn user_initiated(state: &AppState, query: &ConnectQuery, input: Input, now: Timestamp) -> Option<ServerMessage> {
    let Input::Text { text, conversation: Some(conversation) } = input else { return None };
    let channel = ChannelInUse::of(&state.flow.store, &query.tenant, &query.channel);
    let config = channel.config().await.ok()?;
    if !config.config.user_initiated {
        return None;
    }
    let languages: Vec<String> = query.lang.iter().map(String::to_owned).collect();
    let locale = Locale::negotiate(languages.iter().map(String::as_str), config.config.default_locale);
    let labels = config.config.texts(locale, state.flow.catalog).labels;
    let reading = ratewire_core::understand(&text, config.config.scale, locale, &labels);
    if !matches!(reading, ratewire_core::Understanding::Rating { .. }) {
        return None;
    }
    let known = crate::flow::conversations::load(&state.flow, &query.tenant, &conversation).await.ok().flatten();
    if known.as_ref().is_some_and(|c| c.value.conversation.is_closed()) {
        return None;
    }
    let request = InviteRequest {
        conversation,
        resolution: known.map_or(1, |c| c.value.conversation.resolution()),
        channel: query.channel.clone(),
        recipient: query.visitor.clone(),
        agent: None,
        languages,
        origin: Origin::User,
    };
    let survey = match surveys::invite(&state.flow, &query.tenant, request, now).await {
        Ok(survey) => survey,
        // Already surveyed: the message is just a message.
        Err(FlowError::InviteRefused(_)) => return None,
        Err(error) => return Some(error_message(error)),
    };
    let events = survey.events_for_text(&text, reading, now).unwrap_or_default();
    surveys::answer(&state.flow, &channel, &survey, events, now, None).await.err().map(error_message)
}
