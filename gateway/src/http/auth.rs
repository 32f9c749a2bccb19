//! Tenants and their API keys. A key is a random bearer token; only its SHA-256 digest is kept,
//! so the settings file and the process hold nothing an attacker could replay.
//!
//! The reports dashboard logs in with a key and then holds a session cookie instead (see
//! [`Sessions`]); only the read-only report routes accept it ([`Reader`]).

use std::collections::HashMap;
use std::num::NonZeroU32;

use axum::extract::FromRequestParts;
use axum::http::header::{AUTHORIZATION, COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use hmac::{Hmac, Mac};
use jiff::{SignedDuration, Timestamp};
use ratewire_core::TenantId;
use ratewire_core::store::{self, RecordKind, StoreError};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::flow::records::SessionsEnded;
use crate::http::AppState;
use crate::http::error::ApiError;

/// Who may call the API, by the digest of their key, and how fast.
pub struct Tenants {
    by_digest: HashMap<String, TenantId>,
    limiter: DefaultKeyedRateLimiter<TenantId>,
    sessions: Sessions,
}

impl Tenants {
    /// `per_second`: the requests a second each tenant may make, sustained (bursts of twice as
    /// many pass).
    pub fn new(tenants: &[Tenant], per_second: u32, sessions: Sessions) -> Self {
        let rate = NonZeroU32::new(per_second).unwrap_or(NonZeroU32::MIN);
        let burst = rate.saturating_mul(NonZeroU32::new(2).unwrap_or(NonZeroU32::MIN));
        let mut registry = Tenants {
            by_digest: HashMap::new(),
            limiter: RateLimiter::keyed(Quota::per_second(rate).allow_burst(burst)),
            sessions,
        };
        for tenant in tenants {
            for digest in &tenant.key_digests {
                registry.by_digest.insert(digest.clone(), tenant.id.clone());
            }
        }
        registry
    }

    /// Counts one request of a tenant against its rate.
    fn admit(&self, tenant: &TenantId) -> Result<(), ApiError> {
        self.limiter.check_key(tenant).map_err(|_| ApiError::RateLimited)
    }

    /// The tenant a key belongs to.
    pub fn authenticate(&self, key: &str) -> Option<&TenantId> {
        // Looking up the key's digest, rather than comparing keys, leaks nothing about any key
        // through timing: the digest of a guess says nothing about the digests stored.
        self.by_digest.get(&digest(key))
    }

    /// Logs in to the dashboard with a key: the tenant and its session cookie's value. A login
    /// counts against the tenant's rate like an API call.
    pub fn log_in(&self, key: &str, now: Timestamp) -> Result<(TenantId, String), ApiError> {
        let key_digest = digest(key.trim());
        let tenant = self.by_digest.get(&key_digest).cloned().ok_or(ApiError::Unauthorized)?;
        self.admit(&tenant)?;
        Ok((tenant, self.sessions.open(&key_digest, now)))
    }

    /// The session the request's cookie holds, if it is signed, unexpired and its key is still
    /// one of the tenant's (removing a key ends its sessions). Whether it was ended on the
    /// server is the store's to say: see [`current_session`].
    fn signed_session(&self, headers: &HeaderMap, now: Timestamp) -> Option<Session> {
        let cookie = self.sessions.verify(self.sessions.cookie_in(headers)?, now)?;
        let tenant = self.by_digest.get(cookie.key_digest)?.clone();
        Some(Session { tenant, id: cookie.id.to_owned(), issued: cookie.issued, expires: cookie.expires })
    }

    pub fn sessions(&self) -> &Sessions {
        &self.sessions
    }
}

/// The cookie that holds a dashboard session over http.
pub const SESSION_COOKIE: &str = "ratewire_session";
/// The cookie that holds a dashboard session over https. Browsers keep a `__Host-` cookie only
/// if it is `Secure`, for `Path=/` and no other domain, so nothing on a sibling subdomain or
/// plain http can plant or shadow it.
pub const SECURE_SESSION_COOKIE: &str = "__Host-ratewire_session";

/// Dashboard sessions. The cookie's value is
/// `<key digest>.<session id>.<issued, Unix ms>.<expiry, Unix seconds>.<hex HMAC-SHA256 of the
/// rest under the session secret>`: it names the key that logged in (by its digest, which the
/// settings hold anyway), the session, and when it started and ends. The store keeps what ends a
/// session early, so every gateway sharing it agrees: the ids of sessions logged out (until they
/// would have expired) and, per tenant, when every session was last ended ("log out
/// everywhere"). A session also ends when its key is removed from the settings or the secret
/// changes.
pub struct Sessions {
    secret: Vec<u8>,
    lifetime: SignedDuration,
    /// Whether browsers reach the service over https, so the cookie may only travel encrypted.
    secure: bool,
}

/// A signed session cookie's fields.
struct SessionCookie<'a> {
    key_digest: &'a str,
    id: &'a str,
    issued: Timestamp,
    expires: Timestamp,
}

