//! Questionnaires: an ordered set of questions with rules, asked one at a time on a channel and
//! read however the person answers. A pre-chat form (name, email, order id, inquiry type,
//! consent) and a post-chat survey (rating, resolved?, effort, a comment) are both one.
//!
//! - [`Questionnaire`] is what a business configures: its questions, each of a [`QuestionKind`],
//!   required or optional, asked only when its [`Condition`] on earlier answers holds.
//! - [`answer`] reads a typed reply or a tap as the answer to one question, or says why it can't
//!   ([`Invalid`]), which the end user is told in their language before being asked again.
//! - [`run`] is the pure state machine of one person's way through a questionnaire:
//!   `(run, event, now) → (run, effects)`.
//!
//! A rating survey's configuration is one questionnaire ([`Questionnaire::of_rating`]): the
//! rating, a reason after a negative one, and a comment.

pub mod answer;
pub mod report;
pub mod run;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::{Deserialize, Serialize};

pub use self::answer::{AnswerValue, Invalid, Read, read_answer, read_tap};
pub use self::run::{
    Effect, EndCause, Outcome, QuestionOutcome, Run, RunEvent, RunRefusal, RunStatus, Say, SkipCause, Step,
    next_question,
};
use crate::catalog::{Catalog, Message};
use crate::config::{FieldError, MAX_LABEL_CHARS, MAX_TEXT_CHARS, SurveyConfig, check_text, read_every_field};
use crate::locale::Locale;
use crate::scale::Scale;

/// The most questions one questionnaire asks: a person on a phone answers a few, not a form.
pub const MAX_QUESTIONS: usize = 20;
/// The most options a choice question offers (WhatsApp's list holds ten rows).
pub const MAX_OPTIONS: usize = 10;
/// The most times a question is asked before it is skipped or the questionnaire ends.
pub const MAX_ATTEMPTS: u8 = 5;
/// The longest free-text answer kept; longer ones are cut at a character boundary.
pub const MAX_FREE_TEXT_CHARS: usize = 4000;
/// The scale of a customer-effort question: 1 (very difficult) to 7 (very easy).
pub const CES_SCALE: Scale = Scale::Numeric { min: 1, max: 7 };

/// Names a question within its questionnaire, and the contact field its answer fills: lower-case
/// letters, digits and `_`, 1 to 40 characters.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(try_from = "String", into = "String")]
pub struct QuestionId(String);

