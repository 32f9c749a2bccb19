//! `ratewire parse`: reads replies as JSON lines and prints how each one is understood.

use std::collections::BTreeMap;
use std::io::{self, BufRead, Write};

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

/// What one input line gets back: how the reply is understood, or why the line can't be read.
#[derive(Serialize)]
#[serde(untagged)]
enum Answer {
    Understood(Output),
    Error { error: String },
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

/// Reads every line of `input` and writes one JSON line for each to `output`, in order. A bad
/// line gets `{"error": …}` and the others go on. Output is flushed after each line when
/// `interactive`, so the command can be driven line by line.
pub fn run(
    input: impl BufRead,
    mut output: impl Write,
    default_scale: Scale,
    default_locale: Locale,
    interactive: bool,
) -> io::Result<()> {
    for line in input.lines() {
        serde_json::to_writer(&mut output, &answer(&line?, default_scale, default_locale))?;
        output.write_all(b"\n")?;
        if interactive {
            output.flush()?;
        }
    }
    output.flush()
}

/// How one input line is understood, as its output object: `{"score", "comment", "reason"?}`,
/// or `{"error"}` for a line that can't be read.
fn answer(line: &str, default_scale: Scale, default_locale: Locale) -> Answer {
    let understood = serde_json::from_str(line)
        .map_err(|e| format!("invalid input line: {e}"))
        .and_then(|input| understand_input(input, default_scale, default_locale).map_err(|e| e.to_string()));
    match understood {
        Ok(output) => Answer::Understood(output),
        Err(error) => Answer::Error { error },
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn run_lines(input: &str) -> Vec<serde_json::Value> {
        let mut output = Vec::new();
        run(input.as_bytes(), &mut output, Scale::FIVE_STARS, Locale::En, false).unwrap();
        String::from_utf8(output).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
    }

    #[test]
    fn one_output_line_per_input_line_in_order() {
        let out = run_lines(concat!(
            r#"{"text":"5 - great"}"#,
            "\n",
            "not json\n",
            r#"{"text":"cinco estrellas","locale":"es"}"#,
            "\n",
            r#"{"text":"9","scale":"numeric:0-10"}"#,
            "\n",
            r#"{"text":"Meh","labels":{"3":"Meh"}}"#,
            "\n",
            r#"{"text":"6"}"#,
            "\n",
            r#"{"text":"x","scale":"stars:11"}"#,
            "\n",
            r#"{"text":"x","labels":{"7":"Wow"}}"#,
            "\n",
            r#"{"text":"x","locale":"nl"}"#,
            "\n",
        ));
        assert_eq!(out[0], serde_json::json!({"score": 5, "comment": "great"}));
        assert!(out[1]["error"].as_str().unwrap().contains("invalid input line"));
        assert_eq!(out[2], serde_json::json!({"score": 5, "comment": null}));
        assert_eq!(out[3], serde_json::json!({"score": 9, "comment": null}));
        assert_eq!(out[4], serde_json::json!({"score": 3, "comment": null}));
        assert_eq!(out[5], serde_json::json!({"score": null, "comment": null, "reason": "out_of_range"}));
        assert!(out[6]["error"].as_str().unwrap().starts_with("scale:"));
        assert!(out[7]["error"].as_str().unwrap().starts_with("labels:"));
        assert!(out[8]["error"].as_str().unwrap().starts_with("locale:"));
        assert_eq!(out.len(), 9);
    }
}
