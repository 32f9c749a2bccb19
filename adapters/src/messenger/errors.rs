//! The Send API's errors, as a sender must take them.
//!
//! Graph errors read `{"error":{"message","type","code","error_subcode","fbtrace_id"}}`, mostly
//! with HTTP 400 whatever the cause, so the code decides, not the status.

use std::time::Duration;

use http::{HeaderMap, StatusCode};

use super::failure;
use crate::SendError;
use crate::meta::GraphError;

/// Throttling codes: 613 is the Send API's own; 4, 17 and 32 are the app, user and Page
/// request limits; 80006 is the Messenger business-use-case limit.
const RATE_LIMITS: [i64; 5] = [613, 4, 17, 32, 80006];
/// `(#10)` subcodes that mean the message falls outside the allowed window.
const OUTSIDE_WINDOW: [i64; 3] = [2018278, 2018065, 2018108];

/// What a failed call means for the message.
pub fn classify(status: StatusCode, headers: &HeaderMap, body: &[u8]) -> SendError {
    let Some(error) = GraphError::of_answer(body) else {
        // No Graph error: an answer from something in front of the Graph API.
        return match status {
            StatusCode::TOO_MANY_REQUESTS => SendError::RateLimited { retry_after: retry_after(headers) },
            StatusCode::REQUEST_TIMEOUT => SendError::Temporary(format!("HTTP {status} from the Send API")),
            _ if status.is_server_error() => SendError::Temporary(format!("HTTP {status} from the Send API")),
            _ => SendError::Permanent(failure("undeliverable", format!("HTTP {status} from the Send API"))),
        };
    };
    let detail = describe(&error);
    let (code, subcode) = (error.code.unwrap_or_default(), error.subcode);
    if RATE_LIMITS.contains(&code) || status == StatusCode::TOO_MANY_REQUESTS {
        return SendError::RateLimited { retry_after: retry_after(headers) };
    }
    match (code, subcode) {
        (190, _) => SendError::Permanent(failure("bad_token", detail)),
        (10, Some(subcode)) if OUTSIDE_WINDOW.contains(&subcode) => {
            SendError::Permanent(failure("outside_window", detail))
        }
        (551, _) | (_, Some(1545041)) | (100, Some(2018001)) => {
            SendError::Permanent(failure("user_unavailable", detail))
        }
        (10 | 200 | 230, _) => SendError::Permanent(failure("not_permitted", detail)),
        // 2 is also seen when the person blocked the Page: retried, but the outbox gives up
        // after its attempts. 1200: "Temporary send message failure".
        (2 | 1200, _) => SendError::Temporary(detail),
        _ if error.is_transient == Some(true) || status.is_server_error() => SendError::Temporary(detail),
        _ => SendError::Permanent(failure("undeliverable", detail)),
    }
}

/// `(#551/1545041) This person isn't available right now. [fbtrace_id Abc]`.
fn describe(error: &GraphError) -> String {
    let code = match (error.code, error.subcode) {
        (Some(code), Some(subcode)) => format!("(#{code}/{subcode}) "),
        (Some(code), None) => format!("(#{code}) "),
        (None, _) => String::new(),
    };
    let message = error.message.as_deref().unwrap_or("the Send API refused the message");
    let trace = error.fbtrace_id.as_deref().map(|id| format!(" [fbtrace_id {id}]")).unwrap_or_default();
    format!("{code}{message}{trace}")
}

