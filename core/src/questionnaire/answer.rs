//! Reading an answer to one question: a tap names its option; a typed reply is read by the
//! question's kind — a score as ratings are read, yes or no in the person's language or
//! English, an option by its number or label, and typed values (email, phone, id, date) by
//! their validators, which say what was wrong so the question can be asked again.

use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::{ChoiceOption, Question, QuestionId, QuestionKind};
use crate::locale::Locale;
use crate::reply::{Labels, NoRating, Understanding, fold, understand};
use crate::scale::Score;

/// An answer, as kept and reported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", content = "value", rename_all = "snake_case")]
pub enum AnswerValue {
    Score(Score),
    /// A yes/no answer, or a consent given (`true`).
    YesNo(bool),
    Choice(QuestionId),
    Choices(Vec<QuestionId>),
    /// Free text, a name, an email (domain in lower case), a phone number (E.164) or an id.
    Text(String),
    Date(Date),
}

impl AnswerValue {
    /// The answer as plain JSON, as businesses read it: a number, a boolean, an option's id, a
    /// list of them, a text or an ISO date.
    pub fn plain(&self) -> serde_json::Value {
        match self {
            AnswerValue::Score(score) => score.value().into(),
            AnswerValue::YesNo(yes) => (*yes).into(),
            AnswerValue::Choice(id) => id.as_str().into(),
            AnswerValue::Choices(ids) => ids.iter().map(|id| serde_json::Value::from(id.as_str())).collect(),
            AnswerValue::Text(text) => text.as_str().into(),
            AnswerValue::Date(date) => date.to_string().into(),
        }
    }

    pub fn score(&self) -> Option<Score> {
        match self {
            AnswerValue::Score(score) => Some(*score),
            _ => None,
        }
    }
}

/// Why a reply is not an answer to the question asked; each has its own re-ask text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Error, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Invalid {
    #[error("the reply is empty")]
    Empty,
    #[error("the question can't be skipped")]
    Required,
    #[error("no score on the question's scale")]
    NotAScore,
    #[error("neither yes nor no")]
    NotYesOrNo,
    #[error("none of the options")]
    NotAnOption,
    #[error("not a name")]
    NotAName,
    #[error("not an email address")]
    NotAnEmail,
    #[error("not a phone number")]
    NotAPhone,
    #[error("does not match the expected form")]
    NotTheId,
    #[error("not a date")]
    NotADate,
    #[error("a date that reads two ways (day and month)")]
    AmbiguousDate,
}

impl Invalid {
    /// The id of its re-ask text in the shipped locales.
    pub fn message_id(self) -> &'static str {
        match self {
            Invalid::Empty | Invalid::NotAName => "reask-text",
            Invalid::Required => "reask-required",
            Invalid::NotAScore => "unreadable-hint",
            Invalid::NotYesOrNo => "reask-yes-no",
            Invalid::NotAnOption => "reask-choice",
            Invalid::NotAnEmail => "reask-email",
            Invalid::NotAPhone => "reask-phone",
            Invalid::NotTheId => "reask-id",
            Invalid::NotADate | Invalid::AmbiguousDate => "reask-date",
        }
    }
}

/// What a typed reply to a question amounts to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Read {
    Answer(AnswerValue),
    /// The person declined an optional question ("skip", "-").
    Declined,
}

