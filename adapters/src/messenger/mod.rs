//! Facebook Messenger, through Meta's Messenger Platform: webhooks signed with the app secret,
//! invitations as quick replies, sent with the Page's access token through the Send API.
//!
//! A Page may write to a person within 24 hours of that person's last message (`RESPONSE`).
//! Meta forbids message tags that prompt a survey, so outside that window an invitation goes
//! out only when the business named a tag in the channel's `message_tag` setting; otherwise
//! the send fails with `outside_window` and the survey records why.
//!
//! Settings: `page_id` (required), `message_tag`, `graph_version` (default `v21.0`),
//! `api_base_url` (default `https://graph.facebook.com`). Secrets: `page_access_token`,
//! `app_secret`.

mod errors;
mod render;
mod webhook;
mod window;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use jiff::SignedDuration;
use ratewire_core::FailureReason;

use crate::definition::{ChannelDefinition, MessagePath, WebhookBody, recipient_as_given};
use crate::{
    Capabilities, Channel, ChannelKind, ChannelSetup, Delivery, InboundRequest, Outbound, SendError, SetupError,
    WebhookError, WebhookOutcome, meta,
};

pub use self::window::{MessageTag, Route};

/// Sends per second for one Page unless the `sends_per_second` setting says otherwise. The
/// Send API takes far more (300 text calls per second per Page), but a Page that sends more
/// than 40 messages a second is switched to high-volume mode, where its inbox stops showing
/// and sending new messages; the Page's agents share that budget, so ratewire keeps to half.
pub const DEFAULT_SENDS_PER_SECOND: u32 = 20;

pub static DEFINITION: ChannelDefinition = ChannelDefinition {
    required_secrets: &["page_access_token", "app_secret"],
    required_settings: &["page_id"],
    validate_settings,
    build: Some(|setup| Ok(Arc::new(Messenger::new(setup)?))),
    canonical_recipient: recipient_as_given,
    webhook_body: WebhookBody::Message,
    honours_unsubscribes: false,
    messages: MessagePath::Outbox,
    serves_pages: false,
    chats: true,
};

/// The Send API's calls, as the Graph API takes them.
const PRODUCT: meta::Product = meta::Product {
    client: "messenger",
    api: "the Send API",
    connect_timeout: Duration::from_secs(5),
    timeout: Duration::from_secs(15),
};

/// A Messenger channel: one Facebook Page.
pub struct Messenger {
    /// `{api_base_url}/{graph_version}/me/messages`.
    messages: meta::MessagesEdge,
    app_secret: String,
    verify_token: String,
    page_id: String,
    tag: Option<MessageTag>,
    capabilities: Capabilities,
}

impl std::fmt::Debug for Messenger {
    // Without the secrets.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Messenger")
            .field("endpoint", &self.messages.url)
            .field("page_id", &self.page_id)
            .field("tag", &self.tag)
            .finish_non_exhaustive()
    }
}

/// What Messenger shows: up to 13 quick replies of 20 characters, texts of 2000.
pub fn capabilities() -> Capabilities {
    Capabilities {
        max_choices: render::MAX_QUICK_REPLIES,
        max_choice_title: render::MAX_TITLE,
        max_text: render::MAX_TEXT,
        reply_window: Some(SignedDuration::from_hours(24)),
        edits_sent_messages: false,
        default_sends_per_second: DEFAULT_SENDS_PER_SECOND,
        recipient_send_interval: None,
        // Each message comes back as an echo carrying its `metadata` (the Page subscribed to
        // `message_echoes`).
        reports_sends: true,
    }
}

impl Messenger {
    pub fn new(setup: &ChannelSetup) -> Result<Messenger, SetupError> {
        if let Some((field, problem)) = validate_settings(setup).into_iter().next() {
            return Err(SetupError::Invalid { field, problem });
        }
        let page_id = setup.setting("page_id").map(str::trim).filter(|id| !id.is_empty());
        let page_id = page_id.ok_or_else(|| SetupError::Missing("page_id".into()))?;
        let tag = match setup.setting("message_tag").map(str::trim).filter(|t| !t.is_empty()) {
            Some(tag) => Some(
                MessageTag::parse(tag)
                    .map_err(|problem| SetupError::Invalid { field: "settings.message_tag".into(), problem })?,
            ),
            None => None,
        };
        // The Page's token names the Page: `me` is it.
        let messages = meta::MessagesEdge::new(setup, &PRODUCT, "me", setup.secret("page_access_token")?.to_owned())?;
        Ok(Messenger {
            messages,
            app_secret: setup.secret("app_secret")?.to_owned(),
            verify_token: setup.verify_token.clone(),
            page_id: page_id.to_owned(),
            tag,
            capabilities: capabilities(),
        })
    }
}

/// Problems with a Messenger channel's settings, each `(field, problem)` with the field as the
/// API names it, so a channel that could never send is refused when it is connected.
pub fn validate_settings(setup: &ChannelSetup) -> Vec<(String, String)> {
    let mut problems = Vec::new();
    if let Some(tag) = setup.setting("message_tag").map(str::trim).filter(|t| !t.is_empty())
        && let Err(problem) = MessageTag::parse(tag)
    {
        problems.push(("settings.message_tag".to_owned(), problem));
    }
    problems.extend(meta::validate_settings(setup));
    problems
}

