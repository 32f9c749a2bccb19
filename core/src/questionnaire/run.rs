//! One person's way through a questionnaire, as a pure state machine:
//! `(run, event, now) → (run, effects)`.
//!
//! ```text
//! start ──▶ Asking(q, attempt 1) ──answer──▶ Asking(next) … ──last answer──▶ Completed
//!              │  └──unreadable──▶ Asking(q, attempt + 1) ──attempts run out──▶ skipped, or Ended
//!              ├──consent refused──▶ Ended
//!              └──abandon (the caller's timeout)──▶ Abandoned
//! ```
//!
//! The question asked is always the first, in order, whose condition holds of the answers so far
//! and that has no outcome yet: so a changed answer that makes a question apply (a rating
//! changed to a low one now wants a reason) asks it next, and answers to questions that no
//! longer apply are dropped. Every message of the person gets exactly one thing said back: the
//! next question, the same one again with what was wrong, or the closing text.

use std::collections::BTreeMap;

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::answer::{AnswerValue, Invalid, Read, read_answer, read_tap};
use super::{Expected, Question, QuestionId, QuestionKind, Questionnaire, WhenAttemptsRunOut};
use crate::locale::Locale;
use crate::reply::Labels;

/// Why a question has no answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SkipCause {
    /// The person declined an optional question.
    Declined,
    /// None of the person's replies could be read before the attempts ran out.
    AttemptsRanOut,
}

/// What became of one question.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    Answered {
        answer: AnswerValue,
        /// Known before the questionnaire started (a contact's field), so not asked.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        known: bool,
    },
    Skipped {
        cause: SkipCause,
    },
}

/// A question's outcome, with when it came and the replies that could not be read before it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct QuestionOutcome {
    pub question: QuestionId,
    #[serde(flatten)]
    pub outcome: Outcome,
    pub at: Timestamp,
    /// Replies that failed the question's check before this outcome.
    pub invalid_replies: u8,
}

/// Why a questionnaire ended before its last question.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "cause", content = "question", rename_all = "snake_case")]
pub enum EndCause {
    ConsentRefused(QuestionId),
    AttemptsRanOut(QuestionId),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum RunStatus {
    Asking {
        question: QuestionId,
        /// Which time it is being asked: 1 the first.
        attempt: u8,
    },
    Completed {
        at: Timestamp,
        /// Changeable answers may be changed until then.
        changes_until: Timestamp,
    },
    Ended {
        at: Timestamp,
        #[serde(flatten)]
        cause: EndCause,
    },
    /// The person stopped answering: the caller's timeout.
    Abandoned {
        at: Timestamp,
        question: QuestionId,
        /// Replies the question could not read before they stopped.
        #[serde(default)]
        invalid_replies: u8,
    },
}

/// One person's run through a questionnaire.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Run {
    /// What became of each question that had its turn, in the order they did.
    pub outcomes: Vec<QuestionOutcome>,
    pub status: RunStatus,
    pub started_at: Timestamp,
    /// Bumped by every change, so a store can refuse a write based on a stale read.
    pub revision: u64,
}

/// Something that happens to a run.
#[derive(Debug, Clone, Copy)]
pub enum RunEvent<'a> {
    /// A typed reply, read in `locale`; `labels` are the level labels of a scored question.
    Reply { text: &'a str, locale: Locale, labels: &'a Labels },
    /// A tap on an option of `question` (the one asked, or a changeable one answered before).
    Tap { question: &'a QuestionId, option: &'a str },
    /// The person stopped answering (the caller's timeout).
    Abandon,
}

/// What the person is told after one message: always exactly one of these.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Say {
    /// Ask `question`, with what was wrong with the last reply when it is asked again.
    Ask { question: QuestionId, again: Option<Invalid> },
    /// The closing text: the questionnaire is done.
    Close,
    /// Why the questionnaire ends here.
    End(EndCause),
}

/// What the caller must do after a transition, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    Say(Say),
    /// An answer given before was changed.
    Changed(QuestionId),
    /// The run finished (completed, ended or abandoned): the business is told.
    Finished,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub run: Run,
    pub effects: Vec<Effect>,
}

impl Step {
    /// The one thing the person is told, if anything.
    pub fn said(&self) -> Option<&Say> {
        self.effects.iter().find_map(|effect| match effect {
            Effect::Say(say) => Some(say),
            _ => None,
        })
    }
}

