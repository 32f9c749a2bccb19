//! Pre-chats on messaging channels: when an end user opens a conversation on a channel whose
//! configuration has a `prechat`, its questions are asked one at a time, each answer read and
//! checked by the core's questionnaire ([`ratewire_core::questionnaire`]), what is wrong asked
//! again in the end user's language, and what was gathered kept as the contact's fields and
//! told to the business (`prechat.completed`, `prechat.ended`, `prechat.abandoned`).
//!
//! One record a channel and end user ([`PrechatRecord`]) holds the run, written with the
//! revision it was read at, so two gateways taking two messages at once never both apply theirs
//! to the same state; its messages go through the outbox, in order, and a check that it went
//! unanswered too long is queued there as well.

use jiff::{SignedDuration, Timestamp};
use ratewire_adapters::ChoicePayload;
use ratewire_core::questionnaire::{
    AnswerValue, Effect, Outcome, PrechatConfig, Question, QuestionKind, Questionnaire, Run, RunEvent, RunRefusal,
    RunStatus, Say, SkipCause, Step, report,
};
use ratewire_core::reply::Labels;
use ratewire_core::store::{self, OutboxItem, Prompt, StoreError, Task};
use ratewire_core::{Catalog, ChannelId, ConversationId, Locale, Message, Notice, QuestionId, RecipientId, TenantId};

use super::outbox::Attempt;
use super::records::{ChannelInUse, PrechatRecord, Written};
use super::{Flow, FlowError, contacts, events};

/// How many of the platform's message ids a pre-chat remembers to drop redeliveries: more than
/// a platform redelivers out of order.
const REMEMBERED: usize = 16;
/// How often a lost race on the record is retried.
const ATTEMPTS: usize = 8;

/// The record's id.
pub fn record_id(channel: &ChannelId, recipient: &RecipientId) -> String {
    format!("{channel}/{recipient}")
}

/// What an end user sent that may answer their pre-chat.
pub enum Answer<'a> {
    Typed(&'a str),
    /// A tap on a choice: the question's place and the option.
    Tap {
        question: u8,
        option: &'a str,
    },
}

/// Whether the channel asks pre-chats: a messaging channel whose configuration has one.
pub async fn configured(in_use: &ChannelInUse) -> Result<Option<PrechatConfig>, FlowError> {
    if !in_use.record().await?.kind.definition().chats {
        return Ok(None);
    }
    Ok(in_use.config().await?.config.prechat.clone())
}

/// A conversation the end user opened on a channel that asks pre-chats: their pre-chat starts,
/// unless one is under way. What their contact already holds is not asked again.
pub async fn start(
    flow: &Flow,
    in_use: &ChannelInUse,
    recipient: &RecipientId,
    conversation: &ConversationId,
    languages: &[String],
    now: Timestamp,
) -> Result<(), FlowError> {
    let Some(prechat) = configured(in_use).await? else { return Ok(()) };
    let (tenant, channel) = (in_use.tenant(), in_use.id());
    let id = record_id(channel, recipient);
    let stored = store::read::<PrechatRecord>(&*flow.store, tenant, &id).await?;
    // One under way goes on, and a conversation reported again starts none.
    if stored.as_ref().is_some_and(|s| !s.value.run.is_finished() || s.value.conversation == *conversation) {
        return Ok(());
    }
    let contact = contacts::contact(flow, tenant, channel, recipient).await?.unwrap_or_default();
    let default_locale = in_use.config().await?.config.default_locale;
    let locale =
        Locale::negotiate(languages.iter().chain(contact.language.as_ref()).map(String::as_str), default_locale);
    let mut step = Run::start(&prechat.questionnaire, &contact.fields, now);
    if step.run.is_finished() {
        // Everything was known: nothing to ask, and nothing to thank them for.
        step.effects.retain(|effect| !matches!(effect, Effect::Say(_)));
    }
    let record = PrechatRecord {
        conversation: conversation.clone(),
        locale,
        abandon_at: now + abandon_after(&prechat),
        prechat,
        run: step.run.clone(),
        messages: Vec::new(),
        taken: Vec::new(),
    };
    let greeting = contact.fields.get(&QuestionId::new("name").expect("a question id")).and_then(|name| match name {
        AnswerValue::Text(name) => Some(flow.catalog.prechat_greeting(locale, name)),
        _ => None,
    });
    // Queued before the pre-chat is written: a store that fails in between leaves a question
    // sent for a pre-chat that isn't there (the helpdesk's retry asks it again), never a pre-chat
    // under way whose question was never sent, which would take the end user's messages.
    let items = items_of(flow, in_use, recipient, &record, &step, greeting, now).await?;
    enqueue(flow, items.clone()).await?;
    match store::write(&*flow.store, tenant, &id, stored.map(|s| s.revision), &record).await {
        Ok(_) => {}
        // Another gateway started it at the same moment: theirs stands, and asks.
        Err(StoreError::RecordConflict { .. }) => {
            for item in &items {
                flow.store.complete(item).await?;
            }
            return Ok(());
        }
        Err(error) => return Err(error.into()),
    }
    tracing::info!(%tenant, %channel, %conversation, "pre-chat started");
    tally(flow, tenant, &record.run, &[(report::STARTED.to_owned(), 1)]).await;
    finish_step(flow, tenant, channel, recipient, &record, &step, Vec::new(), Counted::NotYet, now).await
}

