//! Messages as the Send API takes them: a text, with the choices as quick replies.

use serde_json::{Value, json};

use super::window::Route;
use crate::{Content, InvitationLayout, truncate};

/// Quick replies one message may carry.
pub const MAX_QUICK_REPLIES: usize = 13;
/// A quick reply's title, in characters (counted here as UTF-16 code units, as Meta's clients
/// count them, so an emoji outside the basic plane counts twice).
pub const MAX_TITLE: usize = 20;
/// A quick reply's payload, in characters.
pub const MAX_PAYLOAD: usize = 1000;
/// A text message, in characters.
pub const MAX_TEXT: usize = 2000;

/// `metadata`'s limit, in characters.
const MAX_METADATA: usize = 1000;

/// The Send API request for one message to `recipient` (a page-scoped id). `reference` goes as
/// the message's `metadata`, which Meta echoes back in the `message_echoes` webhook.
pub fn request(recipient: &str, route: Route, content: &Content, reference: &str) -> Value {
    let mut message = message(content);
    if !reference.is_empty() && reference.chars().count() <= MAX_METADATA {
        message["metadata"] = json!(reference);
    }
    let mut body = json!({
        "recipient": { "id": recipient },
        "messaging_type": route.messaging_type(),
        "message": message,
    });
    if let Some(tag) = route.tag() {
        body["tag"] = json!(tag.as_str());
    }
    body
}

/// The `message` object.
pub fn message(content: &Content) -> Value {
    match content {
        Content::Invitation { text, layout: InvitationLayout::Choices(choices) } => with_quick_replies(
            text,
            choices.iter().map(|choice| (choice.payload.as_str(), title(&choice.title, choice.label.as_deref()))),
        ),
        Content::Invitation { text, layout: InvitationLayout::TypedAnswer { hint } } => {
            let text = if text.trim().is_empty() { hint.clone() } else { format!("{text}\n\n{hint}") };
            json!({ "text": truncate(&text, MAX_TEXT) })
        }
        Content::Choices { text, choices } => {
            with_quick_replies(text, choices.iter().map(|(payload, label)| (payload.as_str(), title(label, None))))
        }
        Content::Text(text) => json!({ "text": truncate(text, MAX_TEXT) }),
    }
}

fn with_quick_replies<'a>(text: &str, choices: impl Iterator<Item = (&'a str, String)>) -> Value {
    let quick_replies: Vec<Value> = choices
        // A payload over the limit would make Meta refuse the whole message; ratewire's are
        // at most 64 bytes, so this never drops one of them.
        .filter(|(payload, _)| !payload.is_empty() && payload.chars().count() <= MAX_PAYLOAD)
        .take(MAX_QUICK_REPLIES)
        .map(|(payload, title)| json!({ "content_type": "text", "title": title, "payload": payload }))
        .collect();
    if quick_replies.is_empty() {
        // Meta refuses an empty list: the text alone.
        return json!({ "text": truncate(text, MAX_TEXT) });
    }
    json!({ "text": truncate(text, MAX_TEXT), "quick_replies": quick_replies })
}

/// A quick reply's title: the level's title, followed by its label when both fit.
fn title(title: &str, label: Option<&str>) -> String {
    if let Some(label) = label.map(str::trim).filter(|l| !l.is_empty()) {
        let both = format!("{title} {label}");
        if utf16_len(&both) <= MAX_TITLE {
            return both;
        }
    }
    truncate_utf16(title, MAX_TITLE)
}

fn utf16_len(text: &str) -> usize {
    text.encode_utf16().count()
}

