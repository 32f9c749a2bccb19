//! WhatsApp through Meta's Cloud API.
//!
//! Meta posts a number's messages and delivery statuses to ratewire's webhook, signed with the
//! app secret; ratewire sends with `POST {api_base_url}/{graph_version}/{phone_number_id}/messages`
//! and the business's access token. Free-form messages (reply buttons, lists, text) may only go
//! out within 24 hours of the end user's last message; outside that window the invitation goes
//! as the business's approved template, or not at all. See `docs/channels/whatsapp.md`.
//!
//! Secrets: `access_token`, `app_secret`. Settings: `phone_number_id`; optional `graph_version`
//! (`v21.0`), `template_name`, `template_language` (from the survey's locale: `en_US`, `es`,
//! `pt_BR`…), `list_button` and `reasons_button` (the labels of the lists' buttons; the
//! locale's by default), `api_base_url` (`https://graph.facebook.com`).

mod errors;
mod render;
mod webhook;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use jiff::SignedDuration;
use ratewire_core::{Catalog, FailureReason, Locale, Message, Scale};
use serde_json::Value;

use self::render::ListLabels;
use crate::definition::{ChannelDefinition, MessagePath, WebhookBody, recipient_as_given};
use crate::{
    Capabilities, Channel, ChannelKind, ChannelSetup, Content, Delivery, InboundRequest, Outbound, SendContext,
    SendError, SetupError, WebhookError, WebhookOutcome, meta,
};

pub static DEFINITION: ChannelDefinition = ChannelDefinition {
    required_secrets: &["access_token", "app_secret"],
    required_settings: &["phone_number_id"],
    validate_settings,
    build: Some(|setup| Ok(Arc::new(WhatsApp::new(setup)?))),
    canonical_recipient: recipient_as_given,
    webhook_body: WebhookBody::Message,
    honours_unsubscribes: false,
    messages: MessagePath::Outbox,
    serves_pages: false,
    chats: true,
};

/// `biz_opaque_callback_data`'s limit, in characters.
const MAX_CALLBACK_DATA: usize = 512;

/// How long after the end user's last message free-form messages may go out.
pub const REPLY_WINDOW: SignedDuration = SignedDuration::from_hours(24);
/// Taken off the window's end for the trip to Meta: a message sent at its very edge would
/// arrive after it.
const WINDOW_MARGIN: SignedDuration = SignedDuration::from_secs(60);

/// What WhatsApp shows: ten list rows; buttons titled in 20 characters; 1024-character bodies;
/// Meta's default throughput of 80 messages a second per number.
pub(crate) const CAPABILITIES: Capabilities = Capabilities {
    max_choices: 10,
    max_choice_title: 20,
    max_text: render::MAX_BODY,
    reply_window: Some(REPLY_WINDOW),
    edits_sent_messages: false,
    default_sends_per_second: 80,
    recipient_send_interval: None,
    // Every status webhook echoes the send's `biz_opaque_callback_data`.
    reports_sends: true,
};

/// The approved template invitations go out as outside the window.
#[derive(Debug, Clone)]
struct Template {
    name: String,
    /// WhatsApp's language code; the survey locale's when not set.
    language: Option<String>,
}

/// WhatsApp's calls, as the Graph API takes them.
const PRODUCT: meta::Product = meta::Product {
    client: "whatsapp",
    api: "WhatsApp",
    connect_timeout: Duration::from_secs(10),
    timeout: Duration::from_secs(30),
};

/// A WhatsApp Business number, as a business connected it.
pub struct WhatsApp {
    app_secret: String,
    verify_token: String,
    phone_number_id: String,
    /// `{base}/{version}/{phone_number_id}/messages`.
    messages: meta::MessagesEdge,
    template: Option<Template>,
    list_button: Option<String>,
    reasons_button: Option<String>,
}

/// Without the credentials: an adapter may end up in a log.
impl std::fmt::Debug for WhatsApp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WhatsApp")
            .field("phone_number_id", &self.phone_number_id)
            .field("messages_url", &self.messages.url)
            .field("template", &self.template)
            .finish_non_exhaustive()
    }
}