impl QuestionId {
    pub fn new(id: impl Into<String>) -> Result<Self, String> {
        let id = id.into();
        let well_formed = (1..=40).contains(&id.len())
            && id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if well_formed {
            Ok(QuestionId(id))
        } else {
            Err(format!("{id:?} is not a question id: use 1 to 40 of a-z, 0-9 and _"))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for QuestionId {
    type Error = String;
    fn try_from(id: String) -> Result<Self, String> {
        QuestionId::new(id)
    }
}

impl From<QuestionId> for String {
    fn from(id: QuestionId) -> String {
        id.0
    }
}

impl fmt::Display for QuestionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One option of a choice question.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ChoiceOption {
    /// What the answer records, and what reports group by.
    pub id: QuestionId,
    /// What the option says, per locale; a locale without one shows the default locale's.
    pub label: BTreeMap<Locale, String>,
}

/// What a question asks for, and so how its answer is read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum QuestionKind {
    /// A score on a scale: stars, numbers, faces or NPS, read as ratings are.
    Rating {
        #[cfg_attr(feature = "openapi", schema(value_type = String, example = "stars:5"))]
        scale: Scale,
    },
    /// Customer effort: how easy it was, 1 (very difficult) to 7 (very easy).
    Ces,
    /// Yes or no ("Was your issue resolved?").
    YesNo,
    /// One of the options.
    SingleChoice { options: Vec<ChoiceOption> },
    /// Any of the options, at least one.
    MultipleChoice { options: Vec<ChoiceOption> },
    /// Any text (a comment, a description), cut at `max_chars`.
    FreeText {
        #[serde(default = "default_free_text_chars")]
        max_chars: usize,
    },
    /// A person's name.
    Name,
    /// An email address.
    Email,
    /// A phone number, kept in E.164 form; a number without a country code is read as one of
    /// `default_region` (an ISO 3166 code such as `ES`), and refused without one.
    Phone {
        #[serde(default)]
        default_region: Option<String>,
    },
    /// A number or id matching `pattern` (a regular expression the whole id must match, e.g.
    /// `[A-Z]{2}[0-9]{6}` for an order id), with an `example` shown when asking again.
    Identifier {
        pattern: String,
        example: String,
        /// Whether letters are matched regardless of case (and kept upper-case).
        #[serde(default)]
        case_insensitive: bool,
    },
    /// A calendar date.
    Date,
    /// Agreement to a policy: a required yes, with the policy's link. A no ends the
    /// questionnaire.
    Consent { policy_url: String },
}

fn default_free_text_chars() -> usize {
    MAX_FREE_TEXT_CHARS
}

impl QuestionKind {
    /// The kind's name, as configurations and reports spell it.
    pub fn name(&self) -> &'static str {
        match self {
            QuestionKind::Rating { .. } => "rating",
            QuestionKind::Ces => "ces",
            QuestionKind::YesNo => "yes_no",
            QuestionKind::SingleChoice { .. } => "single_choice",
            QuestionKind::MultipleChoice { .. } => "multiple_choice",
            QuestionKind::FreeText { .. } => "free_text",
            QuestionKind::Name => "name",
            QuestionKind::Email => "email",
            QuestionKind::Phone { .. } => "phone",
            QuestionKind::Identifier { .. } => "identifier",
            QuestionKind::Date => "date",
            QuestionKind::Consent { .. } => "consent",
        }
    }

    /// The scale a scored question asks on.
    pub fn scale(&self) -> Option<Scale> {
        match self {
            QuestionKind::Rating { scale } => Some(*scale),
            QuestionKind::Ces => Some(CES_SCALE),
            _ => None,
        }
    }

    /// The options of a choice question.
    pub fn options(&self) -> &[ChoiceOption] {
        match self {
            QuestionKind::SingleChoice { options } | QuestionKind::MultipleChoice { options } => options,
            _ => &[],
        }
    }

    /// Whether the answer is yes or no (consent is a yes).
    fn is_yes_no(&self) -> bool {
        matches!(self, QuestionKind::YesNo | QuestionKind::Consent { .. })
    }
}

/// What an earlier answer must be for a question to be asked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Expected {
    /// A yes to a yes/no question.
    Yes,
    /// A no to a yes/no question.
    No,
    /// A negative score (the scale's low end, as ratings count it).
    Negative,
    /// A positive score.
    Positive,
    ScoreAtMost(u8),
    ScoreAtLeast(u8),
    /// One of these options chosen (for a multiple choice: any of them among those chosen).
    AnyOf(Vec<QuestionId>),
    /// Any answer.
    Answered,
    /// No answer: the question was skipped, declined, or not asked.
    Skipped,
}

/// A question is asked only when an earlier question's answer is as expected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Condition {
    pub question: QuestionId,
    pub is: Expected,
}

/// One question of a questionnaire.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Question {
    pub id: QuestionId,
    #[serde(flatten)]
    pub kind: QuestionKind,
    /// What the question says, per locale. A locale without one gets the shipped text where the
    /// kind has one (see [`Catalog::question_text`]), else the default locale's.
    #[serde(default)]
    pub text: BTreeMap<Locale, String>,
    /// Whether a person may decline it ("skip"). A required question that keeps getting
    /// answers it can't read is still given up after `max_attempts`.
    #[serde(default = "yes")]
    pub required: bool,
    /// Asked only when this holds of an earlier answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when: Option<Condition>,
    /// Whether the answer may be changed later (by tapping another of its options while the
    /// questionnaire takes changes).
    #[serde(default)]
    pub changeable: bool,
}

fn yes() -> bool {
    true
}

/// What happens when a question's answers keep failing its check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum WhenAttemptsRunOut {
    /// The question is recorded as skipped and the next one asked.
    #[default]
    Skip,
    /// The questionnaire ends there.
    End,
}

