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

/// How long [`Webhooks::deliver`] keeps redelivering.
pub const REDELIVERY_FOR: std::time::Duration = std::time::Duration::from_secs(120);

/// What Meta sends ratewire for one app: webhooks signed with its app secret, and the
/// verification request.
#[derive(Clone)]
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

    /// Posts a webhook as Meta does, again and again until it is answered 200 — Meta redelivers
    /// whatever was not, for hours; here for at most [`REDELIVERY_FOR`]. Whether it was taken.
    pub async fn deliver(&self, url: &str, payload: &Value) -> bool {
        let body = meta_json(payload);
        let signature = self.sign(&body);
        let deadline = std::time::Instant::now() + REDELIVERY_FOR;
        while std::time::Instant::now() < deadline {
            if let Ok((200, _)) = self.try_post_raw(url, body.clone(), Some(&signature)).await {
                return true;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        false
    }

    /// Waits out a send's `answer_delay`, and reports the send (a status, an echo) to its hook
    /// `report_delay` after the answer, as Meta does: whatever became of the sender, whose
    /// leaving cancels the handler waiting here but not the report.
    pub async fn answer_then_report(
        &self,
        answer_delay: std::time::Duration,
        report_delay: std::time::Duration,
        report: Option<(String, Value)>,
    ) {
        if let Some((hook, payload)) = report {
            let webhooks = self.clone();
            tokio::spawn(async move {
                tokio::time::sleep(answer_delay + report_delay).await;
                webhooks.deliver(&hook, &payload).await
            });
        }
        if !answer_delay.is_zero() {
            tokio::time::sleep(answer_delay).await;
        }
    }

    /// Posts bytes with the given signature header, or none.
    pub async fn post_raw(&self, url: &str, body: Vec<u8>, signature: Option<&str>) -> (u16, Value) {
        self.try_post_raw(url, body, signature).await.unwrap_or_else(|e| panic!("posting the webhook to {url}: {e}"))
    }

    /// [`Webhooks::post_raw`], with a connection that failed as an error.
    pub async fn try_post_raw(
        &self,
        url: &str,
        body: Vec<u8>,
        signature: Option<&str>,
    ) -> Result<(u16, Value), reqwest::Error> {
        let mut request = self
            .http
            .post(url)
            .header("content-type", "application/json")
            .header("user-agent", "facebookexternalua")
            .body(body);
        if let Some(signature) = signature {
            request = request.header("x-hub-signature-256", signature);
        }
        let response = request.send().await?;
        let status = response.status().as_u16();
        let text = response.text().await.unwrap_or_default();
        Ok((status, serde_json::from_str(&text).unwrap_or(Value::String(text))))
    }

    /// The verification request Meta sends when the callback URL is saved: status and body.
    pub async fn verify(&self, url: &str, verify_token: &str, challenge: &str) -> (u16, String) {
        let query = [("hub.mode", "subscribe"), ("hub.challenge", challenge), ("hub.verify_token", verify_token)];
        let response = self.http.get(url).query(&query).send().await.unwrap_or_else(|e| panic!("verifying {url}: {e}"));
        (response.status().as_u16(), response.text().await.unwrap_or_default())
    }
}
