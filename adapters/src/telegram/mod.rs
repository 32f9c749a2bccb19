//! Telegram, through teloxide's Bot API client and types (`teloxide-core`, the part of teloxide 0.17
//! that talks to the Bot API; its dispatching framework and webhook listener are not used).
//!
//! Each connected channel is one bot. ratewire registers its webhook with `setWebhook` when
//! the channel is connected: Telegram then posts every update of the bot to ratewire's one
//! route for all channels, `/hooks/{tenant}/{channel}`, carrying the channel's secret in
//! `X-Telegram-Bot-Api-Secret-Token`. teloxide's own webhook listener is not used: it serves
//! one bot on a route of its own, where ratewire serves many businesses' bots on one route and
//! tells them apart by the path and the per-channel secret. The updates are read with
//! teloxide's types all the same.
//!
//! - Invitations and reason questions are messages with an inline keyboard; a tap comes back
//!   as a callback query whose data is the choice's payload (at most 64 bytes).
//! - A tap is acknowledged by answering its callback query and replacing the message's
//!   keyboard by one button that shows the choice, so old buttons can't be tapped again.
//! - Only private chats are surveys' chats: updates from groups and channels are skipped.
//! - A bot may write to a user at any time once the user has started it: there is no window.
//!   A user who never did can't be written to (Telegram refuses), nor one who blocked the bot.
//! - One message a second per chat: the capabilities' `recipient_send_interval`, which the
//!   gateway keeps in the store for every gateway's sends, as it keeps the bot's rate.

mod errors;
mod render;
mod webhook;

use std::sync::Arc;

use async_trait::async_trait;
use jiff::SignedDuration;
use ratewire_core::{FailureReason, RecipientId};
use teloxide_core::payloads::SetWebhookSetters;
use teloxide_core::payloads::{AnswerCallbackQuerySetters, EditMessageReplyMarkupSetters, SendMessageSetters};
use teloxide_core::requests::Requester;
use teloxide_core::types::{
    AllowedUpdate, CallbackQueryId, ChatId, InlineKeyboardButton, InlineKeyboardMarkup, MessageId,
};
use teloxide_core::{ApiError, Bot, RequestError};

use crate::definition::{ChannelDefinition, MessagePath, WebhookBody, recipient_as_given};
use crate::{
    Capabilities, Channel, ChannelKind, ChannelSetup, Delivery, InboundRequest, Outbound, SendError, SetupError, Tap,
    WebhookError, WebhookOutcome, truncate,
};

/// The Bot API's address; the `api_base_url` setting points a channel elsewhere (a local Bot
/// API server, or a test's stand-in).
pub const DEFAULT_API_BASE_URL: &str = "https://api.telegram.org";

pub static DEFINITION: ChannelDefinition = ChannelDefinition {
    required_secrets: &["bot_token"],
    required_settings: &[],
    validate_settings,
    build: Some(|setup| Ok(Arc::new(Telegram::new(setup)?))),
    canonical_recipient: recipient_as_given,
    webhook_body: WebhookBody::Message,
    honours_unsubscribes: false,
    messages: MessagePath::Outbox,
    serves_pages: false,
    chats: true,
};

/// The header Telegram sends the webhook's secret token in.
pub const SECRET_HEADER: &str = "x-telegram-bot-api-secret-token";

/// The callback data of the one button a tapped keyboard is replaced by. Not a choice's
/// payload, so a tap on it is skipped.
pub const ACKNOWLEDGED: &str = "rw1:ack";

/// The longest callback data Telegram takes, in bytes.
pub const MAX_CALLBACK_DATA: usize = 64;

/// The longest text of a callback query's answer, in characters.
pub const MAX_ANSWER_TEXT: usize = 200;

/// The setting that leaves the bot's webhook alone when the channel is connected (`off`), for a
/// business that forwards its bot's updates to ratewire itself.
pub const SET_WEBHOOK_SETTING: &str = "set_webhook";

/// What Telegram can show, and how fast a bot may send.
pub fn capabilities() -> Capabilities {
    Capabilities {
        // Inline keyboards take many buttons; eleven (0 to 10) fit two rows.
        max_choices: 11,
        // Telegram sets no limit on a button's text, but clients cut long ones.
        max_choice_title: 64,
        // A message's text: 1 to 4096 characters.
        max_text: 4096,
        reply_window: None,
        edits_sent_messages: true,
        // About 30 messages a second per bot, and one a second per chat: Telegram counts them as
        // they arrive, so a tenth of a second more leaves room for a send arriving late.
        default_sends_per_second: 30,
        recipient_send_interval: Some(SignedDuration::from_millis(1100)),
        // Nothing reports a sent message back: after a crash mid-send, it is sent again.
        reports_sends: false,
    }
}

