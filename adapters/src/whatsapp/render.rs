//! Messages in WhatsApp's native forms, within the Cloud API's limits: reply buttons for up to
//! three choices, an interactive list for up to ten, plain text otherwise, and the approved
//! template outside the 24-hour window.

use ratewire_core::Locale;
use serde_json::{Value, json};

use crate::{Choice, Content, InvitationLayout};

/// Reply buttons: at most 3, titles of at most 20 characters.
const MAX_BUTTONS: usize = 3;
const MAX_BUTTON_TITLE: usize = 20;
/// Lists: at most 10 rows; row titles of at most 24 characters, descriptions of 72; the
/// button's label at most 20, the section's title 24.
const MAX_ROWS: usize = 10;
const MAX_ROW_TITLE: usize = 24;
const MAX_ROW_DESCRIPTION: usize = 72;
const MAX_LIST_BUTTON: usize = 20;
const MAX_SECTION_TITLE: usize = 24;
/// An interactive message's body.
pub(super) const MAX_BODY: usize = 1024;
/// A text message's body.
const MAX_TEXT: usize = 4096;

/// The labels an interactive list shows, in the end user's language.
pub(super) struct ListLabels {
    /// The button that opens an invitation's list of levels.
    pub rate: String,
    /// The button that opens a list of other choices (reasons after a low rating).
    pub choose: String,
}

/// One choice as WhatsApp shows it.
struct Item {
    id: String,
    title: String,
    description: Option<String>,
}

/// `text` cut to at most `max` characters, ending with an ellipsis when it was cut. Cuts at
/// character boundaries, never inside one.
pub(super) fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(max.saturating_sub(1)).collect();
    cut.truncate(cut.trim_end().len());
    cut.push('…');
    cut
}

fn envelope(to: &str, kind: &str, key: &str, content: Value) -> Value {
    let mut body = json!({ "messaging_product": "whatsapp", "recipient_type": "individual", "to": to, "type": kind });
    body[key] = content;
    body
}

fn text(to: &str, body: &str) -> Value {
    envelope(to, "text", "text", json!({ "preview_url": false, "body": truncate(body, MAX_TEXT) }))
}

/// A free-form message (inside the 24-hour window).
pub(super) fn free_form(to: &str, content: &Content, labels: &ListLabels) -> Value {
    match content {
        Content::Text(body) => text(to, body),
        Content::Invitation { text: body, layout: InvitationLayout::TypedAnswer { hint } } => {
            text(to, &format!("{body}\n{hint}"))
        }
        Content::Invitation { text: body, layout: InvitationLayout::Choices(choices) } => {
            interactive(to, body, level_buttons(choices), level_rows(choices), &labels.rate)
        }
        Content::Choices { text: body, choices } => {
            let buttons = choices
                .iter()
                .map(|(payload, title)| Item { id: payload.clone(), title: title.clone(), description: None })
                .collect();
            let rows = choices
                .iter()
                .map(|(payload, title)| {
                    let short = truncate(title, MAX_ROW_TITLE);
                    // The whole title goes below, where it had to be cut.
                    let description = (short != *title).then(|| truncate(title, MAX_ROW_DESCRIPTION));
                    Item { id: payload.clone(), title: short, description }
                })
                .collect();
            interactive(to, body, buttons, rows, &labels.choose)
        }
    }
}

/// An invitation's levels as buttons: each level's title, with its label where every level's
/// fits.
fn level_buttons(choices: &[Choice]) -> Vec<Item> {
    let labelled: Vec<String> = choices
        .iter()
        .map(|choice| match &choice.label {
            Some(label) => format!("{} {label}", choice.title),
            None => choice.title.clone(),
        })
        .collect();
    let with_labels = labelled.iter().all(|title| title.chars().count() <= MAX_BUTTON_TITLE);
    choices
        .iter()
        .zip(labelled)
        .map(|(choice, labelled)| Item {
            id: choice.payload.clone(),
            title: if with_labels { labelled } else { choice.title.clone() },
            description: None,
        })
        .collect()
}

