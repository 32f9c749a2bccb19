//! What a business configures about its surveys.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::catalog::{Catalog, Message, SHIPPED_REASONS};
use crate::conversation::{AutoInviteRules, MAX_COOLDOWN_DAYS, MAX_DAYS_SINCE_LAST_REPLY, MAX_MIN_CHARACTERS};
use crate::locale::Locale;
use crate::questionnaire::{PrechatConfig, unknown_question_fields};
use crate::reply::{Labels, fold};
use crate::scale::{Scale, Score};

/// Who may start a survey.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum InvitationMethod {
    /// Sent when a conversation closes.
    Auto,
    /// Sent when an agent asks for it.
    Agent,
    /// Either.
    Both,
}

/// How often one conversation may be surveyed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RepeatPolicy {
    /// One invitation per conversation, ever.
    #[default]
    OncePerConversation,
    /// One invitation each time the conversation is resolved (closed, reopened, closed again).
    OncePerResolution,
}

/// The texts of one language. Anything left out comes from the shipped locale.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(default))]
#[serde(default, deny_unknown_fields)]
pub struct LocalizedContent {
    pub invitation: Option<String>,
    pub thank_you: Option<String>,
    pub comment_prompt: Option<String>,
    pub comment_thanks: Option<String>,
    pub reason_prompt: Option<String>,
    pub expiry_notice: Option<String>,
    pub unreadable_hint: Option<String>,
    /// A label per level, keyed by the level's number.
    #[cfg_attr(feature = "openapi", schema(value_type = BTreeMap<LevelKey, String>))]
    pub labels: BTreeMap<u8, String>,
    /// Labels for the reason choices, keyed by reason id.
    pub reasons: BTreeMap<String, String>,
}

/// A survey configuration. Serialized field names are the API's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(default))]
#[serde(default, deny_unknown_fields)]
pub struct SurveyConfig {
    pub enabled: bool,
    pub invitation_method: InvitationMethod,
    /// Whether an end user may rate on their own inside an open conversation.
    pub user_initiated: bool,
    pub scale: Scale,
    /// Labels per level for every language that has none of its own in `content`.
    #[cfg_attr(feature = "openapi", schema(value_type = BTreeMap<LevelKey, String>))]
    pub labels: BTreeMap<u8, String>,
    /// Hours after the invitation during which a rating counts.
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 2160))]
    pub validity_hours: u32,
    /// Hours after a rating during which it may be changed; a comment ends it early.
    #[cfg_attr(feature = "openapi", schema(maximum = 2160))]
    pub change_window_hours: u32,
    pub follow_up_comment: bool,
    /// Hours after the invitation at which one reminder goes out when no rating came; none
    /// when unset. Must fall before the end of the validity period.
    #[cfg_attr(feature = "openapi", schema(minimum = 1))]
    pub reminder_after_hours: Option<u32>,
    /// Reason ids offered after a negative rating; by default the shipped ids (`slow`,
    /// `unresolved`, `unfriendly`, `other`), on every scale, which every locale translates.
    /// Others need a label in the default locale's `content`; `[]` asks for no reason.
    #[cfg_attr(feature = "openapi", schema(max_items = 10))]
    pub low_rating_reasons: Vec<String>,
    pub repeat: RepeatPolicy,
    /// Which closed conversations earn an invitation when the method allows `auto` ones.
    pub auto_invite: AutoInviteRules,
    pub default_locale: Locale,
    pub content: BTreeMap<Locale, LocalizedContent>,
    /// The questions asked when an end user opens a conversation on a messaging channel that
    /// uses this configuration; none when unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prechat: Option<PrechatConfig>,
}

impl Default for SurveyConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            invitation_method: InvitationMethod::Both,
            user_initiated: false,
            scale: Scale::FIVE_STARS,
            labels: BTreeMap::new(),
            validity_hours: 72,
            change_window_hours: 24,
            follow_up_comment: true,
            reminder_after_hours: None,
            // The same on every scale: a low rating is worth explaining whatever it was given on.
            low_rating_reasons: SHIPPED_REASONS.map(String::from).to_vec(),
            repeat: RepeatPolicy::OncePerConversation,
            auto_invite: AutoInviteRules::default(),
            default_locale: Locale::En,
            content: BTreeMap::new(),
            prechat: None,
        }
    }
}

/// A level of a scale as an object key, for the OpenAPI schemas: its number, 0 to 10. Which
/// levels a scale has is checked against the scale itself.
#[cfg(feature = "openapi")]
pub struct LevelKey;