/// A questionnaire as a business configures it. Serialized field names are the API's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default, deny_unknown_fields)]
pub struct Questionnaire {
    pub questions: Vec<Question>,
    /// How many times a question is asked in all (the first time and the re-asks) before
    /// `when_attempts_run_out` applies. 1 to 5.
    pub max_attempts: u8,
    pub when_attempts_run_out: WhenAttemptsRunOut,
    /// Hours after the last answer during which a changeable answer may still be changed.
    pub change_window_hours: u32,
    /// The language whose texts stand in for a language the questionnaire has none in.
    pub default_locale: Locale,
}

impl Default for Questionnaire {
    fn default() -> Self {
        Questionnaire {
            questions: Vec::new(),
            max_attempts: 3,
            when_attempts_run_out: WhenAttemptsRunOut::Skip,
            change_window_hours: 24,
            default_locale: Locale::En,
        }
    }
}

impl Questionnaire {
    /// Reads a questionnaire from JSON and checks it, reporting every problem at once.
    pub fn from_json(value: serde_json::Value) -> Result<Questionnaire, Vec<FieldError>> {
        let unknown = unknown_question_fields(&value);
        let (questionnaire, mut problems) = read_every_field::<Questionnaire>(value);
        problems.extend(unknown);
        if let Some(Err(invalid)) = questionnaire.as_ref().map(Questionnaire::validate) {
            problems.extend(invalid);
        }
        match questionnaire {
            Some(questionnaire) if problems.is_empty() => Ok(questionnaire),
            _ => Err(problems),
        }
    }

    /// The questions a rating configuration asks: the rating; a reason after a negative one
    /// when reasons are offered; a comment, optional, when asked for. Texts are the
    /// configuration's own where it has them.
    pub fn of_rating(config: &SurveyConfig, catalog: &Catalog) -> Questionnaire {
        let id = |id: &str| QuestionId(id.to_owned());
        // Every language's text, as the rating survey shows it: the configuration's own, else
        // the shipped one.
        let texts = |own: fn(&crate::config::LocalizedContent) -> Option<&String>, shipped: Message| {
            Locale::ALL
                .into_iter()
                .map(|locale| {
                    let text = config.content.get(&locale).and_then(own).cloned();
                    (locale, text.unwrap_or_else(|| catalog.text(locale, shipped, config.scale)))
                })
                .collect()
        };
        let mut questions = vec![Question {
            id: id("rating"),
            kind: QuestionKind::Rating { scale: config.scale },
            text: texts(|c| c.invitation.as_ref(), Message::Invitation),
            required: true,
            when: None,
            changeable: config.change_window_hours > 0,
        }];
        if !config.low_rating_reasons.is_empty() {
            let options = config
                .low_rating_reasons
                .iter()
                .filter_map(|reason| {
                    let label = Locale::ALL
                        .into_iter()
                        .filter_map(|locale| {
                            let own = config.content.get(&locale).and_then(|c| c.reasons.get(reason)).cloned();
                            Some((locale, own.or_else(|| catalog.reason(locale, reason))?))
                        })
                        .collect();
                    Some(ChoiceOption { id: QuestionId::new(reason.as_str()).ok()?, label })
                })
                .collect();
            questions.push(Question {
                id: id("reason"),
                kind: QuestionKind::SingleChoice { options },
                text: texts(|c| c.reason_prompt.as_ref(), Message::ReasonPrompt),
                required: false,
                when: Some(Condition { question: id("rating"), is: Expected::Negative }),
                changeable: false,
            });
        }
        if config.follow_up_comment {
            questions.push(Question {
                id: id("comment"),
                kind: QuestionKind::FreeText { max_chars: crate::survey::MAX_COMMENT_CHARS },
                text: texts(|c| c.comment_prompt.as_ref(), Message::CommentPrompt),
                required: false,
                when: None,
                changeable: false,
            });
        }
        Questionnaire {
            questions,
            change_window_hours: config.change_window_hours,
            default_locale: config.default_locale,
            ..Questionnaire::default()
        }
    }

    pub fn question(&self, id: &QuestionId) -> Option<&Question> {
        self.questions.iter().find(|q| &q.id == id)
    }