/// One business's bot.
pub struct Telegram {
    bot: Bot,
    token: String,
    verify_token: String,
    webhook_url: String,
    set_webhook: bool,
    capabilities: Capabilities,
}

impl std::fmt::Debug for Telegram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Telegram").field("api_url", &self.bot.api_url().as_str()).finish_non_exhaustive()
    }
}

impl Telegram {
    /// The bot of a channel: `secrets.bot_token`, and optionally `settings.api_base_url` and
    /// `settings.set_webhook` (`off`).
    pub fn new(setup: &ChannelSetup) -> Result<Telegram, SetupError> {
        let token = setup.secret("bot_token")?.trim();
        check_token(token).map_err(|problem| invalid("secrets.bot_token", problem))?;
        let api_url = api_url(setup).map_err(|problem| invalid("settings.api_base_url", problem))?;
        let secret = &setup.verify_token;
        if secret.is_empty()
            || secret.len() > 256
            || !secret.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            return Err(invalid("verify_token", "must be 1 to 256 of A-Z, a-z, 0-9, _ and -"));
        }
        let set_webhook = set_webhook(setup).map_err(|problem| invalid("settings.set_webhook", problem))?;
        // One client for every bot, through the outbound policy: building one loads TLS roots,
        // and connections are shared. teloxide's settings: 5 s to connect, 17 s in all.
        let client = setup.client("telegram", |_| teloxide_core::net::default_reqwest_settings())?;
        Ok(Telegram {
            bot: Bot::with_client(token, client).set_api_url(api_url),
            token: token.to_owned(),
            verify_token: secret.clone(),
            webhook_url: setup.webhook_url.clone(),
            set_webhook,
            capabilities: capabilities(),
        })
    }

    /// What a failed call means for the sender, with the token kept out of every message.
    fn error(&self, error: RequestError) -> SendError {
        errors::send_error(error, &self.token)
    }
}

fn invalid(field: &str, problem: &str) -> SetupError {
    SetupError::Invalid { field: field.to_owned(), problem: problem.to_owned() }
}

/// What is wrong with a channel's secrets and settings, each `(field, problem)`, for the API to
/// refuse the channel when it is connected rather than fail its sends later.
pub fn validate_settings(setup: &ChannelSetup) -> Vec<(String, String)> {
    let token = setup.secret("bot_token").map_or(Ok(()), |token| check_token(token.trim()));
    [
        ("secrets.bot_token", token.err()),
        ("settings.api_base_url", api_url(setup).err()),
        ("settings.set_webhook", set_webhook(setup).err()),
    ]
    .into_iter()
    .filter_map(|(field, problem)| Some((field.to_owned(), problem?.to_owned())))
    .collect()
}

fn check_token(token: &str) -> Result<(), &'static str> {
    if token.is_empty() || token.chars().any(|c| c.is_whitespace() || c == '/') {
        return Err("is not a bot token (as BotFather gives it: 123456:ABC-…)");
    }
    Ok(())
}

fn api_url(setup: &ChannelSetup) -> Result<reqwest::Url, &'static str> {
    reqwest::Url::parse(setup.api_base_url(DEFAULT_API_BASE_URL))
        .ok()
        .filter(|url| matches!(url.scheme(), "http" | "https") && !url.cannot_be_a_base())
        .ok_or("is not an http(s) URL")
}

fn set_webhook(setup: &ChannelSetup) -> Result<bool, &'static str> {
    match setup.setting(SET_WEBHOOK_SETTING).map(str::trim) {
        None | Some("on") => Ok(true),
        Some("off") => Ok(false),
        Some(_) => Err("must be on or off"),
    }
}

/// A chat id from a recipient id: Telegram's chat ids are integers.
fn chat_id(recipient: &RecipientId) -> Result<ChatId, SendError> {
    recipient.as_str().parse::<i64>().map(ChatId).map_err(|_| {
        SendError::Permanent(FailureReason {
            code: "invalid_recipient".into(),
            detail: format!("{recipient} is not a Telegram chat id"),
        })
    })
}

