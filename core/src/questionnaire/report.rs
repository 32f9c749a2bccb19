//! What pre-chats came to, from the store's tallies ([`crate::store::Tallies`]): how many
//! started, completed, ended or were abandoned, and question by question how many reached it,
//! answered or skipped it, stopped at it (the drop-off) and how many replies it could not read.
//!
//! Each pre-chat adds [`STARTED`] when it starts and [`finished`] when it finishes, both to the
//! day it started, so a report over whole days counts each pre-chat once. A question answered
//! from the contact's fields was not asked, and counts nowhere.

use std::collections::BTreeMap;

use serde::Serialize;

use super::run::{EndCause, Outcome, Run, RunStatus};

/// What a pre-chat adds when it starts.
pub const STARTED: &str = "started";

/// What pre-chats over a range came to.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PrechatReport {
    pub started: i64,
    pub completed: i64,
    /// Ended before the end: a consent refused, or a required question never answered.
    pub ended: i64,
    /// Given up for want of an answer.
    pub abandoned: i64,
    /// Completed, of those that finished; `null` when none did.
    pub completion_rate: Option<f64>,
    /// Each question asked, the most reached first.
    pub questions: Vec<QuestionReport>,
}

/// What one question came to.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct QuestionReport {
    pub question: String,
    /// Pre-chats that asked it (and finished).
    pub reached: i64,
    pub answered: i64,
    /// Declined, or given up after its attempts.
    pub skipped: i64,
    /// Pre-chats that ended or were abandoned at it.
    pub stopped: i64,
    /// Replies it could not read (each asked again).
    pub invalid_replies: i64,
    /// Stopped, of those that reached it; `null` when none did.
    pub drop_off_rate: Option<f64>,
}

fn of_question(question: &str, what: &str) -> String {
    format!("q/{question}/{what}")
}

/// What a finished pre-chat adds to the tallies of the day it started.
pub fn finished(run: &Run) -> Vec<(String, i64)> {
    let mut add = Vec::new();
    let (status, stopped, invalid_at_stop) = match &run.status {
        RunStatus::Completed { .. } => ("completed", None, 0),
        RunStatus::Ended { cause: EndCause::ConsentRefused(question) | EndCause::AttemptsRanOut(question), .. } => {
            ("ended", Some(question), 0)
        }
        RunStatus::Abandoned { question, invalid_replies, .. } => ("abandoned", Some(question), *invalid_replies),
        RunStatus::Asking { .. } => return add,
    };
    add.push((status.to_owned(), 1));
    for outcome in &run.outcomes {
        let asked = match &outcome.outcome {
            Outcome::Answered { known: true, .. } => continue,
            Outcome::Answered { .. } => "answered",
            Outcome::Skipped { .. } => "skipped",
        };
        let question = outcome.question.as_str();
        add.push((of_question(question, "reached"), 1));
        add.push((of_question(question, asked), 1));
        if outcome.invalid_replies > 0 {
            add.push((of_question(question, "invalid"), outcome.invalid_replies.into()));
        }
    }
    if let Some(question) = stopped {
        add.push((of_question(question.as_str(), "stopped"), 1));
        // An abandoned question has no outcome: it is counted as reached here.
        if matches!(run.status, RunStatus::Abandoned { .. }) {
            add.push((of_question(question.as_str(), "reached"), 1));
            if invalid_at_stop > 0 {
                add.push((of_question(question.as_str(), "invalid"), invalid_at_stop.into()));
            }
        }
    }
    add
}

impl PrechatReport {
    pub fn from_tallies(tallies: &BTreeMap<String, i64>) -> PrechatReport {
        let count = |name: &str| tallies.get(name).copied().unwrap_or(0);
        let mut questions: BTreeMap<&str, QuestionReport> = BTreeMap::new();
        for (name, value) in tallies {
            let Some((question, what)) = name.strip_prefix("q/").and_then(|rest| rest.rsplit_once('/')) else {
                continue;
            };
            let report = questions.entry(question).or_insert_with(|| QuestionReport {
                question: question.to_owned(),
                reached: 0,
                answered: 0,
                skipped: 0,
                stopped: 0,
                invalid_replies: 0,
                drop_off_rate: None,
            });
            match what {
                "reached" => report.reached += value,
                "answered" => report.answered += value,
                "skipped" => report.skipped += value,
                "stopped" => report.stopped += value,
                "invalid" => report.invalid_replies += value,
                _ => {}
            }
        }
        let mut questions: Vec<QuestionReport> = questions.into_values().collect();
        for question in &mut questions {
            question.drop_off_rate = rate(question.stopped, question.reached);
        }
        questions.sort_by(|a, b| b.reached.cmp(&a.reached).then_with(|| a.question.cmp(&b.question)));
        let (completed, ended, abandoned) = (count("completed"), count("ended"), count("abandoned"));
        PrechatReport {
            started: count(STARTED),
            completed,
            ended,
            abandoned,
            completion_rate: rate(completed, completed + ended + abandoned),
            questions,
        }
    }
}

fn rate(part: i64, whole: i64) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}