/// Reads a typed reply as the answer to `question`, in `locale` (English words are read too).
/// `labels` are the level labels of a scored question, for replies that name one.
pub fn read_answer(question: &Question, text: &str, locale: Locale, labels: &Labels) -> Result<Read, Invalid> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(Invalid::Empty);
    }
    if is_skip(trimmed, locale) {
        return if question.required { Err(Invalid::Required) } else { Ok(Read::Declined) };
    }
    let value = match &question.kind {
        QuestionKind::Rating { .. } | QuestionKind::Ces => {
            let scale = question.kind.scale().unwrap_or(super::CES_SCALE);
            match understand(trimmed, scale, locale, labels) {
                Understanding::Rating { score, .. } => AnswerValue::Score(score),
                Understanding::NoRating(NoRating::OutOfRange | NoRating::Ambiguous | NoRating::NotARating) => {
                    return Err(Invalid::NotAScore);
                }
            }
        }
        QuestionKind::YesNo | QuestionKind::Consent { .. } => {
            AnswerValue::YesNo(read_yes_no(trimmed, locale).ok_or(Invalid::NotYesOrNo)?)
        }
        QuestionKind::SingleChoice { options } => match read_choices(trimmed, options).as_deref() {
            Some([one]) => AnswerValue::Choice(one.clone()),
            _ => return Err(Invalid::NotAnOption),
        },
        QuestionKind::MultipleChoice { options } => {
            AnswerValue::Choices(read_choices(trimmed, options).ok_or(Invalid::NotAnOption)?)
        }
        QuestionKind::FreeText { max_chars } => AnswerValue::Text(trimmed.chars().take(*max_chars).collect()),
        QuestionKind::Name => AnswerValue::Text(read_name(trimmed).ok_or(Invalid::NotAName)?),
        QuestionKind::Email => AnswerValue::Text(read_email(trimmed).ok_or(Invalid::NotAnEmail)?),
        QuestionKind::Phone { default_region } => {
            AnswerValue::Text(read_phone(trimmed, default_region.as_deref()).ok_or(Invalid::NotAPhone)?)
        }
        QuestionKind::Identifier { pattern, case_insensitive, .. } => {
            let pattern = IdPattern::new(pattern, *case_insensitive).map_err(|_| Invalid::NotTheId)?;
            AnswerValue::Text(pattern.find(trimmed).ok_or(Invalid::NotTheId)?)
        }
        QuestionKind::Date => AnswerValue::Date(read_date(trimmed)?),
    };
    Ok(Read::Answer(value))
}

/// Reads a tap's option — an option id, `yes`/`no`, or a score's number — as the answer to
/// `question`; `None` when it is none of the question's.
pub fn read_tap(question: &Question, option: &str) -> Option<AnswerValue> {
    match &question.kind {
        QuestionKind::Rating { .. } | QuestionKind::Ces => {
            let scale = question.kind.scale()?;
            Some(AnswerValue::Score(scale.score(option.parse().ok()?).ok()?))
        }
        QuestionKind::YesNo | QuestionKind::Consent { .. } => match option {
            "yes" => Some(AnswerValue::YesNo(true)),
            "no" => Some(AnswerValue::YesNo(false)),
            _ => None,
        },
        QuestionKind::SingleChoice { options } => {
            options.iter().find(|o| o.id.as_str() == option).map(|o| AnswerValue::Choice(o.id.clone()))
        }
        QuestionKind::MultipleChoice { options } => {
            let ids: Option<Vec<QuestionId>> = option
                .split(',')
                .map(|id| options.iter().find(|o| o.id.as_str() == id).map(|o| o.id.clone()))
                .collect();
            ids.filter(|ids| !ids.is_empty()).map(AnswerValue::Choices)
        }
        _ => None,
    }
}

/// Words that decline an optional question, folded, in every shipped language.
const SKIP_WORDS: [&str; 20] = [
    "-",
    "skip",
    "pass",
    "no thanks",
    "saltar",
    "omitir",
    "pular",
    "passer",
    "uberspringen",
    "weiter",
    "スキップ",
    "건너뛰기",
    "跳过",
    "略过",
    "略過",
    "跳過",
    "تخطي",
    "пропустить",
    "lewati",
    "lewat",
];

fn is_skip(text: &str, _locale: Locale) -> bool {
    let folded = fold(text);
    SKIP_WORDS.contains(&folded.as_str())
}

