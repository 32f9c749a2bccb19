//! What ratewire knows of end users: when they last wrote on a channel and in which language
//! (contacts), the one form of their id a channel keeps, and the addresses that asked for no
//! more rating requests (unsubscribes).

use jiff::Timestamp;
use ratewire_adapters::ChannelKind;
use ratewire_core::questionnaire::{AnswerValue, Run};
use ratewire_core::store::{self, ApplyError, Record, StoreError};
use ratewire_core::{ChannelId, Event, QuestionId, RecipientId, SurveyId, SurveyState, TenantId};

use super::records::{ChannelRecord, Contact, Unsubscribed};
use super::{Flow, surveys};

/// The contact record's id.
fn contact_id(channel: &ChannelId, recipient: &RecipientId) -> String {
    format!("{channel}/{recipient}")
}

/// Notes that an end user wrote, for the channel's window rules (one write, no read), and the
/// language the platform gave, if it gave one (read, and written only when it changed).
pub async fn note_inbound(
    flow: &Flow,
    tenant: &TenantId,
    channel: &ChannelId,
    recipient: &RecipientId,
    at: Timestamp,
    language: Option<String>,
) -> Result<(), StoreError> {
    let written = flow.store.note_written(tenant, channel, recipient, at);
    let language = async {
        match language {
            Some(language) => note_language(flow, tenant, channel, recipient, language).await,
            None => Ok(()),
        }
    };
    let (written, language) = tokio::join!(written, language);
    written.and(language)
}

/// Notes the end user's languages as their browser gives them (the web widget's visitor), for
/// invitations the helpdesk sends without a language.
pub async fn note_language(
    flow: &Flow,
    tenant: &TenantId,
    channel: &ChannelId,
    recipient: &RecipientId,
    language: String,
) -> Result<(), StoreError> {
    update_contact(flow, tenant, channel, recipient, |contact| {
        let changed = contact.language.as_ref() != Some(&language);
        contact.language = Some(language.clone());
        changed
    })
    .await
}

/// Notes that an automatic invitation went to the end user now, for the cooldown between two.
pub async fn note_asked(
    flow: &Flow,
    tenant: &TenantId,
    channel: &ChannelId,
    recipient: &RecipientId,
    at: Timestamp,
) -> Result<(), StoreError> {
    update_contact(flow, tenant, channel, recipient, |contact| {
        contact.last_asked_at = Some(at);
        true
    })
    .await
}

/// Keeps what an end user answered in a pre-chat as their contact's fields, over what they
/// answered before.
pub async fn note_fields(
    flow: &Flow,
    tenant: &TenantId,
    channel: &ChannelId,
    recipient: &RecipientId,
    run: &Run,
) -> Result<(), StoreError> {
    let answers: Vec<(QuestionId, AnswerValue)> =
        run.outcomes.iter().filter_map(|o| Some((o.question.clone(), run.answer(&o.question)?.clone()))).collect();
    if answers.is_empty() {
        return Ok(());
    }
    update_contact(flow, tenant, channel, recipient, |contact| {
        let before = contact.fields.clone();
        contact.fields.extend(answers.iter().cloned());
        contact.fields != before
    })
    .await
}

/// Changes a contact record with `change`, which says whether it changed anything; retried when
/// another writer got there first.
async fn update_contact(
    flow: &Flow,
    tenant: &TenantId,
    channel: &ChannelId,
    recipient: &RecipientId,
    mut change: impl FnMut(&mut Contact) -> bool,
) -> Result<(), StoreError> {
    let id = contact_id(channel, recipient);
    for _ in 0..8 {
        let stored = store::read::<Contact>(&*flow.store, tenant, &id).await?;
        let (expected, mut contact) = stored.map_or((None, Contact::default()), |s| (Some(s.revision), s.value));
        if !change(&mut contact) {
            return Ok(());
        }
        match store::write(&*flow.store, tenant, &id, expected, &contact).await {
            Err(StoreError::RecordConflict { .. }) => continue,
            other => return other.map(|_| ()),
        }
    }
    Ok(())
}