#[async_trait]
impl Channel for Telegram {
    fn kind(&self) -> ChannelKind {
        ChannelKind::Telegram
    }

    fn capabilities(&self) -> &Capabilities {
        &self.capabilities
    }

    fn receive(&self, request: &InboundRequest) -> Result<WebhookOutcome, WebhookError> {
        webhook::verify(&request.headers, &self.verify_token)?;
        if request.method != http::Method::POST {
            return Err(WebhookError::Malformed("Telegram posts its updates".into()));
        }
        Ok(WebhookOutcome::Events(webhook::parse(&request.body, jiff::Timestamp::now())?))
    }

    async fn send(&self, message: &Outbound) -> Result<Delivery, SendError> {
        // No window: a bot may write to anyone who started it, whenever. Whether the user did
        // (or blocked the bot since) only Telegram knows; its refusal fails the send.
        let chat = chat_id(&message.recipient)?;
        let rendered = render::content(&message.content, &self.capabilities)?;
        let mut request = self.bot.send_message(chat, rendered.text);
        if let Some(keyboard) = rendered.keyboard {
            request = request.reply_markup(keyboard);
        }
        let sent = request.await.map_err(|e| self.error(e))?;
        // Message ids count per chat: the chat makes them unique.
        Ok(Delivery { message_id: format!("{}:{}", sent.chat.id, sent.id), route: None })
    }

    async fn acknowledge_tap(&self, recipient: &RecipientId, tap: &Tap, text: &str) -> Result<(), SendError> {
        let mut failure = None;
        if let Some(id) = &tap.callback_id {
            let mut answer = self.bot.answer_callback_query(CallbackQueryId(id.clone()));
            if !text.is_empty() {
                answer = answer.text(truncate(text, MAX_ANSWER_TEXT));
            }
            match answer.await {
                // Answered too late (Telegram waits about 15 s): the keyboard is still replaced.
                Ok(_) | Err(RequestError::Api(ApiError::InvalidQueryId)) => {}
                Err(error) => failure = Some(self.error(error)),
            }
        }
        if let Some(message) = tap.message_id.as_deref().and_then(|id| id.parse::<i32>().ok()) {
            let mut edit = self.bot.edit_message_reply_markup(chat_id(recipient)?, MessageId(message));
            if !text.is_empty() {
                let shown = truncate(text, self.capabilities.max_choice_title);
                edit = edit
                    .reply_markup(InlineKeyboardMarkup::new([[InlineKeyboardButton::callback(shown, ACKNOWLEDGED)]]));
            }
            match edit.await {
                // A second tap on the same message changes nothing.
                Ok(_) | Err(RequestError::Api(ApiError::MessageNotModified)) => {}
                Err(error) => failure = failure.or(Some(self.error(error))),
            }
        }
        failure.map_or(Ok(()), Err)
    }

    async fn register_webhook(&self) -> Result<(), SendError> {
        if !self.set_webhook {
            return Ok(());
        }
        let url = reqwest::Url::parse(&self.webhook_url).map_err(|e| {
            SendError::Permanent(FailureReason {
                code: "bad_webhook_url".into(),
                detail: format!("{}: {e}", self.webhook_url),
            })
        })?;
        self.bot
            .set_webhook(url)
            .secret_token(self.verify_token.clone())
            .allowed_updates([AllowedUpdate::Message, AllowedUpdate::CallbackQuery])
            .await
            .map(|_| ())
            .map_err(|e| self.error(e))
    }

