//! What the Bot API's failures mean for a sender.
//!
//! teloxide reads the answer's body, not its HTTP status: `parameters.retry_after` becomes
//! `RetryAfter`, and the `description` becomes an [`ApiError`] (known texts get their own
//! variant, anything else is `Unknown` with the text). The `error_code` is not kept, so
//! unknown descriptions are told apart by their prefix, which Telegram sets from the code
//! ("Bad Request: …", "Forbidden: …", "Too Many Requests: …").
//!
//! On a 5xx answer teloxide waits 10 s before it reads the body: such a send takes that long
//! before it is retried with backoff.

use ratewire_core::FailureReason;
use teloxide_core::{ApiError, RequestError};

use crate::{SendError, with_causes};

/// The failure of a call, with the bot's token (which is in every request's URL, and so in
/// network errors' texts) replaced.
pub(super) fn send_error(error: RequestError, token: &str) -> SendError {
    let redact = |text: String| if token.is_empty() { text } else { text.replace(token, "<bot token>") };
    match error {
        RequestError::RetryAfter(wait) => SendError::RateLimited { retry_after: Some(wait.duration()) },
        RequestError::Api(error) => api_error(error),
        RequestError::MigrateToChatId(chat) => {
            permanent("undeliverable", format!("the group chat became the supergroup {chat}"))
        }
        RequestError::Network(error) => crate::outbound::send_error(error, |error| redact(network(&error))),
        // Not the Bot API's JSON: a proxy's error page, a cut answer.
        RequestError::InvalidJson { source, .. } => SendError::Temporary(format!("unreadable answer: {source}")),
        RequestError::Io(error) => SendError::Temporary(redact(format!("I/O error: {error}"))),
    }
}

fn network(error: &reqwest::Error) -> String {
    let what = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "could not connect"
    } else {
        "network error"
    };
    with_causes(what.to_owned(), error)
}

fn permanent(code: &str, detail: impl Into<String>) -> SendError {
    SendError::Permanent(FailureReason { code: code.to_owned(), detail: detail.into() })
}

fn api_error(error: ApiError) -> SendError {
    let detail = error.to_string();
    match error {
        ApiError::BotBlocked => permanent("user_blocked", detail),
        ApiError::InvalidToken => permanent("bad_token", "Telegram does not know the bot token (Unauthorized)"),
        ApiError::CantInitiateConversation => {
            permanent("undeliverable", format!("{detail}: the user never started the bot"))
        }
        ApiError::UserDeactivated
        | ApiError::ChatNotFound
        | ApiError::UserNotFound
        | ApiError::BotKicked
        | ApiError::BotKickedFromSupergroup
        | ApiError::BotKickedFromChannel
        | ApiError::CantTalkWithBots
        | ApiError::GroupDeactivated
        | ApiError::NotEnoughRightsToPostMessages => permanent("undeliverable", detail),
        ApiError::Unknown(description) => unknown(description),
        // Every other known error is a request Telegram refuses as it is.
        _ => permanent("rejected", detail),
    }
}

