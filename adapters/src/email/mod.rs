//! Email: invitations out over SMTP (lettre), replies in as raw RFC 822 messages (mail-parser).
//!
//! - An invitation is a multipart message, plain text and HTML, in the end user's language,
//!   with one link per level. Each link carries a token binding the survey and the score under
//!   an HMAC ([`links`]); the page it opens asks to confirm, and only the confirmation (a POST)
//!   records the rating, because mail scanners open every link of a message.
//! - Its `Message-ID` names the survey (`<rw.<survey>.invitation@<domain>>`), so a reply's
//!   `In-Reply-To` or `References` leads back to it; with the `reply_to` setting, replies go to
//!   `local+<survey>@domain` as well. `List-Unsubscribe` and `List-Unsubscribe-Post` (RFC 8058)
//!   let the end user stop rating emails in one click.
//! - Replies are posted to the channel's webhook URL, authenticated with the channel's secret,
//!   and read for a rating and a comment after the quoted history and the signature are cut.
//!   Auto-replies and bounces are skipped.
//! - SMTP's 4xx replies are retried, 5xx replies fail the survey.
//!
//! Settings: `smtp_host`, `from` (required); `smtp_port`, `smtp_tls` (`starttls`, the default;
//! `tls` for implicit TLS; `none` for a local relay, which takes credentials only on loopback),
//! `smtp_username` with the secret `smtp_password`, `reply_to`.

mod errors;
mod inbound;
pub mod links;
mod render;

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

use ratewire_core::{InvalidId, RecipientId};

pub use self::links::{Link, LinkError, LinkKey, Links};
use crate::definition::{ChannelDefinition, MessagePath, WebhookBody};
use crate::outbound::{OutboundPolicy, Unreachable};
use crate::{
    Capabilities, Channel, ChannelKind, ChannelSetup, Delivery, InboundRequest, Outbound, SendError, SetupError,
    WebhookError, WebhookOutcome,
};

pub static DEFINITION: ChannelDefinition = ChannelDefinition {
    // A relay may take mail without a password; `smtp_password` goes with `smtp_username`.
    required_secrets: &[],
    required_settings: &["smtp_host", "from"],
    validate_settings,
    build: Some(|setup| Ok(Arc::new(Email::new(setup)?))),
    // Lower-casing an id keeps it valid: this never falls back.
    canonical_recipient: |recipient| normalize_address(recipient.as_str()).unwrap_or(recipient),
    webhook_body: WebhookBody::Mail,
    honours_unsubscribes: true,
    messages: MessagePath::Outbox,
    // The rating pages its invitations link to.
    serves_pages: true,
    chats: false,
};

/// How long one SMTP conversation may take before the send is retried.
const SMTP_TIMEOUT: Duration = Duration::from_secs(30);

/// What email can show, and how fast a channel sends by default.
pub fn capabilities() -> Capabilities {
    Capabilities {
        // One link per level: every scale fits, 0 to 10 included.
        max_choices: 11,
        max_choice_title: 72,
        max_text: 10_000,
        reply_window: None,
        edits_sent_messages: false,
        // Providers' default quotas start around 10 to 14 a second (Amazon SES's sandbox: 1).
        default_sends_per_second: 10,
        recipient_send_interval: None,
        // SMTP reports nothing back to ratewire: after a crash mid-send, it is sent again.
        reports_sends: false,
    }
}

/// An email address as ratewire keeps and compares it, whether it comes with an invitation, in
/// a reply's `From` or through an unsubscribe link: trimmed and all in lower case. Local parts
/// may be case-sensitive by the letter of RFC 5321, but no provider treats them so, and one
/// person must not be two end users (or unsubscribe only one of their spellings).
pub fn normalize_address(address: &str) -> Result<RecipientId, InvalidId> {
    RecipientId::new(address.trim().to_lowercase())
}

/// How the connection to the SMTP server is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TlsMode {
    /// Plain connection upgraded with STARTTLS, required (port 587).
    StartTls,
    /// TLS from the first byte (port 465).
    Implicit,
    /// No TLS: only for a relay on the same host or network (port 25).
    None,
}

impl TlsMode {
    fn default_port(self) -> u16 {
        match self {
            TlsMode::StartTls => 587,
            TlsMode::Implicit => 465,
            TlsMode::None => 25,
        }
    }
}

