//! The shipped texts: one Fluent file per locale under `locales/`, compiled into the binary so
//! ratewire runs from anywhere.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource};

use crate::locale::Locale;
use crate::scale::{Scale, Score};

/// A text the shipped locales provide.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Message {
    Invitation,
    AnswerHint,
    RateButton,
    ThankYou,
    CommentPrompt,
    CommentThanks,
    ReasonPrompt,
    ExpiryNotice,
    UnreadableHint,
    RatingLocked,
    Reminder,
    /// The web widget's button that sends a comment.
    WidgetSend,
    /// The web widget's button that closes its floating card.
    WidgetClose,
    /// Email: the question on the page a rating link opens, before the rating counts.
    EmailConfirmPrompt,
    /// Email: the button that records the rating on that page.
    EmailConfirm,
    /// Email: the link to the survey's page in messages that can't carry the choices.
    EmailOpenSurvey,
    /// Email: the unsubscribe link at the foot of every message.
    EmailUnsubscribe,
    /// Email: the question on the unsubscribe page.
    EmailUnsubscribePrompt,
    /// Email: the page after unsubscribing.
    EmailUnsubscribed,
    /// Email: the page of a link that is damaged or was edited.
    EmailLinkInvalid,
    /// Email: the question on the page a reason link opens, before the reason counts.
    EmailReasonPrompt,
    /// Email: the button that records the reason on that page.
    EmailReasonConfirm,
    /// Email: a page's notice when what was sent no longer fits the survey.
    EmailAnswerNotTaken,
    /// Email: a page's notice when the comment box was sent empty.
    EmailCommentEmpty,
    /// Email: the page shown when ratewire can't answer for a moment.
    EmailTryAgain,
}

impl Message {
    fn id(self, scale: Scale) -> &'static str {
        match self {
            Message::Invitation if scale.is_nps() => "nps-question",
            Message::Invitation => "invitation",
            Message::AnswerHint => "answer-hint",
            Message::RateButton => "rate-button",
            Message::ThankYou => "thank-you",
            Message::CommentPrompt => "comment-prompt",
            Message::CommentThanks => "comment-thanks",
            Message::ReasonPrompt => "reason-prompt",
            Message::ExpiryNotice => "expiry-notice",
            Message::UnreadableHint => "unreadable-hint",
            Message::RatingLocked => "rating-locked",
            Message::Reminder => "reminder",
            Message::WidgetSend => "widget-send",
            Message::WidgetClose => "widget-close",
            Message::EmailConfirmPrompt => "email-confirm-prompt",
            Message::EmailConfirm => "email-confirm",
            Message::EmailOpenSurvey => "email-open-survey",
            Message::EmailUnsubscribe => "email-unsubscribe",
            Message::EmailUnsubscribePrompt => "email-unsubscribe-prompt",
            Message::EmailUnsubscribed => "email-unsubscribed",
            Message::EmailLinkInvalid => "email-link-invalid",
            Message::EmailReasonPrompt => "email-reason-prompt",
            Message::EmailReasonConfirm => "email-reason-confirm",
            Message::EmailAnswerNotTaken => "email-answer-not-taken",
            Message::EmailCommentEmpty => "email-comment-empty",
            Message::EmailTryAgain => "email-try-again",
        }
    }
}

/// The reason ids every locale translates.
pub const SHIPPED_REASONS: [&str; 4] = ["slow", "unresolved", "unfriendly", "other"];

macro_rules! shipped_sources {
    ($($locale:ident => $dir:literal),* $(,)?) => {
        [$((Locale::$locale, include_str!(concat!("../../locales/", $dir, "/ratewire.ftl")))),*]
    };
}

/// Every locale's Fluent source, as shipped.
pub const SOURCES: [(Locale, &str); 12] = shipped_sources!(
    En => "en", ZhCn => "zh-CN", ZhTw => "zh-TW", Es => "es", PtBr => "pt-BR", Fr => "fr",
    De => "de", Ja => "ja", Ko => "ko", Ar => "ar", Ru => "ru", Id => "id",
);

pub struct Catalog {
    bundles: BTreeMap<Locale, FluentBundle<FluentResource>>,
}

static SHIPPED: LazyLock<Catalog> = LazyLock::new(|| {
    // The sources are compiled in and every one is parsed by the tests, so a failure here is a
    // build defect, not something a running service can meet.
    Catalog::from_sources(&SOURCES).expect("the shipped locales parse")
});

