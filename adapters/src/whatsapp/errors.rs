//! Meta's error codes, read into what a sender does: wait, try again, or give up with a stable
//! reason. The same codes come back in `failed` delivery statuses.

use std::time::Duration;

use ratewire_core::FailureReason;
use serde_json::Value;

use crate::SendError;
use crate::meta::GraphError;

/// Meta's pair rate limit allows about one message every 6 seconds to one end user; it names
/// no wait, so ratewire waits that long.
pub(super) const PAIR_RATE_WAIT: Duration = Duration::from_secs(6);

/// What a sender does about an error code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    /// Slow down, then try again (after the wait, where one is known).
    RateLimited(Option<Duration>),
    /// A passing failure on Meta's side.
    Temporary,
    /// Never sendable as it is: the stable code the survey records.
    Permanent(&'static str),
}

/// The class of one of Meta's error codes; `None` for a code ratewire doesn't know.
fn class(code: i64) -> Option<Class> {
    Some(match code {
        // Throughput (per number), application and business account call rates.
        4 | 80007 | 130429 => Class::RateLimited(None),
        131056 => Class::RateLimited(Some(PAIR_RATE_WAIT)),
        1 | 2 | 131000 | 131016 | 133004 => Class::Temporary,
        131047 => Class::Permanent("outside_window"),
        131021 | 131026 => Class::Permanent("undeliverable"),
        131048 | 131049 => Class::Permanent("spam_limited"),
        131050 => Class::Permanent("user_opted_out"),
        0 | 190 => Class::Permanent("bad_token"),
        3 | 10 | 200..=299 => Class::Permanent("not_permitted"),
        131030 => Class::Permanent("recipient_not_allowed"),
        368 | 130497 | 131031 | 131042 => Class::Permanent("account_restricted"),
        133010 => Class::Permanent("sender_not_registered"),
        132000..=132999 => Class::Permanent("template_error"),
        _ => return None,
    })
}

/// `WhatsApp error 131047: Re-engagement message: More than 24 hours have passed`.
fn describe(error: &GraphError) -> String {
    let mut detail = String::new();
    let parts = [&error.title, &error.message, &error.details].into_iter().flatten();
    for part in parts.filter(|text| !text.trim().is_empty()) {
        // Meta often repeats the title as the message.
        if !detail.contains(part.as_str()) {
            if !detail.is_empty() {
                detail.push_str(": ");
            }
            detail.push_str(part);
        }
    }
    match (error.code, detail.is_empty()) {
        (Some(code), false) => format!("WhatsApp error {code}: {detail}"),
        (Some(code), true) => format!("WhatsApp error {code}"),
        (None, false) => format!("WhatsApp error: {detail}"),
        (None, true) => "WhatsApp error".to_owned(),
    }
}

/// What an unsuccessful answer to a send means for the sender.
pub(super) fn send_error(status: u16, body: &[u8]) -> SendError {
    let error = GraphError::of_answer(body);
    let known = error.as_ref().and_then(|e| e.code.and_then(class));
    let detail = match &error {
        Some(error) if error.code.is_some() => format!("{} (HTTP {status})", describe(error)),
        _ => format!("WhatsApp answered HTTP {status}"),
    };
    match known {
        Some(Class::RateLimited(retry_after)) => SendError::RateLimited { retry_after },
        Some(Class::Temporary) => SendError::Temporary(detail),
        Some(Class::Permanent(code)) => SendError::Permanent(FailureReason { code: code.to_owned(), detail }),
        None if status == 429 => SendError::RateLimited { retry_after: None },
        None if status >= 500 || status == 408 => SendError::Temporary(detail),
        None => SendError::Permanent(FailureReason { code: "rejected".to_owned(), detail }),
    }
}