fn unknown(description: String) -> SendError {
    let starts = |prefix: &str| description.to_ascii_lowercase().starts_with(&prefix.to_ascii_lowercase());
    if starts("Too Many Requests") {
        SendError::RateLimited { retry_after: None }
    } else if starts("Forbidden") || starts("Unauthorized") {
        permanent("undeliverable", description)
    } else if starts("Bad Request") || starts("Not Found") || starts("Conflict") || starts("Request Entity Too Large") {
        permanent("rejected", description)
    } else {
        // "Internal Server Error", "Bad Gateway", "Gateway Timeout", or something new.
        SendError::Temporary(description)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use serde_json::json;
    use teloxide_core::types::True;

    use super::*;
    use crate::permanent_code;

    /// The error teloxide makes of a Bot API answer's body.
    fn from_body(body: serde_json::Value) -> RequestError {
        // teloxide's own reading of an answer, through its public types: the same untagged
        // `ok`/`description`/`parameters` shape.
        #[derive(serde::Deserialize)]
        struct Failure {
            description: ApiError,
            parameters: Option<teloxide_core::types::ResponseParameters>,
        }
        let failure: Failure = serde_json::from_value(body).expect("a Bot API error body");
        match failure.parameters {
            Some(teloxide_core::types::ResponseParameters::RetryAfter(wait)) => RequestError::RetryAfter(wait),
            Some(teloxide_core::types::ResponseParameters::MigrateToChatId(to)) => RequestError::MigrateToChatId(to),
            None => RequestError::Api(failure.description),
        }
    }

    #[test]
    fn flood_control_waits_as_telegram_says() {
        let body = json!({ "ok": false, "error_code": 429, "description": "Too Many Requests: retry after 7",
            "parameters": { "retry_after": 7 } });
        assert_eq!(
            send_error(from_body(body), "t"),
            SendError::RateLimited { retry_after: Some(Duration::from_secs(7)) }
        );
        let bare = json!({ "ok": false, "error_code": 429, "description": "Too Many Requests" });
        assert_eq!(send_error(from_body(bare), "t"), SendError::RateLimited { retry_after: None });
    }

    #[test]
    fn a_blocked_bot_and_a_bad_token_are_permanent() {
        let blocked =
            json!({ "ok": false, "error_code": 403, "description": "Forbidden: bot was blocked by the user" });
        assert!(matches!(from_body(blocked.clone()), RequestError::Api(ApiError::BotBlocked)));
        assert_eq!(permanent_code(send_error(from_body(blocked), "t")), "user_blocked");
        for description in ["Unauthorized", "Not Found"] {
            let body = json!({ "ok": false, "error_code": 401, "description": description });
            assert_eq!(permanent_code(send_error(from_body(body), "t")), "bad_token");
        }
    }

    #[test]
    fn users_out_of_reach_are_undeliverable() {
        for description in [
            "Forbidden: bot can't initiate conversation with a user",
            "Unauthorized: bot can't initiate conversation with a user",
            "Forbidden: user is deactivated",
            "Bad Request: chat not found",
            "Forbidden: bot can't send messages to bots",
            "Forbidden: some new reason",
        ] {
            let body = json!({ "ok": false, "error_code": 403, "description": description });
            assert_eq!(permanent_code(send_error(from_body(body), "t")), "undeliverable", "{description}");
        }
    }

    #[test]
    fn refused_requests_are_permanent_and_server_trouble_temporary() {
        for description in ["Bad Request: message is too long", "Bad Request: BUTTON_DATA_INVALID", "Bad Request: what"]
        {
            let body = json!({ "ok": false, "error_code": 400, "description": description });
            assert_eq!(permanent_code(send_error(from_body(body), "t")), "rejected", "{description}");
        }
        for description in ["Internal Server Error", "Bad Gateway", "Gateway Timeout"] {
            let body = json!({ "ok": false, "error_code": 502, "description": description });
            assert_eq!(send_error(from_body(body), "t"), SendError::Temporary(description.into()));
        }
        let json_error = serde_json::from_str::<True>("<html>").unwrap_err();
        let unreadable = RequestError::InvalidJson { source: json_error.into(), raw: "<html>".into() };
        assert!(matches!(send_error(unreadable, "t"), SendError::Temporary(_)));
    }

    #[tokio::test]
    async fn network_failures_are_temporary_and_never_show_the_token() {
        // A port nothing listens on.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        drop(listener);
        let token = "123456:SECRET-token";
        let error =
            reqwest::Client::new().post(format!("http://{address}/bot{token}/SendMessage")).send().await.unwrap_err();
        let SendError::Temporary(detail) = send_error(RequestError::Network(error.into()), token) else {
            panic!("temporary");
        };
        assert!(detail.starts_with("could not connect"), "{detail}");
        assert!(!detail.contains("SECRET"), "{detail}");
    }
}