/// An end user's message or tap, taken by their pre-chat if one is asking them something:
/// whether it was (else it is the surveys' to read). `platform_id` names the message, so a
/// redelivery gets the same answer again rather than being read twice. A message written
/// before the pre-chat started (the one that opened the conversation, arriving after the
/// helpdesk reported it) is the conversation's, not an answer.
pub async fn take(
    flow: &Flow,
    in_use: &ChannelInUse,
    from: &RecipientId,
    answer: Answer<'_>,
    (platform_id, written_at): (&str, Timestamp),
    now: Timestamp,
) -> Result<bool, FlowError> {
    let (tenant, channel) = (in_use.tenant(), in_use.id());
    let id = record_id(channel, from);
    for _ in 0..ATTEMPTS {
        let Some(stored) = store::read::<PrechatRecord>(&*flow.store, tenant, &id).await? else { return Ok(false) };
        let mut record = stored.value;
        if record.taken.last().is_some_and(|taken| taken == platform_id) {
            // The last message taken, delivered again: what it called for was perhaps not all
            // done (a platform delivers again only when the handling failed), so it is done
            // again, under the same ids.
            let mut effects: Vec<Effect> = said_last(&record.run).map(Effect::Say).into_iter().collect();
            if record.run.is_finished() {
                effects.push(Effect::Finished);
            }
            let step = Step { run: record.run.clone(), effects };
            let items = items_of(flow, in_use, from, &record, &step, None, now).await?;
            finish_step(flow, tenant, channel, from, &record, &step, items, Counted::Already, now).await?;
            return Ok(true);
        }
        // An earlier message, its answer long given: nothing more to do.
        if record.taken.iter().any(|taken| taken == platform_id) {
            return Ok(true);
        }
        // Platforms give the time to the second: a message of the second the pre-chat started
        // in is taken as written before it (no one answers a question within a second of it).
        if record.run.is_finished() || written_at < record.run.started_at {
            return Ok(false);
        }
        let asked = record.run.asking().map(|(question, _)| question);
        let questionnaire = &record.prechat.questionnaire;
        let labels = Labels::default();
        let (event, typed) = match answer {
            Answer::Typed(text) => (RunEvent::Reply { text, locale: record.locale, labels: &labels }, Some(text)),
            Answer::Tap { question, option } => {
                let Some(tapped) = questionnaire.questions.get(usize::from(question)) else { return Ok(true) };
                (RunEvent::Tap { question: &tapped.id, option }, None)
            }
        };
        let step = match record.run.step(questionnaire, event, now) {
            Ok(step) => step,
            Err(RunRefusal::Finished) => return Ok(false),
            // A tap on an old question's button: nothing to do.
            Err(refusal) => {
                tracing::info!(%tenant, %channel, %refusal, "a pre-chat tap not taken");
                return Ok(true);
            }
        };
        // Not an answer (asked again, or the attempts ran out on it): the conversation's, passed
        // on with the pre-chat's event.
        let asked_again = matches!(step.said(), Some(Say::Ask { again: Some(_), .. }));
        let gave_up = step.run.outcomes.iter().any(|o| {
            Some(&o.question) == asked.as_ref() && o.outcome == (Outcome::Skipped { cause: SkipCause::AttemptsRanOut })
        });
        if let Some(text) = typed.filter(|_| asked_again || gave_up) {
            record.messages.push(Written { text: text.to_owned(), at: now });
        }
        record.run = step.run.clone();
        record.abandon_at = now + abandon_after(&record.prechat);
        record.taken.push(platform_id.to_owned());
        if record.taken.len() > REMEMBERED {
            record.taken.remove(0);
        }
        let items = items_of(flow, in_use, from, &record, &step, None, now).await?;
        match store::write(&*flow.store, tenant, &id, Some(stored.revision), &record).await {
            Ok(_) => {}
            Err(StoreError::RecordConflict { .. }) => continue,
            Err(error) => return Err(error.into()),
        }
        finish_step(flow, tenant, channel, from, &record, &step, items, Counted::NotYet, now).await?;
        return Ok(true);
    }
    Err(FlowError::InProgress)
}