/// Yes and no, folded, by language; English's are read in every language.
fn yes_no_words(locale: Locale) -> (&'static [&'static str], &'static [&'static str]) {
    match locale {
        Locale::En => (&[], &[]),
        Locale::Es => (
            &["si", "sí", "claro", "por supuesto", "correcto", "asi es", "de acuerdo", "acepto", "vale", "sip"],
            &["no", "para nada", "todavia no", "aun no", "nop", "no acepto"],
        ),
        Locale::PtBr => (
            &["sim", "claro", "com certeza", "isso", "aceito", "concordo", "sim resolvido"],
            &["nao", "não", "ainda nao", "de jeito nenhum", "nao aceito"],
        ),
        Locale::Fr => (
            &["oui", "ouais", "bien sur", "d'accord", "j'accepte", "tout a fait"],
            &["non", "pas vraiment", "pas du tout", "pas encore"],
        ),
        Locale::De => (
            &["ja", "jawohl", "genau", "klar", "einverstanden", "ich stimme zu"],
            &["nein", "nicht wirklich", "noch nicht", "gar nicht"],
        ),
        Locale::Ja => (
            &["はい", "ええ", "うん", "解決しました", "同意します", "同意する"],
            &["いいえ", "いや", "解決していません", "まだです", "同意しません"],
        ),
        Locale::Ko => (
            &["네", "예", "응", "해결됐어요", "동의합니다", "동의"],
            &["아니요", "아니오", "아니", "해결되지 않았어요", "동의하지 않습니다"],
        ),
        Locale::ZhCn => (
            &["是", "是的", "对", "有", "解决了", "已解决", "同意", "好的"],
            &["否", "不是", "没有", "不", "没解决", "未解决", "不同意"],
        ),
        Locale::ZhTw => (
            &["是", "是的", "對", "有", "解決了", "已解決", "同意", "好的"],
            &["否", "不是", "沒有", "不", "沒解決", "未解決", "不同意"],
        ),
        Locale::Ar => (&["نعم", "ايوه", "أجل", "اوافق", "موافق"], &["لا", "كلا", "ليس بعد", "لا اوافق"]),
        Locale::Ru => (
            &["да", "ага", "конечно", "согласен", "согласна"],
            &["нет", "не совсем", "пока нет", "не согласен", "не согласна"],
        ),
        Locale::Id => (&["ya", "iya", "betul", "sudah", "setuju"], &["tidak", "belum", "nggak", "gak", "tidak setuju"]),
    }
}

const ENGLISH_YES: [&str; 14] = [
    "yes",
    "y",
    "yeah",
    "yep",
    "yup",
    "sure",
    "of course",
    "correct",
    "it was",
    "resolved",
    "i agree",
    "agree",
    "ok",
    "👍",
];
const ENGLISH_NO: [&str; 12] = [
    "no",
    "n",
    "nope",
    "nah",
    "not really",
    "not yet",
    "not at all",
    "it wasn't",
    "it was not",
    "unresolved",
    "i don't agree",
    "👎",
];

/// Reads yes or no: the whole reply, or its opening words set off from the rest ("no, it still
/// fails"); the longest phrase wins, so "not really" is a no before "no" is looked at.
pub fn read_yes_no(text: &str, locale: Locale) -> Option<bool> {
    let folded = fold(text);
    let (yes, no) = yes_no_words(locale);
    let mut phrases: Vec<(String, bool)> = ENGLISH_YES
        .iter()
        .chain(yes)
        .map(|p| (fold(p), true))
        .chain(ENGLISH_NO.iter().chain(no).map(|p| (fold(p), false)))
        .chain([("✅".to_owned(), true), ("❌".to_owned(), false)])
        .collect();
    phrases.sort_by_key(|(phrase, _)| std::cmp::Reverse(phrase.chars().count()));
    let unspaced = matches!(locale, Locale::ZhCn | Locale::ZhTw | Locale::Ja);
    phrases.into_iter().find_map(|(phrase, answer)| {
        let rest = folded.strip_prefix(phrase.as_str())?;
        let set_off = rest.is_empty()
            || rest.starts_with(|c: char| c.is_whitespace() || c.is_ascii_punctuation() || "，。！、？".contains(c))
            || (unspaced && phrase.chars().count() >= 2 && !phrase.is_ascii());
        set_off.then_some(answer)
    })
}