/// How long the platform asked to wait: `Retry-After` in seconds where a proxy or Meta sends
/// one, else the longest `estimated_time_to_regain_access` (minutes) in Meta's business use
/// case usage header. `None` leaves the wait to the outbox's backoff.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(seconds) = header("retry-after").and_then(|v| v.trim().parse::<u64>().ok()) {
        return Some(Duration::from_secs(seconds));
    }
    let usage: serde_json::Value = serde_json::from_str(header("x-business-use-case-usage")?).ok()?;
    let minutes = usage
        .as_object()?
        .values()
        .filter_map(serde_json::Value::as_array)
        .flatten()
        .filter_map(|entry| entry.get("estimated_time_to_regain_access")?.as_u64())
        .max()?;
    (minutes > 0).then(|| Duration::from_secs(minutes * 60))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn error(code: i64, subcode: Option<i64>) -> Vec<u8> {
        let mut error = json!({ "message": "Nope", "type": "OAuthException", "code": code, "fbtrace_id": "AbC" });
        if let Some(subcode) = subcode {
            error["error_subcode"] = json!(subcode);
        }
        json!({ "error": error }).to_string().into_bytes()
    }

    fn permanent(outcome: SendError) -> (String, String) {
        match outcome {
            SendError::Permanent(reason) => (reason.code, reason.detail),
            other => panic!("not permanent: {other:?}"),
        }
    }

    #[test]
    fn rate_limits_carry_the_platforms_wait() {
        let mut headers = HeaderMap::new();
        let usage =
            json!({ "1234": [{ "type": "messenger", "call_count": 100, "estimated_time_to_regain_access": 2 }] });
        headers.insert("x-business-use-case-usage", usage.to_string().parse().unwrap());
        let outcome = classify(StatusCode::BAD_REQUEST, &headers, &error(613, None));
        assert_eq!(outcome, SendError::RateLimited { retry_after: Some(Duration::from_secs(120)) });
        headers.insert("retry-after", "7".parse().unwrap());
        let outcome = classify(StatusCode::BAD_REQUEST, &headers, &error(4, None));
        assert_eq!(outcome, SendError::RateLimited { retry_after: Some(Duration::from_secs(7)) });
        let outcome = classify(StatusCode::BAD_REQUEST, &HeaderMap::new(), &error(613, None));
        assert_eq!(outcome, SendError::RateLimited { retry_after: None });
        let outcome = classify(StatusCode::TOO_MANY_REQUESTS, &HeaderMap::new(), b"slow down");
        assert_eq!(outcome, SendError::RateLimited { retry_after: None });
    }

    #[test]
    fn permanent_errors_have_stable_codes() {
        let (code, detail) = permanent(classify(StatusCode::BAD_REQUEST, &HeaderMap::new(), &error(10, Some(2018278))));
        assert_eq!(code, "outside_window");
        assert_eq!(detail, "(#10/2018278) Nope [fbtrace_id AbC]");
        for (status, code, subcode, expected) in [
            (400, 551, Some(1545041), "user_unavailable"),
            (400, 551, None, "user_unavailable"),
            (400, 100, Some(2018001), "user_unavailable"),
            (401, 190, None, "bad_token"),
            (400, 190, Some(463), "bad_token"),
            (403, 10, None, "not_permitted"),
            (400, 200, Some(2018028), "not_permitted"),
            (400, 100, None, "undeliverable"),
        ] {
            let status = StatusCode::from_u16(status).unwrap();
            let (code, _) = permanent(classify(status, &HeaderMap::new(), &error(code, subcode)));
            assert_eq!(code, expected, "{status} {subcode:?}");
        }
        let (code, detail) = permanent(classify(StatusCode::FORBIDDEN, &HeaderMap::new(), b"<html>"));
        assert_eq!((code.as_str(), detail.as_str()), ("undeliverable", "HTTP 403 Forbidden from the Send API"));
    }

    #[test]
    fn passing_failures_are_retried() {
        for (status, body) in [
            (400, error(2, None)),
            (400, error(1200, None)),
            (500, error(1, None)),
            (400, json!({ "error": { "code": 1, "is_transient": true } }).to_string().into_bytes()),
            (502, b"Bad gateway".to_vec()),
            (503, Vec::new()),
            (408, Vec::new()),
        ] {
            let outcome = classify(StatusCode::from_u16(status).unwrap(), &HeaderMap::new(), &body);
            assert!(matches!(outcome, SendError::Temporary(_)), "{status}: {outcome:?}");
        }
    }
}
