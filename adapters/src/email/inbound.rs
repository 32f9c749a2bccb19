//! Replies by email: raw RFC 822 messages posted by an MTA or an inbound-mail service.
//!
//! A post is authenticated with the channel's secret, as `Authorization: Bearer <secret>` or as
//! the password of HTTP Basic credentials (what inbound-mail services put in the URL they post
//! to). The message then names its survey through the thread — `In-Reply-To`, `References`, or
//! the plus-addressed reply-to address — and its first lines, without the quoted history and
//! the signature, are what the end user said. Messages sent by programs (out-of-office replies,
//! bounces) are skipped.

use base64::Engine;
use jiff::Timestamp;
use mail_parser::{Message, MessageParser, MimeHeaders};
use ratewire_core::SurveyId;
use sha2::{Digest, Sha256};

use super::render::survey_of_message_id;
use crate::{Inbound, WebhookError};

/// The most lines of a reply that are read: a rating and a comment, not a whole letter.
const MAX_LINES: usize = 20;

/// Checks the post's credentials against the channel's secret, in constant time.
pub(super) fn authenticate(headers: &http::HeaderMap, secret: &str) -> Result<(), WebhookError> {
    let Some(value) = headers.get(http::header::AUTHORIZATION).and_then(|v| v.to_str().ok()) else {
        return Err(WebhookError::Unsigned);
    };
    let (scheme, credentials) = value.trim().split_once(' ').ok_or(WebhookError::BadSignature)?;
    let given = if scheme.eq_ignore_ascii_case("bearer") {
        credentials.trim().to_owned()
    } else if scheme.eq_ignore_ascii_case("basic") {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(credentials.trim())
            .map_err(|_| WebhookError::BadSignature)?;
        let decoded = String::from_utf8(decoded).map_err(|_| WebhookError::BadSignature)?;
        // Any user name: the password is the secret.
        decoded.split_once(':').map(|(_, password)| password.to_owned()).ok_or(WebhookError::BadSignature)?
    } else {
        return Err(WebhookError::BadSignature);
    };
    if secret.is_empty() || !bool::from(subtle::ConstantTimeEq::ct_eq(given.as_bytes(), secret.as_bytes())) {
        return Err(WebhookError::BadSignature);
    }
    Ok(())
}

/// Reads a posted message: one end user's reply, or nothing when a program sent it.
pub(super) fn parse(
    raw: &[u8],
    reply_to: Option<&lettre::Address>,
    now: Timestamp,
) -> Result<Vec<Inbound>, WebhookError> {
    if raw.iter().all(u8::is_ascii_whitespace) {
        return Err(WebhookError::Malformed("the body is empty: post the raw RFC 822 message".into()));
    }
    let message = MessageParser::default()
        .parse(raw)
        .filter(|message| !message.headers().is_empty())
        .ok_or_else(|| WebhookError::Malformed("the body is not an RFC 822 message".into()))?;
    // Programs' messages first: a bounce's or a robot's sender needs no reading at all.
    if is_automatic(&message) {
        return Ok(Vec::new());
    }
    let from = message
        .from()
        .and_then(|from| from.first())
        .and_then(|addr| addr.address())
        .ok_or_else(|| WebhookError::Malformed("the message has no From address".into()))?;
    // An address ratewire can't name an end user by (`o'brien@…`) is skipped, not refused: a
    // refusal would have the MTA post it again for days.
    let Ok(from) = super::normalize_address(from) else { return Ok(Vec::new()) };
    let text = message.body_text(0).map(|body| reply_text(&body)).unwrap_or_default();
    if text.is_empty() {
        return Ok(Vec::new());
    }
    let platform_id = match message.message_id() {
        Some(id) => id.to_owned(),
        // No Message-ID (rare, and against RFC 5322): the message's bytes name it.
        None => hex::encode(Sha256::digest(raw)),
    };
    // When it arrived, not the sender's `Date:`, which their clock or client makes up.
    let at = now;
    Ok(vec![match thread(&message, reply_to) {
        Some(survey) => Inbound::Reply { platform_id, from, survey, text, at },
        None => {
            let language = message.content_language().as_text().map(str::to_owned);
            Inbound::Message { platform_id, from, text, language, at }
        }
    }])
}