impl Catalog {
    /// The catalog built from the shipped locales.
    pub fn shipped() -> &'static Catalog {
        &SHIPPED
    }

    /// Builds a catalog, reporting the first source that fails to parse.
    pub fn from_sources(sources: &[(Locale, &str)]) -> Result<Catalog, String> {
        let mut bundles = BTreeMap::new();
        for &(locale, source) in sources {
            let resource = FluentResource::try_new(source.to_owned())
                .map_err(|(_, errors)| format!("locales/{locale}: {errors:?}"))?;
            let id = locale.tag().parse().map_err(|_| format!("bad tag {locale}"))?;
            let mut bundle = FluentBundle::new_concurrent(vec![id]);
            // Plain-text channels would show Unicode isolation marks around placeholders.
            bundle.set_use_isolating(false);
            bundle.add_resource(resource).map_err(|errors| format!("locales/{locale}: {errors:?}"))?;
            bundles.insert(locale, bundle);
        }
        Ok(Catalog { bundles })
    }

    /// A message's text in `locale`, falling back to English if the locale lacks it.
    pub fn text(&self, locale: Locale, message: Message, scale: Scale) -> String {
        let mut args = FluentArgs::new();
        args.set("min", scale.min());
        args.set("max", scale.max());
        self.format(locale, message.id(scale), Some(&args)).unwrap_or_default()
    }

    /// A text that names no level of a scale (a page's or an email's chrome), in `locale`.
    pub fn scale_free_text(&self, locale: Locale, message: Message) -> String {
        self.format(locale, message.id(Scale::FIVE_STARS), None).unwrap_or_default()
    }

    /// The label a shipped reason id has in `locale`; `None` for a business's own reason.
    pub fn reason(&self, locale: Locale, id: &str) -> Option<String> {
        SHIPPED_REASONS.contains(&id).then(|| self.format(locale, &format!("reason-{id}"), None)).flatten()
    }

    /// Shipped labels for a scale: every level of a five-level scale, the two ends of others.
    pub fn default_labels(&self, locale: Locale, scale: Scale) -> BTreeMap<Score, String> {
        let ids: Vec<(u8, String)> = if scale.levels() == 5 {
            scale.scores().map(|s| (s.value(), format!("label-5-{}", s.value() - scale.min() + 1))).collect()
        } else if scale.is_nps() {
            vec![(0, "nps-lowest".into()), (10, "nps-highest".into())]
        } else {
            vec![(scale.min(), "label-lowest".into()), (scale.max(), "label-highest".into())]
        };
        ids.into_iter()
            .filter_map(|(level, id)| Some((scale.score(level.into()).ok()?, self.format(locale, &id, None)?)))
            .collect()
    }

    /// A message of the shipped locales by its id, with `args`, in `locale` or else English.
    pub(crate) fn format_with(&self, locale: Locale, id: &str, args: &FluentArgs) -> Option<String> {
        self.format(locale, id, Some(args))
    }

    fn format(&self, locale: Locale, id: &str, args: Option<&FluentArgs>) -> Option<String> {
        [locale, Locale::En].into_iter().find_map(|candidate| {
            let bundle = self.bundles.get(&candidate)?;
            let pattern = bundle.get_message(id)?.value()?;
            let mut errors = Vec::new();
            let text = bundle.format_pattern(pattern, args, &mut errors);
            errors.is_empty().then(|| text.into_owned())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The ids of the messages a locale defines.
    fn message_ids(locale: Locale) -> Vec<String> {
        let Some((_, source)) = SOURCES.iter().find(|(l, _)| *l == locale) else { return Vec::new() };
        let Ok(resource) = FluentResource::try_new((*source).to_owned()) else { return Vec::new() };
        resource
            .entries()
            .filter_map(|entry| match entry {
                fluent_syntax::ast::Entry::Message(m) => Some(m.id.name.to_owned()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn every_locale_is_complete() {
        let catalog = Catalog::shipped();
        let english = message_ids(Locale::En);
        assert!(english.len() > 20);
        for locale in Locale::ALL {
            let mut ids = message_ids(locale);
            ids.sort();
            let mut expected = english.clone();
            expected.sort();
            assert_eq!(ids, expected, "locales/{locale} must define exactly the English messages");
            for id in &english {
                let bundle = &catalog.bundles[&locale];
                let message = bundle.get_message(id).unwrap();
                assert!(message.value().is_some(), "{locale}: {id} has no value");
            }
        }
    }

    #[test]
    fn placeholders_are_filled_in_every_locale() {
        let catalog = Catalog::shipped();
        let scale = Scale::numeric(1, 10).unwrap();
        for locale in Locale::ALL {
            for message in [Message::AnswerHint, Message::UnreadableHint] {
                let text = catalog.text(locale, message, scale);
                assert!(text.contains("10"), "{locale} {message:?}: {text}");
                assert!(!text.contains('{') && !text.contains('\u{2068}'), "{locale}: {text}");
            }
        }
    }

    #[test]
    fn scale_free_texts_are_translated_in_every_locale() {
        let catalog = Catalog::shipped();
        for message in [Message::EmailReasonPrompt, Message::EmailAnswerNotTaken, Message::EmailTryAgain] {
            let english = catalog.scale_free_text(Locale::En, message);
            assert!(!english.is_empty(), "{message:?}");
            for locale in Locale::ALL.into_iter().filter(|l| *l != Locale::En) {
                let text = catalog.scale_free_text(locale, message);
                assert!(!text.is_empty() && text != english, "{locale} {message:?}: {text}");
            }
        }
    }

    #[test]
    fn button_labels_fit_whatsapp() {
        let catalog = Catalog::shipped();
        for locale in Locale::ALL {
            let label = catalog.text(locale, Message::RateButton, Scale::FIVE_STARS);
            assert!((1..=20).contains(&label.chars().count()), "{locale}: {label}");
        }
    }

    #[test]
    fn default_labels_cover_five_levels_or_the_ends() {
        let catalog = Catalog::shipped();
        assert_eq!(catalog.default_labels(Locale::En, Scale::FIVE_STARS).len(), 5);
        let nps = catalog.default_labels(Locale::De, Scale::NPS);
        assert_eq!(nps.keys().map(|s| s.value()).collect::<Vec<_>>(), [0, 10]);
        assert_eq!(catalog.reason(Locale::Fr, "invented"), None);
        assert!(catalog.reason(Locale::Ja, "slow").is_some());
    }
}
