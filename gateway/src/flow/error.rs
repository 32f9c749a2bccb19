//! Why the workflow could not do what it was asked: each a case its callers can match. The HTTP
//! room maps these to status codes in one place (`http::error`); the workers log them.

use ratewire_core::conversation::ConversationError;
use ratewire_core::store::{ApplyError, StoreError};
use ratewire_core::{ConversationId, InviteRefusal, Refusal};

#[derive(Debug, thiserror::Error)]
pub enum FlowError {
    /// A record the request names does not exist (or is not the caller's).
    #[error("no {what} {id}")]
    NotFound { what: &'static str, id: String },
    /// The survey rules say no to a new survey.
    #[error(transparent)]
    InviteRefused(#[from] InviteRefusal),
    /// The survey rules say no to what happened to a survey.
    #[error(transparent)]
    Refused(#[from] Refusal),
    /// A conversation's events don't fit what it is.
    #[error(transparent)]
    Conversation(#[from] ConversationError),
    #[error("conversation {0} is already open")]
    ConversationOpen(ConversationId),
    /// A platform's redelivery of a message another request is still handling.
    #[error("this message is being handled; deliver it again shortly")]
    InProgress,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl FlowError {
    pub fn not_found(what: &'static str, id: impl ToString) -> Self {
        FlowError::NotFound { what, id: id.to_string() }
    }
}

impl From<ApplyError> for FlowError {
    fn from(error: ApplyError) -> Self {
        match error {
            ApplyError::NotFound(id) => FlowError::not_found("survey", id),
            ApplyError::Refused(refusal) => FlowError::Refused(refusal),
            ApplyError::Store(error) => FlowError::Store(error),
        }
    }
}