/// Why an event does not apply to a run.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RunRefusal {
    /// The run is over: what the person writes now is not an answer (pass it on).
    #[error("the questionnaire is over")]
    Finished,
    #[error("{0} is not a question of this questionnaire")]
    UnknownQuestion(QuestionId),
    #[error("{option:?} is not an option of {question}")]
    UnknownOption { question: QuestionId, option: String },
    #[error("the answer to {0} can't be changed")]
    NotChangeable(QuestionId),
    #[error("{0} has not been asked")]
    NotAsked(QuestionId),
    #[error("the time for changes has passed")]
    ChangesClosed,
}

impl Run {
    /// Starts a run: what the person is already known to have given (a contact's fields, by
    /// question id) is taken as answered, and the first question that is left is asked. A
    /// questionnaire with nothing left to ask completes at once.
    pub fn start(questionnaire: &Questionnaire, known: &BTreeMap<QuestionId, AnswerValue>, now: Timestamp) -> Step {
        let mut outcomes: Vec<QuestionOutcome> = Vec::new();
        for question in &questionnaire.questions {
            if let Some(answer) = known.get(&question.id)
                && applies_to(question, &outcomes, questionnaire)
                && fits(&question.kind, answer)
            {
                outcomes.push(QuestionOutcome {
                    question: question.id.clone(),
                    outcome: Outcome::Answered { answer: answer.clone(), known: true },
                    at: now,
                    invalid_replies: 0,
                });
            }
        }
        let mut effects = Vec::new();
        let status = next_status(questionnaire, &outcomes, false, now, &mut effects);
        let run = Run { outcomes, status, started_at: now, revision: 0 };
        Step { run, effects }
    }

    /// Applies `event` at `now`.
    pub fn step(&self, questionnaire: &Questionnaire, event: RunEvent<'_>, now: Timestamp) -> Result<Step, RunRefusal> {
        let mut run = self.clone();
        run.revision += 1;
        let mut effects = Vec::new();
        match event {
            RunEvent::Reply { text, locale, labels } => {
                let (question, attempt) = run.asking().ok_or(RunRefusal::Finished)?;
                let asked = question_of(questionnaire, &question)?;
                match read_answer(asked, text, locale, labels) {
                    Ok(Read::Answer(answer)) => run.take(questionnaire, asked, answer, attempt, now, &mut effects),
                    Ok(Read::Declined) => {
                        run.record(asked, Outcome::Skipped { cause: SkipCause::Declined }, attempt, now);
                        run.advance(questionnaire, now, &mut effects);
                    }
                    Err(invalid) => run.refuse(questionnaire, asked, invalid, attempt, now, &mut effects),
                }
            }
            RunEvent::Tap { question, option } => {
                let tapped = question_of(questionnaire, question)?;
                let answer = read_tap(tapped, option)
                    .ok_or_else(|| RunRefusal::UnknownOption { question: question.clone(), option: option.into() })?;
                match run.asking() {
                    Some((asked, attempt)) if &asked == question => {
                        run.take(questionnaire, tapped, answer, attempt, now, &mut effects);
                    }
                    _ => run.change(questionnaire, tapped, answer, now, &mut effects)?,
                }
            }
            RunEvent::Abandon => {
                let (question, attempt) = run.asking().ok_or(RunRefusal::Finished)?;
                run.status = RunStatus::Abandoned { at: now, question, invalid_replies: attempt.saturating_sub(1) };
                effects.push(Effect::Finished);
            }
        }
        Ok(Step { run, effects })
    }

    /// The question being asked and which time, while the run is under way.
    pub fn asking(&self) -> Option<(QuestionId, u8)> {
        match &self.status {
            RunStatus::Asking { question, attempt } => Some((question.clone(), *attempt)),
            _ => None,
        }
    }

    /// The answer given to `question`, if any.
    pub fn answer(&self, question: &QuestionId) -> Option<&AnswerValue> {
        answer_in(&self.outcomes, question)
    }

    /// Whether the run is over.
    pub fn is_finished(&self) -> bool {
        self.asking().is_none()
    }

    /// A readable answer to the question asked: recorded, and the next asked — unless it is a
    /// refused consent, which ends the questionnaire.
    fn take(
        &mut self,
        questionnaire: &Questionnaire,
        asked: &Question,
        answer: AnswerValue,
        attempt: u8,
        now: Timestamp,
        effects: &mut Vec<Effect>,
    ) {
        let refused_consent = matches!(asked.kind, QuestionKind::Consent { .. }) && answer == AnswerValue::YesNo(false);
        self.record(asked, Outcome::Answered { answer, known: false }, attempt, now);
        if refused_consent {
            self.end(EndCause::ConsentRefused(asked.id.clone()), now, effects);
        } else {
            self.advance(questionnaire, now, effects);
        }
    }

