//! The embedded store: everything in this process's memory, gone when it stops.

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;

use async_trait::async_trait;
use jiff::Timestamp;

use super::{DueSurvey, StoreError, SurveyStore};
use crate::ids::{ChannelId, ConversationId, RecipientId, SurveyId, TenantId};
use crate::survey::Survey;

type Key = (TenantId, SurveyId);

#[derive(Default)]
struct Inner {
    surveys: HashMap<Key, Survey>,
    by_conversation: HashMap<(TenantId, ConversationId), SurveyId>,
    by_recipient: HashMap<(TenantId, ChannelId, RecipientId), SurveyId>,
    due: BTreeSet<(Timestamp, TenantId, SurveyId)>,
    due_at: HashMap<Key, Timestamp>,
}

impl Inner {
    fn schedule(&mut self, survey: &Survey) {
        let key = (survey.invitation.tenant.clone(), survey.id.clone());
        if let Some(old) = self.due_at.remove(&key) {
            self.due.remove(&(old, key.0.clone(), key.1.clone()));
        }
        if let Some(due) = survey.next_due() {
            self.due.insert((due, key.0.clone(), key.1.clone()));
            self.due_at.insert(key, due);
        }
    }
}

/// Keeps surveys in memory. The lock is never held across an await.
#[derive(Default)]
pub struct MemoryStore {
    inner: Mutex<Inner>,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding the lock can't leave a half-written record: every write below
        // is a few infallible inserts. So a poisoned lock is still safe to use.
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[async_trait]
impl SurveyStore for MemoryStore {
    async fn create(&self, survey: &Survey, expected_previous: Option<&SurveyId>) -> Result<(), StoreError> {
        let mut inner = self.lock();
        let key = (survey.invitation.tenant.clone(), survey.id.clone());
        if inner.surveys.contains_key(&key) {
            return Err(StoreError::AlreadyExists(survey.id.clone()));
        }
        let conversation = (survey.invitation.tenant.clone(), survey.invitation.conversation.clone());
        if inner.by_conversation.get(&conversation) != expected_previous {
            return Err(StoreError::ConversationChanged(survey.invitation.conversation.clone()));
        }
        inner.by_conversation.insert(conversation, survey.id.clone());
        let recipient =
            (survey.invitation.tenant.clone(), survey.invitation.channel.clone(), survey.invitation.recipient.clone());
        inner.by_recipient.insert(recipient, survey.id.clone());
        inner.schedule(survey);
        inner.surveys.insert(key, survey.clone());
        Ok(())
    }

    async fn get(&self, tenant: &TenantId, id: &SurveyId) -> Result<Option<Survey>, StoreError> {
        Ok(self.lock().surveys.get(&(tenant.clone(), id.clone())).cloned())
    }

    async fn save(&self, survey: &Survey) -> Result<(), StoreError> {
        let mut inner = self.lock();
        let key = (survey.invitation.tenant.clone(), survey.id.clone());
        match inner.surveys.get(&key) {
            Some(stored) if stored.revision + 1 == survey.revision => {}
            _ => return Err(StoreError::Conflict(survey.id.clone())),
        }
        inner.schedule(survey);
        inner.surveys.insert(key, survey.clone());
        Ok(())
    }

    async fn latest_for_conversation(
        &self,
        tenant: &TenantId,
        conversation: &ConversationId,
    ) -> Result<Option<Survey>, StoreError> {
        let inner = self.lock();
        let id = inner.by_conversation.get(&(tenant.clone(), conversation.clone()));
        Ok(id.and_then(|id| inner.surveys.get(&(tenant.clone(), id.clone()))).cloned())
    }

    async fn latest_for_recipient(
        &self,
        tenant: &TenantId,
        channel: &ChannelId,
        recipient: &RecipientId,
    ) -> Result<Option<Survey>, StoreError> {
        let inner = self.lock();
        let id = inner.by_recipient.get(&(tenant.clone(), channel.clone(), recipient.clone()));
        Ok(id.and_then(|id| inner.surveys.get(&(tenant.clone(), id.clone()))).cloned())
    }

    async fn due(&self, now: Timestamp, limit: usize) -> Result<Vec<DueSurvey>, StoreError> {
        let inner = self.lock();
        Ok(inner
            .due
            .iter()
            .take_while(|(due, _, _)| *due <= now)
            .take(limit)
            .map(|(due, tenant, id)| DueSurvey { tenant: tenant.clone(), id: id.clone(), due: *due })
            .collect())
    }

    async fn forget_due(&self, tenant: &TenantId, id: &SurveyId) -> Result<(), StoreError> {
        let mut inner = self.lock();
        if let Some(due) = inner.due_at.remove(&(tenant.clone(), id.clone())) {
            inner.due.remove(&(due, tenant.clone(), id.clone()));
        }
        Ok(())
    }
}
