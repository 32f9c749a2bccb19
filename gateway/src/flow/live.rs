//! Pushes to the web widgets open right now: a survey changed, or a line for the visitor. The
//! widget's channel needs no outbox: what it shows is drawn from the survey itself, so a push
//! only tells open widgets to look again, and a widget that opens later reads the survey anew.
//!
//! A visitor's socket may be held by any gateway of the service: a push goes to this gateway's
//! widgets at once, and to the other gateways' through the store's notices
//! ([`relay_forever`]). A gateway that may have missed some tells all its widgets to redraw.

use std::sync::Arc;

use ratewire_core::store::{Heard, Store, WorkerId};
use ratewire_core::{ChannelId, RecipientId, Survey, TenantId};
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

use super::Flow;

/// Something open widgets should know.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Push {
    /// One visitor's survey changed, with a line to show them or none.
    Visitor { tenant: TenantId, channel: ChannelId, visitor: RecipientId, say: Option<String> },
    /// Pushes may have been missed: every open widget redraws its survey from the store.
    Redraw,
}

/// A push as the gateways tell each other: which gateway made it, and the push.
#[derive(Serialize, Deserialize)]
struct Notice {
    from: String,
    live: Push,
}

/// Tells open widgets that their survey changed, or gives them a line to show.
#[derive(Clone)]
pub struct LivePushes {
    sender: broadcast::Sender<Push>,
    store: Arc<dyn Store>,
    worker: WorkerId,
}

impl LivePushes {
    /// The pushes of the gateway `worker`, told to the others through `store`.
    pub fn new(store: Arc<dyn Store>, worker: WorkerId) -> Self {
        Self { sender: broadcast::channel(1024).0, store, worker }
    }

    /// The survey changed: widgets showing it redraw it.
    pub async fn refresh(&self, survey: &Survey) {
        self.push(survey, None).await;
    }

    /// A message for the visitor (thanks, a prompt, the expiry notice).
    pub async fn say(&self, survey: &Survey, text: &str) {
        self.push(survey, Some(text.to_owned())).await;
    }

    /// Every push from now on, for one open widget to pick its own from.
    pub fn subscribe(&self) -> broadcast::Receiver<Push> {
        self.sender.subscribe()
    }

    async fn push(&self, survey: &Survey, say: Option<String>) {
        let invitation = &survey.invitation;
        let push = Push::Visitor {
            tenant: invitation.tenant.clone(),
            channel: invitation.channel.clone(),
            visitor: invitation.recipient.clone(),
            say,
        };
        // No receiver just means no widget is open here right now; it reads the survey on connect.
        let _ = self.sender.send(push.clone());
        // The other gateways' widgets, in the order the pushes are made (a thank-you before the
        // comment prompt): one lost is one that shows the change when its widget reconnects.
        let Ok(notice) = serde_json::to_string(&Notice { from: self.worker.to_string(), live: push }) else { return };
        if let Err(error) = self.store.publish(&notice).await {
            tracing::warn!(%error, "other gateways' widgets could not be told of a change");
        }
    }
}

/// Passes the other gateways' pushes to this gateway's open widgets until the service stops.
pub async fn relay_forever(flow: Flow) {
    let mut heard = flow.store.listen();
    loop {
        let push = match heard.recv().await {
            Ok(Heard::Notice(notice)) => match serde_json::from_str::<Notice>(&notice) {
                Ok(notice) if notice.from == flow.worker.as_str() => continue,
                Ok(notice) => notice.live,
                Err(error) => {
                    tracing::warn!(%error, "skipping a notice that is no push");
                    continue;
                }
            },
            Ok(Heard::Gap) | Err(broadcast::error::RecvError::Lagged(_)) => Push::Redraw,
            Err(broadcast::error::RecvError::Closed) => return,
        };
        let _ = flow.live.sender.send(push);
    }
}