#[async_trait]
impl Channel for Messenger {
    fn kind(&self) -> ChannelKind {
        ChannelKind::Messenger
    }

    fn capabilities(&self) -> &Capabilities {
        &self.capabilities
    }

    fn receive(&self, request: &InboundRequest) -> Result<WebhookOutcome, WebhookError> {
        meta::receive(request, &self.verify_token, &self.app_secret, |body| webhook::parse(body, &self.page_id))
    }

    async fn send(&self, message: &Outbound) -> Result<Delivery, SendError> {
        let route = window::route(&message.context, &message.content, self.tag).map_err(SendError::Permanent)?;
        let body = render::request(message.recipient.as_str(), route, &message.content, &message.idempotency_key);
        let accepted = self.messages.post(&body, errors::classify).await?;
        // Accepted: whatever the body says, the message went out and must not be sent again.
        let message_id = accepted
            .answer
            .and_then(|answer| answer.get("message_id")?.as_str().map(str::to_owned))
            .unwrap_or_else(|| format!("unknown:{}", message.idempotency_key));
        Ok(Delivery { message_id, route: Some(route.to_string()) })
    }
}

/// Why an invitation is not sent, with the stable code the survey fails with.
fn failure(code: &str, detail: impl Into<String>) -> FailureReason {
    FailureReason { code: code.to_owned(), detail: detail.into() }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setup(settings: &[(&str, &str)]) -> ChannelSetup {
        ChannelSetup {
            secrets: [("page_access_token", "EAAG-token"), ("app_secret", "s3cret")]
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .into(),
            settings: settings.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
            webhook_url: "https://rw.example/hooks/acme/fb".into(),
            pages_url: String::new(),
            verify_token: "verify-me".into(),
            // Stand-ins for the platform run on loopback.
            outbound: crate::outbound::OutboundPolicy::new(&["127.0.0.0/8"]).unwrap(),
        }
    }

    #[test]
    fn the_endpoint_is_built_from_the_settings() {
        let messenger = Messenger::new(&setup(&[("page_id", "1234")])).unwrap();
        assert_eq!(messenger.messages.url, "https://graph.facebook.com/v21.0/me/messages");
        assert_eq!(messenger.tag, None);
        let settings = [("page_id", "1234"), ("api_base_url", "http://127.0.0.1:9/"), ("graph_version", "v22.0")];
        let messenger = Messenger::new(&setup(&settings)).unwrap();
        assert_eq!(messenger.messages.url, "http://127.0.0.1:9/v22.0/me/messages");
        assert!(!format!("{messenger:?}").contains("EAAG"), "no secret in the debug output");
    }

    #[test]
    fn a_channel_without_its_page_or_secrets_is_not_built() {
        assert_eq!(Messenger::new(&setup(&[])).unwrap_err(), SetupError::Missing("page_id".into()));
        let mut missing = setup(&[("page_id", "1234")]);
        missing.secrets.remove("app_secret");
        assert_eq!(Messenger::new(&missing).unwrap_err(), SetupError::Missing("app_secret".into()));
    }

    #[test]
    fn only_current_message_tags_are_taken() {
        let messenger = Messenger::new(&setup(&[("page_id", "1"), ("message_tag", "HUMAN_AGENT")])).unwrap();
        assert_eq!(messenger.tag, Some(MessageTag::HumanAgent));
        for tag in ["CONFIRMED_EVENT_UPDATE", "POST_PURCHASE_UPDATE", "ACCOUNT_UPDATE", "HUMAN_AGENT", ""] {
            assert_eq!(validate_settings(&setup(&[("message_tag", tag)])), vec![], "{tag}");
        }
        let retired = validate_settings(&setup(&[("message_tag", "ISSUE_RESOLUTION")]));
        assert_eq!(retired.len(), 1);
        assert_eq!(retired[0].0, "settings.message_tag");
        assert!(retired[0].1.contains("retired"), "{}", retired[0].1);
        let unknown = validate_settings(&setup(&[("message_tag", "SURVEY")]));
        assert_eq!(unknown[0].0, "settings.message_tag");
        assert!(unknown[0].1.contains("HUMAN_AGENT"), "names the accepted tags: {}", unknown[0].1);
        let error = Messenger::new(&setup(&[("page_id", "1"), ("message_tag", "SHIPPING_UPDATE")])).unwrap_err();
        assert!(matches!(error, SetupError::Invalid { ref field, .. } if field == "settings.message_tag"));
    }

    #[test]
    fn versions_and_base_urls_are_checked() {
        for good in ["v21.0", "v3.10"] {
            assert!(meta::valid_graph_version(good), "{good}");
        }
        for bad in ["21.0", "v21", "v21.x", "latest", "v21.0/../x"] {
            assert!(!meta::valid_graph_version(bad), "{bad}");
        }
        let problems = validate_settings(&setup(&[("graph_version", "21"), ("api_base_url", "graph.facebook.com")]));
        let fields: Vec<&str> = problems.iter().map(|(field, _)| field.as_str()).collect();
        assert_eq!(fields, ["settings.graph_version", "settings.api_base_url"]);
    }

    #[test]
    fn capabilities_fit_every_scale() {
        let capabilities = capabilities();
        assert_eq!(capabilities.max_choices, 13);
        assert_eq!(capabilities.reply_window, Some(SignedDuration::from_hours(24)));
        assert_eq!(capabilities.default_sends_per_second, 20);
    }
}