/// The outbox's check on a pre-chat that may have waited too long for an answer: given up when
/// it did (`prechat.abandoned`), checked again when an answer came meanwhile.
pub async fn check_abandoned(
    flow: &Flow,
    tenant: &TenantId,
    channel: &ChannelId,
    recipient: &RecipientId,
    started_at: Timestamp,
    now: Timestamp,
) -> Result<Attempt, StoreError> {
    abandon(flow, tenant, (channel, recipient), Abandoning::WhenDue(started_at), now).await
}

/// The helpdesk closed a conversation: a pre-chat that its opening started and that is still
/// asking is given up (`prechat.abandoned`), so what the end user writes next — a rating, a
/// comment — is not taken for an answer to it.
pub async fn conversation_closed(
    flow: &Flow,
    tenant: &TenantId,
    (channel, recipient): (&ChannelId, &RecipientId),
    conversation: &ConversationId,
    now: Timestamp,
) -> Result<(), StoreError> {
    match abandon(flow, tenant, (channel, recipient), Abandoning::Closed(conversation), now).await? {
        Attempt::Retry { reason, .. } => Err(StoreError::Unavailable(reason)),
        _ => Ok(()),
    }
}

/// Why a pre-chat is being given up.
enum Abandoning<'a> {
    /// Its abandonment check fell due: if it is the pre-chat that started then, and no answer
    /// came since.
    WhenDue(Timestamp),
    /// Its conversation closed.
    Closed(&'a ConversationId),
}

async fn abandon(
    flow: &Flow,
    tenant: &TenantId,
    (channel, recipient): (&ChannelId, &RecipientId),
    why: Abandoning<'_>,
    now: Timestamp,
) -> Result<Attempt, StoreError> {
    let id = record_id(channel, recipient);
    for _ in 0..ATTEMPTS {
        let Some(stored) = store::read::<PrechatRecord>(&*flow.store, tenant, &id).await? else {
            return Ok(Attempt::Done);
        };
        let mut record = stored.value;
        let due = match why {
            Abandoning::WhenDue(started_at) if record.run.started_at != started_at => return Ok(Attempt::Done),
            Abandoning::WhenDue(_) => record.abandon_at,
            Abandoning::Closed(conversation) if record.conversation != *conversation => return Ok(Attempt::Done),
            Abandoning::Closed(_) => now,
        };
        let counted = match record.run.status {
            // Abandoned by an earlier attempt that failed before it was done: done again.
            RunStatus::Abandoned { .. } => Counted::Already,
            RunStatus::Completed { .. } | RunStatus::Ended { .. } => return Ok(Attempt::Done),
            RunStatus::Asking { .. } if now < due => return Ok(Attempt::Wait { at: due }),
            RunStatus::Asking { .. } => {
                let Ok(step) = record.run.step(&record.prechat.questionnaire, RunEvent::Abandon, now) else {
                    return Ok(Attempt::Done);
                };
                record.run = step.run;
                match store::write(&*flow.store, tenant, &id, Some(stored.revision), &record).await {
                    Ok(_) => {}
                    Err(StoreError::RecordConflict { .. }) => continue,
                    Err(error) => return Err(error),
                }
                tracing::info!(%tenant, %channel, "pre-chat abandoned");
                Counted::NotYet
            }
        };
        let endpoints = events::endpoints(flow, tenant).await?;
        let notice = Notice::PrechatAbandoned;
        let items = events::prechat_event_items(tenant, (channel, recipient), &record, notice, &endpoints, now)?;
        enqueue(flow, items).await?;
        contacts::note_fields(flow, tenant, channel, recipient, &record.run).await?;
        flow.store.complete(&due_item(tenant, channel, recipient, &record)).await?;
        if counted == Counted::NotYet {
            tally(flow, tenant, &record.run, &report::finished(&record.run)).await;
        }
        return Ok(Attempt::Done);
    }
    Ok(Attempt::Retry { reason: "the pre-chat kept changing".into(), not_before: None })
}