/// What is wrong with a channel's settings, each `(field, problem)` with the field as the API
/// names it: told when the channel is connected, rather than at its first message.
pub fn validate_settings(setup: &ChannelSetup) -> Vec<(String, String)> {
    let mut problems = Vec::new();
    if let Some(id) = meta::setting(setup, "phone_number_id")
        && !id.bytes().all(|b| b.is_ascii_digit())
    {
        let problem = "must be the number's id from WhatsApp Manager (digits), not the phone number";
        problems.push(("settings.phone_number_id".to_owned(), problem.to_owned()));
    }
    problems.extend(meta::validate_settings(setup));
    let mut problem = |field: &str, text: &str| problems.push((format!("settings.{field}"), text.to_owned()));
    if let Some(name) = meta::setting(setup, "template_name")
        && !name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    {
        problem("template_name", "must be the template's name: lowercase letters, digits and underscores");
    }
    if let Some(language) = meta::setting(setup, "template_language")
        && !(language.len() <= 8 && language.bytes().all(|b| b.is_ascii_alphabetic() || b == b'_'))
    {
        problem("template_language", "must be a WhatsApp language code like en_US, es or pt_BR");
    }
    for label in ["list_button", "reasons_button"] {
        if meta::setting(setup, label).is_some_and(|text| text.chars().count() > 20) {
            problem(label, "must be at most 20 characters");
        }
    }
    problems
}

impl WhatsApp {
    pub fn new(setup: &ChannelSetup) -> Result<WhatsApp, SetupError> {
        let secret = |name: &str| {
            let value = setup.secret(name)?.trim();
            if value.is_empty() { Err(SetupError::Missing(name.to_owned())) } else { Ok(value.to_owned()) }
        };
        let phone_number_id =
            meta::setting(setup, "phone_number_id").ok_or_else(|| SetupError::Missing("phone_number_id".into()))?;
        if let Some((field, problem)) = validate_settings(setup).into_iter().next() {
            let field = field.trim_start_matches("settings.").to_owned();
            return Err(SetupError::Invalid { field, problem });
        }
        let messages = meta::MessagesEdge::new(setup, &PRODUCT, &phone_number_id, secret("access_token")?)?;
        Ok(WhatsApp {
            messages,
            app_secret: secret("app_secret")?,
            verify_token: setup.verify_token.clone(),
            phone_number_id,
            template: meta::setting(setup, "template_name")
                .map(|name| Template { name, language: meta::setting(setup, "template_language") }),
            list_button: meta::setting(setup, "list_button"),
            reasons_button: meta::setting(setup, "reasons_button"),
        })
    }

    /// The lists' button labels in the end user's language.
    fn list_labels(&self, locale: Locale) -> ListLabels {
        ListLabels {
            rate: self
                .list_button
                .clone()
                .unwrap_or_else(|| Catalog::shipped().text(locale, Message::RateButton, Scale::FIVE_STARS)),
            choose: self.reasons_button.clone().unwrap_or_else(|| render::choose_label(locale).to_owned()),
        }
    }

    /// The request body for a message, by the window rules: free-form inside the window; the
    /// invitation as the approved template outside it; nothing else outside it.
    fn body(&self, message: &Outbound) -> Result<Value, SendError> {
        let context = &message.context;
        let to = message.recipient.as_str();
        if within_window(context) {
            return Ok(render::free_form(to, &message.content, &self.list_labels(context.locale)));
        }
        match (&message.content, &self.template) {
            (Content::Invitation { layout, .. }, Some(template)) => {
                let language = template.language.clone().unwrap_or_else(|| render::template_language(context.locale));
                Ok(render::template(to, &template.name, &language, layout))
            }
            (Content::Invitation { .. }, None) => Err(outside_window(
                "the end user has not written in the last 24 hours and the channel names no approved template \
                 (settings.template_name)",
            )),
            _ => Err(outside_window("the end user has not written in the last 24 hours")),
        }
    }

    /// Posts a message; `route` says how it went (`free_form` or `template:<name>`).
    async fn post(&self, body: &Value, route: String) -> Result<Delivery, SendError> {
        let meta::Accepted { status, answer } =
            self.messages.post(body, |status, _, body| errors::send_error(status.as_u16(), body)).await?;
        let message_id = answer.and_then(|answer| answer["messages"][0]["id"].as_str().map(str::to_owned));
        match message_id {
            Some(message_id) => Ok(Delivery { message_id, route: Some(route) }),
            // Accepted, but the answer doesn't say as what: sending again could send twice.
            None => Err(SendError::Permanent(FailureReason {
                code: "unexpected_response".into(),
                detail: format!("WhatsApp answered {status} without a message id"),
            })),
        }
    }
}

/// Whether free-form messages may go out: the end user wrote within the last 24 hours (less a
/// minute for the trip).
fn within_window(context: &SendContext) -> bool {
    context.last_inbound_at.is_some_and(|last| context.now.duration_since(last) < REPLY_WINDOW - WINDOW_MARGIN)
}

fn outside_window(detail: &str) -> SendError {
    SendError::Permanent(FailureReason { code: "outside_window".into(), detail: detail.into() })
}

#[async_trait]
impl Channel for WhatsApp {
    fn kind(&self) -> ChannelKind {
        ChannelKind::Whatsapp
    }

    fn capabilities(&self) -> &Capabilities {
        &CAPABILITIES
    }

