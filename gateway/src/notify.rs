//! Event webhooks: what happened to a survey, posted to the business's endpoints, signed.
//!
//! Every event is written to the store's outbox before anything is posted, so a receiver that
//! is down misses nothing: the outbox worker retries with backoff until it answers 2xx or the
//! attempts run out.
//!
//! Signature: `ratewire-signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`.

use std::time::Duration;

use hmac::{Hmac, Mac};
use jiff::{SignedDuration, Timestamp};
use ratewire_core::store::{OutboxItem, RecordKind, Store, list_json};
use ratewire_core::{Notice, Survey, SurveyState};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

/// A business's webhook endpoint.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EndpointRecord {
    pub id: String,
    pub url: String,
    /// Signs every post; shown in full only when the endpoint is created.
    pub secret: String,
    /// The events it wants; empty for all.
    #[serde(default)]
    pub events: Vec<Notice>,
    pub created_at: Timestamp,
}

/// The body of one event.
#[derive(Debug, Serialize)]
pub struct EventBody<'a> {
    /// Unique per event and endpoint; the same across retries, so receivers can drop repeats.
    pub id: String,
    #[serde(rename = "type")]
    pub kind: Notice,
    pub created_at: Timestamp,
    pub survey: SurveyPayload<'a>,
}

/// What an event says about its survey.
#[derive(Debug, Serialize)]
pub struct SurveyPayload<'a> {
    pub id: &'a str,
    pub state: ratewire_core::StateName,
    pub conversation: &'a str,
    pub channel: &'a str,
    pub recipient: &'a str,
    pub agent: Option<&'a str>,
    pub locale: &'a str,
    pub scale: String,
    pub score: Option<u8>,
    pub previous_score: Option<u8>,
    pub comment: Option<&'a str>,
    pub reason: Option<&'a str>,
    pub failure: Option<&'a ratewire_core::FailureReason>,
}

impl<'a> SurveyPayload<'a> {
    pub fn new(survey: &'a Survey) -> Self {
        let invitation = &survey.invitation;
        let reason = match &survey.state {
            SurveyState::Rated { reason, .. } | SurveyState::Locked { reason, .. } => reason.as_deref(),
            _ => None,
        };
        let failure = match &survey.state {
            SurveyState::Failed { reason, .. } => Some(reason),
            _ => None,
        };
        let previous_score = survey.ratings.len().checked_sub(2).map(|i| survey.ratings[i].score.value());
        SurveyPayload {
            id: survey.id.as_str(),
            state: survey.state.name(),
            conversation: invitation.conversation.as_str(),
            channel: invitation.channel.as_str(),
            recipient: invitation.recipient.as_str(),
            agent: invitation.agent.as_ref().map(|a| a.as_str()),
            locale: invitation.locale.tag(),
            scale: survey.rules.scale.to_string(),
            score: survey.score().map(|s| s.value()),
            previous_score,
            comment: survey.comment(),
            reason,
            failure,
        }
    }
}

/// Puts one event per subscribed endpoint into the outbox.
pub async fn enqueue(
    store: &dyn Store,
    survey: &Survey,
    notice: Notice,
    now: Timestamp,
) -> Result<(), ratewire_core::store::StoreError> {
    let tenant = &survey.invitation.tenant;
    let endpoints = list_json::<EndpointRecord>(store, tenant, RecordKind::Endpoint).await?;
    for (_, endpoint) in endpoints {
        let endpoint = endpoint.value;
        if !endpoint.events.is_empty() && !endpoint.events.contains(&notice) {
            continue;
        }
        // The survey's revision makes the id stable across retries of the same transition.
        let id = format!("evt_{}_{}_{}", survey.id, survey.revision, endpoint.id);
        let body = EventBody { id: id.clone(), kind: notice, created_at: now, survey: SurveyPayload::new(survey) };
        let body = serde_json::to_string(&body)
            .map_err(|e| ratewire_core::store::StoreError::Corrupt { key: id.clone(), reason: e.to_string() })?;
        let item = OutboxItem {
            id,
            tenant: tenant.clone(),
            endpoint: endpoint.id,
            body,
            attempts: 0,
            due: now,
            last_error: None,
        };
        store.enqueue(&item).await?;
    }
    Ok(())
}

/// The signature header's value for a body sent at `timestamp`.
pub fn sign(secret: &str, timestamp: i64, body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    format!("t={timestamp},v1={}", hex::encode(mac.finalize().into_bytes()))
}

