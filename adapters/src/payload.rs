//! What a tap on a choice carries back: short enough for Telegram's 64-byte callback data.
//! A pre-chat's answer names no survey: it belongs to the end user's pre-chat on the channel,
//! and names its question by place (the pre-chat keeps its questions as they were when it
//! started) and the option by id, `yes`/`no` or a score.

use ratewire_core::{Score, SurveyId};

/// The payload of a choice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChoicePayload {
    Score { survey: SurveyId, score: Score },
    Reason { survey: SurveyId, reason: String },
    Answer { question: u8, option: String },
}

const PREFIX: &str = "rw1";

impl ChoicePayload {
    /// `rw1:s:<survey>:<score>`, `rw1:r:<survey>:<reason>` or `rw1:a:<question>:<option>`.
    pub fn encode(&self) -> String {
        match self {
            ChoicePayload::Score { survey, score } => format!("{PREFIX}:s:{survey}:{score}"),
            ChoicePayload::Reason { survey, reason } => format!("{PREFIX}:r:{survey}:{reason}"),
            ChoicePayload::Answer { question, option } => format!("{PREFIX}:a:{question}:{option}"),
        }
    }

    /// Reads a payload back; anything else (another app's payload, a forged one) is `None`.
    /// The score is checked against the survey's scale by the survey, not here.
    pub fn decode(text: &str) -> Option<ChoicePayload> {
        let (kind, rest) = text.strip_prefix(PREFIX)?.strip_prefix(':')?.split_once(':')?;
        if kind == "a" {
            let (question, option) = rest.split_once(':')?;
            let well_formed = !option.is_empty() && option.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
            let question = question.parse().ok().filter(|_| well_formed)?;
            return Some(ChoicePayload::Answer { question, option: option.into() });
        }
        // Survey ids may hold ':', values never do: split at the last one.
        let (survey, value) = rest.rsplit_once(':')?;
        let survey = SurveyId::new(survey).ok()?;
        match kind {
            "s" => {
                let n: u32 = value.parse().ok()?;
                // Any level of any scale; the survey's own scale is checked when it is applied.
                let score = ratewire_core::Scale::NPS.score(n).ok()?;
                Some(ChoicePayload::Score { survey, score })
            }
            "r" if !value.is_empty() => Some(ChoicePayload::Reason { survey, reason: value.to_owned() }),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratewire_core::Scale;

    #[test]
    fn payloads_round_trip_and_fit_telegram() {
        let survey = ratewire_core::SurveyId::generate();
        for payload in [
            ChoicePayload::Score { survey: survey.clone(), score: Scale::NPS.score(10).unwrap() },
            ChoicePayload::Reason { survey: survey.clone(), reason: "unresolved".into() },
            ChoicePayload::Score { survey: SurveyId::new("a:b").unwrap(), score: Scale::NPS.score(3).unwrap() },
            ChoicePayload::Answer { question: 19, option: "a".repeat(40) },
            ChoicePayload::Answer { question: 0, option: "yes".into() },
        ] {
            let text = payload.encode();
            assert!(text.len() <= 64, "{text}");
            assert_eq!(ChoicePayload::decode(&text), Some(payload));
        }
    }

    #[test]
    fn foreign_or_broken_payloads_are_refused() {
        for text in [
            "",
            "hello",
            "rw1:s:abc",
            "rw1:s:abc:11",
            "rw1:s:abc:x",
            "rw2:s:abc:4",
            "rw1:x:abc:4",
            "rw1:r:abc:",
            "rw1:a:x:yes",
            "rw1:a:1:",
            "rw1:a:1:a:b",
            "rw1:a:300:yes",
        ] {
            assert_eq!(ChoicePayload::decode(text), None, "{text}");
        }
    }
}