/// A dashboard session whose cookie is signed and unexpired.
#[derive(Debug, Clone)]
pub struct Session {
    pub tenant: TenantId,
    id: String,
    issued: Timestamp,
    expires: Timestamp,
}

impl Sessions {
    /// Sessions as the settings say; with no secret set, a random one for this process.
    pub fn new(settings: &DashboardSettings, public_url: &str) -> Self {
        let secret = match &settings.session_secret {
            Some(secret) => secret.as_bytes().to_vec(),
            None => [uuid::Uuid::new_v4(), uuid::Uuid::new_v4()].iter().flat_map(|u| *u.as_bytes()).collect(),
        };
        Sessions {
            secret,
            lifetime: SignedDuration::from_hours(i64::from(settings.session_hours)),
            secure: public_url.starts_with("https://"),
        }
    }

    fn signature(&self, payload: &str) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.secret).expect("HMAC takes keys of any length");
        mac.update(payload.as_bytes());
        mac
    }

    /// A new session's cookie value for the key with this digest.
    fn open(&self, key_digest: &str, now: Timestamp) -> String {
        let id = uuid::Uuid::new_v4().simple();
        let payload = format!("{key_digest}.{id}.{}.{}", now.as_millisecond(), (now + self.lifetime).as_second());
        let signature = hex::encode(self.signature(&payload).finalize().into_bytes());
        format!("{payload}.{signature}")
    }

    /// A cookie value's fields, if it is signed and not expired.
    fn verify<'a>(&self, value: &'a str, now: Timestamp) -> Option<SessionCookie<'a>> {
        let (payload, signature) = value.rsplit_once('.')?;
        let signature = hex::decode(signature).ok()?;
        // Compared in constant time.
        self.signature(payload).verify_slice(&signature).ok()?;
        let mut fields = payload.split('.');
        let (key_digest, id) = (fields.next()?, fields.next()?);
        let issued = Timestamp::from_millisecond(fields.next()?.parse().ok()?).ok()?;
        let expires = Timestamp::from_second(fields.next()?.parse().ok()?).ok()?;
        if fields.next().is_some() || now >= expires {
            return None;
        }
        Some(SessionCookie { key_digest, id, issued, expires })
    }

    /// The `Set-Cookie` value that keeps a session for its lifetime: sent only to this service
    /// and only by its own pages (`SameSite=Strict`), out of reach of scripts (`HttpOnly`).
    pub fn set_cookie(&self, value: &str) -> HeaderValue {
        self.cookie(value, self.lifetime.as_secs())
    }

    /// The `Set-Cookie` value that makes the browser drop the session.
    pub fn clear_cookie(&self) -> HeaderValue {
        self.cookie("", 0)
    }

    /// The session cookie's name: [`SECURE_SESSION_COOKIE`] over https, [`SESSION_COOKIE`] over http.
    pub fn cookie_name(&self) -> &'static str {
        if self.secure { SECURE_SESSION_COOKIE } else { SESSION_COOKIE }
    }

    fn cookie(&self, value: &str, max_age: i64) -> HeaderValue {
        let (name, secure) = (self.cookie_name(), if self.secure { "; Secure" } else { "" });
        let cookie = format!("{name}={value}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Strict{secure}");
        HeaderValue::from_str(&cookie).expect("a session cookie is ASCII")
    }

    /// The session cookie's value among the request's cookies.
    fn cookie_in<'a>(&self, headers: &'a HeaderMap) -> Option<&'a str> {
        let name = self.cookie_name();
        headers
            .get_all(COOKIE)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|cookies| cookies.split(';'))
            .find_map(|cookie| cookie.trim().strip_prefix(name)?.strip_prefix('='))
    }
}