    /// A reply that is not an answer: asked again while attempts remain; then skipped, or the
    /// end, as the questionnaire says (a consent never goes unanswered: it ends).
    fn refuse(
        &mut self,
        questionnaire: &Questionnaire,
        asked: &Question,
        invalid: Invalid,
        attempt: u8,
        now: Timestamp,
        effects: &mut Vec<Effect>,
    ) {
        if attempt < questionnaire.max_attempts {
            self.status = RunStatus::Asking { question: asked.id.clone(), attempt: attempt + 1 };
            effects.push(Effect::Say(Say::Ask { question: asked.id.clone(), again: Some(invalid) }));
            return;
        }
        let ends = matches!(asked.kind, QuestionKind::Consent { .. })
            || (asked.required && questionnaire.when_attempts_run_out == WhenAttemptsRunOut::End);
        self.record(asked, Outcome::Skipped { cause: SkipCause::AttemptsRanOut }, attempt, now);
        if ends {
            self.end(EndCause::AttemptsRanOut(asked.id.clone()), now, effects);
        } else {
            self.advance(questionnaire, now, effects);
        }
    }

    /// A changeable question answered before, answered anew while changes are taken.
    fn change(
        &mut self,
        questionnaire: &Questionnaire,
        tapped: &Question,
        answer: AnswerValue,
        now: Timestamp,
        effects: &mut Vec<Effect>,
    ) -> Result<(), RunRefusal> {
        match &self.status {
            RunStatus::Asking { .. } => {}
            RunStatus::Completed { changes_until, .. } if now <= *changes_until => {}
            RunStatus::Completed { .. } => return Err(RunRefusal::ChangesClosed),
            RunStatus::Ended { .. } | RunStatus::Abandoned { .. } => return Err(RunRefusal::Finished),
        }
        let Some(previous) = self.outcomes.iter_mut().find(|o| o.question == tapped.id) else {
            return Err(RunRefusal::NotAsked(tapped.id.clone()));
        };
        if !tapped.changeable {
            return Err(RunRefusal::NotChangeable(tapped.id.clone()));
        }
        previous.outcome = Outcome::Answered { answer, known: false };
        previous.at = now;
        effects.push(Effect::Changed(tapped.id.clone()));
        match self.asking() {
            // The question under way stays asked unless the change made it not apply.
            Some((asked, attempt)) => {
                self.drop_what_no_longer_applies(questionnaire);
                let next = next_question(questionnaire, &self.outcomes);
                match next {
                    Some(next) if next.id == asked => {
                        effects.push(Effect::Say(Say::Ask { question: asked.clone(), again: None }));
                        self.status = RunStatus::Asking { question: asked, attempt };
                    }
                    _ => self.advance(questionnaire, now, effects),
                }
            }
            None => self.advance(questionnaire, now, effects),
        }
        Ok(())
    }

    fn record(&mut self, asked: &Question, outcome: Outcome, attempt: u8, now: Timestamp) {
        self.outcomes.retain(|o| o.question != asked.id);
        self.outcomes.push(QuestionOutcome {
            question: asked.id.clone(),
            outcome,
            at: now,
            invalid_replies: attempt.saturating_sub(1),
        });
    }

    fn end(&mut self, cause: EndCause, now: Timestamp, effects: &mut Vec<Effect>) {
        effects.push(Effect::Say(Say::End(cause.clone())));
        effects.push(Effect::Finished);
        self.status = RunStatus::Ended { at: now, cause };
    }

    /// Drops the outcomes of questions whose condition no longer holds (after a changed answer).
    fn drop_what_no_longer_applies(&mut self, questionnaire: &Questionnaire) {
        let outcomes = self.outcomes.clone();
        self.outcomes.retain(|o| applies_to(questionnaire.question(&o.question), &outcomes, questionnaire));
    }

    /// Drops the outcomes of questions that no longer apply, then asks the first question left,
    /// or completes the run.
    fn advance(&mut self, questionnaire: &Questionnaire, now: Timestamp, effects: &mut Vec<Effect>) {
        self.drop_what_no_longer_applies(questionnaire);
        let was_completed = matches!(self.status, RunStatus::Completed { .. });
        self.status = next_status(questionnaire, &self.outcomes, was_completed, now, effects);
    }
}