/// An invitation's levels as list rows: the level's title, its label below.
fn level_rows(choices: &[Choice]) -> Vec<Item> {
    choices
        .iter()
        .map(|choice| Item {
            id: choice.payload.clone(),
            title: truncate(&choice.title, MAX_ROW_TITLE),
            description: choice.label.as_deref().map(|label| truncate(label, MAX_ROW_DESCRIPTION)),
        })
        .collect()
}

/// Reply buttons when the choices fit them whole, else a list when there are at most ten,
/// else the text with the choices written out.
fn interactive(to: &str, body: &str, buttons: Vec<Item>, rows: Vec<Item>, label: &str) -> Value {
    let body = json!({ "text": truncate(body, MAX_BODY) });
    if buttons.len() <= MAX_BUTTONS && buttons.iter().all(|b| b.title.chars().count() <= MAX_BUTTON_TITLE) {
        let buttons: Vec<Value> = buttons
            .into_iter()
            .map(|b| json!({ "type": "reply", "reply": { "id": b.id, "title": b.title } }))
            .collect();
        return envelope(
            to,
            "interactive",
            "interactive",
            json!({ "type": "button", "body": body, "action": { "buttons": buttons } }),
        );
    }
    if rows.len() <= MAX_ROWS {
        let rows: Vec<Value> = rows
            .into_iter()
            .map(|row| {
                let mut value = json!({ "id": row.id, "title": row.title });
                if let Some(description) = row.description {
                    value["description"] = json!(description);
                }
                value
            })
            .collect();
        let action = json!({
            "button": truncate(label, MAX_LIST_BUTTON),
            "sections": [{ "title": truncate(label, MAX_SECTION_TITLE), "rows": rows }],
        });
        return envelope(to, "interactive", "interactive", json!({ "type": "list", "body": body, "action": action }));
    }
    // More choices than WhatsApp shows: never planned so, but readable all the same.
    let mut written = body["text"].as_str().unwrap_or_default().to_owned();
    for row in rows {
        written.push('\n');
        written.push_str(&row.title);
        if let Some(description) = row.description {
            written.push_str(" – ");
            written.push_str(&description);
        }
    }
    text(to, &written)
}

/// The invitation as the business's approved template: quick-reply buttons, in order, carry
/// the levels' payloads (lowest level first); a typed-answer invitation carries none.
pub(super) fn template(to: &str, name: &str, language: &str, layout: &InvitationLayout) -> Value {
    let mut template = json!({ "name": name, "language": { "policy": "deterministic", "code": language } });
    if let InvitationLayout::Choices(choices) = layout {
        let buttons: Vec<Value> = choices
            .iter()
            .enumerate()
            .map(|(index, choice)| {
                json!({
                    "type": "button",
                    "sub_type": "quick_reply",
                    "index": index.to_string(),
                    "parameters": [{ "type": "payload", "payload": choice.payload }],
                })
            })
            .collect();
        template["components"] = json!(buttons);
    }
    envelope(to, "template", "template", template)
}

/// WhatsApp's language code for a ratewire locale: the locale's tag written with `_`, but for
/// English, whose templates WhatsApp keeps per region.
pub(super) fn template_language(locale: Locale) -> String {
    match locale {
        Locale::En => "en_US".to_owned(),
        other => other.tag().replace('-', "_"),
    }
}

/// "Choose" in each shipped locale: the label of the list of reasons after a low rating.
pub(super) fn choose_label(locale: Locale) -> &'static str {
    match locale {
        Locale::En => "Choose",
        Locale::ZhCn => "选择",
        Locale::ZhTw => "選擇",
        Locale::Es => "Elegir",
        Locale::PtBr => "Escolher",
        Locale::Fr => "Choisir",
        Locale::De => "Auswählen",
        Locale::Ja => "選択",
        Locale::Ko => "선택",
        Locale::Ar => "اختيار",
        Locale::Ru => "Выбрать",
        Locale::Id => "Pilih",
    }
}

