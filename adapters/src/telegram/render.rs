//! Content as Telegram shows it: a plain text (no parse mode, so nothing needs escaping) with
//! an inline keyboard for choices.
//!
//! Keyboard layout:
//! - up to five levels that all have a label: one button per row, "title label" (the shipped
//!   five-level scales: "⭐⭐⭐⭐ Satisfied");
//! - otherwise a grid of the levels' titles in balanced rows — at most six a row for numbers
//!   and faces, fewer for wide titles (0 to 10 is two rows, 6 and 5) — with the labels, if
//!   any, under the text ("0 – Not at all likely");
//! - reasons: one button per row.

use ratewire_core::FailureReason;
use teloxide_core::types::{InlineKeyboardButton, InlineKeyboardMarkup};

use super::MAX_CALLBACK_DATA;
use crate::{Capabilities, Choice, Content, InvitationLayout, SendError, truncate};

/// A message ready to send.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Rendered {
    pub text: String,
    pub keyboard: Option<InlineKeyboardMarkup>,
}

/// The most buttons a grid row holds.
const MAX_PER_ROW: usize = 6;
/// How many title characters a grid row holds.
const ROW_WIDTH: usize = 12;
/// Levels up to this many, all labelled, are listed one a row with their labels.
const MAX_LISTED: usize = 5;

pub(super) fn content(content: &Content, capabilities: &Capabilities) -> Result<Rendered, SendError> {
    let (text, keyboard) = match content {
        Content::Text(text) => (text.clone(), None),
        Content::Invitation { text, layout: InvitationLayout::TypedAnswer { hint } } => {
            (format!("{text}\n\n{hint}"), None)
        }
        Content::Invitation { text, layout: InvitationLayout::Choices(choices) } => {
            let (legend, rows) = levels(choices, capabilities)?;
            let text = if legend.is_empty() { text.clone() } else { format!("{text}\n\n{}", legend.join("\n")) };
            (text, Some(rows))
        }
        Content::Choices { text, choices } => {
            let rows = choices
                .iter()
                .map(|(payload, title)| {
                    button(truncate(title, capabilities.max_choice_title), payload).map(|b| vec![b])
                })
                .collect::<Result<Vec<_>, _>>()?;
            (text.clone(), Some(rows))
        }
    };
    Ok(Rendered { text: truncate(&text, capabilities.max_text), keyboard: keyboard.map(InlineKeyboardMarkup::new) })
}

type Rows = Vec<Vec<InlineKeyboardButton>>;

/// The levels' keyboard, and the legend lines that go under the text.
fn levels(choices: &[Choice], capabilities: &Capabilities) -> Result<(Vec<String>, Rows), SendError> {
    let max_title = capabilities.max_choice_title;
    if choices.len() <= MAX_LISTED && choices.iter().all(|c| c.label.is_some()) {
        let rows = choices
            .iter()
            .map(|choice| {
                let label = choice.label.as_deref().unwrap_or_default();
                button(truncate(&format!("{} {label}", choice.title), max_title), &choice.payload).map(|b| vec![b])
            })
            .collect::<Result<_, _>>()?;
        return Ok((Vec::new(), rows));
    }
    let widest = choices.iter().map(|c| c.title.chars().count()).max().unwrap_or(1).max(1);
    let per_row_max = (ROW_WIDTH / widest).clamp(1, MAX_PER_ROW);
    let row_count = choices.len().div_ceil(per_row_max).max(1);
    let per_row = choices.len().div_ceil(row_count).max(1);
    let buttons =
        choices.iter().map(|c| button(truncate(&c.title, max_title), &c.payload)).collect::<Result<Vec<_>, _>>()?;
    let rows = buttons.chunks(per_row).map(<[_]>::to_vec).collect();
    let legend = choices.iter().filter_map(|c| Some(format!("{} – {}", c.title, c.label.as_deref()?))).collect();
    Ok((legend, rows))
}

/// A button whose tap sends `payload` back; Telegram takes at most 64 bytes of it.
fn button(text: String, payload: &str) -> Result<InlineKeyboardButton, SendError> {
    if payload.is_empty() || payload.len() > MAX_CALLBACK_DATA {
        return Err(SendError::Permanent(FailureReason {
            code: "invalid_choice".into(),
            detail: format!("a choice's payload is {} bytes; Telegram takes 1 to {MAX_CALLBACK_DATA}", payload.len()),
        }));
    }
    Ok(InlineKeyboardButton::callback(text, payload))
}

#[cfg(test)]
mod tests {
    use ratewire_core::{Labels, Scale, SurveyId};
    use serde_json::{Value, json};

    use super::*;
    use crate::plan_invitation;
    use crate::telegram::capabilities;

    fn survey() -> SurveyId {
        SurveyId::new("0123456789abcdef0123456789abcdef").unwrap()
    }

    fn render(content: &Content) -> Value {
        let rendered = super::content(content, &capabilities()).expect("renders");
        json!({ "text": rendered.text, "reply_markup": rendered.keyboard })
    }

    fn invitation(scale: Scale, labels: &[(u32, &str)]) -> Content {
        let labels = Labels::new(
            labels.iter().map(|(level, text)| (scale.score(*level).unwrap(), (*text).to_owned())).collect(),
        );
        Content::Invitation {
            text: "How did we do?".into(),
            layout: plan_invitation(&survey(), scale, &labels, "Reply 0 to 10", &capabilities()),
        }
    }

    fn data(score: u32) -> String {
        format!("rw1:s:0123456789abcdef0123456789abcdef:{score}")
    }

