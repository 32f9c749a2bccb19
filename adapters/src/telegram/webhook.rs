//! Telegram's webhook: the secret token checked first, in constant time, then the update read
//! with teloxide's types.
//!
//! Telegram posts one update per request. What is read:
//! - `message` with `text` in a private chat, from a person: an end user's message. Bot
//!   commands (`/start`) are instructions to the bot, not replies: skipped. The dedupe key is
//!   `chat_id:message_id` (message ids count per chat).
//! - `callback_query` with `data` that is one of ratewire's payloads, on a message in a private
//!   chat: a tap. The dedupe key is the query's id.
//!
//! Everything else (edited messages, photos, stickers, group chats, other kinds of update,
//! kinds newer than teloxide) is not a survey reply and is skipped.

use jiff::Timestamp;
use ratewire_core::RecipientId;
use subtle::ConstantTimeEq;
use teloxide_core::types::{CallbackQuery, Message, Update, UpdateKind, User};

use super::SECRET_HEADER;
use crate::{ChoicePayload, Inbound, Tap, WebhookError};

/// Checks the secret token Telegram was given at `setWebhook`.
pub(super) fn verify(headers: &http::HeaderMap, secret: &str) -> Result<(), WebhookError> {
    let given = headers.get(SECRET_HEADER).ok_or(WebhookError::Unsigned)?;
    if bool::from(given.as_bytes().ct_eq(secret.as_bytes())) { Ok(()) } else { Err(WebhookError::BadSignature) }
}

/// What a verified update carries; `now` dates taps, which carry no date of their own.
pub(super) fn parse(body: &[u8], now: Timestamp) -> Result<Vec<Inbound>, WebhookError> {
    let update: Update = serde_json::from_slice(body).map_err(|e| WebhookError::Malformed(e.to_string()))?;
    let inbound = match update.kind {
        UpdateKind::Message(message) => message_of(&message),
        UpdateKind::CallbackQuery(query) => tap_of(query, now),
        _ => None,
    };
    Ok(inbound.into_iter().collect())
}

fn recipient(chat: teloxide_core::types::ChatId) -> Option<RecipientId> {
    RecipientId::new(chat.0.to_string()).ok()
}

fn language(user: &User) -> Option<String> {
    user.language_code.clone().filter(|code| !code.is_empty())
}

fn message_of(message: &Message) -> Option<Inbound> {
    let from = message.from.as_ref().filter(|user| !user.is_bot)?;
    if !message.chat.is_private() {
        return None;
    }
    let text = message.text()?;
    if text.starts_with('/') {
        return None;
    }
    Some(Inbound::Message {
        platform_id: format!("{}:{}", message.chat.id, message.id),
        from: recipient(message.chat.id)?,
        text: text.to_owned(),
        language: language(from),
        at: Timestamp::from_second(message.date.timestamp()).ok()?,
    })
}

fn tap_of(query: CallbackQuery, now: Timestamp) -> Option<Inbound> {
    let payload = ChoicePayload::decode(query.data.as_deref()?)?;
    if query.from.is_bot {
        return None;
    }
    let chat = match &query.message {
        Some(message) if !message.chat().is_private() => return None,
        Some(message) => message.chat().id,
        // A button of an inline-mode message: no chat to answer in but the user's own.
        None => teloxide_core::types::ChatId(i64::try_from(query.from.id.0).ok()?),
    };
    Some(Inbound::Choice {
        platform_id: query.id.0.clone(),
        from: recipient(chat)?,
        payload,
        tap: Tap { message_id: query.message.as_ref().map(|m| m.id().0.to_string()), callback_id: Some(query.id.0) },
        language: language(&query.from),
        at: now,
    })
}

#[cfg(test)]
mod tests {
    use ratewire_core::{Scale, SurveyId};
    use serde_json::{Value, json};

    use super::*;

    const SECRET: &str = "0123456789abcdef0123456789abcdef";

    fn headers(secret: Option<&str>) -> http::HeaderMap {
        let mut headers = http::HeaderMap::new();
        headers.insert(http::header::CONTENT_TYPE, "application/json".parse().unwrap());
        if let Some(secret) = secret {
            headers.insert(SECRET_HEADER, secret.parse().unwrap());
        }
        headers
    }

    fn now() -> Timestamp {
        Timestamp::from_second(1_767_000_000).unwrap()
    }

    fn read(update: Value) -> Vec<Inbound> {
        parse(update.to_string().as_bytes(), now()).expect("a valid update")
    }

    fn user(language: Option<&str>) -> Value {
        let mut user = json!({ "id": 5551234, "is_bot": false, "first_name": "Ana", "username": "ana" });
        if let Some(language) = language {
            user["language_code"] = json!(language);
        }
        user
    }

    fn private_chat() -> Value {
        json!({ "id": 5551234, "type": "private", "first_name": "Ana", "username": "ana" })
    }

