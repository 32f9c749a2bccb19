//! What Meta posts to ratewire for a WhatsApp number: the verification handshake, and signed
//! deliveries of messages and statuses (their signature is checked in `crate::meta`).

use jiff::Timestamp;
use ratewire_core::RecipientId;
use serde_json::Value;

use super::errors;
use crate::{ChoicePayload, DeliveryStatus, Inbound, Tap, WebhookError};

/// Reads a verified delivery: the messages and statuses of the channel's own number. What isn't
/// a survey reply (media, reactions, other numbers' changes, unknown fields) is skipped.
pub(super) fn parse(body: &[u8], phone_number_id: &str) -> Result<Vec<Inbound>, WebhookError> {
    let root: Value = serde_json::from_slice(body).map_err(|e| WebhookError::Malformed(e.to_string()))?;
    if !root.is_object() {
        return Err(WebhookError::Malformed("not a JSON object".into()));
    }
    let mut events = Vec::new();
    if root["object"] != "whatsapp_business_account" {
        return Ok(events);
    }
    for change in list(&root["entry"]).iter().flat_map(|entry| list(&entry["changes"])) {
        let value = &change["value"];
        if change["field"] != "messages"
            || text(&value["metadata"]["phone_number_id"]).as_deref() != Some(phone_number_id)
        {
            continue;
        }
        events.extend(list(&value["messages"]).iter().filter_map(message));
        events.extend(list(&value["statuses"]).iter().filter_map(status));
    }
    Ok(events)
}

fn list(value: &Value) -> &[Value] {
    value.as_array().map(Vec::as_slice).unwrap_or_default()
}

/// A string, or a number written out (ids and timestamps come as strings; be lenient).
fn text(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        _ => None,
    }
}

/// Unix seconds, as a string or a number.
fn timestamp(value: &Value) -> Option<Timestamp> {
    Timestamp::from_second(text(value)?.parse().ok()?).ok()
}

fn message(message: &Value) -> Option<Inbound> {
    let platform_id = text(&message["id"])?;
    let from = RecipientId::new(text(&message["from"])?).ok()?;
    let at = timestamp(&message["timestamp"])?;
    let tap = Tap { message_id: text(&message["context"]["id"]), callback_id: None };
    let (id, title) = match message["type"].as_str()? {
        "text" => {
            let text = message["text"]["body"].as_str()?.to_owned();
            return Some(Inbound::Message { platform_id, from, text, language: None, at });
        }
        "interactive" => {
            let interactive = &message["interactive"];
            match interactive["type"].as_str()? {
                kind @ ("button_reply" | "list_reply") => (&interactive[kind]["id"], &interactive[kind]["title"]),
                _ => return None,
            }
        }
        // A template's quick-reply button.
        "button" => (&message["button"]["payload"], &message["button"]["text"]),
        // Media, stickers, reactions, locations, contacts, orders…: not ratings.
        _ => return None,
    };
    match id.as_str().and_then(ChoicePayload::decode) {
        Some(payload) => Some(Inbound::Choice { platform_id, from, payload, tap, language: None, at }),
        // Not one of ratewire's choices: what it says is read as if typed.
        None => {
            let text = title.as_str().filter(|title| !title.trim().is_empty())?.to_owned();
            Some(Inbound::Message { platform_id, from, text, language: None, at })
        }
    }
}

fn status(status_value: &Value) -> Option<Inbound> {
    let message_id = text(&status_value["id"])?;
    let at = timestamp(&status_value["timestamp"])?;
    let status = match status_value["status"].as_str()? {
        "sent" => DeliveryStatus::Sent,
        "delivered" => DeliveryStatus::Delivered,
        "read" => DeliveryStatus::Read,
        "failed" => DeliveryStatus::Failed(errors::delivery_failure(&status_value["errors"])),
        // `deleted`, `warning` and whatever comes next say nothing of delivery.
        _ => return None,
    };
    // The send's reference, echoed: what tells a send whose answer was lost.
    let reference = status_value["biz_opaque_callback_data"].as_str().map(str::to_owned);
    Some(Inbound::Status { message_id, status, reference, at })
}