#[cfg(test)]
mod tests {
    use ratewire_core::{Labels, Scale, SurveyId};

    use super::*;
    use crate::plan_invitation;

    fn labels() -> ListLabels {
        ListLabels { rate: "Rate".into(), choose: "Choose".into() }
    }

    fn layout(scale: Scale, labels: &[(u32, &str)]) -> InvitationLayout {
        let survey = SurveyId::new("srv_1").unwrap();
        let labels = Labels::new(labels.iter().map(|&(s, l)| (scale.score(s).unwrap(), l.to_owned())).collect());
        plan_invitation(&survey, scale, &labels, "Reply with a number from 0 to 10.", &super::super::CAPABILITIES)
    }

    #[test]
    fn five_stars_are_a_list_with_the_labels_below() {
        let content = Content::Invitation {
            text: "How would you rate the help you received today?".into(),
            layout: layout(Scale::FIVE_STARS, &[(1, "Very dissatisfied"), (5, "Very satisfied")]),
        };
        let rows = json!([
            { "id": "rw1:s:srv_1:1", "title": "⭐", "description": "Very dissatisfied" },
            { "id": "rw1:s:srv_1:2", "title": "⭐⭐" },
            { "id": "rw1:s:srv_1:3", "title": "⭐⭐⭐" },
            { "id": "rw1:s:srv_1:4", "title": "⭐⭐⭐⭐" },
            { "id": "rw1:s:srv_1:5", "title": "⭐⭐⭐⭐⭐", "description": "Very satisfied" },
        ]);
        assert_eq!(
            free_form("34600111222", &content, &labels()),
            json!({
                "messaging_product": "whatsapp",
                "recipient_type": "individual",
                "to": "34600111222",
                "type": "interactive",
                "interactive": {
                    "type": "list",
                    "body": { "text": "How would you rate the help you received today?" },
                    "action": { "button": "Rate", "sections": [{ "title": "Rate", "rows": rows }] },
                },
            })
        );
    }

    #[test]
    fn three_levels_are_buttons_labelled_where_every_label_fits() {
        let content = Content::Invitation {
            text: "Did we help?".into(),
            layout: layout(Scale::stars(3).unwrap(), &[(1, "Bad"), (2, "OK"), (3, "Great")]),
        };
        assert_eq!(
            free_form("1", &content, &labels())["interactive"],
            json!({
                "type": "button",
                "body": { "text": "Did we help?" },
                "action": { "buttons": [
                    { "type": "reply", "reply": { "id": "rw1:s:srv_1:1", "title": "⭐ Bad" } },
                    { "type": "reply", "reply": { "id": "rw1:s:srv_1:2", "title": "⭐⭐ OK" } },
                    { "type": "reply", "reply": { "id": "rw1:s:srv_1:3", "title": "⭐⭐⭐ Great" } },
                ] },
            })
        );
        // One label too long for a button: none is shown.
        let content = Content::Invitation {
            text: "Did we help?".into(),
            layout: layout(Scale::numeric(0, 1).unwrap(), &[(0, "Not at all, sorry to say"), (1, "Yes")]),
        };
        let buttons = &free_form("1", &content, &labels())["interactive"]["action"]["buttons"];
        assert_eq!(buttons[0]["reply"]["title"], "0");
        assert_eq!(buttons[1]["reply"]["title"], "1");
    }

    #[test]
    fn zero_to_ten_is_a_text_that_says_how_to_answer() {
        let content = Content::Invitation { text: "How likely…?".into(), layout: layout(Scale::NPS, &[]) };
        assert_eq!(
            free_form("1", &content, &labels()),
            json!({
                "messaging_product": "whatsapp", "recipient_type": "individual", "to": "1", "type": "text",
                "text": { "preview_url": false, "body": "How likely…?\nReply with a number from 0 to 10." },
            })
        );
    }

