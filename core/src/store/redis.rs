//! The production store, on Redis. (Being written.)

use async_trait::async_trait;
use jiff::Timestamp;

use super::{DueSurvey, StoreError, SurveyStore};
use crate::ids::{ChannelId, ConversationId, RecipientId, SurveyId, TenantId};
use crate::survey::Survey;

#[derive(Debug, Clone)]
pub struct RedisStoreOptions {}

pub struct RedisStore {}

#[async_trait]
impl SurveyStore for RedisStore {
    async fn create(&self, _survey: &Survey, _expected_previous: Option<&SurveyId>) -> Result<(), StoreError> {
        todo!()
    }
    async fn get(&self, _tenant: &TenantId, _id: &SurveyId) -> Result<Option<Survey>, StoreError> {
        todo!()
    }
    async fn save(&self, _survey: &Survey) -> Result<(), StoreError> {
        todo!()
    }
    async fn latest_for_conversation(&self, _t: &TenantId, _c: &ConversationId) -> Result<Option<Survey>, StoreError> {
        todo!()
    }
    async fn latest_for_recipient(&self, _t: &TenantId, _c: &ChannelId, _r: &RecipientId) -> Result<Option<Survey>, StoreError> {
        todo!()
    }
    async fn due(&self, _now: Timestamp, _limit: usize) -> Result<Vec<DueSurvey>, StoreError> {
        todo!()
    }
    async fn forget_due(&self, _tenant: &TenantId, _id: &SurveyId) -> Result<(), StoreError> {
        todo!()
    }
}
