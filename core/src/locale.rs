//! The locales ratewire ships, and negotiation from whatever language tags an end user brings.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use thiserror::Error;
use unic_langid::LanguageIdentifier;

/// A locale ratewire ships complete texts and reply understanding for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Locale {
    En,
    ZhCn,
    ZhTw,
    Es,
    PtBr,
    Fr,
    De,
    Ja,
    Ko,
    Ar,
    Ru,
    Id,
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum LocaleError {
    #[error("{0:?} is not a valid language tag")]
    InvalidTag(String),
    #[error("{0:?} is not a shipped locale (shipped: en, zh-CN, zh-TW, es, pt-BR, fr, de, ja, ko, ar, ru, id)")]
    NotShipped(String),
}

impl Locale {
    pub const ALL: [Locale; 12] = [
        Locale::En,
        Locale::ZhCn,
        Locale::ZhTw,
        Locale::Es,
        Locale::PtBr,
        Locale::Fr,
        Locale::De,
        Locale::Ja,
        Locale::Ko,
        Locale::Ar,
        Locale::Ru,
        Locale::Id,
    ];

    /// The BCP 47 tag, which is also the name of the locale's folder under `locales/`.
    pub fn tag(self) -> &'static str {
        match self {
            Locale::En => "en",
            Locale::ZhCn => "zh-CN",
            Locale::ZhTw => "zh-TW",
            Locale::Es => "es",
            Locale::PtBr => "pt-BR",
            Locale::Fr => "fr",
            Locale::De => "de",
            Locale::Ja => "ja",
            Locale::Ko => "ko",
            Locale::Ar => "ar",
            Locale::Ru => "ru",
            Locale::Id => "id",
        }
    }

    /// Whether text in this locale runs right to left.
    pub fn is_rtl(self) -> bool {
        self == Locale::Ar
    }

    /// The shipped locale closest to one language tag, if any.
    ///
    /// Chinese goes by script first, then region: `zh-Hant`, `zh-TW`, `zh-HK` and `zh-MO` read
    /// Traditional; `zh`, `zh-Hans`, `zh-CN` and `zh-SG` read Simplified. Portuguese of any region
    /// reads pt-BR; every other language matches whatever its region.
    pub fn for_tag(tag: &str) -> Result<Option<Locale>, LocaleError> {
        // Telegram and some browsers send `pt_BR`; Accept-Language may carry `;q=` weights.
        let cleaned = tag.split(';').next().unwrap_or_default().trim().replace('_', "-");
        let id: LanguageIdentifier = cleaned.parse().map_err(|_| LocaleError::InvalidTag(tag.to_owned()))?;
        let locale = match id.language.as_str() {
            "en" => Locale::En,
            "zh" => {
                let script = id.script.map(|s| s.as_str().to_ascii_lowercase());
                let region = id.region.map(|r| r.as_str().to_ascii_uppercase());
                match (script.as_deref(), region.as_deref()) {
                    (Some("hant"), _) => Locale::ZhTw,
                    (Some("hans"), _) => Locale::ZhCn,
                    (None, Some("TW" | "HK" | "MO")) => Locale::ZhTw,
                    _ => Locale::ZhCn,
                }
            }
            "es" => Locale::Es,
            "pt" => Locale::PtBr,
            "fr" => Locale::Fr,
            "de" => Locale::De,
            "ja" => Locale::Ja,
            "ko" => Locale::Ko,
            "ar" => Locale::Ar,
            "ru" => Locale::Ru,
            // `in` is the deprecated code for Indonesian that old Android builds still send.
            "id" | "in" => Locale::Id,
            _ => return Ok(None),
        };
        Ok(Some(locale))
    }

    /// Picks the best shipped locale for an end user's tags, in their order of preference.
    ///
    /// Tags may come one per item or as one `Accept-Language` value; invalid tags and unshipped
    /// languages are skipped, and when nothing matches the configuration's default is used.
    pub fn negotiate<'a>(preferred: impl IntoIterator<Item = &'a str>, default: Locale) -> Locale {
        let mut weighted: Vec<(f32, usize, Locale)> = preferred
            .into_iter()
            .flat_map(|item| item.split(','))
            .enumerate()
            .filter_map(|(position, part)| {
                let quality = part
                    .split(';')
                    .skip(1)
                    .find_map(|param| param.trim().strip_prefix("q="))
                    .map_or(Some(1.0), |q| q.trim().parse::<f32>().ok())?;
                let locale = Locale::for_tag(part).ok().flatten()?;
                (quality > 0.0).then_some((quality, position, locale))
            })
            .collect();
        // Stable order: higher quality first, then the order the user gave.
        weighted.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        weighted.first().map_or(default, |&(_, _, locale)| locale)
    }
}