    #[test]
    fn five_labelled_stars_are_listed_one_a_row() {
        let labels =
            [(1, "Very dissatisfied"), (2, "Dissatisfied"), (3, "Neutral"), (4, "Satisfied"), (5, "Very satisfied")];
        assert_eq!(
            render(&invitation(Scale::FIVE_STARS, &labels)),
            json!({
                "text": "How did we do?",
                "reply_markup": { "inline_keyboard": [
                    [{ "text": "⭐ Very dissatisfied", "callback_data": data(1) }],
                    [{ "text": "⭐⭐ Dissatisfied", "callback_data": data(2) }],
                    [{ "text": "⭐⭐⭐ Neutral", "callback_data": data(3) }],
                    [{ "text": "⭐⭐⭐⭐ Satisfied", "callback_data": data(4) }],
                    [{ "text": "⭐⭐⭐⭐⭐ Very satisfied", "callback_data": data(5) }],
                ] },
            })
        );
    }

    #[test]
    fn zero_to_ten_is_two_rows_with_the_ends_explained_in_the_text() {
        let rendered = render(&invitation(Scale::NPS, &[(0, "Not at all likely"), (10, "Extremely likely")]));
        let button = |n: u32| json!({ "text": n.to_string(), "callback_data": data(n) });
        assert_eq!(
            rendered,
            json!({
                "text": "How did we do?\n\n0 – Not at all likely\n10 – Extremely likely",
                "reply_markup": { "inline_keyboard": [
                    (0..=5).map(button).collect::<Vec<_>>(),
                    (6..=10).map(button).collect::<Vec<_>>(),
                ] },
            })
        );
    }

    #[test]
    fn unlabelled_or_partly_labelled_levels_form_a_grid() {
        let rows = |content: &Content| -> Vec<Vec<String>> {
            let rendered = super::content(content, &capabilities()).unwrap();
            rendered
                .keyboard
                .unwrap()
                .inline_keyboard
                .iter()
                .map(|row| row.iter().map(|b| b.text.clone()).collect())
                .collect()
        };
        let numbers = Scale::Numeric { min: 1, max: 5 };
        assert_eq!(rows(&invitation(numbers, &[])), [["1", "2", "3", "4", "5"]]);
        assert_eq!(
            rows(&invitation(Scale::Numeric { min: 1, max: 7 }, &[(1, "Bad")])),
            [vec!["1", "2", "3", "4"], vec!["5", "6", "7"]]
        );
        // Wide titles take fewer a row: ten stars are one a row.
        let stars = rows(&invitation(Scale::Stars { steps: 10 }, &[]));
        assert_eq!(stars.len(), 10);
        assert_eq!(stars[9], ["⭐".repeat(10)]);
        let three = rows(&invitation(Scale::Stars { steps: 3 }, &[(1, "Bad"), (3, "Good")]));
        assert_eq!(three, [["⭐", "⭐⭐", "⭐⭐⭐"]]);
    }

    #[test]
    fn reasons_are_one_a_row_and_texts_plain() {
        let reasons = Content::Choices {
            text: "What went wrong?".into(),
            choices: vec![
                ("rw1:r:s1:slow".into(), "Slow response".into()),
                ("rw1:r:s1:other".into(), "Something else".into()),
            ],
        };
        assert_eq!(
            render(&reasons),
            json!({
                "text": "What went wrong?",
                "reply_markup": { "inline_keyboard": [
                    [{ "text": "Slow response", "callback_data": "rw1:r:s1:slow" }],
                    [{ "text": "Something else", "callback_data": "rw1:r:s1:other" }],
                ] },
            })
        );
        assert_eq!(
            render(&Content::Text("Thanks! <b>not bold</b>".into())),
            json!({ "text": "Thanks! <b>not bold</b>", "reply_markup": null })
        );
        let typed = Content::Invitation {
            text: "Rate us".into(),
            layout: InvitationLayout::TypedAnswer { hint: "Reply 1 to 20".into() },
        };
        assert_eq!(render(&typed), json!({ "text": "Rate us\n\nReply 1 to 20", "reply_markup": null }));
    }

    #[test]
    fn every_payload_fits_callback_data_and_longer_ones_are_refused() {
        for scale in [Scale::NPS, Scale::FIVE_STARS, Scale::Faces, Scale::Stars { steps: 10 }] {
            let InvitationLayout::Choices(choices) =
                plan_invitation(&SurveyId::generate(), scale, &Labels::default(), "", &capabilities())
            else {
                panic!("{scale} fits Telegram's keyboard");
            };
            assert!(choices.iter().all(|c| (1..=MAX_CALLBACK_DATA).contains(&c.payload.len())));
        }
        let long = Content::Choices { text: "Why?".into(), choices: vec![("x".repeat(65), "Because".into())] };
        let Err(SendError::Permanent(reason)) = super::content(&long, &capabilities()) else { panic!("refused") };
        assert_eq!(reason.code, "invalid_choice");
    }

    #[test]
    fn long_texts_and_titles_are_cut_to_telegrams_limits() {
        let long = Content::Choices { text: "é".repeat(5000), choices: vec![("rw1:r:s:x".into(), "y".repeat(100))] };
        let rendered = super::content(&long, &capabilities()).unwrap();
        assert_eq!(rendered.text.chars().count(), 4096);
        assert!(rendered.text.ends_with('…'));
        assert_eq!(rendered.keyboard.unwrap().inline_keyboard[0][0].text.chars().count(), 64);
    }
}