/// A channel's settings, read and checked.
#[derive(Debug)]
struct Settings {
    host: String,
    port: u16,
    tls: TlsMode,
    credentials: Option<(String, String)>,
    from: Mailbox,
    reply_to: Option<lettre::Address>,
}

/// Reads a channel's settings, with every problem of what is given as `(field, problem)`. What
/// is missing is left to the caller, which checks the definition's `required_settings`.
fn read_settings(setup: &ChannelSetup) -> Result<Settings, Vec<(String, String)>> {
    let mut problems = Vec::new();
    let mut problem = |field: &str, text: &str| problems.push((field.to_owned(), text.to_owned()));
    let host = setup.setting("smtp_host").map(str::trim);
    if host.is_some_and(|host| host.is_empty() || host.contains(|c: char| c.is_whitespace() || c == '/')) {
        problem("settings.smtp_host", "must be a host name, like smtp.example.com");
    } else if let Some(Err(refused)) = host.map(|host| setup.outbound.check_host(host)) {
        problem("settings.smtp_host", &refused.to_string());
    }
    let tls = match setup.setting("smtp_tls").map(str::trim) {
        None | Some("starttls") => TlsMode::StartTls,
        Some("tls") => TlsMode::Implicit,
        Some("none") => TlsMode::None,
        Some(_) => {
            problem("settings.smtp_tls", "must be starttls, tls or none");
            TlsMode::StartTls
        }
    };
    let port = match setup.setting("smtp_port").map(str::trim) {
        None => tls.default_port(),
        Some(port) => port.parse::<u16>().ok().filter(|p| *p > 0).unwrap_or_else(|| {
            problem("settings.smtp_port", "must be a port number, 1 to 65535");
            0
        }),
    };
    let username = setup.setting("smtp_username").map(str::trim).filter(|u| !u.is_empty());
    let password = setup.secrets.get("smtp_password").map(String::as_str).filter(|p| !p.is_empty());
    let credentials = match (username, password) {
        (Some(user), Some(password)) => Some((user.to_owned(), password.to_owned())),
        (None, None) => None,
        (Some(_), None) => {
            problem("secrets.smtp_password", "is required with settings.smtp_username");
            None
        }
        (None, Some(_)) => {
            problem("settings.smtp_username", "is required with secrets.smtp_password");
            None
        }
    };
    let from = setup.setting("from").map(|from| from.trim().parse::<Mailbox>());
    if from.as_ref().is_some_and(Result::is_err) {
        problem("settings.from", "must be an address, like \"Acme Support <help@acme.example>\"");
    }
    let reply_to = match setup.setting("reply_to").map(str::trim) {
        None => None,
        Some(address) => match address.parse::<lettre::Address>() {
            Ok(address) if !address.user().contains('+') => Some(address),
            _ => {
                problem(
                    "settings.reply_to",
                    "must be a plain address (ratewire adds +<survey>), like ratings@acme.example",
                );
                None
            }
        },
    };
    // Credentials over a plain connection are readable by anyone on the way; on loopback there
    // is no way.
    if tls == TlsMode::None && credentials.is_some() && !host.is_some_and(is_loopback) {
        problem(
            "settings.smtp_tls",
            "none sends the SMTP password unencrypted: use starttls or tls, or none only with a relay on 127.0.0.1",
        );
    }
    match (host, from) {
        (Some(host), Some(Ok(from))) if problems.is_empty() => {
            Ok(Settings { host: host.to_owned(), port, tls, credentials, from, reply_to })
        }
        _ => Err(problems),
    }
}

/// Whether a host is this machine: `localhost`, or a loopback address.
fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host.trim_matches(['[', ']']).parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// What is wrong with a channel's settings, each `(field, problem)`, for the API to refuse the
/// channel when it is connected.
pub fn validate_settings(setup: &ChannelSetup) -> Vec<(String, String)> {
    read_settings(setup).err().unwrap_or_default()
}

/// One business's email channel.
pub struct Email {
    server: Server,
    /// Where the connection may go: `smtp_host` is resolved through it at every send.
    outbound: OutboundPolicy,
    /// Pooled: connections are kept open between sends and reused (the gateway keeps one
    /// adapter per channel), and closed after a minute idle. Made for one address of the
    /// server, and made again when the server's name no longer resolves to it.
    transport: Mutex<Option<(IpAddr, Arc<AsyncSmtpTransport<Tokio1Executor>>)>>,
    sender: render::Sender,
    /// What inbound posts must carry.
    secret: String,
    capabilities: Capabilities,
}

