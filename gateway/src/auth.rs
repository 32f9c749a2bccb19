//! Tenants and their API keys. A key is a random bearer token; only its SHA-256 digest is kept,
//! so the settings file and the process hold nothing an attacker could replay.

use std::collections::HashMap;
use std::num::NonZeroU32;

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use ratewire_core::TenantId;
use sha2::{Digest, Sha256};

use crate::app::AppState;
use crate::error::ApiError;
use crate::settings::Tenant;

/// Who may call the API, by the digest of their key, and how fast.
pub struct Tenants {
    by_digest: HashMap<String, TenantId>,
    limiter: DefaultKeyedRateLimiter<TenantId>,
}

impl Tenants {
    /// `per_second`: the requests a second each tenant may make, sustained (bursts of twice as
    /// many pass).
    pub fn new(tenants: &[Tenant], per_second: u32) -> Self {
        let rate = NonZeroU32::new(per_second).unwrap_or(NonZeroU32::MIN);
        let burst = rate.saturating_mul(NonZeroU32::new(2).unwrap_or(NonZeroU32::MIN));
        let mut registry = Tenants {
            by_digest: HashMap::new(),
            limiter: RateLimiter::keyed(Quota::per_second(rate).allow_burst(burst)),
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
        let key = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| {
                // The scheme is case-insensitive (RFC 9110).
                let (scheme, key) = value.split_once(' ')?;
                scheme.eq_ignore_ascii_case("bearer").then_some(key)
            })
            .ok_or(ApiError::Unauthorized)?;
        let tenant = state.tenants.authenticate(key.trim()).cloned().ok_or(ApiError::Unauthorized)?;
        state.tenants.admit(&tenant)?;
        Ok(CurrentTenant(tenant))
    }
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
        let tenants = Tenants::new(&[tenant("a"), tenant("b")], 2);
        let (a, b) = (TenantId::new("a").unwrap(), TenantId::new("b").unwrap());
        // A burst of twice the rate passes, then the tenant waits; the other is unaffected.
        for _ in 0..4 {
            assert!(tenants.admit(&a).is_ok());
        }
        assert!(matches!(tenants.admit(&a), Err(ApiError::RateLimited)));
        assert!(tenants.admit(&b).is_ok());
    }
}