/// Whether a program sent the message: an auto-reply (RFC 3834's `Auto-Submitted` other than
/// `no`, the older `X-Autoreply` and `Precedence`, an out-of-office subject) or a bounce.
fn is_automatic(message: &Message<'_>) -> bool {
    let header = |name: &str| raw_header(message, name).map(|value| value.trim().to_ascii_lowercase());
    let auto_submitted =
        header("Auto-Submitted").is_some_and(|value| value.split(';').next().map(str::trim) != Some("no"));
    let auto_reply = header("X-Autoreply").is_some() || header("X-Autorespond").is_some();
    let precedence =
        header("Precedence").is_some_and(|p| matches!(p.as_str(), "bulk" | "junk" | "list" | "auto_reply"));
    let report = message.content_type().is_some_and(|t| {
        t.ctype().eq_ignore_ascii_case("multipart") && t.subtype().is_some_and(|s| s.eq_ignore_ascii_case("report"))
    });
    let subject = message.subject().unwrap_or_default().trim().to_lowercase();
    let away = ["auto:", "automatic reply", "autoreply", "auto-reply", "out of office", "out-of-office"]
        .iter()
        .any(|prefix| subject.starts_with(prefix));
    auto_submitted || auto_reply || precedence || report || away
}

/// The survey a reply threads to: a `Message-ID` of ratewire's in `In-Reply-To`, then in
/// `References` (the latest first), then the plus-addressed reply-to address it was sent to.
fn thread(message: &Message<'_>, reply_to: Option<&lettre::Address>) -> Option<SurveyId> {
    let replied = message.in_reply_to().as_text_list().unwrap_or_default().iter();
    let referenced = message.references().as_text_list().unwrap_or_default().iter().rev();
    if let Some(survey) = replied.chain(referenced).find_map(|id| survey_of_message_id(id)) {
        return Some(survey);
    }
    let reply_to = reply_to?;
    let tag = |address: &str| {
        let (local, domain) = address.trim().trim_matches(['<', '>']).rsplit_once('@')?;
        let (user, tag) = local.split_once('+')?;
        (user == reply_to.user() && domain.eq_ignore_ascii_case(reply_to.domain()))
            .then(|| SurveyId::new(tag).ok())
            .flatten()
    };
    let listed = [message.to(), message.cc()]
        .into_iter()
        .flatten()
        .flat_map(|list| list.iter().filter_map(|addr| addr.address()).map(str::to_owned).collect::<Vec<_>>());
    // The envelope's recipient, as MTAs record it when they deliver.
    let delivered = ["Delivered-To", "X-Original-To"].into_iter().filter_map(|name| raw_header(message, name));
    listed.chain(delivered).find_map(|address| tag(&address))
}

/// A header's value as it was sent, found by its name in any case.
fn raw_header(message: &Message<'_>, name: &str) -> Option<String> {
    let header = message.headers().iter().find(|h| h.name.as_str().eq_ignore_ascii_case(name))?;
    let raw = message.raw_message().get(header.offset_start as usize..header.offset_end as usize)?;
    Some(String::from_utf8_lossy(raw).trim().to_owned())
}

/// What the end user wrote: the first lines, before the quoted message and the signature.
pub(super) fn reply_text(body: &str) -> String {
    let mut kept: Vec<String> = Vec::new();
    for line in body.lines() {
        // French puts a no-break space before its colon ("a écrit :"), often a narrow one.
        let line = line.replace(['\u{a0}', '\u{202f}'], " ");
        let line = line.as_str();
        let trimmed = line.trim();
        if is_signature(line) || is_quote_header(trimmed) {
            // "On Mon, … Ana <ana@…>" wraps before its "wrote:" in some clients.
            if trimmed.ends_with(':') && kept.last().is_some_and(|last| last.starts_with("On ")) {
                kept.pop();
            }
            break;
        }
        if trimmed.starts_with('>') {
            break;
        }
        kept.push(trimmed.to_owned());
    }
    let lines: Vec<String> = kept.into_iter().skip_while(|l| l.is_empty()).take(MAX_LINES).collect();
    lines.join("\n").trim().to_owned()
}