/// The lower-case hex SHA-256 digest of a key.
pub fn digest(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

/// A fresh API key: `rw_` and 48 random hex digits (192 bits).
pub fn new_key() -> String {
    let random = uuid::Uuid::new_v4().simple().to_string() + &uuid::Uuid::new_v4().simple().to_string();
    // A v4 UUID fixes 6 bits; 2 × 122 random bits, cut to 48 digits, keep 192 of them.
    format!("rw_{}", &random[..48])
}

/// The tenant making the request, from its bearer key.
pub struct CurrentTenant(pub TenantId);

impl FromRequestParts<AppState> for CurrentTenant {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let key = bearer_key(&parts.headers).ok_or(ApiError::Unauthorized)?;
        let tenant = state.tenants.authenticate(key).cloned().ok_or(ApiError::Unauthorized)?;
        state.tenants.admit(&tenant)?;
        Ok(CurrentTenant(tenant))
    }
}

/// The tenant reading reports: from the bearer key or, without an `Authorization` header, from
/// the dashboard's session cookie. Only read-only routes take it: no route that changes anything
/// accepts the cookie, so a page on another site has nothing to forge a request for.
pub struct Reader(pub TenantId);

impl FromRequestParts<AppState> for Reader {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        if parts.headers.contains_key(AUTHORIZATION) {
            return CurrentTenant::from_request_parts(parts, state).await.map(|CurrentTenant(tenant)| Reader(tenant));
        }
        let session = current_session(state, &parts.headers, Timestamp::now()).await?.ok_or(ApiError::Unauthorized)?;
        state.tenants.admit(&session.tenant)?;
        Ok(Reader(session.tenant))
    }
}

/// The store's key that marks a session logged out.
fn ended_key(session_id: &str) -> String {
    format!("dashboard-session-ended:{session_id}")
}

/// The record that says when a tenant last ended all its sessions.
const ENDED_BEFORE: &str = "ended_before";

/// The dashboard session the request's cookie holds, if it is valid: signed, unexpired, its key
/// still the tenant's, and not ended on the server (logged out, or all the tenant's sessions
/// ended since it started).
pub async fn current_session(
    state: &AppState,
    headers: &HeaderMap,
    now: Timestamp,
) -> Result<Option<Session>, ApiError> {
    let Some(session) = state.tenants.signed_session(headers, now) else { return Ok(None) };
    let ended_key = ended_key(&session.id);
    let (logged_out, ended_before) = tokio::join!(
        state.flow.store.remembers(&ended_key, now),
        store::read::<SessionsEnded>(&*state.flow.store, &session.tenant, ENDED_BEFORE),
    );
    let all_ended = ended_before?.is_some_and(|record| session.issued <= record.value.at);
    Ok((!logged_out? && !all_ended).then_some(session))
}

/// Ends one session on every gateway sharing the store: its id is remembered until the
/// cookie would have expired anyway.
pub async fn end_session(state: &AppState, session: &Session, now: Timestamp) -> Result<(), ApiError> {
    let left = session.expires.duration_since(now).max(SignedDuration::from_secs(1));
    state.flow.store.confirm(&ended_key(&session.id), now, left).await?;
    Ok(())
}

/// Ends every dashboard session of the tenant that started by `now` ("log out everywhere").
/// Sessions compare their start with this gateway's clock, so gateways' clocks must agree.
pub async fn end_all_sessions(state: &AppState, tenant: &TenantId, now: Timestamp) -> Result<(), ApiError> {
    // Sessions start to the millisecond: the mark covers this whole millisecond.
    let at = Timestamp::from_millisecond(now.as_millisecond()).unwrap_or(now);
    for _ in 0..8 {
        let stored = store::read::<SessionsEnded>(&*state.flow.store, tenant, ENDED_BEFORE).await?;
        let expected = match &stored {
            // Marks only move forward: a later one already ends more.
            Some(record) if record.value.at >= at => return Ok(()),
            Some(record) => Some(record.revision),
            None => None,
        };
        let body = SessionsEnded { at };
        match store::write(&*state.flow.store, tenant, ENDED_BEFORE, expected, &body).await {
            Err(StoreError::RecordConflict { .. }) => continue,
            other => return other.map(|_| ()).map_err(ApiError::from),
        }
    }
    Err(ApiError::from(StoreError::RecordConflict { kind: RecordKind::DashboardSessions, id: ENDED_BEFORE.into() }))
}