#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for LevelKey {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, Type};
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some("A level's number, 0 to 10, of a level the scale has"))
            .pattern(Some("^(10|[0-9])$"))
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for LevelKey {}

/// One problem with a configuration, naming the field it is in.
#[derive(Debug, Clone, PartialEq, Eq, Error, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[error("{field}: {problem}")]
pub struct FieldError {
    pub field: String,
    pub problem: String,
}

impl FieldError {
    pub(crate) fn new(field: impl Into<String>, problem: impl Into<String>) -> Self {
        Self { field: field.into(), problem: problem.into() }
    }

    /// The same problem, in a field of `parent`.
    pub(crate) fn under(self, parent: &str) -> Self {
        Self { field: format!("{parent}.{}", self.field), problem: self.problem }
    }
}

/// The longest text a business may set: WhatsApp's interactive body limit.
pub const MAX_TEXT_CHARS: usize = 1024;
/// The longest level label: WhatsApp's list row description.
pub const MAX_LABEL_CHARS: usize = 72;
pub const MAX_VALIDITY_HOURS: u32 = 24 * 90;
pub const MAX_REASONS: usize = 10;

impl SurveyConfig {
    /// Reads a configuration from JSON and checks it, reporting every problem at once: each
    /// field that can't be read (a wrong type, an unknown field or language, a scale that is
    /// none) and every problem [`SurveyConfig::validate`] finds in the fields that could be.
    pub fn from_json(mut value: serde_json::Value) -> Result<SurveyConfig, Vec<FieldError>> {
        let mut problems = lists_for_objects(&mut value);
        if let Some(questionnaire) = value.get("prechat").and_then(|prechat| prechat.get("questionnaire")) {
            problems
                .extend(unknown_question_fields(questionnaire).into_iter().map(|p| p.under("prechat.questionnaire")));
        }
        let (config, read) = read_every_field::<SurveyConfig>(value);
        problems.extend(read);
        if let Some(Err(invalid)) = config.as_ref().map(SurveyConfig::validate) {
            problems.extend(invalid);
        }
        match config {
            Some(config) if problems.is_empty() => Ok(config),
            _ => Err(problems),
        }
    }