impl fmt::Display for Locale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.tag())
    }
}

impl FromStr for Locale {
    type Err = LocaleError;

    /// Reads a tag that must name a shipped locale (`pt` and `pt-PT` read pt-BR, `zh-HK` zh-TW).
    fn from_str(tag: &str) -> Result<Self, LocaleError> {
        Locale::for_tag(tag)?.ok_or_else(|| LocaleError::NotShipped(tag.to_owned()))
    }
}

impl TryFrom<String> for Locale {
    type Error = LocaleError;
    fn try_from(tag: String) -> Result<Self, LocaleError> {
        tag.parse()
    }
}

impl From<Locale> for String {
    fn from(locale: Locale) -> String {
        locale.tag().to_owned()
    }
}

/// A string: read leniently by [`Locale::for_tag`], always written as one of the shipped tags.
#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for Locale {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, Type};
        let tags: Vec<&str> = Locale::ALL.iter().map(|locale| locale.tag()).collect();
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some(format!(
                "A shipped locale, as a BCP 47 tag: {}. Other tags of a shipped language are read as \
                 it (`en-US` as en, `pt-PT` as pt-BR, `zh-HK` as zh-TW); answers always give one of these tags.",
                tags.join(", ")
            )))
            .examples(["en", "pt-BR"])
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for Locale {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_locale_round_trips_through_its_tag() {
        for locale in Locale::ALL {
            assert_eq!(locale.tag().parse::<Locale>(), Ok(locale));
        }
    }

    #[test]
    fn chinese_goes_by_script_then_region() {
        let pick = |tag| Locale::negotiate([tag], Locale::En);
        assert_eq!(pick("zh"), Locale::ZhCn);
        assert_eq!(pick("zh-Hans-HK"), Locale::ZhCn);
        assert_eq!(pick("zh-Hant"), Locale::ZhTw);
        assert_eq!(pick("zh-HK"), Locale::ZhTw);
        assert_eq!(pick("zh-hant-cn"), Locale::ZhTw);
        assert_eq!(pick("zh-SG"), Locale::ZhCn);
    }

    #[test]
    fn telegram_codes_and_regions_map_to_shipped_locales() {
        let pick = |tag| Locale::negotiate([tag], Locale::En);
        assert_eq!(pick("pt"), Locale::PtBr);
        assert_eq!(pick("pt-PT"), Locale::PtBr);
        assert_eq!(pick("pt_BR"), Locale::PtBr);
        assert_eq!(pick("es-419"), Locale::Es);
        assert_eq!(pick("in"), Locale::Id);
        assert_eq!(pick("de-AT"), Locale::De);
    }

    #[test]
    fn browser_lists_follow_quality_then_order() {
        let header = "nl-NL,nl;q=0.9,fr;q=0.5,de;q=0.7";
        assert_eq!(Locale::negotiate([header], Locale::En), Locale::De);
        assert_eq!(Locale::negotiate(["it", "ko", "ja"], Locale::En), Locale::Ko);
        assert_eq!(Locale::negotiate(["fr;q=0", "es;q=0.1"], Locale::En), Locale::Es);
    }

    #[test]
    fn unknown_or_broken_tags_fall_back_to_the_default() {
        assert_eq!(Locale::negotiate(["nl", "!!", ""], Locale::Ja), Locale::Ja);
        assert_eq!(Locale::negotiate([], Locale::Ar), Locale::Ar);
        assert_eq!("nl".parse::<Locale>(), Err(LocaleError::NotShipped("nl".into())));
    }
}
