//! ratewire's channels. Each channel is one module holding its whole behaviour — webhook
//! verification and parsing, native rendering, sending, error mapping, window rules — behind
//! the [`Channel`] trait, and declaring in a [`ChannelDefinition`] what it needs (secrets,
//! settings and their checks) and how the gateway treats it (how its adapter is built, the form
//! of its end users' ids, its webhooks' body limit, unsubscribes, live delivery, pages). The
//! survey rules stay in `ratewire-core`; a channel only carries messages in and out. What
//! WhatsApp and Messenger share of Meta's Graph platform (settings, webhooks' handshake and
//! signature, posting messages, reading Graph errors) is in `meta`.
//!
//! Adding a channel:
//! 1. one module implementing [`Channel`] and giving its `pub static DEFINITION:
//!    ChannelDefinition`;
//! 2. one [`ChannelKind`] variant, and its line in [`ChannelKind::definition`].
//!
//! The gateway reads everything else from the definition: it needs no edit.

mod definition;
pub mod email;
pub mod html;
pub mod messenger;
mod meta;
pub mod outbound;
pub mod payload;
pub mod telegram;
pub mod web_widget;
pub mod whatsapp;

use std::time::Duration;

use async_trait::async_trait;
use jiff::{SignedDuration, Timestamp};
use ratewire_core::{FailureReason, RecipientId, Scale, Score, SurveyId};
use serde::{Deserialize, Serialize};
use thiserror::Error;

pub use self::definition::{BuildAdapter, ChannelDefinition, MessagePath, WebhookBody};
pub use self::payload::ChoicePayload;

/// The kinds of channel a business can connect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ChannelKind {
    WebWidget,
    Whatsapp,
    Messenger,
    Telegram,
    Email,
}

/// What a channel can show and when it may write, so invitations are planned to fit it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Capabilities {
    /// How many choices it shows natively (buttons, list rows, quick replies, links).
    pub max_choices: usize,
    /// The longest choice title, in characters.
    pub max_choice_title: usize,
    /// The longest message text, in characters.
    pub max_text: usize,
    /// Free-form messages are allowed only this long after the end user's last message
    /// (WhatsApp's and Messenger's 24 hours); `None` when the channel may always write.
    pub reply_window: Option<SignedDuration>,
    /// Whether a sent invitation can be edited to show the choice made (Telegram).
    pub edits_sent_messages: bool,
    /// The platform's default send rate for one sender, per second.
    pub default_sends_per_second: u32,
    /// The least time between two messages to one end user, when the platform limits it
    /// (Telegram: a message a second per chat). Kept for the whole service, as the send rate is.
    pub recipient_send_interval: Option<SignedDuration>,
    /// Whether the platform reports back every message it took, naming the send's
    /// [`Outbound::idempotency_key`] (WhatsApp's status webhooks, Messenger's echoes): after a
    /// crash mid-send, that report tells whether the message went out before it is sent again.
    pub reports_sends: bool,
}

/// One choice of an invitation as the end user sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    pub score: Score,
    /// What the button says: the level's number, stars or face.
    pub title: String,
    /// The level's label, where the channel has room for it.
    pub label: Option<String>,
    /// What a tap sends back: names the survey and the score.
    pub payload: String,
}

/// How an invitation is shown on a channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InvitationLayout {
    /// Every level as a native choice.
    Choices(Vec<Choice>),
    /// Too many levels for the channel: a text that says how to answer.
    TypedAnswer { hint: String },
}

/// Plans an invitation for a channel: native choices when every level fits, else a typed answer.
pub fn plan_invitation(
    survey: &SurveyId,
    scale: Scale,
    labels: &ratewire_core::Labels,
    answer_hint: &str,
    capabilities: &Capabilities,
) -> InvitationLayout {
    if usize::from(scale.levels()) > capabilities.max_choices {
        return InvitationLayout::TypedAnswer { hint: answer_hint.to_owned() };
    }
    let choices = scale
        .scores()
        .map(|score| Choice {
            score,
            title: level_title(scale, score),
            label: labels.get(score).map(str::to_owned),
            payload: ChoicePayload::Score { survey: survey.clone(), score }.encode(),
        })
        .collect();
    InvitationLayout::Choices(choices)
}