/// What ratewire knows of an end user on a channel, if anything.
pub async fn contact(
    flow: &Flow,
    tenant: &TenantId,
    channel: &ChannelId,
    recipient: &RecipientId,
) -> Result<Option<Contact>, StoreError> {
    let id = contact_id(channel, recipient);
    let (stored, written) = tokio::join!(
        store::read::<Contact>(&*flow.store, tenant, &id),
        flow.store.last_written(tenant, channel, recipient)
    );
    let mut contact = stored?.map(|c| c.value);
    if let Some(written) = written? {
        let contact = contact.get_or_insert_with(Contact::default);
        contact.last_inbound_at = contact.last_inbound_at.max(Some(written));
    }
    Ok(contact)
}

/// An end user's id as a channel keeps it (email addresses in one form), so inviting, replying
/// and unsubscribing all name the same person.
pub fn canonical_recipient(kind: ChannelKind, recipient: RecipientId) -> RecipientId {
    kind.definition().canonical_recipient(recipient)
}

/// Records that an address wants no more rating requests, and cancels the surveys still
/// waiting for its rating, so no reminder or queued invitation reaches it. A second time
/// changes nothing.
pub async fn unsubscribe(
    flow: &Flow,
    tenant: &TenantId,
    channel: &ChannelId,
    address: &RecipientId,
    now: Timestamp,
) -> Result<(), StoreError> {
    let address = canonical_recipient(ChannelKind::Email, address.clone());
    let record = Unsubscribed { at: now, channel: channel.clone() };
    match store::write(&*flow.store, tenant, address.as_str(), None, &record).await {
        Ok(_) | Err(StoreError::RecordConflict { .. }) => {}
        Err(error) => return Err(error),
    }
    for (_, email) in store::read_all::<ChannelRecord>(&*flow.store, tenant).await? {
        if !email.value.kind.definition().honours_unsubscribes {
            continue;
        }
        let Some(survey) = flow.store.latest_for_recipient(tenant, &email.value.id, &address).await? else {
            continue;
        };
        if matches!(survey.state, SurveyState::Pending { .. }) {
            cancel(flow, tenant, &survey.id, now).await;
        }
    }
    Ok(())
}

/// Whether an address asked for no more rating requests.
pub async fn is_unsubscribed(flow: &Flow, tenant: &TenantId, address: &RecipientId) -> Result<bool, StoreError> {
    let address = canonical_recipient(ChannelKind::Email, address.clone());
    Ok(flow.store.get_record(tenant, Unsubscribed::KIND, address.as_str()).await?.is_some())
}

/// Every unsubscribed address of a tenant, by address.
pub async fn unsubscribed(flow: &Flow, tenant: &TenantId) -> Result<Vec<(String, Unsubscribed)>, StoreError> {
    let records = store::read_all::<Unsubscribed>(&*flow.store, tenant).await?;
    Ok(records.into_iter().map(|(address, record)| (address, record.value)).collect())
}

/// Takes an unsubscribe back: the address may be invited again. False if it wasn't unsubscribed.
pub async fn resubscribe(flow: &Flow, tenant: &TenantId, address: &RecipientId) -> Result<bool, StoreError> {
    let address = canonical_recipient(ChannelKind::Email, address.clone());
    store::delete::<Unsubscribed>(&*flow.store, tenant, address.as_str()).await
}

pub(super) async fn cancel(flow: &Flow, tenant: &TenantId, survey: &SurveyId, now: Timestamp) {
    match surveys::apply(flow, tenant, survey, Event::Cancel, now).await {
        // Answered or ended meanwhile: nothing to cancel.
        Ok(_) | Err(ApplyError::Refused(_)) => {}
        Err(error) => tracing::warn!(%survey, %error, "could not cancel the survey of an unsubscribed address"),
    }
}