    #[test]
    fn reasons_are_a_list_with_long_titles_written_out_below() {
        let choices = vec![
            ("rw1:r:srv_1:slow".to_owned(), "Slow response".to_owned()),
            ("rw1:r:srv_1:unresolved".to_owned(), "Problem not solved".to_owned()),
            ("rw1:r:srv_1:rude".to_owned(), "The agent was not friendly at all".to_owned()),
            ("rw1:r:srv_1:other".to_owned(), "Something else".to_owned()),
        ];
        let content = Content::Choices { text: "What went wrong?".into(), choices };
        let interactive = &free_form("1", &content, &labels())["interactive"];
        assert_eq!(interactive["type"], "list");
        assert_eq!(interactive["action"]["button"], "Choose");
        assert_eq!(
            interactive["action"]["sections"][0]["rows"][2],
            json!({ "id": "rw1:r:srv_1:rude", "title": "The agent was not frien…",
                    "description": "The agent was not friendly at all" })
        );
        assert_eq!(
            interactive["action"]["sections"][0]["rows"][0],
            json!({ "id": "rw1:r:srv_1:slow", "title": "Slow response" })
        );
        // Two short reasons: buttons.
        let two = Content::Choices {
            text: "Why?".into(),
            choices: vec![("a".into(), "Slow".into()), ("b".into(), "Rude".into())],
        };
        assert_eq!(free_form("1", &two, &labels())["interactive"]["type"], "button");
    }

    #[test]
    fn texts_are_cut_within_the_limits_at_character_boundaries() {
        assert_eq!(truncate("⭐⭐⭐", 3), "⭐⭐⭐");
        assert_eq!(truncate("⭐⭐⭐⭐", 3), "⭐⭐…");
        assert_eq!(truncate("ab cdef", 4), "ab…");
        let long = "é".repeat(5000);
        let body = free_form("1", &Content::Text(long), &labels());
        assert_eq!(body["text"]["body"].as_str().unwrap().chars().count(), 4096);
        let invitation = Content::Invitation { text: "¿".repeat(2000), layout: layout(Scale::FIVE_STARS, &[]) };
        let body = free_form("1", &invitation, &labels());
        assert_eq!(body["interactive"]["body"]["text"].as_str().unwrap().chars().count(), 1024);
        let long_label = ListLabels { rate: "Calificar la atención recibida".into(), choose: String::new() };
        let action = &free_form("1", &invitation, &long_label)["interactive"]["action"];
        assert_eq!(action["button"], "Calificar la atenci…");
        assert_eq!(action["sections"][0]["title"], "Calificar la atención r…");
    }

    #[test]
    fn templates_carry_one_payload_per_quick_reply_button() {
        let body = template("34600111222", "rating_request", "es", &layout(Scale::stars(3).unwrap(), &[]));
        assert_eq!(
            body,
            json!({
                "messaging_product": "whatsapp",
                "recipient_type": "individual",
                "to": "34600111222",
                "type": "template",
                "template": {
                    "name": "rating_request",
                    "language": { "policy": "deterministic", "code": "es" },
                    "components": [
                        { "type": "button", "sub_type": "quick_reply", "index": "0",
                          "parameters": [{ "type": "payload", "payload": "rw1:s:srv_1:1" }] },
                        { "type": "button", "sub_type": "quick_reply", "index": "1",
                          "parameters": [{ "type": "payload", "payload": "rw1:s:srv_1:2" }] },
                        { "type": "button", "sub_type": "quick_reply", "index": "2",
                          "parameters": [{ "type": "payload", "payload": "rw1:s:srv_1:3" }] },
                    ],
                },
            })
        );
        let typed = template("1", "nps_request", "en_US", &layout(Scale::NPS, &[]));
        assert_eq!(
            typed["template"],
            json!({ "name": "nps_request", "language": { "policy": "deterministic", "code": "en_US" } })
        );
        assert_eq!(template_language(Locale::PtBr), "pt_BR");
        assert_eq!(template_language(Locale::ZhTw), "zh_TW");
        assert_eq!(template_language(Locale::En), "en_US");
    }
}
