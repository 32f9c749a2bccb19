//! Event webhooks: what happened to a survey, posted to the business's endpoints, signed.
//!
//! Every event is written to the store's outbox before anything is posted, so a receiver that
//! is down misses nothing: the outbox worker retries with backoff until it answers 2xx or the
//! attempts run out.
//!
//! Signature: `ratewire-signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`.

use std::collections::BTreeMap;

use hmac::{Hmac, Mac};
use jiff::Timestamp;
use ratewire_adapters::outbound::{self, OutboundPolicy};
use ratewire_core::questionnaire::{AnswerValue, EndCause, QuestionOutcome, RunStatus};
use ratewire_core::store::{self, OutboxItem, Store, StoreError, Task, Versioned};
use ratewire_core::{ChannelId, Notice, RecipientId, Survey, SurveyId, SurveyState, TenantId};
use serde::Serialize;
use sha2::Sha256;

use super::Flow;
use super::outbox::Attempt;
use super::records::{EndpointRecord, PrechatRecord, Written};

/// The body of one event.
#[derive(Debug, Serialize)]
pub struct EventBody<'a> {
    /// Unique per event and endpoint; the same across retries, so receivers can drop repeats.
    pub id: String,
    #[serde(rename = "type")]
    pub kind: Notice,
    pub created_at: Timestamp,
    /// A survey's events say what it is now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub survey: Option<SurveyPayload<'a>>,
    /// A pre-chat's events say what it gathered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prechat: Option<PrechatPayload<'a>>,
}

/// What an event says about a pre-chat.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PrechatPayload<'a> {
    pub channel: &'a str,
    pub recipient: &'a str,
    /// The conversation whose opening started it.
    pub conversation: &'a str,
    pub locale: &'a str,
    /// `completed`, `ended` (consent refused, or a required question never answered) or
    /// `abandoned`.
    pub status: &'static str,
    pub started_at: Timestamp,
    pub finished_at: Option<Timestamp>,
    /// Every answer, by question id, as plain JSON (known ones included).
    #[schema(value_type = BTreeMap<String, Object>)]
    pub fields: BTreeMap<&'a str, serde_json::Value>,
    /// The answer to the configuration's `inquiry_question`, for routing.
    pub inquiry_type: Option<&'a str>,
    /// The question it stopped at, when it ended or was abandoned.
    pub stopped_at: Option<&'a str>,
    /// What became of each question, in the order asked.
    pub outcomes: &'a [QuestionOutcome],
    /// What the end user wrote meanwhile that was not an answer.
    pub messages: &'a [Written],
}

impl<'a> PrechatPayload<'a> {
    pub fn new(channel: &'a ChannelId, recipient: &'a RecipientId, record: &'a PrechatRecord) -> Self {
        let run = &record.run;
        let (status, finished_at, stopped_at) = match &run.status {
            RunStatus::Completed { at, .. } => ("completed", Some(*at), None),
            RunStatus::Ended { at, cause } => {
                let (EndCause::ConsentRefused(question) | EndCause::AttemptsRanOut(question)) = cause;
                ("ended", Some(*at), Some(question.as_str()))
            }
            RunStatus::Abandoned { at, question, .. } => ("abandoned", Some(*at), Some(question.as_str())),
            RunStatus::Asking { question, .. } => ("asking", None, Some(question.as_str())),
        };
        let inquiry_type = record.prechat.inquiry_question.as_ref().and_then(|id| match run.answer(id) {
            Some(AnswerValue::Choice(choice)) => Some(choice.as_str()),
            _ => None,
        });
        PrechatPayload {
            channel: channel.as_str(),
            recipient: recipient.as_str(),
            conversation: record.conversation.as_str(),
            locale: record.locale.tag(),
            status,
            started_at: run.started_at,
            finished_at,
            fields: run
                .outcomes
                .iter()
                .filter_map(|o| Some((o.question.as_str(), run.answer(&o.question)?.plain())))
                .collect(),
            inquiry_type,
            stopped_at,
            outcomes: &run.outcomes,
            messages: &record.messages,
        }
    }
}

/// What an event says about its survey.
#[derive(Debug, Serialize)]
pub struct SurveyPayload<'a> {
    pub id: &'a str,
    /// Grows with every change of the survey: events can arrive out of order (a retried one
    /// after a later one), and the higher revision is the newer state.
    pub revision: u64,
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
        let failure = match &survey.state {
            SurveyState::Failed { reason, .. } => Some(reason),
            _ => None,
        };
        let previous_score = survey.ratings.len().checked_sub(2).map(|i| survey.ratings[i].score.value());
        SurveyPayload {
            id: survey.id.as_str(),
            revision: survey.revision,
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
            reason: survey.reason(),
            failure,
        }
    }
}

/// Puts one event per notice and subscribed endpoint into the outbox, in one round trip.
pub async fn queue_events(flow: &Flow, survey: &Survey, notices: &[Notice], now: Timestamp) -> Result<(), StoreError> {
    if notices.is_empty() {
        return Ok(());
    }
    let endpoints = endpoints(flow, &survey.invitation.tenant).await?;
    let items = event_items(survey, notices, &endpoints, now)?;
    flow.store.enqueue(&items).await?;
    flow.queued.add(flow, &items);
    Ok(())
}