    /// Every problem with the questionnaire, or none.
    pub fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut errors = Vec::new();
        if self.questions.is_empty() {
            errors.push(FieldError::new("questions", "must hold at least one question"));
        } else if self.questions.len() > MAX_QUESTIONS {
            errors.push(FieldError::new("questions", format!("must hold at most {MAX_QUESTIONS} questions")));
        }
        if !(1..=MAX_ATTEMPTS).contains(&self.max_attempts) {
            errors.push(FieldError::new("max_attempts", format!("must be 1 to {MAX_ATTEMPTS}")));
        }
        if self.change_window_hours > crate::config::MAX_VALIDITY_HOURS {
            errors.push(FieldError::new("change_window_hours", "must be at most 2160 hours (90 days)"));
        }
        let mut earlier: BTreeMap<&QuestionId, &Question> = BTreeMap::new();
        for (index, question) in self.questions.iter().enumerate() {
            let field = |name: &str| format!("questions[{index}].{name}");
            if earlier.contains_key(&question.id) {
                errors.push(FieldError::new(field("id"), format!("{} is the id of an earlier question", question.id)));
            }
            for (locale, text) in &question.text {
                check_text(&field(&format!("text.{locale}")), text, MAX_TEXT_CHARS, &mut errors);
            }
            if question.text.is_empty() && !has_shipped_text(question) {
                errors.push(FieldError::new(
                    field("text"),
                    format!("a {} question needs its text in at least one language", question.kind.name()),
                ));
            } else if !question.text.is_empty()
                && !question.text.contains_key(&self.default_locale)
                && !has_shipped_text(question)
            {
                errors.push(FieldError::new(
                    field("text"),
                    format!("needs a text in the default locale {}", self.default_locale),
                ));
            }
            self.check_kind(question, &field, &mut errors);
            if let Some(condition) = &question.when {
                match earlier.get(&condition.question) {
                    None => errors.push(FieldError::new(
                        field("when.question"),
                        format!("{} must be the id of an earlier question", condition.question),
                    )),
                    Some(target) => check_condition(target, &condition.is, &field("when.is"), &mut errors),
                }
            }
            earlier.insert(&question.id, question);
        }
        if errors.is_empty() { Ok(()) } else { Err(errors) }
    }

    fn check_kind(&self, question: &Question, field: &dyn Fn(&str) -> String, errors: &mut Vec<FieldError>) {
        match &question.kind {
            QuestionKind::SingleChoice { options } | QuestionKind::MultipleChoice { options } => {
                if options.len() < 2 || options.len() > MAX_OPTIONS {
                    errors.push(FieldError::new(field("options"), format!("must offer 2 to {MAX_OPTIONS} options")));
                }
                let mut ids = BTreeSet::new();
                for (index, option) in options.iter().enumerate() {
                    let field = field(&format!("options[{index}]"));
                    if !ids.insert(&option.id) {
                        errors.push(FieldError::new(format!("{field}.id"), "is the id of an earlier option"));
                    }
                    if !option.label.contains_key(&self.default_locale) {
                        errors.push(FieldError::new(
                            format!("{field}.label"),
                            format!("needs a label in the default locale {}", self.default_locale),
                        ));
                    }
                    for (locale, label) in &option.label {
                        check_text(&format!("{field}.label.{locale}"), label, MAX_LABEL_CHARS, errors);
                    }
                }
            }
            QuestionKind::FreeText { max_chars } if !(1..=MAX_FREE_TEXT_CHARS).contains(max_chars) => {
                errors.push(FieldError::new(field("max_chars"), format!("must be 1 to {MAX_FREE_TEXT_CHARS}")));
            }
            QuestionKind::Phone { default_region: Some(region) } if answer::region(region).is_none() => {
                errors.push(FieldError::new(
                    field("default_region"),
                    format!("{region:?} is not an ISO 3166 country code such as ES or US"),
                ));
            }
            QuestionKind::Identifier { pattern, example, case_insensitive } => {
                match answer::IdPattern::new(pattern, *case_insensitive) {
                    Err(problem) => errors.push(FieldError::new(field("pattern"), problem)),
                    Ok(compiled) if !compiled.matches_whole(example) => errors
                        .push(FieldError::new(field("example"), format!("{example:?} does not match the pattern"))),
                    Ok(_) => {}
                }
            }
            QuestionKind::Consent { policy_url } => {
                if !(policy_url.starts_with("https://") || policy_url.starts_with("http://")) {
                    errors.push(FieldError::new(field("policy_url"), "must be an http(s) URL"));
                }
                if !question.required {
                    errors.push(FieldError::new(field("required"), "consent is always required"));
                }
            }
            _ => {}
        }
    }
}