/// When to try again after `attempts` failed attempts: 10 s, doubling, at most an hour, with
/// up to 20% jitter so a crowd of retries doesn't arrive at once.
pub fn backoff(attempts: u32, jitter: f64) -> SignedDuration {
    let base = 10.0 * 2f64.powi(attempts.saturating_sub(1).min(16) as i32);
    let capped = base.min(3600.0);
    SignedDuration::from_secs_f64(capped * (1.0 + 0.2 * jitter.clamp(0.0, 1.0)))
}

/// How long a worker may hold a claimed item before another may take it.
pub const LEASE: Duration = Duration::from_secs(60);

/// Posts due events to their endpoints until the service stops.
pub async fn deliver_forever(store: std::sync::Arc<dyn Store>, settings: crate::settings::WebhookSettings) {
    let client = match reqwest::Client::builder()
        .timeout(Duration::from_secs(settings.timeout_secs))
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("ratewire/", env!("CARGO_PKG_VERSION")))
        .build()
    {
        Ok(client) => client,
        Err(error) => {
            tracing::error!(%error, "cannot build the webhook client: events stay queued");
            return;
        }
    };
    let mut interval = tokio::time::interval(Duration::from_millis(500));
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        interval.tick().await;
        if let Err(error) = deliver_due(store.as_ref(), &client, settings.max_attempts, Timestamp::now()).await {
            tracing::warn!(%error, "webhook delivery paused: the store is unavailable");
        }
    }
}

/// Posts the events due at `now`, once each.
pub async fn deliver_due(
    store: &dyn Store,
    client: &reqwest::Client,
    max_attempts: u32,
    now: Timestamp,
) -> Result<(), ratewire_core::store::StoreError> {
    let lease_until = now + SignedDuration::try_from(LEASE).unwrap_or(SignedDuration::from_secs(60));
    for mut item in store.claim_due(now, lease_until, 50).await? {
        let endpoint =
            ratewire_core::store::get_json::<EndpointRecord>(store, &item.tenant, RecordKind::Endpoint, &item.endpoint)
                .await?;
        let Some(endpoint) = endpoint else {
            // The business removed the endpoint: nobody is waiting for this event.
            store.complete(&item.id).await?;
            continue;
        };
        match post(client, &endpoint.value, &item, Timestamp::now()).await {
            Ok(()) => {
                crate::metrics::webhook("delivered");
                store.complete(&item.id).await?;
            }
            Err(reason) => {
                item.attempts += 1;
                if item.attempts >= max_attempts {
                    tracing::error!(event = %item.id, endpoint = %endpoint.value.url, %reason, attempts = item.attempts, "giving up on an event webhook");
                    crate::metrics::webhook("given_up");
                    store.complete(&item.id).await?;
                    continue;
                }
                crate::metrics::webhook("retry");
                let jitter = (uuid::Uuid::new_v4().as_u128() % 1000) as f64 / 1000.0;
                item.due = Timestamp::now() + backoff(item.attempts, jitter);
                tracing::info!(event = %item.id, attempts = item.attempts, %reason, "event webhook failed; will retry");
                item.last_error = Some(reason);
                store.reschedule(&item).await?;
            }
        }
    }
    Ok(())
}

async fn post(
    client: &reqwest::Client,
    endpoint: &EndpointRecord,
    item: &OutboxItem,
    now: Timestamp,
) -> Result<(), String> {
    let response = client
        .post(&endpoint.url)
        .header("content-type", "application/json")
        .header("ratewire-event-id", &item.id)
        .header("ratewire-signature", sign(&endpoint.secret, now.as_second(), &item.body))
        .body(item.body.clone())
        .send()
        .await
        .map_err(|e| format!("request failed: {e}"))?;
    let status = response.status();
    if status.is_success() { Ok(()) } else { Err(format!("the endpoint answered {status}")) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_follow_the_documented_recipe() {
        // Computed independently: printf '1700000000.{"a":1}' | openssl dgst -sha256 -hmac whsec
        let signature = sign("whsec", 1_700_000_000, r#"{"a":1}"#);
        assert_eq!(signature, "t=1700000000,v1=8ad37ba156048ae0e0a5533c75cdf26fee88b07f93cb57ee4c80adb053012032");
        assert_ne!(signature, sign("other", 1_700_000_000, r#"{"a":1}"#));
    }

    #[test]
    fn backoff_doubles_up_to_an_hour() {
        assert_eq!(backoff(1, 0.0), SignedDuration::from_secs(10));
        assert_eq!(backoff(2, 0.0), SignedDuration::from_secs(20));
        assert_eq!(backoff(20, 0.0), SignedDuration::from_secs(3600));
        assert_eq!(backoff(1, 1.0), SignedDuration::from_secs(12));
    }
}