    /// Removes the webhook when it is still this channel's: the same bot may have been
    /// connected again since, as another channel or elsewhere, and that webhook stays. Nothing
    /// when the business keeps its own (`set_webhook: off`).
    async fn unregister_webhook(&self) -> Result<(), SendError> {
        if !self.set_webhook {
            return Ok(());
        }
        let registered = self.bot.get_webhook_info().await.map_err(|e| self.error(e))?.url;
        if registered.is_none() || registered != reqwest::Url::parse(&self.webhook_url).ok() {
            return Ok(());
        }
        self.bot.delete_webhook().await.map(|_| ()).map_err(|e| self.error(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(super) fn setup() -> ChannelSetup {
        ChannelSetup {
            secrets: [("bot_token".to_owned(), "123456:ABC-def_ghi".to_owned())].into(),
            settings: Default::default(),
            webhook_url: "https://ratewire.example/hooks/acme/tg".into(),
            pages_url: String::new(),
            verify_token: "0123456789abcdef0123456789abcdef".into(),
            // Stand-ins for the platform run on loopback.
            outbound: crate::outbound::OutboundPolicy::new(&["127.0.0.0/8"]).unwrap(),
        }
    }

    #[test]
    fn a_bot_is_built_from_its_token_and_talks_to_the_configured_server() {
        let telegram = Telegram::new(&setup()).expect("a valid setup");
        assert_eq!(telegram.bot.api_url().as_str(), "https://api.telegram.org/");
        assert_eq!(telegram.bot.token(), "123456:ABC-def_ghi");
        let mut elsewhere = setup();
        elsewhere.settings.insert("api_base_url".into(), "http://127.0.0.1:9/tg/".into());
        let telegram = Telegram::new(&elsewhere).expect("a valid setup");
        assert_eq!(telegram.bot.api_url().as_str(), "http://127.0.0.1:9/tg");
        assert!(telegram.set_webhook);
        assert_eq!(telegram.capabilities().reply_window, None);
        assert!(telegram.capabilities().edits_sent_messages);
    }

    #[test]
    fn broken_setups_are_refused() {
        let mut no_token = setup();
        no_token.secrets.clear();
        assert_eq!(Telegram::new(&no_token).unwrap_err(), SetupError::Missing("bot_token".into()));
        let mut bad = setup();
        bad.secrets.insert("bot_token".into(), "12 34".into());
        assert!(matches!(Telegram::new(&bad), Err(SetupError::Invalid { field, .. }) if field == "secrets.bot_token"));
        let mut bad = setup();
        bad.settings.insert("api_base_url".into(), "ftp://example".into());
        assert!(
            matches!(Telegram::new(&bad), Err(SetupError::Invalid { field, .. }) if field == "settings.api_base_url")
        );
        let mut bad = setup();
        bad.verify_token = "not a token!".into();
        assert!(matches!(Telegram::new(&bad), Err(SetupError::Invalid { field, .. }) if field == "verify_token"));
        let mut bad = setup();
        bad.settings.insert("set_webhook".into(), "maybe".into());
        assert!(
            matches!(Telegram::new(&bad), Err(SetupError::Invalid { field, .. }) if field == "settings.set_webhook")
        );
        let mut manual = setup();
        manual.settings.insert("set_webhook".into(), "off".into());
        assert!(!Telegram::new(&manual).expect("a valid setup").set_webhook);
    }

    #[test]
    fn settings_are_checked_when_the_channel_is_connected() {
        assert_eq!(validate_settings(&setup()), []);
        // Connecting checks secrets and settings before ratewire's secret exists.
        let mut connecting = setup();
        connecting.verify_token.clear();
        connecting.webhook_url.clear();
        assert_eq!(validate_settings(&connecting), []);
        connecting.secrets.insert("bot_token".into(), "123 456".into());
        connecting.settings.insert("api_base_url".into(), "not a url".into());
        connecting.settings.insert("set_webhook".into(), "no".into());
        let fields: Vec<String> = validate_settings(&connecting).into_iter().map(|(field, _)| field).collect();
        assert_eq!(fields, ["secrets.bot_token", "settings.api_base_url", "settings.set_webhook"]);
    }

    #[test]
    fn recipients_are_chat_ids() {
        assert_eq!(chat_id(&RecipientId::new("42").unwrap()), Ok(ChatId(42)));
        assert_eq!(chat_id(&RecipientId::new("-1001234").unwrap()), Ok(ChatId(-1001234)));
        let Err(SendError::Permanent(reason)) = chat_id(&RecipientId::new("ana@example.com").unwrap()) else {
            panic!("not a chat id");
        };
        assert_eq!(reason.code, "invalid_recipient");
    }

    #[test]
    fn texts_are_cut_at_character_boundaries() {
        assert_eq!(truncate("short", 10), "short");
        assert_eq!(truncate("⭐⭐⭐⭐⭐", 3), "⭐⭐…");
        assert_eq!(truncate("ééééé", 5), "ééééé");
        assert_eq!(truncate(&"x".repeat(300), MAX_ANSWER_TEXT).chars().count(), MAX_ANSWER_TEXT);
    }
}
