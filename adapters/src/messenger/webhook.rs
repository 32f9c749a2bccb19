//! Meta's webhooks for a Page: the `hub.*` verification handshake, and the `messaging` events
//! that carry what people wrote (their `X-Hub-Signature-256` is checked in `crate::meta`).

use jiff::Timestamp;
use ratewire_core::RecipientId;
use serde_json::Value;

use crate::{ChoicePayload, DeliveryStatus, Inbound, Tap, WebhookError};

/// What a verified notification carries for the Page `page_id`: messages, taps on ratewire's
/// choices, delivery receipts and the echoes of ratewire's own sends. Other pages' entries, the
/// echoes of what the Page's agents wrote and events that are not replies (reads, reactions,
/// referrals…) are left out.
pub fn parse(body: &[u8], page_id: &str) -> Result<Vec<Inbound>, WebhookError> {
    let notification: Value = serde_json::from_slice(body).map_err(|e| WebhookError::Malformed(e.to_string()))?;
    let Some(notification) = notification.as_object() else {
        return Err(WebhookError::Malformed("the notification is not a JSON object".into()));
    };
    if notification.get("object").and_then(Value::as_str) != Some("page") {
        // Instagram's or another product's: not this channel's.
        return Ok(Vec::new());
    }
    let mut events = Vec::new();
    for entry in notification.get("entry").and_then(Value::as_array).into_iter().flatten() {
        if id_of(entry.get("id")).as_deref() != Some(page_id) {
            continue;
        }
        let entry_time = entry.get("time").and_then(millis);
        for event in entry.get("messaging").and_then(Value::as_array).into_iter().flatten() {
            events.extend(read_event(event, entry_time));
        }
    }
    Ok(events)
}

/// One `messaging` event, if it is something ratewire takes.
fn read_event(event: &Value, entry_time: Option<Timestamp>) -> Vec<Inbound> {
    let at = event.get("timestamp").and_then(millis).or(entry_time).unwrap_or_else(Timestamp::now);
    if let Some(delivery) = event.get("delivery") {
        let at = delivery.get("watermark").and_then(millis).unwrap_or(at);
        return delivery
            .get("mids")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(|mid| Inbound::Status {
                message_id: mid.to_owned(),
                status: DeliveryStatus::Delivered,
                reference: None,
                at,
            })
            .collect();
    }
    let Some(from) = id_of(event.get("sender").and_then(|s| s.get("id"))).and_then(|id| RecipientId::new(id).ok())
    else {
        return Vec::new();
    };
    let reply = if let Some(message) = event.get("message") {
        if message.get("is_echo").and_then(Value::as_bool) == Some(true) {
            return echo(message, at).into_iter().collect();
        }
        let Some(mid) = message.get("mid").and_then(Value::as_str) else { return Vec::new() };
        let payload = message.get("quick_reply").and_then(|q| q.get("payload")).and_then(Value::as_str);
        reply(mid.to_owned(), payload, message.get("text").and_then(Value::as_str))
    } else if let Some(postback) = event.get("postback") {
        // Older postbacks carry no `mid`: the sender and the millisecond stand in for it.
        let mid = postback.get("mid").and_then(Value::as_str).map(str::to_owned);
        let mid = mid.unwrap_or_else(|| format!("postback:{from}:{}", at.as_millisecond()));
        let payload = postback.get("payload").and_then(Value::as_str);
        reply(mid, payload, postback.get("title").and_then(Value::as_str))
    } else {
        None
    };
    let Some(reply) = reply else { return Vec::new() };
    vec![match reply {
        Reply::Choice { platform_id, payload } => Inbound::Choice {
            tap: Tap { message_id: None, callback_id: None },
            platform_id,
            from,
            payload,
            language: None,
            at,
        },
        Reply::Text { platform_id, text } => Inbound::Message { platform_id, from, text, language: None, at },
    }]
}

