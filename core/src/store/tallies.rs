//! What pre-chats came to, counted per tenant and UTC day (the day each pre-chat started): how
//! many started and how each finished, and per question how many reached it, answered it,
//! skipped it or stopped at it, and the replies it could not read. One hash a tenant a day,
//! added to when a pre-chat starts and when it finishes, read a day at a time for a report: its
//! size is bounded by days and questions, never by pre-chats. What the tallies mean is
//! [`crate::questionnaire::report`]'s; the store only adds and reads them.

use std::collections::BTreeMap;

use async_trait::async_trait;
use jiff::civil::Date;

use super::StoreError;
use crate::ids::TenantId;

#[async_trait]
pub trait Tallies: Send + Sync {
    /// Adds each `(name, amount)` of `add` to the tenant's tallies of `day`.
    async fn tally(&self, tenant: &TenantId, day: Date, add: &[(String, i64)]) -> Result<(), StoreError>;

    /// The tenant's tallies over `days`, summed by name.
    async fn tallies(&self, tenant: &TenantId, days: &[Date]) -> Result<BTreeMap<String, i64>, StoreError>;
}