/// The key of an `Authorization: Bearer <key>` header.
fn bearer_key(headers: &HeaderMap) -> Option<&str> {
    let (scheme, key) = headers.get(AUTHORIZATION)?.to_str().ok()?.split_once(' ')?;
    // The scheme is case-insensitive (RFC 9110).
    scheme.eq_ignore_ascii_case("bearer").then_some(key.trim())
}

/// The reports dashboard's sessions (see [`Sessions`]).
#[derive(Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DashboardSettings {
    /// The key session cookies are signed with, at least 32 characters. Unset, each process
    /// makes a random one: sessions then end when it restarts, and several instances behind one
    /// address must share a set key.
    pub session_secret: Option<String>,
    /// How long a dashboard session lasts, in hours.
    pub session_hours: u32,
}

/// Never shows the secret, should the settings be logged.
impl std::fmt::Debug for DashboardSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DashboardSettings")
            .field("session_secret", &self.session_secret.as_ref().map(|_| "…"))
            .field("session_hours", &self.session_hours)
            .finish()
    }
}

impl Default for DashboardSettings {
    fn default() -> Self {
        Self { session_secret: None, session_hours: 12 }
    }
}

/// A tenant as the checked settings name it, with its API keys' digests.
#[derive(Debug, Clone)]
pub struct Tenant {
    pub id: TenantId,
    pub name: String,
    /// Lower-case hex SHA-256 digests of the API keys.
    pub key_digests: Vec<String>,
}

#[cfg(test)]
fn test_sessions() -> Sessions {
    Sessions::new(&DashboardSettings::default(), "http://127.0.0.1:8080")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_authenticate_by_digest_only() {
        let key = new_key();
        assert!(key.starts_with("rw_") && key.len() == 51);
        assert_ne!(key, new_key());
        let tenants = Tenants::new(
            &[Tenant { id: TenantId::new("acme").unwrap(), name: "Acme".into(), key_digests: vec![digest(&key)] }],
            50,
            test_sessions(),
        );
        assert_eq!(tenants.authenticate(&key).map(TenantId::as_str), Some("acme"));
        assert_eq!(tenants.authenticate("rw_guess"), None);
        assert_eq!(digest("test"), "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08");
    }
}

#[cfg(test)]
mod rate_tests {
    use super::*;

    #[test]
    fn each_tenant_has_its_own_rate() {
        let tenant = |id: &str| Tenant { id: TenantId::new(id).unwrap(), name: id.into(), key_digests: vec![] };
        let tenants = Tenants::new(&[tenant("a"), tenant("b")], 2, test_sessions());
        let (a, b) = (TenantId::new("a").unwrap(), TenantId::new("b").unwrap());
        // A burst of twice the rate passes, then the tenant waits; the other is unaffected.
        for _ in 0..4 {
            assert!(tenants.admit(&a).is_ok());
        }
        assert!(matches!(tenants.admit(&a), Err(ApiError::RateLimited)));
        assert!(tenants.admit(&b).is_ok());
    }
}

#[cfg(test)]
mod session_tests {
    use axum::http::header::COOKIE;

    use super::*;

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    /// Tenant `acme` with two keys.
    fn tenants(keys: &[&str]) -> Tenants {
        let acme = Tenant {
            id: TenantId::new("acme").unwrap(),
            name: "Acme".into(),
            key_digests: keys.iter().map(|key| digest(key)).collect(),
        };
        Tenants::new(&[acme], 50, test_sessions())
    }

    fn with_cookie(cookies: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(COOKIE, HeaderValue::from_str(cookies).unwrap());
        headers
    }

