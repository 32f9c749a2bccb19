//! The survey domain of ratewire: what a business configures, the scales it asks on, the
//! lifecycle of one survey, reading an end user's reply, and where surveys are kept.
//!
//! Everything but the stores is synchronous and pure: time is passed in, nothing is read from
//! the clock or the network.

pub mod catalog;
pub mod config;
pub mod conversation;
pub mod counts;
pub mod ids;
pub mod locale;
pub mod questionnaire;
pub mod reply;
pub mod report;
pub mod scale;
pub mod store;
pub mod survey;

pub use catalog::{Catalog, Message};
pub use config::{FieldError, InvitationMethod, LocalizedContent, RepeatPolicy, SurveyConfig, Texts};
pub use conversation::{
    Author, AutoInviteRules, Conversation, ConversationError, ConversationEvent, ConversationStatus, Ineligible,
    MessageCounts, Opener, check_auto_invite,
};
pub use ids::{AgentId, ChannelId, ConversationId, InvalidId, RecipientId, SurveyId, TenantId};
pub use locale::{Locale, LocaleError};
pub use questionnaire::{QuestionId, Questionnaire};
pub use reply::{Labels, NoRating, Understanding, understand};
pub use report::{Report, ReportQuery};
pub use scale::{OutOfScale, Scale, ScaleError, Score};
pub use survey::{
    Effect, Event, FailureReason, Invitation, InviteRefusal, LockCause, Notice, Origin, RatingEntry, Refusal, Reply,
    StateName, Survey, SurveyRules, SurveyState, Transition, check_invitation, replies_to_message,
};