/// The fields of each question that its kind doesn't have (a question's kind and its own fields
/// are read together, which serde can't hold to known fields).
pub(crate) fn unknown_question_fields(value: &serde_json::Value) -> Vec<FieldError> {
    const EVERY_KIND: [&str; 6] = ["id", "kind", "text", "required", "when", "changeable"];
    let Some(questions) = value.get("questions").and_then(serde_json::Value::as_array) else { return Vec::new() };
    let mut problems = Vec::new();
    for (index, question) in questions.iter().enumerate() {
        let Some(fields) = question.as_object() else { continue };
        let own: &[&str] = match fields.get("kind").and_then(serde_json::Value::as_str) {
            Some("rating") => &["scale"],
            Some("single_choice" | "multiple_choice") => &["options"],
            Some("free_text") => &["max_chars"],
            Some("phone") => &["default_region"],
            Some("identifier") => &["pattern", "example", "case_insensitive"],
            Some("consent") => &["policy_url"],
            _ => &[],
        };
        for name in fields.keys().filter(|name| !EVERY_KIND.contains(&name.as_str()) && !own.contains(&name.as_str())) {
            problems
                .push(FieldError::new(format!("questions[{index}].{name}"), "is not a field of this kind of question"));
        }
    }
    problems
}

/// Whether the shipped locales give the question a text when it has none of its own.
fn has_shipped_text(question: &Question) -> bool {
    Catalog::shipped().question_text(Locale::En, question).is_some()
}

fn check_condition(target: &Question, expected: &Expected, field: &str, errors: &mut Vec<FieldError>) {
    let kind = &target.kind;
    let fits = match expected {
        Expected::Yes | Expected::No => kind.is_yes_no(),
        Expected::Negative | Expected::Positive => kind.scale().is_some(),
        Expected::ScoreAtMost(value) | Expected::ScoreAtLeast(value) => {
            kind.scale().is_some_and(|scale| scale.contains((*value).into()))
        }
        Expected::AnyOf(ids) => {
            !ids.is_empty()
                && !kind.options().is_empty()
                && ids.iter().all(|id| kind.options().iter().any(|o| &o.id == id))
        }
        Expected::Answered | Expected::Skipped => true,
    };
    if !fits {
        errors.push(FieldError::new(
            field,
            format!("{expected:?} can't be asked of {}, a {} question", target.id, kind.name()),
        ));
    }
}

impl Catalog {
    /// The shipped text of a question in `locale`, for the kinds that have one: a rating (the
    /// invitation, or the NPS question), effort, a yes/no question with the id `resolved`, a
    /// free text (the comment prompt), name, email, phone and consent (with the policy's link).
    pub fn question_text(&self, locale: Locale, question: &Question) -> Option<String> {
        let id = match &question.kind {
            QuestionKind::Rating { scale } => return Some(self.text(locale, Message::Invitation, *scale)),
            QuestionKind::FreeText { .. } => return Some(self.text(locale, Message::CommentPrompt, Scale::FIVE_STARS)),
            QuestionKind::Ces => "question-ces",
            QuestionKind::YesNo if question.id.as_str() == "resolved" => "question-resolved",
            QuestionKind::Name => "question-name",
            QuestionKind::Email => "question-email",
            QuestionKind::Phone { .. } => "question-phone",
            QuestionKind::Consent { policy_url } => {
                let mut args = fluent_bundle::FluentArgs::new();
                args.set("url", policy_url.as_str());
                return self.format_with(locale, "question-consent", &args);
            }
            _ => return None,
        };
        self.format_with(locale, id, &fluent_bundle::FluentArgs::new())
    }
}

/// The least and most time a pre-chat waits for an answer before it is abandoned.
pub const ABANDON_AFTER_SECS: std::ops::RangeInclusive<u32> = 5..=86_400;