/// Adds to the tallies of the day the pre-chat started. A report is worth less than the
/// pre-chat itself: a store that fails here is logged, and the pre-chat goes on.
async fn tally(flow: &Flow, tenant: &TenantId, run: &Run, add: &[(String, i64)]) {
    let day = run.started_at.to_zoned(jiff::tz::TimeZone::UTC).date();
    if let Err(error) = flow.store.tally(tenant, day, add).await {
        tracing::warn!(%tenant, %error, "a pre-chat was not counted in the reports");
    }
}

fn abandon_after(prechat: &PrechatConfig) -> SignedDuration {
    SignedDuration::from_secs(prechat.abandon_after_secs.into())
}

/// What was last said of a run: the question it asks, or its end (nothing, when abandoned).
fn said_last(run: &Run) -> Option<Say> {
    match &run.status {
        RunStatus::Asking { question, .. } => Some(Say::Ask { question: question.clone(), again: None }),
        RunStatus::Ended { cause, .. } => Some(Say::End(cause.clone())),
        RunStatus::Completed { .. } => Some(Say::Close),
        RunStatus::Abandoned { .. } => None,
    }
}

/// What a step sends: its message, and while the run asks, the check that it is answered in
/// time (one a run: queuing it again changes nothing).
async fn items_of(
    flow: &Flow,
    in_use: &ChannelInUse,
    recipient: &RecipientId,
    record: &PrechatRecord,
    step: &Step,
    greeting: Option<String>,
    now: Timestamp,
) -> Result<Vec<OutboxItem>, FlowError> {
    let (tenant, channel) = (in_use.tenant(), in_use.id());
    // A channel whose adapter can't be built fails its sends, with the reason: typed answers here.
    let adapter = super::channels::adapter(flow, tenant, in_use.record().await?);
    let max_choices = adapter.map_or(0, |adapter| adapter.capabilities().max_choices);
    let started = record.run.started_at.as_nanosecond();
    let mut items = Vec::new();
    if let Some(say) = step.said() {
        let mut prompt = prompt(flow.catalog, &record.prechat.questionnaire, record.locale, say, max_choices);
        if let Some(greeting) = greeting {
            prompt.text = format!("{greeting} {}", prompt.text);
        }
        items.push(item(
            tenant,
            format!("prompt_{channel}_{recipient}_{started}_{:06}", record.run.revision),
            Task::Prompt { channel: channel.clone(), recipient: recipient.clone(), prompt },
            now,
        ));
    }
    if !record.run.is_finished() {
        items.push(due_item(tenant, channel, recipient, record));
    }
    Ok(items)
}

/// The check that a pre-chat is answered in time: one a pre-chat (queuing it again changes
/// nothing), due when it is to be given up.
fn due_item(tenant: &TenantId, channel: &ChannelId, recipient: &RecipientId, record: &PrechatRecord) -> OutboxItem {
    let started_at = record.run.started_at;
    item(
        tenant,
        format!("prechat_due_{channel}_{recipient}_{}", started_at.as_nanosecond()),
        Task::PrechatDue { channel: channel.clone(), recipient: recipient.clone(), started_at },
        record.abandon_at,
    )
}