/// Reads one or more options: by number (1 is the first), by id, or by label in any language,
/// several set apart by commas, "and" in any shipped language ("y", "et", "und", 和, …) or spaces
/// between numbers. `None` unless every part names
/// an option.
fn read_choices(text: &str, options: &[ChoiceOption]) -> Option<Vec<QuestionId>> {
    let find = |part: &str| -> Option<QuestionId> {
        let folded = fold(part);
        if let Ok(number) = folded.parse::<usize>() {
            return options.get(number.checked_sub(1)?).map(|o| o.id.clone());
        }
        options
            .iter()
            .find(|o| fold(o.id.as_str()) == folded || o.label.values().any(|label| fold(label) == folded))
            .map(|o| o.id.clone())
    };
    if let Some(whole) = find(text) {
        return Some(vec![whole]);
    }
    let mut chosen = Vec::new();
    for part in text.split([',', ';', '、', '，', '\n', '+', '&', '和', '與', '及', '및']).flat_map(and_words).flat_map(
        |part| {
            // "1 3" names two options; "Late delivery" is one label.
            let numbers: Vec<&str> = part.split_whitespace().collect();
            if numbers.len() > 1 && numbers.iter().all(|n| n.parse::<usize>().is_ok()) { numbers } else { vec![part] }
        },
    ) {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        let id = find(part)?;
        if !chosen.contains(&id) {
            chosen.push(id);
        }
    }
    (!chosen.is_empty()).then_some(chosen)
}

/// "and" in the shipped languages that write it as a word of its own.
const AND_WORDS: [&str; 9] = [" and ", " y ", " e ", " et ", " und ", " и ", " dan ", " و ", " と "];

/// `part` split at every "and" word.
fn and_words(part: &str) -> Vec<&str> {
    AND_WORDS.iter().fold(vec![part], |parts, word| parts.into_iter().flat_map(|p| p.split(word)).collect())
}

/// A name: letters (any script) with spaces, hyphens, apostrophes and dots, up to 80 characters
/// and 6 words, no digits and no `@`; an opening "my name is" / "me llamo" / "je m'appelle" …
/// is left out.
fn read_name(text: &str) -> Option<String> {
    const OPENINGS: [&str; 10] = [
        "my name is ",
        "i am ",
        "i'm ",
        "me llamo ",
        "mi nombre es ",
        "soy ",
        "je m'appelle ",
        "ich heisse ",
        "ich heiße ",
        "meu nome e ",
    ];
    let lower = text.to_lowercase();
    let name = OPENINGS
        .iter()
        .find_map(|opening| lower.starts_with(opening).then(|| &text[opening.len()..]))
        .unwrap_or(text)
        .trim()
        .trim_end_matches(['.', '!']);
    let allowed = |c: char| c.is_alphabetic() || c.is_whitespace() || "-'.’·・".contains(c) || is_mark(c);
    let well_formed = !name.is_empty()
        && name.chars().count() <= 80
        && name.split_whitespace().count() <= 6
        && name.chars().any(char::is_alphabetic)
        && name.chars().all(allowed);
    well_formed.then(|| name.split_whitespace().collect::<Vec<_>>().join(" "))
}

/// Combining marks (Devanagari and Arabic vowel signs, say) belong to the letter before them.
fn is_mark(c: char) -> bool {
    matches!(c as u32, 0x0300..=0x036F | 0x064B..=0x065F | 0x0900..=0x097F)
}

/// An email address: the one word of the reply with an `@` in it ("it's ana@example.com"),
/// checked as an address with a dotted domain, the domain kept in lower case.
fn read_email(text: &str) -> Option<String> {
    let mut candidates = text
        .split(|c: char| c.is_whitespace() || ",;<>()\"'".contains(c))
        .map(|word| word.trim_matches(|c: char| ".:!?".contains(c)))
        .filter(|word| word.contains('@'));
    let address = candidates.next()?;
    if candidates.next().is_some() {
        return None;
    }
    let parsed: email_address::EmailAddress = address.parse().ok()?;
    let domain = parsed.domain().to_lowercase();
    let dotted = domain.split('.').count() >= 2 && domain.split('.').all(|label| !label.is_empty());
    dotted.then(|| format!("{}@{domain}", parsed.local_part()))
}