    fn receive(&self, request: &InboundRequest) -> Result<WebhookOutcome, WebhookError> {
        meta::receive(request, &self.verify_token, &self.app_secret, |body| webhook::parse(body, &self.phone_number_id))
    }

    async fn send(&self, message: &Outbound) -> Result<Delivery, SendError> {
        let mut body = self.body(message)?;
        // Echoed in every status webhook of the message, so a send whose answer was lost is
        // recognised.
        if !message.idempotency_key.is_empty() && message.idempotency_key.len() <= MAX_CALLBACK_DATA {
            body["biz_opaque_callback_data"] = Value::from(message.idempotency_key.as_str());
        }
        let route = match body["template"]["name"].as_str() {
            Some(name) => format!("template:{name}"),
            None => "free_form".to_owned(),
        };
        self.post(&body, route).await
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use jiff::Timestamp;
    use ratewire_core::{Origin, RecipientId, SurveyId};
    use serde_json::json;

    use super::*;
    use crate::{InvitationLayout, plan_invitation};

    fn setup(settings: &[(&str, &str)]) -> ChannelSetup {
        let mut all: BTreeMap<String, String> = [("phone_number_id", "106540352242922")]
            .into_iter()
            .chain(settings.iter().copied())
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        all.retain(|_, v| !v.is_empty());
        ChannelSetup {
            secrets: [("access_token", "EAAG-token"), ("app_secret", "app-secret")]
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
            settings: all,
            webhook_url: "https://rw.example/hooks/acme/wa".into(),
            pages_url: String::new(),
            verify_token: "verify-me".into(),
            // Stand-ins for the platform run on loopback.
            outbound: crate::outbound::OutboundPolicy::new(&["127.0.0.0/8"]).unwrap(),
        }
    }

    fn now() -> Timestamp {
        "2026-11-20T12:00:00Z".parse().unwrap()
    }

    fn outbound(content: Content, last_inbound_at: Option<Timestamp>, locale: Locale) -> Outbound {
        Outbound {
            survey: Some(SurveyId::new("srv_1").unwrap()),
            recipient: RecipientId::new("34600111222").unwrap(),
            content,
            idempotency_key: "send_srv_1_invitation".into(),
            invitation: "How did we do?".into(),
            context: SendContext { now: now(), last_inbound_at, origin: Origin::Auto, locale },
        }
    }

    fn invitation(scale: Scale) -> Content {
        let survey = SurveyId::new("srv_1").unwrap();
        let layout = plan_invitation(&survey, scale, &Default::default(), "Reply 0 to 10", &CAPABILITIES);
        Content::Invitation { text: "How did we do?".into(), layout }
    }

    fn hours_ago(hours: i64) -> Option<Timestamp> {
        Some(now() - SignedDuration::from_hours(hours))
    }

    #[test]
    fn it_is_built_from_its_setup() {
        let adapter = WhatsApp::new(&setup(&[])).unwrap();
        assert_eq!(adapter.messages.url, "https://graph.facebook.com/v21.0/106540352242922/messages");
        let local = WhatsApp::new(&setup(&[("api_base_url", "http://127.0.0.1:9/"), ("graph_version", "v23.0")]));
        assert_eq!(local.unwrap().messages.url, "http://127.0.0.1:9/v23.0/106540352242922/messages");
        assert!(matches!(
            WhatsApp::new(&setup(&[("phone_number_id", "../me")])),
            Err(SetupError::Invalid { field, .. }) if field == "phone_number_id"
        ));
        assert_eq!(validate_settings(&setup(&[])), []);
        let wrong = setup(&[
            ("phone_number_id", "+1 555 0100"),
            ("graph_version", "21"),
            ("api_base_url", "graph.facebook.com"),
            ("template_name", "Rating Request"),
            ("template_language", "en-US; es"),
            ("list_button", "Rate the help you received"),
        ]);
        let fields: Vec<String> = validate_settings(&wrong).into_iter().map(|(field, _)| field).collect();
        assert_eq!(
            fields,
            [
                "settings.phone_number_id",
                "settings.graph_version",
                "settings.api_base_url",
                "settings.template_name",
                "settings.template_language",
                "settings.list_button",
            ]
        );
        let mut no_secret = setup(&[]);
        no_secret.secrets.remove("app_secret");
        assert_eq!(WhatsApp::new(&no_secret).unwrap_err(), SetupError::Missing("app_secret".into()));
        let shown = format!("{:?}", WhatsApp::new(&setup(&[])).unwrap());
        assert!(
            !shown.contains("EAAG-token") && !shown.contains("app-secret") && !shown.contains("verify-me"),
            "{shown}"
        );
        let adapter: std::sync::Arc<dyn Channel> = std::sync::Arc::new(WhatsApp::new(&setup(&[])).unwrap());
        assert_eq!(adapter.kind(), ChannelKind::Whatsapp);
        assert_eq!(adapter.capabilities().max_choices, 10);
        assert_eq!(adapter.capabilities().default_sends_per_second, 80);
        assert_eq!(adapter.capabilities().reply_window, Some(SignedDuration::from_hours(24)));
    }

    #[test]
    fn within_the_window_messages_are_free_form_in_the_end_users_language() {
        let adapter = WhatsApp::new(&setup(&[("template_name", "rating")])).unwrap();
        let body = adapter.body(&outbound(invitation(Scale::FIVE_STARS), hours_ago(23), Locale::Es)).unwrap();
        assert_eq!(body["type"], "interactive");
        assert_eq!(body["interactive"]["action"]["button"], "Calificar");
        let reasons = Content::Choices {
            text: "Why?".into(),
            choices: (1..=4).map(|i| (format!("rw1:r:srv_1:r{i}"), format!("Reason {i}"))).collect(),
        };
        let body = adapter.body(&outbound(reasons, hours_ago(1), Locale::De)).unwrap();
        assert_eq!(body["interactive"]["action"]["button"], "Auswählen");
        let thanks = adapter.body(&outbound(Content::Text("Thanks!".into()), hours_ago(0), Locale::En)).unwrap();
        assert_eq!(thanks["text"]["body"], "Thanks!");
        // The business's own labels win.
        let own = WhatsApp::new(&setup(&[("list_button", "Score us")])).unwrap();
        let body = own.body(&outbound(invitation(Scale::FIVE_STARS), hours_ago(2), Locale::Es)).unwrap();
        assert_eq!(body["interactive"]["action"]["button"], "Score us");
    }

    #[test]
    fn outside_the_window_only_the_invitation_goes_and_only_as_the_template() {
        let adapter = WhatsApp::new(&setup(&[("template_name", "rating")])).unwrap();
        for last in [None, hours_ago(25), Some(now() - REPLY_WINDOW + SignedDuration::from_secs(30))] {
            let body = adapter.body(&outbound(invitation(Scale::FIVE_STARS), last, Locale::PtBr)).unwrap();
            assert_eq!(body["type"], "template", "{last:?}");
            assert_eq!(body["template"]["name"], "rating");
            assert_eq!(body["template"]["language"]["code"], "pt_BR");
            assert_eq!(body["template"]["components"].as_array().unwrap().len(), 5);
            let thanks = adapter.body(&outbound(Content::Text("Thanks!".into()), last, Locale::En)).unwrap_err();
            assert!(matches!(thanks, SendError::Permanent(ref r) if r.code == "outside_window"), "{thanks:?}");
        }
        let fixed = WhatsApp::new(&setup(&[("template_name", "rating"), ("template_language", "en_GB")])).unwrap();
        let body = fixed.body(&outbound(invitation(Scale::NPS), None, Locale::Es)).unwrap();
        assert_eq!(
            body["template"],
            json!({ "name": "rating", "language": { "policy": "deterministic", "code": "en_GB" } })
        );
        // No template: nothing goes.
        let bare = WhatsApp::new(&setup(&[])).unwrap();
        let error = bare.body(&outbound(invitation(Scale::FIVE_STARS), hours_ago(30), Locale::En)).unwrap_err();
        let SendError::Permanent(reason) = error else { panic!("{error:?}") };
        assert_eq!(reason.code, "outside_window");
        assert!(reason.detail.contains("settings.template_name"), "{}", reason.detail);
        assert!(matches!(
            invitation(Scale::NPS),
            Content::Invitation { layout: InvitationLayout::TypedAnswer { .. }, .. }
        ));
    }

    #[test]
    fn webhooks_are_verified_before_they_are_read() {
        let adapter = WhatsApp::new(&setup(&[])).unwrap();
        let request = |method: http::Method, query: Option<&str>, headers: http::HeaderMap, body: &'static [u8]| {
            InboundRequest { method, headers, query: query.map(str::to_owned), body: bytes::Bytes::from_static(body) }
        };
        let get = request(
            http::Method::GET,
            Some("hub.mode=subscribe&hub.challenge=42&hub.verify_token=verify-me"),
            http::HeaderMap::new(),
            b"",
        );
        assert_eq!(adapter.receive(&get).unwrap(), WebhookOutcome::Handshake("42".into()));
        let unsigned = request(http::Method::POST, None, http::HeaderMap::new(), b"not even json");
        assert!(matches!(adapter.receive(&unsigned), Err(WebhookError::Unsigned)));
        let mut headers = http::HeaderMap::new();
        headers.insert(meta::SIGNATURE_HEADER, format!("sha256={}", "00".repeat(32)).parse().unwrap());
        let forged = request(http::Method::POST, None, headers, b"not even json");
        assert!(matches!(adapter.receive(&forged), Err(WebhookError::BadSignature)));
    }
}