/// Asks the first question left, or completes the run (which the business hears of once).
fn next_status(
    questionnaire: &Questionnaire,
    outcomes: &[QuestionOutcome],
    was_completed: bool,
    now: Timestamp,
    effects: &mut Vec<Effect>,
) -> RunStatus {
    match next_question(questionnaire, outcomes) {
        Some(next) => {
            effects.push(Effect::Say(Say::Ask { question: next.id.clone(), again: None }));
            RunStatus::Asking { question: next.id.clone(), attempt: 1 }
        }
        None => {
            effects.push(Effect::Say(Say::Close));
            if !was_completed {
                effects.push(Effect::Finished);
            }
            let changes_until = now + SignedDuration::from_hours(questionnaire.change_window_hours.into());
            RunStatus::Completed { at: now, changes_until }
        }
    }
}

fn question_of<'q>(questionnaire: &'q Questionnaire, id: &QuestionId) -> Result<&'q Question, RunRefusal> {
    questionnaire.question(id).ok_or_else(|| RunRefusal::UnknownQuestion(id.clone()))
}

/// The first question, in order, that applies and has no outcome.
pub fn next_question<'q>(questionnaire: &'q Questionnaire, outcomes: &[QuestionOutcome]) -> Option<&'q Question> {
    questionnaire
        .questions
        .iter()
        .find(|q| !outcomes.iter().any(|o| o.question == q.id) && applies_to(*q, outcomes, questionnaire))
}

/// Whether `question` is asked given `outcomes`: its condition holds, and the question its
/// condition names applies too.
pub(super) fn applies_to<'q>(
    question: impl Into<Option<&'q Question>>,
    outcomes: &[QuestionOutcome],
    questionnaire: &Questionnaire,
) -> bool {
    let Some(question) = question.into() else { return false };
    let Some(condition) = &question.when else { return true };
    let Some(target) = questionnaire.question(&condition.question) else { return false };
    let answer = answer_in(outcomes, &condition.question).filter(|_| applies_to(target, outcomes, questionnaire));
    holds(&condition.is, target, answer)
}

fn answer_in<'a>(outcomes: &'a [QuestionOutcome], question: &QuestionId) -> Option<&'a AnswerValue> {
    outcomes.iter().find(|o| &o.question == question).and_then(|o| match &o.outcome {
        Outcome::Answered { answer, .. } => Some(answer),
        Outcome::Skipped { .. } => None,
    })
}

fn holds(expected: &Expected, target: &Question, answer: Option<&AnswerValue>) -> bool {
    let score = answer.and_then(AnswerValue::score);
    let scale = target.kind.scale();
    match expected {
        Expected::Yes => answer == Some(&AnswerValue::YesNo(true)),
        Expected::No => answer == Some(&AnswerValue::YesNo(false)),
        Expected::Negative => score.zip(scale).is_some_and(|(score, scale)| scale.is_negative(score)),
        Expected::Positive => score.zip(scale).is_some_and(|(score, scale)| scale.is_positive(score)),
        Expected::ScoreAtMost(most) => score.is_some_and(|score| score.value() <= *most),
        Expected::ScoreAtLeast(least) => score.is_some_and(|score| score.value() >= *least),
        Expected::AnyOf(ids) => match answer {
            Some(AnswerValue::Choice(chosen)) => ids.contains(chosen),
            Some(AnswerValue::Choices(chosen)) => chosen.iter().any(|c| ids.contains(c)),
            _ => false,
        },
        Expected::Answered => answer.is_some(),
        Expected::Skipped => answer.is_none(),
    }
}

/// Whether a known value can answer a question of `kind`.
fn fits(kind: &QuestionKind, answer: &AnswerValue) -> bool {
    match (kind, answer) {
        (QuestionKind::Rating { .. } | QuestionKind::Ces, AnswerValue::Score(score)) => {
            kind.scale().is_some_and(|scale| scale.contains(score.value().into()))
        }
        (QuestionKind::YesNo | QuestionKind::Consent { .. }, AnswerValue::YesNo(yes)) => {
            *yes || matches!(kind, QuestionKind::YesNo)
        }
        (QuestionKind::SingleChoice { options }, AnswerValue::Choice(id)) => options.iter().any(|o| &o.id == id),
        (QuestionKind::MultipleChoice { options }, AnswerValue::Choices(ids)) => {
            !ids.is_empty() && ids.iter().all(|id| options.iter().any(|o| &o.id == id))
        }
        (
            QuestionKind::FreeText { .. }
            | QuestionKind::Name
            | QuestionKind::Email
            | QuestionKind::Phone { .. }
            | QuestionKind::Identifier { .. },
            AnswerValue::Text(text),
        ) => !text.trim().is_empty(),
        (QuestionKind::Date, AnswerValue::Date(_)) => true,
        _ => false,
    }
}