    #[test]
    fn a_login_opens_a_session_until_it_expires() {
        let tenants = tenants(&["rw_one", "rw_two"]);
        let now = at("2026-11-21T10:00:00Z");
        assert!(matches!(tenants.log_in("rw_guess", now), Err(ApiError::Unauthorized)));
        let (tenant, value) = tenants.log_in(" rw_one\n", now).unwrap();
        assert_eq!(tenant.as_str(), "acme");
        let headers = with_cookie(&format!("theme=dark; {SESSION_COOKIE}={value}; lang=en"));
        let session = tenants.signed_session(&headers, now).unwrap();
        assert_eq!(session.tenant.as_str(), "acme");
        assert_eq!(session.issued, now);
        // Twelve hours by default.
        assert!(tenants.signed_session(&headers, at("2026-11-21T21:59:59Z")).is_some());
        assert!(tenants.signed_session(&headers, at("2026-11-21T22:00:00Z")).is_none());
        assert!(tenants.signed_session(&HeaderMap::new(), now).is_none());
        // Each login is a session of its own.
        let (_, again) = tenants.log_in("rw_one", now).unwrap();
        let other = tenants.signed_session(&with_cookie(&format!("{SESSION_COOKIE}={again}")), now).unwrap();
        assert_ne!(other.id, session.id);
    }

    #[test]
    fn logins_count_against_the_tenants_rate() {
        let acme =
            Tenant { id: TenantId::new("acme").unwrap(), name: "Acme".into(), key_digests: vec![digest("rw_one")] };
        let tenants = Tenants::new(&[acme], 1, test_sessions());
        let now = at("2026-11-21T10:00:00Z");
        // A burst of twice the rate passes, then the tenant waits.
        assert!(tenants.log_in("rw_one", now).is_ok());
        assert!(tenants.log_in("rw_one", now).is_ok());
        assert!(matches!(tenants.log_in("rw_one", now), Err(ApiError::RateLimited)));
    }

    #[test]
    fn a_forged_or_foreign_session_is_refused() {
        let now = at("2026-11-21T10:00:00Z");
        let tenants = tenants(&["rw_one"]);
        let (_, value) = tenants.log_in("rw_one", now).unwrap();
        let (payload, signature) = value.rsplit_once('.').unwrap();
        let (start, expires) = payload.rsplit_once('.').unwrap();
        let later = expires.parse::<i64>().unwrap() + 3600;
        for forged in [
            format!("{start}.{later}.{signature}"),
            format!("{payload}.{}", "0".repeat(64)),
            format!("{payload}.zz"),
            payload.to_owned(),
            String::new(),
        ] {
            let headers = with_cookie(&format!("{SESSION_COOKIE}={forged}"));
            assert!(tenants.signed_session(&headers, now).is_none(), "{forged}");
        }
        // Another process with its own random secret doesn't know the session.
        let other = self::tenants(&["rw_one"]);
        assert!(other.signed_session(&with_cookie(&format!("{SESSION_COOKIE}={value}")), now).is_none());
        // A key removed from the settings ends its sessions, even with the same secret.
        let rotated = Tenants { by_digest: HashMap::new(), ..tenants };
        assert!(rotated.signed_session(&with_cookie(&format!("{SESSION_COOKIE}={value}")), now).is_none());
    }

    #[test]
    fn the_cookie_is_strict_http_only_and_secure_with_the_host_prefix_over_https() {
        let mut settings = DashboardSettings::default();
        let cookie = Sessions::new(&settings, "http://127.0.0.1:8080").set_cookie("v");
        assert_eq!(cookie, "ratewire_session=v; Path=/; Max-Age=43200; HttpOnly; SameSite=Strict");
        settings.session_hours = 1;
        let sessions = Sessions::new(&settings, "https://rw.example.com");
        assert_eq!(
            sessions.set_cookie("v"),
            "__Host-ratewire_session=v; Path=/; Max-Age=3600; HttpOnly; SameSite=Strict; Secure"
        );
        assert_eq!(
            sessions.clear_cookie(),
            "__Host-ratewire_session=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict; Secure"
        );
        // Over https, only the prefixed cookie opens a session.
        let value = sessions.open("digest", Timestamp::now());
        assert_eq!(sessions.cookie_in(&with_cookie(&format!("{SECURE_SESSION_COOKIE}={value}"))), Some(value.as_str()));
        assert_eq!(sessions.cookie_in(&with_cookie(&format!("{SESSION_COOKIE}={value}"))), None);
    }
}
