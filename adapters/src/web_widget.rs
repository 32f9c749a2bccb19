//! The web widget: a chat box on the business's own site, served by the gateway, which talks to
//! it over a WebSocket. No platform stands between them, so there is no adapter: what the
//! adapters hold of it is its declaration.

use crate::definition::{ChannelDefinition, MessagePath, WebhookBody, no_settings_problems, recipient_as_given};

pub static DEFINITION: ChannelDefinition = ChannelDefinition {
    required_secrets: &[],
    required_settings: &[],
    validate_settings: no_settings_problems,
    build: None,
    canonical_recipient: recipient_as_given,
    // Never used: without an adapter, no webhook of it is read.
    webhook_body: WebhookBody::Message,
    honours_unsubscribes: false,
    messages: MessagePath::LiveClient,
    serves_pages: false,
    chats: false,
};
