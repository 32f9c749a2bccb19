//! Tenants and their API keys. A key is a random bearer token; only its SHA-256 digest is kept,
//! so the settings file and the process hold nothing an attacker could replay.

use std::collections::HashMap;

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use ratewire_core::TenantId;
use sha2::{Digest, Sha256};

use crate::app::AppState;
use crate::error::ApiError;
use crate::settings::Tenant;

/// Who may call the API, by the digest of their key.
#[derive(Debug, Default, Clone)]
pub struct Tenants {
    by_digest: HashMap<String, TenantId>,
    names: HashMap<TenantId, String>,
}

impl Tenants {
    pub fn new(tenants: &[Tenant]) -> Self {
        let mut registry = Tenants::default();
        for tenant in tenants {
            for digest in &tenant.key_digests {
                registry.by_digest.insert(digest.clone(), tenant.id.clone());
            }
            registry.names.insert(tenant.id.clone(), tenant.name.clone());
        }
        registry
    }

    /// The tenant a key belongs to.
    pub fn authenticate(&self, key: &str) -> Option<&TenantId> {
        // Looking up the key's digest, rather than comparing keys, leaks nothing about any key
        // through timing: the digest of a guess says nothing about the digests stored.
        self.by_digest.get(&digest(key))
    }

    pub fn name(&self, tenant: &TenantId) -> Option<&str> {
        self.names.get(tenant).map(String::as_str)
    }

    pub fn ids(&self) -> impl Iterator<Item = &TenantId> {
        self.names.keys()
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
        state.tenants.authenticate(key.trim()).cloned().map(CurrentTenant).ok_or(ApiError::Unauthorized)
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
        let tenants = Tenants::new(&[Tenant {
            id: TenantId::new("acme").unwrap(),
            name: "Acme".into(),
            key_digests: vec![digest(&key)],
        }]);
        assert_eq!(tenants.authenticate(&key).map(TenantId::as_str), Some("acme"));
        assert_eq!(tenants.authenticate("rw_guess"), None);
        assert_eq!(digest("test"), "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08");
    }
}