/// The SMTP server, as the channel's settings name it.
struct Server {
    host: String,
    port: u16,
    /// TLS is checked against `host`, whatever address the connection goes to.
    tls: Tls,
    credentials: Option<Credentials>,
}

impl std::fmt::Debug for Email {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Email").field("from", &self.sender.from.to_string()).finish_non_exhaustive()
    }
}

impl Email {
    pub fn new(setup: &ChannelSetup) -> Result<Email, SetupError> {
        for name in DEFINITION.required_settings {
            if setup.setting(name).is_none() {
                return Err(SetupError::Missing(format!("settings.{name}")));
            }
        }
        let settings = read_settings(setup).map_err(|problems| {
            let (field, problem) = problems.into_iter().next().unwrap_or_else(|| {
                ("settings".to_owned(), "are incomplete: smtp_host and from are required".to_owned())
            });
            SetupError::Invalid { field, problem }
        })?;
        let tls = || {
            TlsParameters::new(settings.host.clone()).map_err(|e| SetupError::Invalid {
                field: "settings.smtp_host".into(),
                problem: format!("TLS can't be set up for it: {e}"),
            })
        };
        let tls = match settings.tls {
            TlsMode::StartTls => Tls::Required(tls()?),
            TlsMode::Implicit => Tls::Wrapper(tls()?),
            TlsMode::None => Tls::None,
        };
        let links = Links::new(&setup.pages_url, LinkKey::new(&setup.verify_token));
        Ok(Email {
            server: Server {
                host: settings.host,
                port: settings.port,
                tls,
                credentials: settings.credentials.map(|(user, password)| Credentials::new(user, password)),
            },
            outbound: setup.outbound.clone(),
            transport: Mutex::new(None),
            sender: render::Sender { from: settings.from, reply_to: settings.reply_to, links },
            secret: setup.verify_token.clone(),
            capabilities: capabilities(),
        })
    }

    /// The transport to the SMTP server, connecting to an address its host resolves to now that
    /// the outbound policy allows: the one already connected to while it still does.
    async fn transport(&self) -> Result<Arc<AsyncSmtpTransport<Tokio1Executor>>, SendError> {
        let addresses = match self.outbound.resolve(&self.server.host, self.server.port).await {
            Ok(addresses) => addresses,
            Err(Unreachable::Refused(refused)) => return Err(SendError::Permanent(refused.failure())),
            Err(error @ Unreachable::Lookup { .. }) => {
                return Err(SendError::Temporary(format!("could not reach the SMTP server: {error}")));
            }
        };
        let mut kept = self.transport.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some((address, transport)) = kept.as_ref()
            && addresses.iter().any(|a| a.ip() == *address)
        {
            return Ok(transport.clone());
        }
        let Some(address) = addresses.first().map(SocketAddr::ip) else {
            return Err(SendError::Temporary(format!("{} resolves to no address", self.server.host)));
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(address.to_string())
            .port(self.server.port)
            .tls(self.server.tls.clone())
            .timeout(Some(SMTP_TIMEOUT));
        if let Some(credentials) = &self.server.credentials {
            builder = builder.credentials(credentials.clone());
        }
        let transport = Arc::new(builder.build());
        *kept = Some((address, transport.clone()));
        Ok(transport)
    }
}

#[async_trait]
impl Channel for Email {
    fn kind(&self) -> ChannelKind {
        ChannelKind::Email
    }

    fn capabilities(&self) -> &Capabilities {
        &self.capabilities
    }

    fn admit(&self, headers: &http::HeaderMap) -> Result<(), WebhookError> {
        inbound::authenticate(headers, &self.secret)
    }

    fn receive(&self, request: &InboundRequest) -> Result<WebhookOutcome, WebhookError> {
        self.admit(&request.headers)?;
        if request.method != http::Method::POST {
            return Err(WebhookError::Malformed("post the raw RFC 822 message".into()));
        }
        let events = inbound::parse(&request.body, self.sender.reply_to.as_ref(), jiff::Timestamp::now())?;
        Ok(WebhookOutcome::Events(events))
    }