    /// Every problem with the configuration, or none.
    pub fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut errors = Vec::new();
        if self.validity_hours == 0 {
            errors.push(FieldError::new("validity_hours", "must be at least 1 hour"));
        } else if self.validity_hours > MAX_VALIDITY_HOURS {
            errors.push(FieldError::new(
                "validity_hours",
                format!("must be at most {MAX_VALIDITY_HOURS} hours (90 days)"),
            ));
        }
        if self.change_window_hours > MAX_VALIDITY_HOURS {
            errors.push(FieldError::new(
                "change_window_hours",
                format!("must be at most {MAX_VALIDITY_HOURS} hours (90 days)"),
            ));
        }
        if let Some(hours) = self.reminder_after_hours
            && (hours == 0 || hours >= self.validity_hours)
        {
            errors.push(FieldError::new("reminder_after_hours", "must be at least 1 and less than validity_hours"));
        }
        check_labels(self.scale, "labels", &self.labels, &mut errors);
        if self.low_rating_reasons.len() > MAX_REASONS {
            errors.push(FieldError::new("low_rating_reasons", format!("at most {MAX_REASONS} reasons")));
        }
        let default_content = self.content.get(&self.default_locale);
        for (i, reason) in self.low_rating_reasons.iter().enumerate() {
            let field = format!("low_rating_reasons[{i}]");
            let valid = !reason.is_empty()
                && reason.len() <= 32
                && reason.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
            if !valid {
                errors.push(FieldError::new(field, "a reason id is 1 to 32 of a-z A-Z 0-9 _ -"));
            } else if self.low_rating_reasons[..i].contains(reason) {
                errors.push(FieldError::new(field, format!("{reason:?} is listed twice")));
            } else if !SHIPPED_REASONS.contains(&reason.as_str())
                && default_content.is_none_or(|content| !content.reasons.contains_key(reason))
            {
                // Without a label, end users would be shown the bare id.
                let locale = self.default_locale;
                errors.push(FieldError::new(
                    field,
                    format!("{reason:?} is no shipped reason: give it a label in content.{locale}.reasons"),
                ));
            }
        }
        if let Some(min) = self.auto_invite.min_characters
            && min > MAX_MIN_CHARACTERS
        {
            errors.push(FieldError::new(
                "auto_invite.min_characters",
                format!("must be at most {MAX_MIN_CHARACTERS} characters"),
            ));
        }
        if let Some(days) = self.auto_invite.cooldown_days
            && !(1..=MAX_COOLDOWN_DAYS).contains(&days)
        {
            errors.push(FieldError::new(
                "auto_invite.cooldown_days",
                format!("must be 1 to {MAX_COOLDOWN_DAYS} days (null: no cooldown)"),
            ));
        }
        if let Some(percent) = self.auto_invite.sample_percent
            && !(1..=100).contains(&percent)
        {
            errors.push(FieldError::new("auto_invite.sample_percent", "must be 1 to 100 (null: every conversation)"));
        }
        if let Some(days) = self.auto_invite.max_days_since_last_reply
            && !(1..=MAX_DAYS_SINCE_LAST_REPLY).contains(&days)
        {
            errors.push(FieldError::new(
                "auto_invite.max_days_since_last_reply",
                format!("must be 1 to {MAX_DAYS_SINCE_LAST_REPLY} days"),
            ));
        }
        for (locale, content) in &self.content {
            let prefix = format!("content.{locale}");
            let texts = [
                ("invitation", &content.invitation),
                ("thank_you", &content.thank_you),
                ("comment_prompt", &content.comment_prompt),
                ("comment_thanks", &content.comment_thanks),
                ("reason_prompt", &content.reason_prompt),
                ("expiry_notice", &content.expiry_notice),
                ("unreadable_hint", &content.unreadable_hint),
            ];
            for (name, text) in texts {
                if let Some(text) = text {
                    check_text(&format!("{prefix}.{name}"), text, MAX_TEXT_CHARS, &mut errors);
                }
            }
            check_labels(self.scale, &format!("{prefix}.labels"), &content.labels, &mut errors);
            for (id, label) in &content.reasons {
                let field = format!("{prefix}.reasons.{id}");
                if !self.low_rating_reasons.contains(id) {
                    errors.push(FieldError::new(field, "not one of low_rating_reasons"));
                } else {
                    check_text(&field, label, MAX_LABEL_CHARS, &mut errors);
                }
            }
        }
        if let Some(Err(problems)) = self.prechat.as_ref().map(PrechatConfig::validate) {
            errors.extend(problems.into_iter().map(|problem| problem.under("prechat")));
        }
        if errors.is_empty() { Ok(()) } else { Err(errors) }
    }

    /// The texts a survey in `locale` uses: the business's where set, the shipped ones otherwise.
    pub fn texts(&self, locale: Locale, catalog: &Catalog) -> Texts {
        let own = self.content.get(&locale);
        let scale = self.scale;
        let pick = |set: Option<&String>, message: Message| {
            set.cloned().unwrap_or_else(|| catalog.text(locale, message, scale))
        };
        let labels = match own.filter(|c| !c.labels.is_empty()) {
            Some(content) => &content.labels,
            None => &self.labels,
        };
        let labels: BTreeMap<Score, String> = if labels.is_empty() {
            catalog.default_labels(locale, scale)
        } else {
            labels.iter().filter_map(|(&level, text)| Some((scale.score(level.into()).ok()?, text.clone()))).collect()
        };
        let reasons = self
            .low_rating_reasons
            .iter()
            .map(|id| {
                // A language without its own label for a reason of the business's takes the
                // default locale's, which validation requires.
                let label = own
                    .and_then(|c| c.reasons.get(id).cloned())
                    .or_else(|| catalog.reason(locale, id))
                    .or_else(|| self.content.get(&self.default_locale).and_then(|c| c.reasons.get(id).cloned()))
                    .unwrap_or_else(|| id.clone());
                (id.clone(), label)
            })
            .collect();
        Texts {
            locale,
            invitation: pick(own.and_then(|c| c.invitation.as_ref()), Message::Invitation),
            answer_hint: catalog.text(locale, Message::AnswerHint, scale),
            thank_you: pick(own.and_then(|c| c.thank_you.as_ref()), Message::ThankYou),
            comment_prompt: pick(own.and_then(|c| c.comment_prompt.as_ref()), Message::CommentPrompt),
            comment_thanks: pick(own.and_then(|c| c.comment_thanks.as_ref()), Message::CommentThanks),
            reason_prompt: pick(own.and_then(|c| c.reason_prompt.as_ref()), Message::ReasonPrompt),
            expiry_notice: pick(own.and_then(|c| c.expiry_notice.as_ref()), Message::ExpiryNotice),
            unreadable_hint: pick(own.and_then(|c| c.unreadable_hint.as_ref()), Message::UnreadableHint),
            rating_locked: catalog.text(locale, Message::RatingLocked, scale),
            reminder: catalog.text(locale, Message::Reminder, scale),
            labels: Labels::new(labels),
            reasons,
        }
    }
}