/// Why a message Meta accepted was not delivered, from a `failed` status's first error.
pub(super) fn delivery_failure(errors: &Value) -> FailureReason {
    let Some(first) = errors.as_array().and_then(|errors| errors.first()) else {
        return FailureReason { code: "failed".to_owned(), detail: "WhatsApp did not deliver the message".to_owned() };
    };
    let error = GraphError::read(first);
    let code = match error.code.and_then(class) {
        Some(Class::Permanent(code)) => code,
        Some(Class::RateLimited(_)) => "rate_limited",
        Some(Class::Temporary) => "platform_error",
        None => "failed",
    };
    FailureReason { code: code.to_owned(), detail: describe(&error) }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::permanent_code;

    fn graph(code: i64, message: &str) -> Vec<u8> {
        json!({ "error": { "message": message, "type": "OAuthException", "code": code,
            "error_data": { "messaging_product": "whatsapp", "details": "more" }, "fbtrace_id": "Az8or" } })
        .to_string()
        .into_bytes()
    }

    #[test]
    fn rate_limits_wait_as_long_as_is_known() {
        assert_eq!(send_error(400, &graph(130429, "Rate limit hit")), SendError::RateLimited { retry_after: None });
        assert_eq!(send_error(400, &graph(80007, "Rate limit issues")), SendError::RateLimited { retry_after: None });
        assert_eq!(
            send_error(400, &graph(131056, "Pair rate limit hit")),
            SendError::RateLimited { retry_after: Some(Duration::from_secs(6)) }
        );
        assert_eq!(send_error(429, b"Too many"), SendError::RateLimited { retry_after: None });
    }

    #[test]
    fn permanent_errors_carry_a_stable_code_and_the_details() {
        let error = send_error(400, &graph(131047, "Re-engagement message"));
        assert_eq!(
            error,
            SendError::Permanent(FailureReason {
                code: "outside_window".into(),
                detail: "WhatsApp error 131047: Re-engagement message: more (HTTP 400)".into(),
            })
        );
        for (code, expected) in [
            (131026, "undeliverable"),
            (131048, "spam_limited"),
            (131049, "spam_limited"),
            (131050, "user_opted_out"),
            (190, "bad_token"),
            (10, "not_permitted"),
            (131030, "recipient_not_allowed"),
            (368, "account_restricted"),
            (132001, "template_error"),
            (100, "rejected"),
            (131009, "rejected"),
        ] {
            assert_eq!(permanent_code(send_error(400, &graph(code, "x"))), expected, "{code}");
        }
        assert_eq!(permanent_code(send_error(401, &graph(190, "Invalid OAuth access token"))), "bad_token");
        assert_eq!(permanent_code(send_error(404, b"<html>not found</html>")), "rejected");
    }

    #[test]
    fn server_errors_are_temporary() {
        assert!(matches!(send_error(500, b""), SendError::Temporary(_)));
        assert!(matches!(send_error(503, &graph(99999, "unknown")), SendError::Temporary(_)));
        assert!(matches!(send_error(400, &graph(131000, "Something went wrong")), SendError::Temporary(_)));
        assert_eq!(send_error(502, b"Bad gateway"), SendError::Temporary("WhatsApp answered HTTP 502".into()));
    }

    #[test]
    fn failed_statuses_say_why() {
        let errors = json!([{ "code": 131047, "title": "Re-engagement message",
            "message": "Re-engagement message", "error_data": { "details": "More than 24 hours have passed" } }]);
        assert_eq!(
            delivery_failure(&errors),
            FailureReason {
                code: "outside_window".into(),
                detail: "WhatsApp error 131047: Re-engagement message: More than 24 hours have passed".into(),
            }
        );
        let spam = delivery_failure(&json!([{ "code": 131049, "title": "This message was not delivered" }]));
        assert_eq!(spam.code, "spam_limited");
        assert_eq!(delivery_failure(&json!([{ "code": "131026" }])).code, "undeliverable");
        assert_eq!(delivery_failure(&json!([{ "code": 1234567 }])).code, "failed");
        assert_eq!(delivery_failure(&Value::Null).code, "failed");
    }
}