/// Where a signature begins (RFC 3676's `-- `, and mobile clients' lines).
fn is_signature(line: &str) -> bool {
    let trimmed = line.trim_end();
    trimmed == "--"
        || trimmed == "-- "
        || ["Sent from my ", "Get Outlook for ", "Enviado desde mi ", "Envoyé de mon ", "Von meinem "]
            .iter()
            .any(|prefix| trimmed.starts_with(prefix))
}

/// Where a quoted message begins: the client's "… wrote:" line, or a forwarded-message header.
fn is_quote_header(line: &str) -> bool {
    const WROTE: [&str; 13] = [
        "wrote:",
        "escribió:",
        "a écrit :",
        "a écrit:",
        "schrieb:",
        "escreveu:",
        "написал(а):",
        "написал:",
        "menulis:",
        "작성:",
        "写道：",
        "寫道：",
        "كتب:",
    ];
    const SEPARATORS: [&str; 6] = [
        "-----Original Message-----",
        "-----Ursprüngliche Nachricht-----",
        "-----Mensaje original-----",
        "-----Message d'origine-----",
        "-----Mensagem original-----",
        "________________________________",
    ];
    WROTE.iter().any(|end| line.ends_with(end))
        || SEPARATORS.iter().any(|start| line.starts_with(start))
        || ["From: ", "De: ", "Von: ", "De : "].iter().any(|start| line.starts_with(start) && line.contains('@'))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SURVEY: &str = "0123456789abcdef0123456789abcdef";

    fn reply(headers: &str, body: &str) -> Vec<u8> {
        format!(
            "From: Ana <Ana@Example.COM>\r\nTo: help@acme.example\r\nSubject: Re: How did we do?\r\n\
             Date: Sat, 21 Nov 2026 10:00:00 +0000\r\nMessage-ID: <reply-1@example.com>\r\n{headers}\r\n{body}"
        )
        .into_bytes()
    }

    fn now() -> Timestamp {
        Timestamp::from_second(1_800_000_000).unwrap()
    }

    fn one(raw: &[u8]) -> Inbound {
        let mut events = parse(raw, None, now()).expect("a message");
        assert_eq!(events.len(), 1, "{events:?}");
        events.remove(0)
    }

    #[test]
    fn a_threaded_reply_names_its_survey_and_loses_the_quote() {
        let raw = reply(
            &format!("In-Reply-To: <rw.{SURVEY}.invitation@acme.example>\r\n"),
            "4 - quick and helpful\r\n\r\nOn Sat, 21 Nov 2026 at 09:00, Acme <help@acme.example> wrote:\r\n> How did we do?\r\n",
        );
        assert_eq!(
            one(&raw),
            Inbound::Reply {
                platform_id: "reply-1@example.com".into(),
                from: ratewire_core::RecipientId::new("ana@example.com").unwrap(),
                survey: SurveyId::new(SURVEY).unwrap(),
                text: "4 - quick and helpful".into(),
                // When it arrived, whatever its Date: says.
                at: now(),
            }
        );
    }

    #[test]
    fn references_and_plus_addresses_thread_too() {
        let raw = reply(&format!("References: <rw.{SURVEY}.invitation@acme.example> <CAF123@mail.gmail.com>\r\n"), "5");
        assert!(matches!(one(&raw), Inbound::Reply { survey, .. } if survey.as_str() == SURVEY));
        let base: lettre::Address = "ratings@in.acme.example".parse().unwrap();
        let raw = format!(
            "From: ana@example.com\r\nTo: Ratings <ratings+{SURVEY}@in.acme.example>\r\nSubject: Re\r\n\r\n3\r\n"
        );
        let events = parse(raw.as_bytes(), Some(&base), now()).unwrap();
        assert!(matches!(&events[..], [Inbound::Reply { survey, .. }] if survey.as_str() == SURVEY), "{events:?}");
        let raw = format!(
            "From: ana@example.com\r\nTo: x@y.z\r\nDelivered-To: ratings+{SURVEY}@in.acme.example\r\n\r\n3\r\n"
        );
        let events = parse(raw.as_bytes(), Some(&base), now()).unwrap();
        assert!(matches!(&events[..], [Inbound::Reply { survey, .. }] if survey.as_str() == SURVEY), "{events:?}");
    }

    #[test]
    fn an_unthreaded_reply_is_a_message_from_its_sender() {
        let raw = reply("", "Five stars!\r\n-- \r\nAna Pérez\r\nExample Corp\r\n");
        assert!(matches!(one(&raw), Inbound::Message { text, .. } if text == "Five stars!"));
    }

    #[test]
    fn programs_replies_are_skipped() {
        for headers in [
            "Auto-Submitted: auto-replied\r\n",
            "Auto-Submitted: auto-generated; owner-email=\"x@y\"\r\n",
            "X-Autoreply: yes\r\n",
            "Precedence: bulk\r\n",
            "Content-Type: multipart/report; report-type=delivery-status; boundary=b\r\n",
        ] {
            assert_eq!(parse(&reply(headers, "I am away until Monday."), None, now()).unwrap(), [], "{headers}");
        }
        let away = b"From: a@b.c\r\nSubject: Automatic reply: How did we do?\r\n\r\nAway\r\n";
        assert_eq!(parse(away, None, now()).unwrap(), []);
        // A person's reply may say so explicitly.
        assert_eq!(parse(&reply("Auto-Submitted: no\r\n", "5"), None, now()).unwrap().len(), 1);
        // A bounce from a sender ratewire couldn't answer is skipped, not refused.
        let bounce = b"From: <>\r\nAuto-Submitted: auto-replied\r\nSubject: Undelivered\r\n\r\nfailed\r\n";
        assert_eq!(parse(bounce, None, now()).unwrap(), []);
    }

    #[test]
    fn senders_that_cant_be_answered_are_skipped_not_refused() {
        let raw = b"From: Sean <o'brien@example.com>\r\nSubject: Re\r\n\r\n5\r\n";
        assert_eq!(parse(raw, None, now()).unwrap(), []);
    }

    #[test]
    fn bad_mime_is_malformed_not_a_panic() {
        for raw in [&b""[..], b"   \r\n", b"\xff\xfe\x00garbage", b"no headers at all", b"Subject: hi\r\n\r\n5"] {
            assert!(
                matches!(parse(raw, None, now()), Err(WebhookError::Malformed(_))),
                "{:?}",
                String::from_utf8_lossy(raw)
            );
        }
    }

    #[test]
    fn quotes_and_signatures_are_cut() {
        for (body, expected) in [
            ("3\n\nEl sáb, 21 nov 2026, Acme escribió:\n> ¿Qué tal?", "3"),
            ("2 - slow\nsorry\n\n-----Original Message-----\nFrom: help@acme.example", "2 - slow\nsorry"),
            ("\n\n5\n\nSent from my iPhone", "5"),
            ("4\nOn Sat, 21 Nov 2026 at 09:00, Acme <help@\nacme.example> wrote:\n> hi", "4"),
            ("> quoted first\n5", ""),
            ("4\n\nLe sam. 21 nov. 2026, Acme a\u{a0}écrit\u{a0}:\n> Alors ?", "4"),
            ("4\n\nLe sam. 21 nov. 2026, Acme a écrit\u{202f}:\n> Alors ?", "4"),
        ] {
            assert_eq!(reply_text(body), expected, "{body:?}");
        }
    }

    #[test]
    fn posts_need_the_channels_secret() {
        let headers = |value: &str| {
            let mut headers = http::HeaderMap::new();
            headers.insert(http::header::AUTHORIZATION, value.parse().unwrap());
            headers
        };
        let basic =
            |user_password: &str| format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(user_password));
        assert!(authenticate(&headers("Bearer s3cret"), "s3cret").is_ok());
        assert!(authenticate(&headers("bearer s3cret"), "s3cret").is_ok());
        assert!(authenticate(&headers(&basic("ratewire:s3cret")), "s3cret").is_ok());
        assert!(matches!(authenticate(&http::HeaderMap::new(), "s3cret"), Err(WebhookError::Unsigned)));
        for wrong in ["Bearer s3cre", "Bearer", &basic("s3cret"), &basic("ratewire:other"), "Digest s3cret"] {
            assert!(matches!(authenticate(&headers(wrong), "s3cret"), Err(WebhookError::BadSignature)), "{wrong}");
        }
    }
}
