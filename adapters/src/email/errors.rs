//! What an SMTP server's refusals mean for a sender (RFC 5321 §4.2): a 4xx reply is a passing
//! failure, tried again with backoff; a 5xx reply is permanent and fails the survey. Trouble
//! reaching the server (connection, TLS, timeout) is passing too.

use ratewire_core::FailureReason;

use crate::{SendError, with_causes};

/// The failure of a send through lettre.
pub(super) fn send_error(error: lettre::transport::smtp::Error) -> SendError {
    match error.status() {
        Some(code) => {
            // lettre's text is "permanent error (550): <the server's words>": keep the words.
            let words = std::error::Error::source(&error).map_or_else(|| error.to_string(), |words| words.to_string());
            reply_error(u16::from(code), words.trim())
        }
        None if error.is_timeout() => SendError::Temporary(format!("the SMTP server timed out: {error}")),
        None if error.is_tls() => SendError::Temporary(format!("TLS with the SMTP server failed: {error}")),
        None => SendError::Temporary(format!(
            "could not talk to the SMTP server: {}",
            with_causes(error.to_string(), &error)
        )),
    }
}

/// What an SMTP reply code means for the sender.
pub(super) fn reply_error(code: u16, text: &str) -> SendError {
    let permanent = |reason: &str| {
        SendError::Permanent(FailureReason { code: reason.to_owned(), detail: format!("SMTP {code}: {text}") })
    };
    match code {
        // 421 closing, 450/451/452 mailbox busy, local error, out of storage: try again.
        400..=499 => SendError::Temporary(format!("SMTP {code}: {text}")),
        // Authentication refused or required: the channel's credentials are wrong.
        530 | 534 | 535 | 538 => permanent("bad_credentials"),
        // A security or policy refusal (RFC 3463's 5.7.x) of a 550/553: the provider won't send
        // for the sender (an unverified `from`, a domain it may not use). The channel's to fix,
        // not the address's fault.
        550 | 553 if text.starts_with("5.7.") => permanent("bad_sender"),
        // No such mailbox, not local, mailbox name not allowed.
        550 | 551 | 553 => permanent("undeliverable"),
        // Anything else the server refuses (552 too large, 554 rejected as spam, 5xx syntax).
        _ => permanent("rejected"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::permanent_code;

    #[test]
    fn transient_replies_are_retried() {
        for reply in [421, 450, 451, 452] {
            assert!(
                matches!(reply_error(reply, "try later"), SendError::Temporary(text) if text.contains("try later"))
            );
        }
    }

    #[test]
    fn permanent_replies_fail_with_a_reason() {
        assert_eq!(permanent_code(reply_error(535, "5.7.8 Authentication credentials invalid")), "bad_credentials");
        assert_eq!(permanent_code(reply_error(550, "5.1.1 No such user")), "undeliverable");
        assert_eq!(permanent_code(reply_error(553, "mailbox name not allowed")), "undeliverable");
        assert_eq!(permanent_code(reply_error(550, "5.7.1 Sender address not verified")), "bad_sender");
        assert_eq!(
            permanent_code(reply_error(553, "5.7.1 <help@acme.example>: Sender address rejected")),
            "bad_sender"
        );
        assert_eq!(permanent_code(reply_error(554, "5.7.1 Message rejected as spam")), "rejected");
        assert_eq!(permanent_code(reply_error(552, "too large")), "rejected");
    }
}