/// At most `max` UTF-16 code units, cut at a character boundary.
fn truncate_utf16(text: &str, max: usize) -> String {
    let mut units = 0;
    text.chars()
        .take_while(|c| {
            units += c.len_utf16();
            units <= max
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use ratewire_core::{Labels, Scale, SurveyId};

    use super::*;
    use crate::messenger::MessageTag;
    use crate::{Capabilities, plan_invitation};

    fn invitation(scale: Scale, labels: Labels) -> Content {
        let survey = SurveyId::new("s1").unwrap();
        let capabilities: Capabilities = crate::messenger::capabilities();
        let layout = plan_invitation(&survey, scale, &labels, "Reply with a number", &capabilities);
        Content::Invitation { text: "How did we do?".into(), layout }
    }

    #[test]
    fn an_invitation_is_a_text_with_a_quick_reply_per_level() {
        let scale = Scale::FIVE_STARS;
        let labels = Labels::new(
            [(scale.score(1).unwrap(), "Very dissatisfied".into()), (scale.score(5).unwrap(), "Great".into())].into(),
        );
        let body = request("PSID-1", Route::Response, &invitation(scale, labels), "send_s1_invitation");
        assert_eq!(
            body,
            json!({
                "recipient": { "id": "PSID-1" },
                "messaging_type": "RESPONSE",
                "message": {
                    "text": "How did we do?",
                    "quick_replies": [
                        // "⭐ Very dissatisfied" is 19 characters: it fits.
                        { "content_type": "text", "title": "⭐ Very dissatisfied", "payload": "rw1:s:s1:1" },
                        { "content_type": "text", "title": "⭐⭐", "payload": "rw1:s:s1:2" },
                        { "content_type": "text", "title": "⭐⭐⭐", "payload": "rw1:s:s1:3" },
                        { "content_type": "text", "title": "⭐⭐⭐⭐", "payload": "rw1:s:s1:4" },
                        { "content_type": "text", "title": "⭐⭐⭐⭐⭐ Great", "payload": "rw1:s:s1:5" },
                    ],
                    // Echoed back by Meta in the `message_echoes` webhook.
                    "metadata": "send_s1_invitation",
                },
            })
        );
    }

    #[test]
    fn a_zero_to_ten_scale_fits_and_long_labels_are_left_out() {
        let scale = Scale::NPS;
        let labels = Labels::new([(scale.score(0).unwrap(), "Not at all likely to recommend".into())].into());
        let body = request("PSID-1", Route::Response, &invitation(scale, labels), "");
        let replies = body["message"]["quick_replies"].as_array().unwrap();
        assert_eq!(replies.len(), 11);
        assert_eq!(replies[0]["title"], "0", "the label does not fit: the number alone");
        assert_eq!(replies[10], json!({ "content_type": "text", "title": "10", "payload": "rw1:s:s1:10" }));
    }

    #[test]
    fn a_tagged_message_names_its_tag() {
        let body = request("PSID-1", Route::Tag(MessageTag::HumanAgent), &Content::Text("Hi".into()), "");
        assert_eq!(
            body,
            json!({
                "recipient": { "id": "PSID-1" },
                "messaging_type": "MESSAGE_TAG",
                "tag": "HUMAN_AGENT",
                "message": { "text": "Hi" },
            })
        );
    }

    #[test]
    fn reasons_are_quick_replies_too_and_titles_are_cut_safely() {
        let choices = vec![
            ("rw1:r:s1:slow".to_owned(), "Too slow".to_owned()),
            ("rw1:r:s1:other".to_owned(), "Something else entirely, really".to_owned()),
            ("rw1:r:s1:faces".to_owned(), "🤩🤩🤩🤩🤩🤩🤩🤩🤩🤩🤩".to_owned()),
        ];
        let message = message(&Content::Choices { text: "What went wrong?".into(), choices });
        let titles: Vec<&str> =
            message["quick_replies"].as_array().unwrap().iter().map(|r| r["title"].as_str().unwrap()).collect();
        // 20 UTF-16 units: ten faces, each two units.
        assert_eq!(titles, ["Too slow", "Something else entir", "🤩🤩🤩🤩🤩🤩🤩🤩🤩🤩"]);
        assert_eq!(message["quick_replies"][0]["payload"], "rw1:r:s1:slow");
    }

    #[test]
    fn never_more_than_thirteen_quick_replies() {
        let choices = (0..20).map(|i| (format!("rw1:r:s1:r{i}"), format!("Reason {i}"))).collect();
        let message = message(&Content::Choices { text: "Why?".into(), choices });
        assert_eq!(message["quick_replies"].as_array().unwrap().len(), 13);
        let none = super::message(&Content::Choices { text: "Why?".into(), choices: Vec::new() });
        assert_eq!(none, json!({ "text": "Why?" }));
    }

    #[test]
    fn texts_are_cut_at_two_thousand_characters() {
        let long = "é".repeat(2500);
        let message = message(&Content::Text(long));
        let text = message["text"].as_str().unwrap();
        assert_eq!(text.chars().count(), 2000);
        assert!(text.ends_with('…'));
        let hint = Content::Invitation {
            text: "How did we do?".into(),
            layout: InvitationLayout::TypedAnswer { hint: "Reply 1 to 20".into() },
        };
        assert_eq!(super::message(&hint), json!({ "text": "How did we do?\n\nReply 1 to 20" }));
    }
}