/// The Page's own message, echoed back (`message_echoes`): one of ratewire's sends when it
/// carries the `metadata` ratewire gave it, which says it went out. Echoes of what the Page's
/// agents wrote carry none and are left out.
fn echo(message: &Value, at: Timestamp) -> Option<Inbound> {
    let message_id = message.get("mid").and_then(Value::as_str)?.to_owned();
    let reference = message.get("metadata").and_then(Value::as_str).filter(|m| !m.is_empty())?.to_owned();
    Some(Inbound::Status { message_id, status: DeliveryStatus::Sent, reference: Some(reference), at })
}

enum Reply {
    Choice { platform_id: String, payload: ChoicePayload },
    Text { platform_id: String, text: String },
}

/// A tap's payload first, when it is one of ratewire's; else the text, when there is one.
fn reply(platform_id: String, payload: Option<&str>, text: Option<&str>) -> Option<Reply> {
    if let Some(payload) = payload.and_then(ChoicePayload::decode) {
        return Some(Reply::Choice { platform_id, payload });
    }
    let text = text.filter(|t| !t.trim().is_empty())?;
    Some(Reply::Text { platform_id, text: text.to_owned() })
}

/// An id Meta may send as a string or a number.
fn id_of(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(id) => Some(id.clone()),
        Value::Number(id) => Some(id.to_string()),
        _ => None,
    }
}

/// Milliseconds since the epoch, as a number or a string.
fn millis(value: &Value) -> Option<Timestamp> {
    let millis = match value {
        Value::Number(n) => n.as_i64()?,
        Value::String(s) => s.parse().ok()?,
        _ => return None,
    };
    Timestamp::from_millisecond(millis).ok()
}

#[cfg(test)]
mod tests {
    use ratewire_core::{Scale, SurveyId};
    use serde_json::json;

    use super::*;

    const PAGE: &str = "1100";

    fn notification(messaging: Value) -> Vec<u8> {
        json!({ "object": "page", "entry": [{ "id": PAGE, "time": 1_777_000_000_000_i64, "messaging": messaging }] })
            .to_string()
            .into_bytes()
    }

    fn event(body: Value) -> Value {
        let mut event =
            json!({ "sender": { "id": "2468" }, "recipient": { "id": PAGE }, "timestamp": 1_777_000_000_123_i64 });
        for (key, value) in body.as_object().unwrap() {
            event[key] = value.clone();
        }
        event
    }

    fn at() -> Timestamp {
        Timestamp::from_millisecond(1_777_000_000_123).unwrap()
    }

    fn from() -> RecipientId {
        RecipientId::new("2468").unwrap()
    }

    #[test]
    fn texts_are_messages_keyed_by_their_mid() {
        let body = notification(json!([event(json!({ "message": { "mid": "m_1", "text": "4 - quick" } }))]));
        assert_eq!(
            parse(&body, PAGE).unwrap(),
            [Inbound::Message {
                platform_id: "m_1".into(),
                from: from(),
                text: "4 - quick".into(),
                language: None,
                at: at()
            }]
        );
    }

    #[test]
    fn a_quick_reply_tap_is_read_by_its_payload_first() {
        let survey = SurveyId::new("srv_1").unwrap();
        let payload = ChoicePayload::Score { survey, score: Scale::FIVE_STARS.score(4).unwrap() };
        let tap = json!({ "mid": "m_2", "text": "⭐⭐⭐⭐", "quick_reply": { "payload": payload.encode() } });
        let body = notification(json!([event(json!({ "message": tap }))]));
        assert_eq!(
            parse(&body, PAGE).unwrap(),
            [Inbound::Choice {
                platform_id: "m_2".into(),
                from: from(),
                payload,
                tap: Tap::default(),
                language: None,
                at: at(),
            }]
        );
        // Another app's quick reply: its text, as a message.
        let foreign = json!({ "mid": "m_3", "text": "Yes please", "quick_reply": { "payload": "MENU_YES" } });
        let body = notification(json!([event(json!({ "message": foreign }))]));
        assert!(matches!(&parse(&body, PAGE).unwrap()[..], [Inbound::Message { text, .. }] if text == "Yes please"));
    }

