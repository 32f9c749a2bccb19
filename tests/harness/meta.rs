//! Meta's side of an app's webhooks, as the fake Graph API ([`crate::fake_graph`], WhatsApp) and
//! the fake Messenger Platform ([`crate::fake_messenger`]) both play it: payloads written as Meta
//! writes them, signed as Meta signs them — `X-Hub-Signature-256` over the exact bytes posted —
//! and the verification request Meta sends when a callback URL is saved.

use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;

use crate::service::client;

/// JSON as Meta writes its webhooks: non-ASCII escaped as `\uXXXX` (UTF-16), `/` as `\/`. Both
/// only occur inside JSON strings, so escaping the compact text char by char is exact.
pub fn meta_json(value: &Value) -> Vec<u8> {
    let mut out = String::new();
    let mut units = [0u16; 2];
    for c in value.to_string().chars() {
        match c {
            '/' => out.push_str("\\/"),
            c if c.is_ascii() => out.push(c),
            c => {
                for unit in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
        }
    }
    out.into_bytes()
}

/// The `X-Hub-Signature-256` value for `body` under `secret`: `sha256=<hex HMAC-SHA256>`.
pub fn sign(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// What Meta sends ratewire for one app: webhooks signed with its app secret, and the
/// verification request.
pub struct Webhooks {
    pub app_secret: String,
    http: reqwest::Client,
}

impl Webhooks {
    pub fn new(app_secret: &str) -> Webhooks {
        Webhooks { app_secret: app_secret.to_owned(), http: client() }
    }

    /// The signature header value for `body`.
    pub fn sign(&self, body: &[u8]) -> String {
        sign(&self.app_secret, body)
    }

    /// Posts a webhook as Meta does: the payload written as Meta writes it, signed. The status
    /// and body of the answer.
    pub async fn post(&self, url: &str, payload: &Value) -> (u16, Value) {
        let body = meta_json(payload);
        let signature = self.sign(&body);
        self.post_raw(url, body, Some(&signature)).await
    }

    /// Posts bytes with the given signature header, or none.
    pub async fn post_raw(&self, url: &str, body: Vec<u8>, signature: Option<&str>) -> (u16, Value) {
        let mut request = self
            .http
            .post(url)
            .header("content-type", "application/json")
            .header("user-agent", "facebookexternalua")
            .body(body);
        if let Some(signature) = signature {
            request = request.header("x-hub-signature-256", signature);
        }
        let response = request.send().await.unwrap_or_else(|e| panic!("posting the webhook to {url}: {e}"));
        let status = response.status().as_u16();
        let text = response.text().await.unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    /// The verification request Meta sends when the callback URL is saved: status and body.
    pub async fn verify(&self, url: &str, verify_token: &str, challenge: &str) -> (u16, String) {
        let query = [("hub.mode", "subscribe"), ("hub.challenge", challenge), ("hub.verify_token", verify_token)];
        let response = self.http.get(url).query(&query).send().await.unwrap_or_else(|e| panic!("verifying {url}: {e}"));
        (response.status().as_u16(), response.text().await.unwrap_or_default())
    }
}
