//! Meta's Graph platform, as WhatsApp's Cloud API and the Messenger Platform share it: the Graph
//! API's address and version settings, the webhooks' `hub.*` verification handshake and
//! `X-Hub-Signature-256` signature, posting to a `messages` edge, and reading Graph error
//! objects. What each product sends, and what its answers and error codes mean, is its channel's.

use std::time::Duration;

use hmac::{Hmac, Mac};
use http::{HeaderMap, StatusCode};
use serde_json::Value;
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::{ChannelSetup, Inbound, InboundRequest, SendError, SetupError, WebhookError, WebhookOutcome, outbound};

/// The real Graph API.
const GRAPH_API_BASE_URL: &str = "https://graph.facebook.com";
/// The Graph API version requests name unless a channel's `graph_version` says otherwise.
const GRAPH_VERSION: &str = "v21.0";

/// The header Meta signs deliveries in: `sha256=<lowercase hex HMAC-SHA256(raw body, app secret)>`.
pub(crate) const SIGNATURE_HEADER: &str = "x-hub-signature-256";

/// Whether a `graph_version` setting is a Graph API version: `v` then `major.minor`, `v21.0`.
pub(crate) fn valid_graph_version(version: &str) -> bool {
    let Some((major, minor)) = version.strip_prefix('v').and_then(|v| v.split_once('.')) else { return false };
    let digits = |s: &str| !s.is_empty() && s.len() <= 4 && s.bytes().all(|b| b.is_ascii_digit());
    digits(major) && digits(minor)
}

/// A setting's value, unless it is blank.
pub(crate) fn setting(setup: &ChannelSetup, name: &str) -> Option<String> {
    setup.setting(name).map(str::trim).filter(|value| !value.is_empty()).map(str::to_owned)
}

/// Problems with the settings every Graph product takes (`graph_version`, `api_base_url`), each
/// `(field, problem)` with the field as the API names it.
pub(crate) fn validate_settings(setup: &ChannelSetup) -> Vec<(String, String)> {
    let mut problems = Vec::new();
    if let Some(version) = setting(setup, "graph_version")
        && !valid_graph_version(&version)
    {
        problems.push(("settings.graph_version".to_owned(), "must be a Graph API version like v21.0".to_owned()));
    }
    if let Some(base) = setting(setup, "api_base_url")
        && !(base.starts_with("https://") || base.starts_with("http://"))
    {
        problems.push(("settings.api_base_url".to_owned(), "must be an http(s) URL".to_owned()));
    }
    problems
}

/// How a product's calls to the Graph API go.
pub(crate) struct Product {
    /// Names the product's HTTP client in the outbound policy.
    pub(crate) client: &'static str,
    /// Names, in send failures, what could not be reached.
    pub(crate) api: &'static str,
    pub(crate) connect_timeout: Duration,
    /// How long one send may take, well under the outbox's 60 s lease.
    pub(crate) timeout: Duration,
}

/// Where a product's messages go: `POST {api_base_url}/{graph_version}/{sender}/messages`
/// with the sender's access token.
pub(crate) struct MessagesEdge {
    pub(crate) url: String,
    access_token: String,
    api: &'static str,
    /// One for every channel of the product, through the outbound policy: connections to the
    /// Graph API are kept and shared.
    http: reqwest::Client,
}

/// A message the Graph API accepted.
pub(crate) struct Accepted {
    pub(crate) status: StatusCode,
    /// The answer's JSON, if it is JSON: where the product reads the message's id.
    pub(crate) answer: Option<Value>,
}

impl MessagesEdge {
    pub(crate) fn new(
        setup: &ChannelSetup,
        product: &Product,
        sender: &str,
        access_token: String,
    ) -> Result<MessagesEdge, SetupError> {
        let version = setting(setup, "graph_version").unwrap_or_else(|| GRAPH_VERSION.to_owned());
        let base = setup.api_base_url(GRAPH_API_BASE_URL);
        let http = setup.client(product.client, |builder| {
            builder.connect_timeout(product.connect_timeout).timeout(product.timeout)
        })?;
        Ok(MessagesEdge { url: format!("{base}/{version}/{sender}/messages"), access_token, api: product.api, http })
    }

