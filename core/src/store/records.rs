//! The business's own records — survey configurations, channels, conversations, webhook
//! endpoints — kept as versioned JSON documents per tenant.

use std::fmt;

use async_trait::async_trait;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::StoreError;
use crate::ids::TenantId;

/// What a record is. Each kind is its own namespace of ids within a tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RecordKind {
    Config,
    Channel,
    Conversation,
    Endpoint,
    /// What ratewire knows of an end user on a channel (when they last wrote).
    Contact,
    /// A message ratewire sent, by the platform's id: which survey it belongs to.
    Message,
    /// An email address whose owner asked for no more rating requests, by the address.
    Unsubscribe,
    /// When the tenant last ended every dashboard session ("log out everywhere").
    DashboardSessions,
    /// An end user's pre-chat on a channel: the questions asked and their answers.
    Prechat,
}

impl RecordKind {
    /// Whether its records are the business's own, kept until deleted and listed. The others are
    /// written as end users write and messages go out, and only ever looked up by id: each is
    /// kept for the store's retention after its last write, and no index lists them, so they
    /// don't pile up for good.
    pub fn is_listed(self) -> bool {
        !matches!(self, RecordKind::Contact | RecordKind::Message | RecordKind::Prechat)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            RecordKind::Config => "config",
            RecordKind::Channel => "channel",
            RecordKind::Conversation => "conversation",
            RecordKind::Endpoint => "endpoint",
            RecordKind::Contact => "contact",
            RecordKind::Message => "message",
            RecordKind::Unsubscribe => "unsubscribe",
            RecordKind::DashboardSessions => "dashboard_sessions",
            RecordKind::Prechat => "prechat",
        }
    }
}

impl fmt::Display for RecordKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A record's body with the revision it was read at (1 for a new record).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Versioned<T = String> {
    pub revision: u64,
    pub value: T,
}

#[async_trait]
pub trait RecordStore: Send + Sync {
    async fn get_record(&self, tenant: &TenantId, kind: RecordKind, id: &str) -> Result<Option<Versioned>, StoreError>;

    /// Writes a record whose stored revision is `expected` — `None` for a record that must not
    /// exist yet — and returns its new revision; otherwise [`StoreError::RecordConflict`].
    async fn put_record(
        &self,
        tenant: &TenantId,
        kind: RecordKind,
        id: &str,
        expected: Option<u64>,
        body: &str,
    ) -> Result<u64, StoreError>;

    /// Every record of a kind, ordered by id.
    /// The tenant's records of a listed kind ([`RecordKind::is_listed`]); none of another.
    async fn list_records(&self, tenant: &TenantId, kind: RecordKind) -> Result<Vec<(String, Versioned)>, StoreError>;

    /// Removes a record; false if there was none.
    async fn delete_record(&self, tenant: &TenantId, kind: RecordKind, id: &str) -> Result<bool, StoreError>;
}

/// A record type the store keeps, under the one kind it names: reading a contact as an
/// unsubscribe does not compile, because each is read by its own type.
pub trait Record: Serialize + DeserializeOwned + Send + Sync {
    const KIND: RecordKind;
}

/// Reads a record of type `T`.
pub async fn read<T: Record>(
    store: &dyn RecordStore,
    tenant: &TenantId,
    id: &str,
) -> Result<Option<Versioned<T>>, StoreError> {
    let Some(record) = store.get_record(tenant, T::KIND, id).await? else { return Ok(None) };
    let value = decode(T::KIND, id, &record.value)?;
    Ok(Some(Versioned { revision: record.revision, value }))
}

/// Writes a record of type `T`, if its stored revision is `expected` (`None`: it must be new).
pub async fn write<T: Record>(
    store: &dyn RecordStore,
    tenant: &TenantId,
    id: &str,
    expected: Option<u64>,
    value: &T,
) -> Result<u64, StoreError> {
    let body = serde_json::to_string(value)
        .map_err(|e| StoreError::Corrupt { key: format!("{}/{id}", T::KIND), reason: e.to_string() })?;
    store.put_record(tenant, T::KIND, id, expected, &body).await
}

/// Every record of type `T` of a tenant, ordered by id.
pub async fn read_all<T: Record>(
    store: &dyn RecordStore,
    tenant: &TenantId,
) -> Result<Vec<(String, Versioned<T>)>, StoreError> {
    store
        .list_records(tenant, T::KIND)
        .await?
        .into_iter()
        .map(|(id, record)| {
            let value = decode(T::KIND, &id, &record.value)?;
            Ok((id, Versioned { revision: record.revision, value }))
        })
        .collect()
}

/// Removes a record of type `T`; false if there was none.
pub async fn delete<T: Record>(store: &dyn RecordStore, tenant: &TenantId, id: &str) -> Result<bool, StoreError> {
    store.delete_record(tenant, T::KIND, id).await
}

fn decode<T: DeserializeOwned>(kind: RecordKind, id: &str, body: &str) -> Result<T, StoreError> {
    serde_json::from_str(body).map_err(|e| StoreError::Corrupt { key: format!("{kind}/{id}"), reason: e.to_string() })
}