fn item(tenant: &TenantId, id: String, task: Task, due: Timestamp) -> OutboxItem {
    OutboxItem { id, tenant: tenant.clone(), task, attempts: 0, due, last_error: None, attempt_started_at: None }
}

/// Whether the step that finished a pre-chat was counted in the tallies. Counted by that step
/// alone, after everything else it does: a step done again (its message delivered again after a
/// failure) doesn't count it twice, and a store that failed in between leaves it uncounted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Counted {
    NotYet,
    Already,
}

/// Queues a step's messages, and when it finished the run, its event, the contact's fields and
/// its tallies. Done again for a redelivered message: the queued items keep their ids.
#[allow(clippy::too_many_arguments)]
async fn finish_step(
    flow: &Flow,
    tenant: &TenantId,
    channel: &ChannelId,
    recipient: &RecipientId,
    record: &PrechatRecord,
    step: &Step,
    mut items: Vec<OutboxItem>,
    counted: Counted,
    now: Timestamp,
) -> Result<(), FlowError> {
    let finished = step.effects.contains(&Effect::Finished);
    if finished {
        let notice = match record.run.status {
            RunStatus::Completed { .. } => Notice::PrechatCompleted,
            RunStatus::Abandoned { .. } => Notice::PrechatAbandoned,
            RunStatus::Ended { .. } | RunStatus::Asking { .. } => Notice::PrechatEnded,
        };
        let endpoints = events::endpoints(flow, tenant).await?;
        items.extend(events::prechat_event_items(tenant, (channel, recipient), record, notice, &endpoints, now)?);
        tracing::info!(%tenant, %channel, ?notice, "pre-chat finished");
    }
    enqueue(flow, items).await?;
    if finished {
        contacts::note_fields(flow, tenant, channel, recipient, &record.run).await?;
        // Nothing left to check: the business's view of what is pending stays true.
        flow.store.complete(&due_item(tenant, channel, recipient, record)).await?;
        if counted == Counted::NotYet {
            tally(flow, tenant, &record.run, &report::finished(&record.run)).await;
        }
    }
    Ok(())
}

async fn enqueue(flow: &Flow, items: Vec<OutboxItem>) -> Result<(), StoreError> {
    flow.store.enqueue(&items).await?;
    flow.queued.add(flow, &items);
    Ok(())
}

/// What the end user is told, in the channel's form: a question with its choices where they fit
/// the channel (or numbered in the text where they don't), asked again with what was wrong, or
/// the closing text.
pub fn prompt(
    catalog: &Catalog,
    questionnaire: &Questionnaire,
    locale: Locale,
    say: &Say,
    max_choices: usize,
) -> Prompt {
    let (question, again) = match say {
        Say::Ask { question, again } => (question, *again),
        Say::Close => return Prompt { text: catalog.questionnaire_end(locale, None), locale, choices: Vec::new() },
        Say::End(cause) => {
            return Prompt { text: catalog.questionnaire_end(locale, Some(cause)), locale, choices: Vec::new() };
        }
    };
    let Some((place, asked)) = questionnaire.questions.iter().enumerate().find(|(_, q)| &q.id == question) else {
        return Prompt { text: String::new(), locale, choices: Vec::new() };
    };
    let mut text = match again {
        Some(invalid) => catalog.reask(locale, invalid, asked),
        None => questionnaire.prompt(asked, locale, catalog),
    };
    let choices = choices(catalog, questionnaire, locale, asked);
    let tappable = !choices.is_empty()
        && choices.len() <= max_choices
        && !matches!(asked.kind, QuestionKind::MultipleChoice { .. });
    match asked.kind.scale() {
        // A scale's levels are answered by the score itself, never by a place in a list.
        Some(scale) if !tappable && again.is_none() => {
            text = format!("{text}\n{}", catalog.text(locale, Message::AnswerHint, scale));
        }
        Some(_) => {}
        None if !tappable => {
            for (number, (_, title)) in choices.iter().enumerate() {
                text.push_str(&format!("\n{}. {title}", number + 1));
            }
        }
        None => {}
    }
    if !asked.required && !tappable && again.is_none() {
        text = format!("{text}\n{}", catalog.optional_hint(locale));
    }
    let place = u8::try_from(place).unwrap_or(u8::MAX);
    let choices = if tappable {
        choices
            .into_iter()
            .map(|(option, title)| (ChoicePayload::Answer { question: place, option }.encode(), title))
            .collect()
    } else {
        Vec::new()
    };
    Prompt { text, locale, choices }
}

