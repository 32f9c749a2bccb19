//! Identifiers. Each is its own type so a tenant id can never be passed where a survey id belongs.

use std::fmt;

use serde::{Deserialize, Serialize};
use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{kind} must be 1 to {max} characters of letters, digits and - _ . @ + :, got {value:?}")]
pub struct InvalidId {
    pub kind: &'static str,
    pub max: usize,
    pub value: String,
}

/// The alphabet of every id, as a regular expression for the OpenAPI schemas.
#[cfg(feature = "openapi")]
const ID_PATTERN: &str = "^[A-Za-z0-9._@+:-]+$";

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $kind:literal, $max:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// Checks the id: it ends up inside store keys and URLs, so its alphabet is limited.
            pub fn new(value: impl Into<String>) -> Result<Self, InvalidId> {
                let value = value.into();
                let allowed = |c: char| c.is_ascii_alphanumeric() || "-_.@+:".contains(c);
                if value.is_empty() || value.len() > $max || !value.chars().all(allowed) {
                    return Err(InvalidId { kind: $kind, max: $max, value });
                }
                Ok(Self(value))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl TryFrom<String> for $name {
            type Error = InvalidId;
            fn try_from(value: String) -> Result<Self, InvalidId> {
                Self::new(value)
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl std::str::FromStr for $name {
            type Err = InvalidId;
            fn from_str(value: &str) -> Result<Self, InvalidId> {
                Self::new(value)
            }
        }

        /// A string of the id's alphabet and length, as [`$name::new`] checks it.
        #[cfg(feature = "openapi")]
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                use utoipa::openapi::schema::{ObjectBuilder, Type};
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .description(Some(format!(
                        "A {}: 1 to {} characters of letters, digits and - _ . @ + :",
                        $kind, $max
                    )))
                    .min_length(Some(1))
                    .max_length(Some($max))
                    .pattern(Some(ID_PATTERN))
                    .into()
            }
        }

        #[cfg(feature = "openapi")]
        impl utoipa::ToSchema for $name {}
    };
}

id_type!(
    /// A business using ratewire; every piece of data belongs to exactly one.
    TenantId, "tenant id", 64
);
id_type!(
    /// One survey: one invitation and what came of it.
    SurveyId, "survey id", 64
);
id_type!(
    /// A support conversation in the business's helpdesk.
    ConversationId, "conversation id", 128
);
id_type!(
    /// A channel a business connected (one WhatsApp number, one Telegram bot, …).
    ChannelId, "channel id", 64
);
id_type!(
    /// The end user's address on a channel: a wa_id, a PSID, a Telegram chat id, an email address.
    RecipientId, "recipient id", 254
);
id_type!(
    /// The agent credited with a conversation.
    AgentId, "agent id", 128
);

impl SurveyId {
    /// A fresh random survey id.
    pub fn generate() -> Self {
        Self(uuid::Uuid::new_v4().simple().to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_refuse_characters_that_would_break_keys() {
        assert!(TenantId::new("acme").is_ok());
        assert!(RecipientId::new("ana+help@example.com").is_ok());
        assert!(TenantId::new("").is_err());
        assert!(TenantId::new("a}b").is_err());
        assert!(TenantId::new("a b").is_err());
        assert!(TenantId::new("x".repeat(65)).is_err());
    }

    #[test]
    fn generated_survey_ids_are_valid_and_distinct() {
        let a = SurveyId::generate();
        assert_eq!(SurveyId::new(a.as_str()), Ok(a.clone()));
        assert_ne!(a, SurveyId::generate());
    }
}