/// A level's title: stars for a star scale, the face for faces, the number otherwise.
pub fn level_title(scale: Scale, score: Score) -> String {
    match scale {
        Scale::Stars { .. } => "⭐".repeat(usize::from(score.value())),
        Scale::Faces => ratewire_core::reply::ACCEPTED_FACES
            .iter()
            .find(|(_, value)| *value == score.value())
            .map(|(face, _)| face.to_string())
            .unwrap_or_else(|| score.to_string()),
        Scale::Numeric { .. } => score.to_string(),
    }
}

/// `text`, cut to at most `max` characters (at a character boundary, ending with "…" when cut).
pub(crate) fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// `head`, then each of `error`'s causes, in one line.
pub(crate) fn with_causes(head: String, error: &dyn std::error::Error) -> String {
    let mut text = head;
    let mut source = error.source();
    while let Some(cause) = source {
        text = format!("{text}: {cause}");
        source = cause.source();
    }
    text
}

/// A message to send to an end user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outbound {
    /// The survey the message belongs to; none for a pre-chat's message, which belongs to the
    /// end user's pre-chat on the channel.
    pub survey: Option<SurveyId>,
    pub recipient: RecipientId,
    pub content: Content,
    /// Names this send uniquely. Channels whose platform echoes a reference back
    /// ([`Capabilities::reports_sends`]) send it along, and it comes back as
    /// [`Inbound::Status::reference`].
    pub idempotency_key: String,
    /// The survey's invitation text: channels whose messages have a subject (email) answer
    /// under it.
    pub invitation: String,
    /// What window rules are judged on.
    pub context: SendContext,
}

/// What a channel needs to know to apply its window rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SendContext {
    pub now: Timestamp,
    /// When the end user last wrote on this channel, if ever.
    pub last_inbound_at: Option<Timestamp>,
    /// What started the survey: an agent's invitation may take routes an automatic one may not.
    pub origin: ratewire_core::Origin,
    /// The end user's locale, for template languages.
    pub locale: ratewire_core::Locale,
}

/// What a channel is built from: the business's credentials and settings for it. Every
/// adapter takes its API base URL from the setting `api_base_url`, so the same code talks to
/// the platform or to a stand-in.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChannelSetup {
    pub secrets: std::collections::BTreeMap<String, String>,
    pub settings: std::collections::BTreeMap<String, String>,
    /// Where the platform posts this channel's webhooks (ratewire's URL for it).
    pub webhook_url: String,
    /// Where the gateway serves this channel's pages to end users (email's rating links).
    pub pages_url: String,
    /// The secret ratewire chose for the channel (Meta's verify token, Telegram's secret token).
    pub verify_token: String,
    /// Where the adapter may connect: its clients are the policy's.
    pub outbound: outbound::OutboundPolicy,
}

impl ChannelSetup {
    pub fn secret(&self, name: &str) -> Result<&str, SetupError> {
        self.secrets.get(name).map(String::as_str).ok_or(SetupError::Missing(name.to_owned()))
    }

    pub fn setting(&self, name: &str) -> Option<&str> {
        self.settings.get(name).map(String::as_str)
    }

    /// The platform's API base URL: the `api_base_url` setting, or the real platform's.
    pub fn api_base_url<'a>(&'a self, default: &'a str) -> &'a str {
        self.setting("api_base_url").unwrap_or(default).trim_end_matches('/')
    }

    /// The outbound policy's word on the `api_base_url` setting, where it can be told before
    /// connecting (an IP literal; a name is judged as it resolves).
    fn check_api_base_url(&self) -> Result<(), SetupError> {
        let Some(url) = self.setting("api_base_url").and_then(|base| reqwest::Url::parse(base.trim()).ok()) else {
            return Ok(());
        };
        self.outbound.check_url(&url).map_err(|refused| SetupError::Invalid {
            field: "settings.api_base_url".to_owned(),
            problem: refused.to_string(),
        })
    }

    /// The HTTP client for a platform, through the outbound policy.
    fn client(
        &self,
        platform: &'static str,
        configure: impl FnOnce(reqwest::ClientBuilder) -> reqwest::ClientBuilder,
    ) -> Result<reqwest::Client, SetupError> {
        self.check_api_base_url()?;
        self.outbound.client(platform, configure).map_err(|error| SetupError::Client(error.to_string()))
    }
}

/// Why a channel could not be built from its setup.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum SetupError {
    #[error("{0} is missing")]
    Missing(String),
    #[error("{field}: {problem}")]
    Invalid { field: String, problem: String },
    #[error("{0:?} channels are not built by the adapters")]
    NotAnAdapter(ChannelKind),
    #[error("the HTTP client could not be built: {0}")]
    Client(String),
}