/// Takes out, as problems, lists where the configuration has an object (itself, `auto_invite`,
/// each language's `content`): serde would fill the object from the list's items in order.
fn lists_for_objects(value: &mut serde_json::Value) -> Vec<FieldError> {
    let must_be_object = |field: String| FieldError::new(field, "must be an object");
    if value.is_array() {
        return vec![must_be_object(String::new())];
    }
    let mut problems = Vec::new();
    let Some(config) = value.as_object_mut() else { return problems };
    if config.get("auto_invite").is_some_and(serde_json::Value::is_array) {
        config.remove("auto_invite");
        problems.push(must_be_object("auto_invite".into()));
    }
    if let Some(content) = config.get_mut("content").and_then(serde_json::Value::as_object_mut) {
        content.retain(|locale, texts| {
            let list = texts.is_array();
            if list {
                problems.push(must_be_object(format!("content.{locale}")));
            }
            !list
        });
    }
    problems
}

/// Deserializes `value` as `T`, reporting every field that can't be read rather than the
/// first: a field at fault is reported and left out, and the rest read again, until what remains
/// reads (`T`, with defaults where fields were left out) or nothing more can be left out
/// (`None`); a problem with the value as a whole names the empty field. Meant for types whose
/// every field has a default. A list at fault is left out
/// whole, so its first bad item is the one reported.
pub(crate) fn read_every_field<T: serde::de::DeserializeOwned>(
    mut value: serde_json::Value,
) -> (Option<T>, Vec<FieldError>) {
    let mut problems = Vec::new();
    // Every round leaves a field out, so there are at most as many rounds as fields.
    loop {
        let error = match serde_path_to_error::deserialize::<_, T>(&value) {
            Ok(read) => return (Some(read), problems),
            Err(error) => error,
        };
        // A key that can't be read (a level that is no number) has no name of its own: the
        // field is the map it is in.
        let field = match error.path().to_string() {
            root if root == "." => String::new(),
            path => path.trim_end_matches(".?").to_owned(),
        };
        problems.push(FieldError::new(field, error.inner().to_string()));
        if !leave_out(&mut value, error.path()) {
            return (None, problems);
        }
    }
}

/// Removes the member of `value` at `path` (or the list the path goes into); whether there was
/// one to remove.
fn leave_out(value: &mut serde_json::Value, path: &serde_path_to_error::Path) -> bool {
    use serde_path_to_error::Segment;
    let segments: Vec<&Segment> = path.iter().collect();
    // Up to the first list, or the whole path.
    let end = segments.iter().position(|s| !matches!(s, Segment::Map { .. })).unwrap_or(segments.len());
    let Some((Segment::Map { key: last }, parents)) = segments[..end].split_last() else {
        return false;
    };
    let mut object = value;
    for segment in parents {
        let Segment::Map { key } = segment else { return false };
        match object.get_mut(key.as_str()) {
            Some(inner) => object = inner,
            None => return false,
        }
    }
    object.as_object_mut().is_some_and(|members| members.remove(last.as_str()).is_some())
}

pub(crate) fn check_text(field: &str, text: &str, max_chars: usize, errors: &mut Vec<FieldError>) {
    if text.trim().is_empty() {
        errors.push(FieldError::new(field, "must not be empty"));
    } else if text.chars().count() > max_chars {
        errors.push(FieldError::new(field, format!("must be at most {max_chars} characters")));
    }
}

fn check_labels(scale: Scale, field: &str, labels: &BTreeMap<u8, String>, errors: &mut Vec<FieldError>) {
    let mut seen: BTreeMap<String, u8> = BTreeMap::new();
    for (&level, label) in labels {
        let field = format!("{field}.{level}");
        if !scale.contains(level.into()) {
            errors.push(FieldError::new(field, format!("level {level} is outside the scale {scale}")));
            continue;
        }
        check_text(&field, label, MAX_LABEL_CHARS, errors);
        // Two levels whose labels read the same could never be told apart in a typed reply.
        if let Some(other) = seen.insert(fold(label), level) {
            errors.push(FieldError::new(field, format!("reads the same as the label of level {other}")));
        }
    }
}