/// The business's event webhook endpoints.
pub async fn endpoints(flow: &Flow, tenant: &TenantId) -> Result<Endpoints, StoreError> {
    store::read_all::<EndpointRecord>(flow.store.as_ref(), tenant).await
}

/// The endpoints [`endpoints`] reads.
pub type Endpoints = Vec<(String, Versioned<EndpointRecord>)>;

/// The outbox items of one event per notice of a survey's transition and subscribed endpoint.
pub fn event_items(
    survey: &Survey,
    notices: &[Notice],
    endpoints: &Endpoints,
    now: Timestamp,
) -> Result<Vec<OutboxItem>, StoreError> {
    let mut items = Vec::new();
    for &notice in notices {
        // The survey's revision makes the id stable across retries of the same transition.
        let stable = format!("{}_{}", survey.id, survey.revision);
        items.extend(items_of(&survey.invitation.tenant, notice, endpoints, &stable, Some(&survey.id), now, |id| {
            EventBody { id, kind: notice, created_at: now, survey: Some(SurveyPayload::new(survey)), prechat: None }
        })?);
    }
    Ok(items)
}

/// The outbox items of a pre-chat's event, one per subscribed endpoint.
pub fn prechat_event_items(
    tenant: &TenantId,
    (channel, recipient): (&ChannelId, &RecipientId),
    record: &PrechatRecord,
    notice: Notice,
    endpoints: &Endpoints,
    now: Timestamp,
) -> Result<Vec<OutboxItem>, StoreError> {
    // A pre-chat finishes once: when it started tells it from the end user's other pre-chats.
    let stable = format!("prechat_{channel}_{recipient}_{}", record.run.started_at.as_nanosecond());
    items_of(tenant, notice, endpoints, &stable, None, now, |id| EventBody {
        id,
        kind: notice,
        created_at: now,
        survey: None,
        prechat: Some(PrechatPayload::new(channel, recipient, record)),
    })
}

/// One event for each endpoint subscribed to `notice`, its id `evt_<stable>_<endpoint>`.
fn items_of<'a>(
    tenant: &TenantId,
    notice: Notice,
    endpoints: &Endpoints,
    stable: &str,
    survey: Option<&SurveyId>,
    now: Timestamp,
    body: impl Fn(String) -> EventBody<'a>,
) -> Result<Vec<OutboxItem>, StoreError> {
    let mut items = Vec::new();
    for (_, endpoint) in endpoints {
        let endpoint = &endpoint.value;
        if !endpoint.events.is_empty() && !endpoint.events.contains(&notice) {
            continue;
        }
        let id = format!("evt_{stable}_{}", endpoint.id);
        let body = serde_json::to_string(&body(id.clone()))
            .map_err(|e| StoreError::Corrupt { key: id.clone(), reason: e.to_string() })?;
        items.push(OutboxItem {
            id,
            tenant: tenant.clone(),
            task: Task::Webhook { endpoint: endpoint.id.clone(), body, survey: survey.cloned() },
            attempts: 0,
            due: now,
            last_error: None,
            attempt_started_at: None,
        });
    }
    Ok(items)
}

/// The signature header's value for a body sent at `timestamp`.
pub fn sign(secret: &str, timestamp: i64, body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    format!("t={timestamp},v1={}", hex::encode(mac.finalize().into_bytes()))
}

/// Posts one event to its endpoint.
pub async fn post_event(
    store: &dyn Store,
    policy: &OutboundPolicy,
    http: &reqwest::Client,
    item: &OutboxItem,
    endpoint: &str,
    body: &str,
) -> Result<Attempt, StoreError> {
    let Some(endpoint) = store::read::<EndpointRecord>(store, &item.tenant, endpoint).await? else {
        // The business removed the endpoint: nobody is waiting for this event.
        return Ok(Attempt::GiveUp { reason: "the endpoint was removed".into() });
    };
    // An IP literal is judged here, where no resolver sees it; a name as it resolves.
    let url = match reqwest::Url::parse(&endpoint.value.url) {
        Ok(url) => url,
        Err(error) => return Ok(Attempt::GiveUp { reason: format!("the endpoint's url is unreadable: {error}") }),
    };
    if let Err(refused) = policy.check_url(&url) {
        return Ok(Attempt::Retry { reason: refused.to_string(), not_before: None });
    }
    let now = Timestamp::now();
    let sent = http
        .post(url)
        .header("content-type", "application/json")
        .header("ratewire-event-id", &item.id)
        .header("ratewire-signature", sign(&endpoint.value.secret, now.as_second(), body))
        .body(body.to_owned())
        .send()
        .await;
    Ok(match sent {
        Ok(response) if response.status().is_success() => Attempt::Done,
        Ok(response) => {
            Attempt::Retry { reason: format!("the endpoint answered {}", response.status()), not_before: None }
        }
        Err(error) => match outbound::refusal(&error) {
            Some(refused) => Attempt::Retry { reason: refused.to_string(), not_before: None },
            None => Attempt::Retry { reason: format!("request failed: {error}"), not_before: None },
        },
    })
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
}
