//! What a tap on a choice carries back: short enough for Telegram's 64-byte callback data.

use ratewire_core::{Score, SurveyId};

/// The payload of a choice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChoicePayload {
    Score { survey: SurveyId, score: Score },
    Reason { survey: SurveyId, reason: String },
}

const PREFIX: &str = "rw1";

impl ChoicePayload {
    /// `rw1:s:<survey>:<score>` or `rw1:r:<survey>:<reason>`.
    pub fn encode(&self) -> String {
        match self {
            ChoicePayload::Score { survey, score } => format!("{PREFIX}:s:{survey}:{score}"),
            ChoicePayload::Reason { survey, reason } => format!("{PREFIX}:r:{survey}:{reason}"),
        }
    }

    /// Reads a payload back; anything else (another app's payload, a forged one) is `None`.
    /// The score is checked against the survey's scale by the survey, not here.
    pub fn decode(text: &str) -> Option<ChoicePayload> {
        let (kind, rest) = text.strip_prefix(PREFIX)?.strip_prefix(':')?.split_once(':')?;
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
        ] {
            let text = payload.encode();
            assert!(text.len() <= 64, "{text}");
            assert_eq!(ChoicePayload::decode(&text), Some(payload));
        }
    }

    #[test]
    fn foreign_or_broken_payloads_are_refused() {
        for text in
            ["", "hello", "rw1:s:abc", "rw1:s:abc:11", "rw1:s:abc:x", "rw2:s:abc:4", "rw1:x:abc:4", "rw1:r:abc:"]
        {
            assert_eq!(ChoicePayload::decode(text), None, "{text}");
        }
    }
}