/// Every text one survey needs, resolved for one locale.
#[derive(Debug, Clone)]
pub struct Texts {
    pub locale: Locale,
    pub invitation: String,
    /// How to answer by typing, for channels that can't show every level as a button.
    pub answer_hint: String,
    pub thank_you: String,
    pub comment_prompt: String,
    pub comment_thanks: String,
    pub reason_prompt: String,
    pub expiry_notice: String,
    pub unreadable_hint: String,
    pub rating_locked: String,
    pub reminder: String,
    pub labels: Labels,
    /// Reason ids with their labels, in the configured order.
    pub reasons: Vec<(String, String)>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_configuration_is_valid() {
        assert_eq!(SurveyConfig::default().validate(), Ok(()));
    }

    #[test]
    fn validation_names_each_field() {
        let mut config = SurveyConfig { validity_hours: 0, ..SurveyConfig::default() };
        config.labels.insert(6, "Wow".into());
        config.labels.insert(1, "Bad".into());
        config.labels.insert(2, " bad. ".into());
        config.low_rating_reasons = vec!["slow".into(), "slow".into(), "no spaces".into()];
        config.content.insert(
            Locale::Es,
            LocalizedContent {
                invitation: Some("  ".into()),
                reasons: [("rude".to_string(), "Grosero".to_string())].into(),
                ..LocalizedContent::default()
            },
        );
        let fields: Vec<String> = config.validate().unwrap_err().into_iter().map(|e| e.field).collect();
        assert_eq!(
            fields,
            [
                "validity_hours",
                "labels.2",
                "labels.6",
                "low_rating_reasons[1]",
                "low_rating_reasons[2]",
                "content.es.invitation",
                "content.es.reasons.rude",
            ]
        );
    }

    #[test]
    fn reading_reports_every_field_at_fault() {
        let read = SurveyConfig::from_json(serde_json::json!({
            "scale": "stars:11",
            "validity_hours": 0,
            "labels": { "x": "Bad" },
            "content": { "nl": {}, "es": { "invitation": 5 } },
            "low_rating_reasons": ["slow", 7],
            "colour": "red",
            "auto_invite": [true],
        }));
        let fields: Vec<String> = read.unwrap_err().into_iter().map(|e| e.field).collect();
        assert_eq!(
            fields,
            [
                "auto_invite",
                "colour",
                "content.es.invitation",
                "content.nl",
                "labels",
                "low_rating_reasons[1]",
                "scale",
                "validity_hours"
            ]
        );
        let read = SurveyConfig::from_json(serde_json::json!({ "validity_hours": 48 })).unwrap();
        assert_eq!(read, SurveyConfig { validity_hours: 48, ..SurveyConfig::default() });
        assert!(SurveyConfig::from_json(serde_json::json!("stars")).is_err());
    }

    #[test]
    fn a_reason_of_the_business_needs_a_label_in_the_default_locale() {
        let mut config = SurveyConfig { low_rating_reasons: vec!["price".into()], ..SurveyConfig::default() };
        let fields: Vec<String> = config.validate().unwrap_err().into_iter().map(|e| e.field).collect();
        assert_eq!(fields, ["low_rating_reasons[0]"]);
        let labelled = LocalizedContent { reasons: [("price".into(), "Too dear".into())].into(), ..Default::default() };
        config.content.insert(Locale::En, labelled);
        assert_eq!(config.validate(), Ok(()));
        let catalog = Catalog::shipped();
        assert_eq!(config.texts(Locale::Ja, catalog).reasons, [("price".to_owned(), "Too dear".to_owned())]);
    }

    #[test]
    fn an_unknown_language_is_refused_when_read() {
        let error = serde_json::from_str::<SurveyConfig>(r#"{"content":{"nl":{}}}"#).unwrap_err();
        assert!(error.to_string().contains("not a shipped locale"), "{error}");
        let error = serde_json::from_str::<SurveyConfig>(r#"{"validity":3}"#).unwrap_err();
        assert!(error.to_string().contains("unknown field"), "{error}");
    }

    #[test]
    fn texts_prefer_the_business_then_the_shipped_locale() {
        let catalog = Catalog::shipped();
        let mut config = SurveyConfig::default();
        config.labels.insert(5, "Brilliant".into());
        config.content.insert(
            Locale::Es,
            LocalizedContent { thank_you: Some("¡Gracias, de verdad!".into()), ..LocalizedContent::default() },
        );
        let es = config.texts(Locale::Es, catalog);
        assert_eq!(es.thank_you, "¡Gracias, de verdad!");
        assert_eq!(es.invitation, catalog.text(Locale::Es, Message::Invitation, config.scale));
        assert_eq!(es.labels.get(Scale::FIVE_STARS.score(5).unwrap()), Some("Brilliant"));
        let fr = config.texts(Locale::Fr, catalog);
        assert_ne!(fr.thank_you, es.thank_you);
    }
}