/// Problems with a channel's setup that can be told when it is connected, each `(field,
/// problem)` with the field as the API names it (`settings.message_tag`): the kind's own, then
/// those every kind shares. Missing required secrets and settings are checked by the caller
/// from the kind's [`ChannelDefinition`].
pub fn validate_settings(kind: ChannelKind, setup: &ChannelSetup) -> Vec<(String, String)> {
    let mut problems = (kind.definition().validate_settings)(setup);
    if let Err(SetupError::Invalid { field, problem }) = setup.check_api_base_url() {
        problems.push((field, problem));
    }
    // Every kind's send rate: a rate that isn't one would silently fall back to the default.
    if let Some(rate) = setup.setting("sends_per_second")
        && !rate.trim().parse::<u32>().is_ok_and(|rate| rate > 0)
    {
        problems
            .push(("settings.sends_per_second".to_owned(), "must be a whole number of sends, at least 1".to_owned()));
    }
    problems
}

/// Builds the adapter for a kind of channel, where the gateway doesn't serve the kind itself.
pub fn build(kind: ChannelKind, setup: &ChannelSetup) -> Result<std::sync::Arc<dyn Channel>, SetupError> {
    let build = kind.definition().build.ok_or(SetupError::NotAnAdapter(kind))?;
    build(setup)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Content {
    Invitation {
        text: String,
        layout: InvitationLayout,
    },
    /// A text with choices (reasons after a low rating): each a payload and a title.
    Choices {
        text: String,
        choices: Vec<(String, String)>,
    },
    Text(String),
}

/// A webhook request as received, before anything is trusted.
#[derive(Debug, Clone)]
pub struct InboundRequest {
    pub method: http::Method,
    pub headers: http::HeaderMap,
    pub query: Option<String>,
    /// The raw body: signatures are checked over these exact bytes.
    pub body: bytes::Bytes,
}

/// What a verified webhook carried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inbound {
    /// A message from an end user.
    Message {
        /// The platform's id for it, the key for dropping duplicate deliveries.
        platform_id: String,
        from: RecipientId,
        text: String,
        /// The end user's language tag, where the platform says it.
        language: Option<String>,
        at: Timestamp,
    },
    /// A tap on one of ratewire's choices.
    Choice {
        platform_id: String,
        from: RecipientId,
        payload: ChoicePayload,
        /// Where the tap happened, for the channel to acknowledge it.
        tap: Tap,
        language: Option<String>,
        at: Timestamp,
    },
    /// A reply that names the survey it answers (email's `In-Reply-To`): read for that survey,
    /// not the sender's latest.
    Reply { platform_id: String, from: RecipientId, survey: SurveyId, text: String, at: Timestamp },
    /// The platform's word on a message ratewire sent.
    Status {
        message_id: String,
        status: DeliveryStatus,
        /// The send's [`Outbound::idempotency_key`], where the platform echoes it back
        /// (WhatsApp's `biz_opaque_callback_data`, Messenger's `metadata`).
        reference: Option<String>,
        at: Timestamp,
    },
}

/// Where a tap on a choice happened.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tap {
    /// The platform's id of the message whose button was tapped.
    pub message_id: Option<String>,
    /// The platform's id of the tap itself, where it must be answered (Telegram's callback query).
    pub callback_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryStatus {
    Sent,
    Delivered,
    Read,
    Failed(FailureReason),
}

/// What answers a webhook request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WebhookOutcome {
    /// A verification handshake: answer with this body.
    Handshake(String),
    Events(Vec<Inbound>),
}

#[derive(Debug, Error)]
pub enum WebhookError {
    #[error("missing signature")]
    Unsigned,
    #[error("bad signature")]
    BadSignature,
    #[error("verification token does not match")]
    BadVerifyToken,
    #[error("malformed body: {0}")]
    Malformed(String),
}

/// The platform accepted a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub message_id: String,
    /// How it went out, where a channel has more than one way (Messenger's `RESPONSE` or
    /// `MESSAGE_TAG:HUMAN_AGENT`), for the record of the sent message.
    pub route: Option<String>,
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum SendError {
    /// Slow down and try again, after `retry_after` if the platform said.
    #[error("rate limited by the platform")]
    RateLimited { retry_after: Option<Duration> },
    /// A passing failure (5xx, timeout): try again with backoff.
    #[error("temporary failure: {0}")]
    Temporary(String),
    /// The message can never be delivered as it is; the survey fails with this reason.
    #[error("permanent failure: {} ({})", .0.code, .0.detail)]
    Permanent(FailureReason),
}

