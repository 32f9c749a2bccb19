//! Pushes to the web widgets open right now: a survey changed, or a line for the visitor. The
//! widget's channel needs no outbox: what it shows is drawn from the survey itself, so a push
//! only tells open widgets to look again, and a widget that opens later reads the survey anew.

use ratewire_core::{ChannelId, RecipientId, Survey, TenantId};
use tokio::sync::broadcast;

/// Something every open widget of one visitor should know.
#[derive(Debug, Clone)]
pub struct Push {
    pub tenant: TenantId,
    pub channel: ChannelId,
    pub visitor: RecipientId,
    pub say: Option<String>,
}

/// Tells open widgets that their survey changed, or gives them a line to show.
#[derive(Clone)]
pub struct LivePushes {
    sender: broadcast::Sender<Push>,
}

impl Default for LivePushes {
    fn default() -> Self {
        Self { sender: broadcast::channel(1024).0 }
    }
}

impl LivePushes {
    /// The survey changed: widgets showing it redraw it.
    pub fn refresh(&self, survey: &Survey) {
        self.push(survey, None);
    }

    /// A message for the visitor (thanks, a prompt, the expiry notice).
    pub fn say(&self, survey: &Survey, text: &str) {
        self.push(survey, Some(text.to_owned()));
    }

    /// Every push from now on, for one open widget to pick its own from.
    pub fn subscribe(&self) -> broadcast::Receiver<Push> {
        self.sender.subscribe()
    }

    fn push(&self, survey: &Survey, say: Option<String>) {
        let invitation = &survey.invitation;
        // No receiver just means no widget is open right now; it will read the survey on connect.
        let _ = self.sender.send(Push {
            tenant: invitation.tenant.clone(),
            channel: invitation.channel.clone(),
            visitor: invitation.recipient.clone(),
            say,
        });
    }
}
