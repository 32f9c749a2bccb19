//! A tenant's surveys over a range, read a page at a time in creation order: what the survey
//! list and the ratings export share, so neither holds a whole range in memory.

use jiff::Timestamp;
use ratewire_core::store::{StoreError, SurveyStore};
use ratewire_core::{Survey, SurveyId, TenantId};

/// Surveys one read takes from the store.
const PAGE: usize = 500;

/// A walk through a tenant's surveys created in `[from, to)`, oldest first (ties in creation
/// time by id).
pub struct Walk {
    tenant: TenantId,
    to: Timestamp,
    /// The creation time of the last survey given (or where the walk starts).
    from: Timestamp,
    /// The last survey given, which with the ones before it at `from` is not given again.
    after: Option<SurveyId>,
    done: bool,
}

impl Walk {
    pub fn new(tenant: &TenantId, from: Timestamp, to: Timestamp) -> Self {
        Walk { tenant: tenant.clone(), to, from, after: None, done: false }
    }

    /// The walk resumed after the survey `after`, created at `at`.
    pub fn resumed(mut self, at: Timestamp, after: SurveyId) -> Self {
        self.from = at;
        self.after = Some(after);
        self
    }

    /// The next surveys; empty once the range is done.
    pub async fn next_page(&mut self, store: &dyn SurveyStore) -> Result<Vec<Survey>, StoreError> {
        if self.done {
            return Ok(Vec::new());
        }
        let batch = store.list(&self.tenant, self.from, self.to, PAGE).await?;
        let exhausted = batch.len() < PAGE;
        let (from, after) = (self.from, self.after.clone());
        let fresh: Vec<Survey> = batch
            .into_iter()
            .filter(|survey| !(survey.created_at == from && after.as_ref().is_some_and(|a| &survey.id <= a)))
            .collect();
        match fresh.last() {
            Some(last) => {
                self.from = last.created_at;
                self.after = Some(last.id.clone());
            }
            // A whole read of surveys already given: more than a page created at one instant,
            // which the walk can't get past.
            None => self.done = true,
        }
        self.done |= exhausted;
        Ok(fresh)
    }

    /// Where the walk stands: the creation time and id of the last survey given.
    pub fn position(&self) -> Option<(Timestamp, &SurveyId)> {
        self.after.as_ref().map(|after| (self.from, after))
    }
}
