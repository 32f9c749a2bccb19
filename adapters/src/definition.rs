//! What a kind of channel declares of itself, so that neither the rest of the adapters nor the
//! gateway has to name kinds: each channel's module gives one [`ChannelDefinition`], and
//! [`ChannelKind::definition`] registers it.

use std::sync::Arc;

use ratewire_core::RecipientId;

use crate::{Channel, ChannelKind, ChannelSetup, SetupError, email, messenger, telegram, web_widget, whatsapp};

impl ChannelKind {
    /// The kind's declaration: the one place a kind is tied to its module.
    pub fn definition(self) -> &'static ChannelDefinition {
        match self {
            ChannelKind::WebWidget => &web_widget::DEFINITION,
            ChannelKind::Whatsapp => &whatsapp::DEFINITION,
            ChannelKind::Messenger => &messenger::DEFINITION,
            ChannelKind::Telegram => &telegram::DEFINITION,
            ChannelKind::Email => &email::DEFINITION,
        }
    }
}

/// Builds a channel's adapter from its setup.
pub type BuildAdapter = fn(&ChannelSetup) -> Result<Arc<dyn Channel>, SetupError>;

/// What a kind of channel needs and how the gateway treats it.
pub struct ChannelDefinition {
    /// The credentials a business must give when connecting a channel of this kind. They are
    /// stored, used to talk to the platform, and never shown back in full.
    pub required_secrets: &'static [&'static str],
    /// The plain settings a channel of this kind needs.
    pub required_settings: &'static [&'static str],
    /// The kind's own problems with a setup, each `(field, problem)` with the field as the API
    /// names it; [`crate::validate_settings`] adds the checks every kind shares.
    pub validate_settings: fn(&ChannelSetup) -> Vec<(String, String)>,
    /// How its adapter is built; `None` where the gateway serves the channel itself.
    pub build: Option<BuildAdapter>,
    /// An end user's id in the one form the channel keeps it, so that inviting, replying and
    /// unsubscribing all name the same person.
    pub canonical_recipient: fn(RecipientId) -> RecipientId,
    /// Which of the gateway's body limits its webhooks are read under.
    pub webhook_body: WebhookBody,
    /// Whether its end users can ask for no more rating requests, and are then not invited.
    pub honours_unsubscribes: bool,
    /// How messages reach its end users.
    pub messages: MessagePath,
    /// Whether the gateway serves pages to its end users (email's rating links).
    pub serves_pages: bool,
    /// Whether its end users chat message by message (a messaging app), so a pre-chat's
    /// questions can be asked there one at a time.
    pub chats: bool,
}

impl ChannelDefinition {
    /// `recipient` in the form the channel keeps it.
    pub fn canonical_recipient(&self, recipient: RecipientId) -> RecipientId {
        (self.canonical_recipient)(recipient)
    }
}

/// What a channel's webhook bodies are, for the limit they are read under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookBody {
    /// A platform's event of a few kilobytes.
    Message,
    /// A whole email: signature images and quoted HTML make it far larger.
    Mail,
}

/// How messages reach a channel's end users.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessagePath {
    /// Sent by the adapter through the outbox, which retries and records the outcome.
    Outbox,
    /// Pushed to the end user's client while it is connected to the gateway (the web widget),
    /// which draws what the survey says from the survey itself.
    LiveClient,
}

/// For channels without settings of their own to check.
pub(crate) fn no_settings_problems(_: &ChannelSetup) -> Vec<(String, String)> {
    Vec::new()
}

/// For channels that keep end users' ids as the platform gives them.
pub(crate) fn recipient_as_given(recipient: RecipientId) -> RecipientId {
    recipient
}

#[cfg(test)]
mod tests {
    use super::*;

    const KINDS: [ChannelKind; 5] = [
        ChannelKind::WebWidget,
        ChannelKind::Whatsapp,
        ChannelKind::Messenger,
        ChannelKind::Telegram,
        ChannelKind::Email,
    ];

    #[test]
    fn what_goes_through_the_outbox_has_an_adapter_to_send_it() {
        for kind in KINDS {
            let definition = kind.definition();
            let sent_by_outbox = definition.messages == MessagePath::Outbox;
            assert_eq!(definition.build.is_some(), sent_by_outbox, "{kind:?}");
        }
    }

    #[test]
    fn email_addresses_are_kept_in_one_form_and_other_ids_as_given() {
        let mixed = RecipientId::new("Ana@Example.COM").unwrap();
        let email = ChannelKind::Email.definition().canonical_recipient(mixed.clone());
        assert_eq!(email.as_str(), "ana@example.com");
        let telegram = ChannelKind::Telegram.definition().canonical_recipient(mixed.clone());
        assert_eq!(telegram, mixed);
    }
}
