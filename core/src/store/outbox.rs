//! Events waiting to be delivered to a business's webhook endpoints. An item stays until it is
//! delivered or given up, so a receiver that is down misses nothing.

use async_trait::async_trait;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::StoreError;
use crate::ids::TenantId;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxItem {
    /// Unique across the store: the delivery's id.
    pub id: String,
    pub tenant: TenantId,
    /// The endpoint it goes to.
    pub endpoint: String,
    /// The exact bytes to post (they are what gets signed).
    pub body: String,
    /// Attempts made so far.
    pub attempts: u32,
    /// When to try next.
    pub due: Timestamp,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
}

#[async_trait]
pub trait Outbox: Send + Sync {
    /// Adds an item; adding an id that is already there changes nothing.
    async fn enqueue(&self, item: &OutboxItem) -> Result<(), StoreError>;

    /// Takes up to `limit` items due at `now` and hides them from other takers until
    /// `lease_until`, so two gateways never post the same item at once. An item taken and
    /// neither completed nor rescheduled (its taker died) is due again at `lease_until`.
    async fn claim_due(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: usize,
    ) -> Result<Vec<OutboxItem>, StoreError>;

    /// Stores a failed attempt: the item's new `attempts`, `due` and `last_error`.
    async fn reschedule(&self, item: &OutboxItem) -> Result<(), StoreError>;

    /// Removes a delivered (or abandoned) item.
    async fn complete(&self, id: &str) -> Result<(), StoreError>;

    /// The items of a tenant still waiting, soonest first: what a business sees as pending
    /// deliveries.
    async fn pending_items(&self, tenant: &TenantId, limit: usize) -> Result<Vec<OutboxItem>, StoreError>;
}