    /// Posts a message. A refusal is read by `refused`, from the answer's status, headers and
    /// body.
    pub(crate) async fn post(
        &self,
        body: &Value,
        refused: impl FnOnce(StatusCode, &HeaderMap, &[u8]) -> SendError,
    ) -> Result<Accepted, SendError> {
        let api = self.api;
        let response = self
            .http
            .post(&self.url)
            .bearer_auth(&self.access_token)
            .json(body)
            .send()
            .await
            // Without the URL: it is ours, and the error is recorded on the outbox item.
            .map_err(|error| {
                outbound::send_error(error, |error| format!("{api} could not be reached: {}", error.without_url()))
            })?;
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.map_err(|error| {
            SendError::Temporary(format!("{api}'s answer could not be read: {}", error.without_url()))
        })?;
        if !status.is_success() {
            return Err(refused(status, &headers, &bytes));
        }
        Ok(Accepted { status, answer: serde_json::from_slice(&bytes).ok() })
    }
}

/// The parts of a Graph error object ratewire reads, as API answers (under `error`) and
/// WhatsApp's `failed` statuses (in `errors[]`) carry it.
#[derive(Debug)]
pub(crate) struct GraphError {
    pub(crate) code: Option<i64>,
    pub(crate) subcode: Option<i64>,
    pub(crate) title: Option<String>,
    pub(crate) message: Option<String>,
    /// `error_data.details`.
    pub(crate) details: Option<String>,
    pub(crate) fbtrace_id: Option<String>,
    /// Meta's own word that trying again may work.
    pub(crate) is_transient: Option<bool>,
}

impl GraphError {
    /// The error object of an answer's body; `None` when the body holds none (an answer from
    /// something in front of the Graph API).
    pub(crate) fn of_answer(body: &[u8]) -> Option<GraphError> {
        let body = serde_json::from_slice::<Value>(body).ok()?;
        body.get("error").filter(|error| error.is_object()).map(GraphError::read)
    }

    pub(crate) fn read(error: &Value) -> GraphError {
        // Codes come as numbers in answers, and as strings in some statuses.
        let number = |value: &Value| value.as_i64().or_else(|| value.as_str()?.parse().ok());
        let text = |value: &Value| value.as_str().map(str::to_owned);
        GraphError {
            code: error.get("code").and_then(number),
            subcode: error.get("error_subcode").and_then(number),
            title: text(&error["title"]),
            message: text(&error["message"]),
            details: text(&error["error_data"]["details"]),
            fbtrace_id: text(&error["fbtrace_id"]),
            is_transient: error["is_transient"].as_bool(),
        }
    }
}

/// Receives a webhook request: a GET is the verification handshake; anything else is a delivery,
/// read by `parse` once its signature holds.
pub(crate) fn receive(
    request: &InboundRequest,
    verify_token: &str,
    app_secret: &str,
    parse: impl FnOnce(&[u8]) -> Result<Vec<Inbound>, WebhookError>,
) -> Result<WebhookOutcome, WebhookError> {
    if request.method == http::Method::GET {
        return handshake(request.query.as_deref(), verify_token);
    }
    verify_signature(&request.headers, &request.body, app_secret)?;
    parse(&request.body).map(WebhookOutcome::Events)
}

/// Answers Meta's verification request: `hub.mode=subscribe` with the channel's verify token
/// (compared in constant time; an empty verify token never matches) gets its `hub.challenge`
/// back. A wrong token is refused; a right one without a challenge is a malformed request.
fn handshake(query: Option<&str>, verify_token: &str) -> Result<WebhookOutcome, WebhookError> {
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
fn verify_signature(headers: &HeaderMap, body: &[u8], app_secret: &str) -> Result<(), WebhookError> {
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