#[async_trait]
pub trait Channel: Send + Sync {
    fn kind(&self) -> ChannelKind;

    fn capabilities(&self) -> &Capabilities;

    /// Checks, before a webhook request's body is read, what its headers alone can prove (email's
    /// bearer or Basic credential), so a caller without the channel's credential can't make the
    /// gateway take in a body. Accepts by default: the platforms that sign the body are checked
    /// by [`Channel::receive`], over the bytes.
    fn admit(&self, _headers: &http::HeaderMap) -> Result<(), WebhookError> {
        Ok(())
    }

    /// Verifies a webhook request over its raw bytes, in constant time, before anything in it
    /// is parsed, and reads what it carries.
    fn receive(&self, request: &InboundRequest) -> Result<WebhookOutcome, WebhookError>;

    /// Sends one message, rendered in the channel's native form, after checking the channel's
    /// window rules.
    async fn send(&self, message: &Outbound) -> Result<Delivery, SendError>;

    /// Acknowledges a tap once it was handled, showing `text` (Telegram answers the callback
    /// query and edits the invitation's keyboard to show the choice, so old buttons can't be
    /// tapped again). Nothing by default.
    async fn acknowledge_tap(&self, _recipient: &RecipientId, _tap: &Tap, _text: &str) -> Result<(), SendError> {
        Ok(())
    }

    /// Called when a business connects the channel, to register ratewire's webhook with the
    /// platform where the platform allows it (Telegram's setWebhook). Nothing by default.
    async fn register_webhook(&self) -> Result<(), SendError> {
        Ok(())
    }

    /// Called when a business disconnects the channel, to remove the webhook
    /// [`Channel::register_webhook`] registered (Telegram's deleteWebhook), so the platform stops
    /// posting to ratewire. Nothing by default.
    async fn unregister_webhook(&self) -> Result<(), SendError> {
        Ok(())
    }
}

/// A permanent send failure's stable code, for tests of error mapping.
#[cfg(test)]
pub(crate) fn permanent_code(error: SendError) -> String {
    match error {
        SendError::Permanent(reason) => reason.code,
        other => panic!("not permanent: {other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn capabilities(max_choices: usize) -> Capabilities {
        Capabilities {
            max_choices,
            max_choice_title: 20,
            max_text: 1024,
            reply_window: None,
            edits_sent_messages: false,
            default_sends_per_second: 10,
            recipient_send_interval: None,
            reports_sends: false,
        }
    }

    #[test]
    fn every_level_becomes_a_choice_when_it_fits() {
        let survey = SurveyId::new("s1").unwrap();
        let scale = Scale::FIVE_STARS;
        let labels = ratewire_core::Labels::new([(scale.score(5).unwrap(), "Very satisfied".to_owned())].into());
        let InvitationLayout::Choices(choices) = plan_invitation(&survey, scale, &labels, "hint", &capabilities(10))
        else {
            panic!("five levels fit ten choices");
        };
        assert_eq!(choices.len(), 5);
        assert_eq!(choices[4].title, "⭐⭐⭐⭐⭐");
        assert_eq!(choices[4].label.as_deref(), Some("Very satisfied"));
        assert_eq!(choices[0].label, None);
        assert_eq!(
            ChoicePayload::decode(&choices[2].payload),
            Some(ChoicePayload::Score { survey, score: scale.score(3).unwrap() })
        );
    }

    #[test]
    fn too_many_levels_ask_for_a_typed_answer() {
        let survey = SurveyId::new("s1").unwrap();
        let layout = plan_invitation(&survey, Scale::NPS, &Default::default(), "Reply 0 to 10", &capabilities(10));
        assert_eq!(layout, InvitationLayout::TypedAnswer { hint: "Reply 0 to 10".into() });
    }

    #[test]
    fn faces_and_numbers_have_their_own_titles() {
        assert_eq!(level_title(Scale::Faces, Scale::Faces.score(5).unwrap()), "🤩");
        assert_eq!(level_title(Scale::NPS, Scale::NPS.score(0).unwrap()), "0");
    }
}
