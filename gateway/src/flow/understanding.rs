//! Reading one reply on its own, outside any survey: what `ratewire parse` prints for a line and
//! `POST /api/understand` answers.

use std::collections::BTreeMap;

use ratewire_core::{Catalog, Labels, Locale, NoRating, Scale, Understanding, understand};
use serde::{Deserialize, Serialize};

/// One reply to read: a `ratewire parse` input line, and the body of `POST /api/understand`.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Input {
    /// The reply as the end user wrote it.
    text: String,
    /// `stars:N`, `numeric:MIN-MAX` or `emoji:5`; the command's `--scale` (the API: `stars:5`)
    /// when left out.
    scale: Option<String>,
    /// A shipped locale, or a tag that maps to one; the command's `--locale` (the API: `en`)
    /// when left out.
    locale: Option<String>,
    /// The business's label per level, by level: `{"3": "Meh"}`.
    #[schema(value_type = Option<BTreeMap<ratewire_core::config::LevelKey, String>>)]
    labels: Option<BTreeMap<String, String>>,
}

/// Why a line's settings can't be used: each names the field at fault.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("scale: {0}")]
    Scale(ratewire_core::ScaleError),
    #[error("locale: {0}")]
    Locale(ratewire_core::LocaleError),
    #[error("labels: level {level:?} is not a level of the scale {scale}")]
    Label { level: String, scale: Scale },
}

/// How a reply is understood: a score and the comment around it, or why there is no score.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Output {
    #[schema(required = true)]
    score: Option<u8>,
    #[schema(required = true)]
    comment: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = NoRating)]
    reason: Option<NoRating>,
}

/// How one reply is understood, on its own scale, locale and labels or the defaults.
pub fn understand_input(input: Input, default_scale: Scale, default_locale: Locale) -> Result<Output, InputError> {
    let scale = match &input.scale {
        Some(text) => text.parse().map_err(InputError::Scale)?,
        None => default_scale,
    };
    let locale = match &input.locale {
        Some(tag) => tag.parse().map_err(InputError::Locale)?,
        None => default_locale,
    };
    let labels = match input.labels {
        Some(labels) => labels
            .into_iter()
            .map(|(level, text)| match level.parse::<u32>().ok().and_then(|n| scale.score(n).ok()) {
                Some(score) => Ok((score, text)),
                None => Err(InputError::Label { level, scale }),
            })
            .collect::<Result<_, _>>()?,
        // Without labels of its own, a reply is read with the locale's shipped ones.
        None => Catalog::shipped().default_labels(locale, scale),
    };
    Ok(match understand(&input.text, scale, locale, &Labels::new(labels)) {
        Understanding::Rating { score, comment } => Output { score: Some(score.value()), comment, reason: None },
        Understanding::NoRating(reason) => Output { score: None, comment: None, reason: Some(reason) },
    })
}