    async fn send(&self, message: &Outbound) -> Result<Delivery, SendError> {
        // No window: an address takes mail whenever. Unsubscribed addresses are the gateway's to
        // check, before a survey is created and before each send.
        let (email, message_id) = render::email(&self.sender, message)?;
        self.transport().await?.send(email).await.map_err(errors::send_error)?;
        Ok(Delivery { message_id, route: None })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setup(settings: &[(&str, &str)]) -> ChannelSetup {
        ChannelSetup {
            secrets: Default::default(),
            settings: settings.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
            webhook_url: "https://rw.example/hooks/acme/mail".into(),
            pages_url: "https://rw.example/email/acme/mail".into(),
            verify_token: "0123456789abcdef0123456789abcdef".into(),
            // These tests are about the settings themselves, on any host.
            outbound: OutboundPolicy::new(&["0.0.0.0/0", "::/0"]).unwrap(),
        }
    }

    // The transport's connection pool lives on the runtime.
    #[tokio::test]
    async fn a_local_relay_needs_no_credentials() {
        let email = Email::new(&setup(&[
            ("smtp_host", "127.0.0.1"),
            ("smtp_tls", "none"),
            ("from", "Acme <help@acme.example>"),
        ]))
        .expect("a valid setup");
        assert_eq!(email.sender.from.email.domain(), "acme.example");
        assert_eq!(email.capabilities().max_choices, 11);
    }

    #[test]
    fn every_problem_is_named() {
        let mut bad = setup(&[
            ("smtp_host", "smtp example"),
            ("smtp_tls", "ssl"),
            ("smtp_port", "70000"),
            ("smtp_username", "apikey"),
            ("from", "not an address"),
            ("reply_to", "ratings+x@acme.example"),
        ]);
        bad.secrets.clear();
        let fields: Vec<String> = validate_settings(&bad).into_iter().map(|(field, _)| field).collect();
        assert_eq!(
            fields,
            [
                "settings.smtp_host",
                "settings.smtp_tls",
                "settings.smtp_port",
                "secrets.smtp_password",
                "settings.from",
                "settings.reply_to"
            ]
        );
        let mut password_alone = setup(&[("smtp_host", "smtp.example.com"), ("from", "help@acme.example")]);
        password_alone.secrets.insert("smtp_password".into(), "pw".into());
        assert_eq!(validate_settings(&password_alone)[0].0, "settings.smtp_username");
        assert!(
            matches!(Email::new(&password_alone), Err(SetupError::Invalid { field, .. }) if field == "settings.smtp_username")
        );
        // What is missing is the caller's to tell when connecting; building says so too.
        let no_sender = setup(&[("smtp_host", "smtp.example.com")]);
        assert_eq!(validate_settings(&no_sender), []);
        assert_eq!(Email::new(&no_sender).unwrap_err(), SetupError::Missing("settings.from".into()));
    }

    #[test]
    fn credentials_go_unencrypted_only_to_loopback() {
        let with_credentials = |host: &str| {
            let mut setup = setup(&[
                ("smtp_host", host),
                ("smtp_tls", "none"),
                ("smtp_username", "relay"),
                ("from", "help@acme.example"),
            ]);
            setup.secrets.insert("smtp_password".into(), "pw".into());
            setup
        };
        for host in ["smtp.example.com", "10.0.0.5", "192.168.1.2"] {
            let problems = validate_settings(&with_credentials(host));
            assert_eq!(problems.len(), 1, "{host}: {problems:?}");
            assert_eq!(problems[0].0, "settings.smtp_tls", "{host}");
            assert!(
                matches!(Email::new(&with_credentials(host)), Err(SetupError::Invalid { field, .. }) if field == "settings.smtp_tls")
            );
        }
        for host in ["127.0.0.1", "localhost", "::1", "[::1]"] {
            assert_eq!(validate_settings(&with_credentials(host)), [], "{host}");
        }
    }

    #[test]
    fn addresses_are_kept_in_one_form() {
        assert_eq!(normalize_address(" Ana.Perez@Example.COM ").unwrap().as_str(), "ana.perez@example.com");
        assert!(normalize_address("o'brien@example.com").is_err());
    }
}
