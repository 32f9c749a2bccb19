//! Meta's Graph platform, as WhatsApp's Cloud API and the Messenger Platform share it: the Graph
//! API's address and version, and the webhooks' `hub.*` verification handshake and
//! `X-Hub-Signature-256` signature. What each product sends and answers is its channel's.

use hmac::{Hmac, Mac};
use http::HeaderMap;
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::{WebhookError, WebhookOutcome};

/// The real Graph API.
pub(crate) const GRAPH_API_BASE_URL: &str = "https://graph.facebook.com";
/// The Graph API version requests name unless a channel's `graph_version` says otherwise.
pub(crate) const GRAPH_VERSION: &str = "v21.0";

/// The header Meta signs deliveries in: `sha256=<lowercase hex HMAC-SHA256(raw body, app secret)>`.
pub(crate) const SIGNATURE_HEADER: &str = "x-hub-signature-256";

/// Whether a `graph_version` setting is a Graph API version: `v` then `major.minor`, `v21.0`.
pub(crate) fn valid_graph_version(version: &str) -> bool {
    let Some((major, minor)) = version.strip_prefix('v').and_then(|v| v.split_once('.')) else { return false };
    let digits = |s: &str| !s.is_empty() && s.len() <= 4 && s.bytes().all(|b| b.is_ascii_digit());
    digits(major) && digits(minor)
}

/// Answers Meta's verification request: `hub.mode=subscribe` with the channel's verify token
/// (compared in constant time; an empty verify token never matches) gets its `hub.challenge`
/// back. A wrong token is refused; a right one without a challenge is a malformed request.
pub(crate) fn handshake(query: Option<&str>, verify_token: &str) -> Result<WebhookOutcome, WebhookError> {
    let (mut mode, mut token, mut challenge) = (None, None, None);
    for (name, value) in form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        match name.as_ref() {
            "hub.mode" => mode = Some(value.into_owned()),
            "hub.verify_token" => token = Some(value.into_owned()),
            "hub.challenge" => challenge = Some(value.into_owned()),
            _ => {}
        }
    }
    let matches = token.is_some_and(|token| bool::from(token.as_bytes().ct_eq(verify_token.as_bytes())));
    if mode.as_deref() != Some("subscribe") || !matches || verify_token.is_empty() {
        return Err(WebhookError::BadVerifyToken);
    }
    challenge.map(WebhookOutcome::Handshake).ok_or_else(|| WebhookError::Malformed("no hub.challenge".into()))
}

/// Checks `X-Hub-Signature-256: sha256=<hex HMAC-SHA256(body, app secret)>` over the raw bytes,
/// in constant time. Nothing verifies under an empty app secret.
pub(crate) fn verify_signature(headers: &HeaderMap, body: &[u8], app_secret: &str) -> Result<(), WebhookError> {
    let header = headers.get(SIGNATURE_HEADER).ok_or(WebhookError::Unsigned)?;
    let given = header
        .to_str()
        .ok()
        .and_then(|value| value.trim().strip_prefix("sha256="))
        .and_then(|digits| hex::decode(digits).ok())
        .ok_or(WebhookError::BadSignature)?;
    if app_secret.is_empty() {
        return Err(WebhookError::BadSignature);
    }
    let mut mac = Hmac::<Sha256>::new_from_slice(app_secret.as_bytes()).map_err(|_| WebhookError::BadSignature)?;
    mac.update(body);
    let expected = mac.finalize().into_bytes();
    if bool::from(expected.as_slice().ct_eq(&given)) { Ok(()) } else { Err(WebhookError::BadSignature) }
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;

    fn sign(body: &[u8], secret: &str) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(body);
        format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
    }

    fn headers(signature: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(SIGNATURE_HEADER, signature.parse().unwrap());
        headers
    }

    #[test]
    fn the_handshake_gives_the_challenge_for_the_verify_token() {
        let query = "hub.mode=subscribe&hub.verify_token=s3cr%2Bt&hub.challenge=1158201444";
        assert_eq!(handshake(Some(query), "s3cr+t").unwrap(), WebhookOutcome::Handshake("1158201444".into()));
        let no_challenge = handshake(Some("hub.mode=subscribe&hub.verify_token=s3cr%2Bt"), "s3cr+t");
        assert!(matches!(no_challenge, Err(WebhookError::Malformed(_))), "{no_challenge:?}");
        for query in [
            Some("hub.mode=subscribe&hub.verify_token=wrong&hub.challenge=1"),
            Some("hub.mode=unsubscribe&hub.verify_token=s3cr%2Bt&hub.challenge=1"),
            Some("hub.mode=subscribe&hub.challenge=1"),
            None,
        ] {
            assert!(matches!(handshake(query, "s3cr+t"), Err(WebhookError::BadVerifyToken)), "{query:?}");
        }
        let empty = "hub.mode=subscribe&hub.verify_token=&hub.challenge=1";
        assert!(matches!(handshake(Some(empty), ""), Err(WebhookError::BadVerifyToken)), "no token, no match");
    }

    #[test]
    fn signatures_are_checked_over_the_raw_bytes() {
        // As Meta sends them: non-ASCII escaped, slashes too. The bytes are checked as sent.
        let whatsapp = br#"{"object":"whatsapp_business_account","entry":[],"x":"\u00e9t\u00e9 \/ \ud83e\udd29"}"#;
        let page = br#"{"object":"page","entry":[{"id":"1100","messaging":[{"message":{"text":"Caf\u00e9 \/ 5"}}]}]}"#;
        for body in [&whatsapp[..], &page[..]] {
            verify_signature(&headers(&sign(body, "app-secret")), body, "app-secret").unwrap();
            // Upper-case digits are the same signature.
            let uppercase = sign(body, "app-secret").to_uppercase().replace("SHA256=", "sha256=");
            verify_signature(&headers(&uppercase), body, "app-secret").unwrap();
            assert!(matches!(verify_signature(&HeaderMap::new(), body, "app-secret"), Err(WebhookError::Unsigned)));
            for signature in [
                sign(body, "other-secret"),
                sign(b"{}", "app-secret"),
                "sha256=zz".into(),
                "sha1=abcd".into(),
                "sha256=".into(),
                "abcdef".into(),
            ] {
                let refused = verify_signature(&headers(&signature), body, "app-secret");
                assert!(matches!(refused, Err(WebhookError::BadSignature)), "{signature}");
            }
            // The same JSON re-serialized is other bytes: refused.
            let reserialized = serde_json::to_vec(&serde_json::from_slice::<Value>(body).unwrap()).unwrap();
            let refused = verify_signature(&headers(&sign(body, "app-secret")), &reserialized, "app-secret");
            assert!(matches!(refused, Err(WebhookError::BadSignature)));
            // An empty app secret verifies nothing, not even what was signed with it.
            let refused = verify_signature(&headers(&sign(body, "")), body, "");
            assert!(matches!(refused, Err(WebhookError::BadSignature)));
        }
    }
}