#[cfg(test)]
mod tests {
    use ratewire_core::{FailureReason, Scale, SurveyId};
    use serde_json::json;

    use super::*;

    fn delivery(phone_number_id: &str, messages: Value, statuses: Value) -> Vec<u8> {
        json!({
            "object": "whatsapp_business_account",
            "entry": [{ "id": "102290129340398", "changes": [{ "field": "messages", "value": {
                "messaging_product": "whatsapp",
                "metadata": { "display_phone_number": "15550783881", "phone_number_id": phone_number_id },
                "contacts": [{ "profile": { "name": "Sheena Nelson" }, "wa_id": "16505551234" }],
                "messages": messages,
                "statuses": statuses,
            } }] }],
        })
        .to_string()
        .into_bytes()
    }

    fn at(seconds: i64) -> Timestamp {
        Timestamp::from_second(seconds).unwrap()
    }

    #[test]
    fn texts_taps_and_template_buttons_are_read() {
        let survey = SurveyId::new("srv_1").unwrap();
        let four = ChoicePayload::Score { survey: survey.clone(), score: Scale::FIVE_STARS.score(4).unwrap() };
        let messages = json!([
            { "from": "16505551234", "id": "wamid.1", "timestamp": "1749416383", "type": "text",
              "text": { "body": "4 - quick" } },
            { "from": "16505551234", "id": "wamid.2", "timestamp": "1749416384", "type": "interactive",
              "context": { "from": "15550783881", "id": "wamid.invitation" },
              "interactive": { "type": "list_reply", "list_reply": { "id": four.encode(), "title": "⭐⭐⭐⭐",
                  "description": "Satisfied" } } },
            { "from": "16505551234", "id": "wamid.3", "timestamp": 1749416385, "type": "interactive",
              "interactive": { "type": "button_reply", "button_reply": { "id": "rw1:r:srv_1:slow", "title": "Slow" } } },
            { "from": "16505551234", "id": "wamid.4", "timestamp": "1749416386", "type": "button",
              "context": { "from": "15550783881", "id": "wamid.template" },
              "button": { "payload": four.encode(), "text": "⭐⭐⭐⭐" } },
            // Someone else's buttons: read as typed.
            { "from": "16505551234", "id": "wamid.5", "timestamp": "1749416387", "type": "button",
              "button": { "payload": "STOP_PROMOS", "text": "Stop promotions" } },
            { "from": "16505551234", "id": "wamid.6", "timestamp": "1749416388", "type": "interactive",
              "interactive": { "type": "button_reply", "button_reply": { "id": "menu-1", "title": "5" } } },
            // Not ratings: skipped.
            { "from": "16505551234", "id": "wamid.7", "timestamp": "1749416389", "type": "image",
              "image": { "id": "1", "mime_type": "image/jpeg" } },
            { "from": "16505551234", "id": "wamid.8", "timestamp": "1749416390", "type": "reaction",
              "reaction": { "message_id": "wamid.invitation", "emoji": "👍" } },
            { "from": "16505551234", "id": "wamid.9", "timestamp": "1749416391", "type": "interactive",
              "interactive": { "type": "nfm_reply", "nfm_reply": {} } },
            { "from": "16505551234", "id": "wamid.10", "timestamp": "1749416392", "type": "unsupported",
              "errors": [{ "code": 131051 }] },
        ]);
        let events = parse(&delivery("106540352242922", messages, json!([])), "106540352242922").unwrap();
        let from = RecipientId::new("16505551234").unwrap();
        let tap = |id: Option<&str>| Tap { message_id: id.map(str::to_owned), callback_id: None };
        let typed = |id: &str, text: &str, seconds| Inbound::Message {
            platform_id: id.into(),
            from: from.clone(),
            text: text.into(),
            language: None,
            at: at(seconds),
        };
        assert_eq!(
            events,
            [
                typed("wamid.1", "4 - quick", 1749416383),
                Inbound::Choice {
                    platform_id: "wamid.2".into(),
                    from: from.clone(),
                    payload: four.clone(),
                    tap: tap(Some("wamid.invitation")),
                    language: None,
                    at: at(1749416384),
                },
                Inbound::Choice {
                    platform_id: "wamid.3".into(),
                    from: from.clone(),
                    payload: ChoicePayload::Reason { survey, reason: "slow".into() },
                    tap: tap(None),
                    language: None,
                    at: at(1749416385),
                },
                Inbound::Choice {
                    platform_id: "wamid.4".into(),
                    from: from.clone(),
                    payload: four,
                    tap: tap(Some("wamid.template")),
                    language: None,
                    at: at(1749416386),
                },
                typed("wamid.5", "Stop promotions", 1749416387),
                typed("wamid.6", "5", 1749416388),
            ]
        );
    }