/// A country for phone numbers, from its ISO 3166 code.
pub(crate) fn region(code: &str) -> Option<phonenumber::country::Id> {
    code.to_ascii_uppercase().parse().ok()
}

/// A phone number in E.164 form: with its country code (`+34 612 34 56 78`, `0034…`), or in the
/// national form of `default_region`.
fn read_phone(text: &str, default_region: Option<&str>) -> Option<String> {
    let dialled: String = text.chars().filter(|c| !c.is_whitespace() && !"-().".contains(*c)).collect();
    let dialled = match dialled.strip_prefix("00") {
        Some(rest) => format!("+{rest}"),
        None => dialled,
    };
    if dialled.chars().filter(char::is_ascii_digit).count() < 6
        || !dialled.trim_start_matches('+').chars().all(|c| c.is_ascii_digit())
    {
        return None;
    }
    let region = if dialled.starts_with('+') { None } else { Some(region(default_region?)?) };
    let number = phonenumber::parse(region, &dialled).ok()?;
    phonenumber::is_valid(&number).then(|| number.format().mode(phonenumber::Mode::E164).to_string())
}

/// A compiled id pattern, matched against the whole id.
pub(crate) struct IdPattern {
    regex: regex::Regex,
    case_insensitive: bool,
}

impl IdPattern {
    pub(crate) fn new(pattern: &str, case_insensitive: bool) -> Result<IdPattern, String> {
        if pattern.len() > 200 {
            return Err("must be at most 200 characters".into());
        }
        regex::RegexBuilder::new(&format!("^(?:{pattern})$"))
            .case_insensitive(case_insensitive)
            .size_limit(1 << 16)
            .build()
            .map(|regex| IdPattern { regex, case_insensitive })
            .map_err(|error| format!("is not a regular expression: {error}"))
    }

    pub(crate) fn matches_whole(&self, id: &str) -> bool {
        self.regex.is_match(id)
    }

    /// The id in `text`: the whole reply, or the one word of it that matches ("order #AB123456").
    fn find(&self, text: &str) -> Option<String> {
        let normalize = |id: &str| if self.case_insensitive { id.to_uppercase() } else { id.to_owned() };
        if self.matches_whole(text) {
            return Some(normalize(text));
        }
        let mut found = text
            .split(|c: char| c.is_whitespace() || ",;:()\"'".contains(c))
            .map(|word| word.trim_start_matches('#').trim_end_matches(['.', '!', '?']))
            .filter(|word| self.matches_whole(word));
        let id = found.next()?;
        found.next().is_none().then(|| normalize(id))
    }
}

/// A date: `2026-12-31`, `2026/12/31`, `31/12/2026`, `31.12.2026`, `12/31/2026`, `2026年12月31日`,
/// `2026년 12월 31일`. A day-month-year that also reads month-day-year (`03/04/2026`) is
/// ambiguous, and asked again with the year-first form.
fn read_date(text: &str) -> Result<Date, Invalid> {
    let numbers: Vec<&str> = text.split(|c: char| !c.is_ascii_digit()).filter(|part| !part.is_empty()).collect();
    let parse = |s: &str| s.parse::<i16>().ok();
    let [a, b, c] = numbers[..] else { return Err(Invalid::NotADate) };
    let (Some(a), Some(b), Some(c)) = (parse(a), parse(b), parse(c)) else { return Err(Invalid::NotADate) };
    let date = |year: i16, month: i16, day: i16| {
        let (Ok(month), Ok(day)) = (i8::try_from(month), i8::try_from(day)) else { return None };
        (1000..=9999).contains(&year).then(|| Date::new(year, month, day).ok()).flatten()
    };
    if numbers[0].len() == 4 {
        return date(a, b, c).ok_or(Invalid::NotADate);
    }
    match (date(c, b, a), date(c, a, b)) {
        (Some(day_first), Some(month_first)) if day_first != month_first => Err(Invalid::AmbiguousDate),
        (Some(date), _) | (None, Some(date)) => Ok(date),
        (None, None) => Err(Invalid::NotADate),
    }
}