    fn text_update(text: &str) -> Value {
        json!({ "update_id": 900001, "message": {
            "message_id": 17, "date": 1_766_999_000, "chat": private_chat(), "from": user(Some("es")), "text": text,
        } })
    }

    fn bot_message() -> Value {
        json!({
            "message_id": 42, "date": 1_766_998_000, "chat": private_chat(),
            "from": { "id": 777, "is_bot": true, "first_name": "Acme Support", "username": "acme_bot" },
            "text": "How did we do?",
            "reply_markup": { "inline_keyboard": [[{ "text": "1", "callback_data": "rw1:s:abc:1" }]] },
        })
    }

    #[test]
    fn the_secret_token_is_required_and_must_match() {
        assert!(verify(&headers(Some(SECRET)), SECRET).is_ok());
        assert!(matches!(verify(&headers(None), SECRET), Err(WebhookError::Unsigned)));
        assert!(matches!(
            verify(&headers(Some("0123456789abcdef0123456789abcdeX")), SECRET),
            Err(WebhookError::BadSignature)
        ));
        assert!(matches!(verify(&headers(Some("short")), SECRET), Err(WebhookError::BadSignature)));
        assert!(matches!(verify(&headers(Some("")), SECRET), Err(WebhookError::BadSignature)));
    }

    #[test]
    fn a_text_message_carries_its_language_and_a_per_chat_id() {
        assert_eq!(
            read(text_update("4 - quick")),
            [Inbound::Message {
                platform_id: "5551234:17".into(),
                from: RecipientId::new("5551234").unwrap(),
                text: "4 - quick".into(),
                language: Some("es".into()),
                at: Timestamp::from_second(1_766_999_000).unwrap(),
            }]
        );
    }

    #[test]
    fn a_tap_carries_the_payload_the_message_and_the_query() {
        let survey = SurveyId::new("0123456789abcdef0123456789abcdef").unwrap();
        let score = Scale::FIVE_STARS.score(4).unwrap();
        let data = ChoicePayload::Score { survey: survey.clone(), score }.encode();
        let update = json!({ "update_id": 900002, "callback_query": {
            "id": "4382bfdwdsb323b2d9", "from": user(Some("pt-br")), "chat_instance": "-8231123", "message": bot_message(),
            "data": data,
        } });
        assert_eq!(
            read(update),
            [Inbound::Choice {
                platform_id: "4382bfdwdsb323b2d9".into(),
                from: RecipientId::new("5551234").unwrap(),
                payload: ChoicePayload::Score { survey, score },
                tap: Tap { message_id: Some("42".into()), callback_id: Some("4382bfdwdsb323b2d9".into()) },
                language: Some("pt-br".into()),
                at: now(),
            }]
        );
    }

    #[test]
    fn what_is_not_a_survey_reply_is_skipped() {
        let group = json!({ "id": -1001234, "type": "supergroup", "title": "Fans" });
        let mut in_group = text_update("5");
        in_group["message"]["chat"] = group.clone();
        let mut from_bot = text_update("5");
        from_bot["message"]["from"]["is_bot"] = json!(true);
        let mut photo = text_update("");
        photo["message"].as_object_mut().unwrap().remove("text");
        photo["message"]["photo"] = json!([{ "file_id": "f", "file_unique_id": "u", "width": 90, "height": 90 }]);
        let mut edited = text_update("5");
        edited["edited_message"] = edited["message"].take();
        edited.as_object_mut().unwrap().remove("message");
        edited["edited_message"]["edit_date"] = json!(1_766_999_100);
        let foreign_tap = json!({ "update_id": 3, "callback_query": {
            "id": "q1", "from": user(None), "chat_instance": "1", "message": bot_message(), "data": "someone-elses",
        } });
        let ack_tap = json!({ "update_id": 4, "callback_query": {
            "id": "q2", "from": user(None), "chat_instance": "1", "message": bot_message(), "data": "rw1:ack",
        } });
        let mut group_tap = json!({ "update_id": 5, "callback_query": {
            "id": "q3", "from": user(None), "chat_instance": "1", "message": bot_message(), "data": "rw1:s:abc:4",
        } });
        group_tap["callback_query"]["message"]["chat"] = group;
        let newer_kind = json!({ "update_id": 6, "something_new": { "id": 1 } });
        let poll = json!({ "update_id": 7, "poll_answer": { "poll_id": "p", "user": user(None), "option_ids": [0] } });
        for update in [
            in_group,
            from_bot,
            photo,
            edited,
            text_update("/start"),
            foreign_tap,
            ack_tap,
            group_tap,
            newer_kind,
            poll,
        ] {
            assert_eq!(read(update.clone()), [], "{update}");
        }
    }

    #[test]
    fn broken_bodies_are_malformed() {
        for body in [&b"not json"[..], b"[]", b"{}", b"{\"message\":{}}"] {
            assert!(matches!(parse(body, now()), Err(WebhookError::Malformed(_))), "{}", String::from_utf8_lossy(body));
        }
    }
}