    #[test]
    fn statuses_are_read_and_failures_say_why() {
        let statuses = json!([
            { "id": "wamid.a", "status": "sent", "timestamp": "1749416400", "recipient_id": "16505551234",
              "biz_opaque_callback_data": "send_srv_1_invitation",
              "conversation": { "id": "c", "origin": { "type": "service" } }, "pricing": { "billable": false } },
            { "id": "wamid.a", "status": "delivered", "timestamp": "1749416401", "recipient_id": "16505551234",
              "biz_opaque_callback_data": "send_srv_1_invitation" },
            { "id": "wamid.a", "status": "read", "timestamp": "1749416402", "recipient_id": "16505551234",
              "biz_opaque_callback_data": "send_srv_1_invitation" },
            { "id": "wamid.b", "status": "failed", "timestamp": "1749416403", "recipient_id": "16505551234",
              "errors": [{ "code": 131047, "title": "Re-engagement message", "message": "Re-engagement message",
                  "error_data": { "details": "Message failed to send because more than 24 hours have passed" } }] },
            { "id": "wamid.c", "status": "deleted", "timestamp": "1749416404", "recipient_id": "16505551234" },
        ]);
        let events = parse(&delivery("106540352242922", json!([]), statuses), "106540352242922").unwrap();
        let status = |id: &str, status, seconds| Inbound::Status {
            message_id: id.into(),
            status,
            reference: (id == "wamid.a").then(|| "send_srv_1_invitation".to_owned()),
            at: at(seconds),
        };
        let reason = FailureReason {
            code: "outside_window".into(),
            detail: "WhatsApp error 131047: Re-engagement message: Message failed to send because more than 24 \
                     hours have passed"
                .into(),
        };
        assert_eq!(
            events,
            [
                status("wamid.a", DeliveryStatus::Sent, 1749416400),
                status("wamid.a", DeliveryStatus::Delivered, 1749416401),
                status("wamid.a", DeliveryStatus::Read, 1749416402),
                status("wamid.b", DeliveryStatus::Failed(reason), 1749416403),
            ]
        );
    }

    #[test]
    fn other_numbers_and_other_fields_are_ignored_and_broken_bodies_refused() {
        let messages =
            json!([{ "from": "1", "id": "wamid.1", "timestamp": "1", "type": "text", "text": { "body": "5" } }]);
        assert_eq!(parse(&delivery("999", messages.clone(), json!([])), "106540352242922").unwrap(), []);
        let other_field = json!({ "object": "whatsapp_business_account", "entry": [{ "id": "1", "changes": [
            { "field": "message_template_status_update", "value": { "event": "APPROVED" } }] }] });
        assert_eq!(parse(other_field.to_string().as_bytes(), "1").unwrap(), []);
        assert_eq!(parse(br#"{"object":"page","entry":[]}"#, "1").unwrap(), []);
        // Several entries and changes in one post.
        let two = json!({ "object": "whatsapp_business_account", "entry": [
            { "id": "1", "changes": [{ "field": "messages", "value": { "metadata": { "phone_number_id": "7" },
                "messages": messages } }] },
            { "id": "2", "changes": [{ "field": "messages", "value": { "metadata": { "phone_number_id": "7" },
                "statuses": [{ "id": "wamid.s", "status": "read", "timestamp": "2" }] } }] },
        ] });
        assert_eq!(parse(two.to_string().as_bytes(), "7").unwrap().len(), 2);
        for body in [&b"not json"[..], b"[]", b"", b"{\"object\":"] {
            assert!(matches!(parse(body, "1"), Err(WebhookError::Malformed(_))), "{body:?}");
        }
    }
}