/// A pre-chat survey: the questions asked, one at a time, when an end user opens a conversation
/// on a messaging channel, before an agent answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default, deny_unknown_fields)]
pub struct PrechatConfig {
    pub questionnaire: Questionnaire,
    /// Seconds without an answer after which the pre-chat is given up (`prechat.abandoned`):
    /// 5 to 86 400.
    #[cfg_attr(feature = "openapi", schema(minimum = 5, maximum = 86400))]
    pub abandon_after_secs: u32,
    /// The single-choice question whose answer the events carry as `inquiry_type`, for routing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inquiry_question: Option<QuestionId>,
}

impl Default for PrechatConfig {
    fn default() -> Self {
        PrechatConfig { questionnaire: Questionnaire::default(), abandon_after_secs: 1800, inquiry_question: None }
    }
}

impl PrechatConfig {
    /// Every problem with the pre-chat, or none.
    pub fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut errors = match self.questionnaire.validate() {
            Ok(()) => Vec::new(),
            Err(problems) => problems.into_iter().map(|problem| problem.under("questionnaire")).collect(),
        };
        if !ABANDON_AFTER_SECS.contains(&self.abandon_after_secs) {
            errors.push(FieldError::new("abandon_after_secs", "must be 5 to 86400 seconds"));
        }
        if let Some(id) = &self.inquiry_question
            && !matches!(self.questionnaire.question(id).map(|q| &q.kind), Some(QuestionKind::SingleChoice { .. }))
        {
            errors.push(FieldError::new("inquiry_question", format!("{id} must be a single-choice question")));
        }
        if errors.is_empty() { Ok(()) } else { Err(errors) }
    }
}

impl Questionnaire {
    /// What `question` says in `locale`: its own text there, else the shipped one where its
    /// kind has one, else its text in the default locale (or any it has).
    pub fn prompt(&self, question: &Question, locale: Locale, catalog: &Catalog) -> String {
        question
            .text
            .get(&locale)
            .cloned()
            .or_else(|| catalog.question_text(locale, question))
            .or_else(|| question.text.get(&self.default_locale).cloned())
            .or_else(|| question.text.values().next().cloned())
            .unwrap_or_default()
    }

    /// What an option says in `locale`, as [`Questionnaire::prompt`] picks a text.
    pub fn option_label<'a>(&self, option: &'a ChoiceOption, locale: Locale) -> &'a str {
        option
            .label
            .get(&locale)
            .or_else(|| option.label.get(&self.default_locale))
            .or_else(|| option.label.values().next())
            .map_or(option.id.as_str(), String::as_str)
    }
}

impl Catalog {
    /// What the person is told with `question` asked again after a reply that was `invalid`.
    pub fn reask(&self, locale: Locale, invalid: Invalid, question: &Question) -> String {
        let mut args = fluent_bundle::FluentArgs::new();
        if let Some(scale) = question.kind.scale() {
            args.set("min", scale.min());
            args.set("max", scale.max());
        }
        if let QuestionKind::Identifier { example, .. } = &question.kind {
            args.set("example", example.as_str());
        }
        self.format_with(locale, invalid.message_id(), &args).unwrap_or_default()
    }

    /// A pre-chat's greeting for an end user whose name is known.
    pub fn prechat_greeting(&self, locale: Locale, name: &str) -> String {
        let mut args = fluent_bundle::FluentArgs::new();
        args.set("name", name);
        self.format_with(locale, "prechat-greeting", &args).unwrap_or_default()
    }

    /// How to leave out an optional question that is answered by typing.
    pub fn optional_hint(&self, locale: Locale) -> String {
        self.format_with(locale, "optional-hint", &fluent_bundle::FluentArgs::new()).unwrap_or_default()
    }

    /// The title of a yes/no button.
    pub fn yes_no_title(&self, locale: Locale, yes: bool) -> String {
        let id = if yes { "answer-yes" } else { "answer-no" };
        self.format_with(locale, id, &fluent_bundle::FluentArgs::new()).unwrap_or_default()
    }

    /// The closing text, or why the questionnaire ended.
    pub fn questionnaire_end(&self, locale: Locale, cause: Option<&EndCause>) -> String {
        let id = match cause {
            None => "questionnaire-done",
            Some(EndCause::ConsentRefused(_)) => "questionnaire-consent-refused",
            Some(EndCause::AttemptsRanOut(_)) => "questionnaire-gave-up",
        };
        self.format_with(locale, id, &fluent_bundle::FluentArgs::new()).unwrap_or_default()
    }
}