/// A question's options as `(option, title)`: yes and no, the choices, or a scale's levels.
fn choices(
    catalog: &Catalog,
    questionnaire: &Questionnaire,
    locale: Locale,
    question: &Question,
) -> Vec<(String, String)> {
    match &question.kind {
        QuestionKind::YesNo | QuestionKind::Consent { .. } => {
            [("yes", true), ("no", false)].map(|(id, yes)| (id.to_owned(), catalog.yes_no_title(locale, yes))).to_vec()
        }
        QuestionKind::SingleChoice { options } | QuestionKind::MultipleChoice { options } => options
            .iter()
            .map(|option| (option.id.to_string(), questionnaire.option_label(option, locale).to_owned()))
            .collect(),
        QuestionKind::Rating { .. } | QuestionKind::Ces => question
            .kind
            .scale()
            .into_iter()
            .flat_map(|scale| {
                scale.scores().map(move |score| (score.to_string(), ratewire_adapters::level_title(scale, score)))
            })
            .collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use ratewire_core::questionnaire::Invalid;
    use serde_json::json;

    use super::*;

    fn questionnaire() -> Questionnaire {
        Questionnaire::from_json(json!({"questions": [
            {"id": "rating", "kind": "rating", "scale": "stars:5"},
            {"id": "topics", "kind": "multiple_choice", "text": {"en": "Which?"}, "options": [
                {"id": "a", "label": {"en": "Billing"}}, {"id": "b", "label": {"en": "Shipping"}}]},
            {"id": "note", "kind": "free_text", "required": false, "text": {"en": "Anything else?"}}
        ]}))
        .unwrap()
    }

    fn ask(question: &str, again: Option<Invalid>) -> Say {
        Say::Ask { question: QuestionId::new(question).unwrap(), again }
    }

    #[test]
    fn choices_are_tapped_where_they_fit_and_numbered_where_not() {
        let (catalog, questionnaire) = (Catalog::shipped(), questionnaire());
        let stars = prompt(catalog, &questionnaire, Locale::En, &ask("rating", None), 10);
        let titles: Vec<&str> = stars.choices.iter().map(|(_, title)| title.as_str()).collect();
        assert_eq!(titles, ["⭐", "⭐⭐", "⭐⭐⭐", "⭐⭐⭐⭐", "⭐⭐⭐⭐⭐"]);
        assert_eq!(stars.choices[3].0, "rw1:a:0:4");
        // Too many for the channel: numbered in the text, answered by typing.
        let typed = prompt(catalog, &questionnaire, Locale::En, &ask("rating", None), 3);
        assert!(typed.choices.is_empty());
        assert!(typed.text.ends_with("\nReply with a number from 1 to 5."), "{}", typed.text);
        // Several may be chosen: always typed, so numbered.
        let topics = prompt(catalog, &questionnaire, Locale::En, &ask("topics", None), 10);
        assert_eq!((topics.text.as_str(), topics.choices.len()), ("Which?\n1. Billing\n2. Shipping", 0));
        // An optional typed question says how to leave it out; asked again, it says what was wrong.
        let note = prompt(catalog, &questionnaire, Locale::Es, &ask("note", None), 10);
        // No text of its own in Spanish: the shipped one for a free text, the comment prompt.
        assert_eq!(
            note.text,
            "¿Quiere contarnos algo más? Solo responda con unas palabras.\nOpcional: envíe «saltar» para omitirla."
        );
        let again = prompt(catalog, &questionnaire, Locale::Es, &ask("topics", Some(Invalid::NotAnOption)), 10);
        assert!(again.text.starts_with("Elija una de las opciones o envíe su número.\n1. Billing"), "{}", again.text);
        let closing = prompt(catalog, &questionnaire, Locale::Ja, &Say::Close, 10);
        assert_eq!((closing.text.as_str(), closing.locale), ("ありがとうございました！", Locale::Ja));
    }
}