    #[test]
    fn postbacks_follow_the_same_rule() {
        let payload = ChoicePayload::Reason { survey: SurveyId::new("srv_1").unwrap(), reason: "slow".into() };
        let ours = json!({ "mid": "m_4", "title": "Too slow", "payload": payload.encode() });
        let theirs = json!({ "title": "Get started", "payload": "GET_STARTED" });
        let body = notification(json!([event(json!({ "postback": ours })), event(json!({ "postback": theirs }))]));
        let events = parse(&body, PAGE).unwrap();
        assert!(
            matches!(&events[0], Inbound::Choice { platform_id, payload: p, .. } if platform_id == "m_4" && *p == payload)
        );
        assert!(matches!(
            &events[1],
            Inbound::Message { platform_id, text, .. } if platform_id == "postback:2468:1777000000123" && text == "Get started"
        ));
    }

    #[test]
    fn echoes_other_pages_and_other_events_are_left_out() {
        let echo = event(json!({ "message": { "mid": "m_5", "text": "Thanks!", "is_echo": true, "app_id": 1 } }));
        let sticker = event(json!({ "message": { "mid": "m_6", "attachments": [{ "type": "image" }] } }));
        let read = event(json!({ "read": { "watermark": 1_777_000_000_000_i64 } }));
        let reaction = event(json!({ "reaction": { "mid": "m_1", "action": "react", "emoji": "👍" } }));
        let no_mid = event(json!({ "message": { "text": "hello" } }));
        let body = notification(json!([echo, sticker, read, reaction, no_mid]));
        assert_eq!(parse(&body, PAGE).unwrap(), []);
        // The echo of one of ratewire's own sends says it went out.
        let ours = event(json!({ "message": { "mid": "m_8", "text": "How did we do?", "is_echo": true, "app_id": 1,
            "metadata": "send_srv_1_invitation" } }));
        let events = parse(&notification(json!([ours])), PAGE).unwrap();
        assert!(matches!(
            &events[..],
            [Inbound::Status { message_id, status: DeliveryStatus::Sent, reference: Some(reference), .. }]
                if message_id == "m_8" && reference == "send_srv_1_invitation"
        ));

        let other_page = json!({ "object": "page", "entry": [{ "id": "9999", "messaging": [
            event(json!({ "message": { "mid": "m_7", "text": "5" } }))
        ] }] });
        assert_eq!(parse(other_page.to_string().as_bytes(), PAGE).unwrap(), []);
        let instagram = json!({ "object": "instagram", "entry": [] });
        assert_eq!(parse(instagram.to_string().as_bytes(), PAGE).unwrap(), []);
    }

    #[test]
    fn several_entries_and_events_are_all_read_and_numbers_are_taken_as_ids() {
        let body = json!({ "object": "page", "entry": [
            { "id": 1100, "messaging": [
                { "sender": { "id": 2468 }, "timestamp": "1777000000123", "message": { "mid": "m_8", "text": "5" } },
                event(json!({ "delivery": { "mids": ["m_out_1", "m_out_2"], "watermark": 1_777_000_000_500_i64 } })),
            ] },
            { "id": PAGE, "messaging": [event(json!({ "message": { "mid": "m_9", "text": "great" } }))] },
        ] });
        let events = parse(body.to_string().as_bytes(), PAGE).unwrap();
        assert_eq!(events.len(), 4);
        assert!(
            matches!(&events[0], Inbound::Message { platform_id, from: f, at: a, .. } if platform_id == "m_8" && *f == from() && *a == at())
        );
        let delivered = Timestamp::from_millisecond(1_777_000_000_500).unwrap();
        assert_eq!(
            events[1],
            Inbound::Status {
                message_id: "m_out_1".into(),
                status: DeliveryStatus::Delivered,
                reference: None,
                at: delivered,
            }
        );
        assert!(matches!(&events[3], Inbound::Message { platform_id, .. } if platform_id == "m_9"));
    }

    #[test]
    fn broken_bodies_are_malformed() {
        for body in [&b"{not json"[..], b"[1,2]", b""] {
            assert!(matches!(parse(body, PAGE), Err(WebhookError::Malformed(_))), "{body:?}");
        }
    }
}
