//! The survey lifecycle as a pure state machine: `(survey, event, now) → (survey, effects)`.
//!
//! ```text
//! Pending ──rate──▶ Rated ──comment / change window ends / another conversation opens──▶ Locked
//!    │                 └──rate again inside the window──▶ Rated (score replaced, kept in history)
//!    ├──deadline──▶ Expired
//!    ├──send failed──▶ Failed
//!    └──cancel──▶ Cancelled
//! ```
//!
//! Nothing here reads a clock or does I/O: the caller passes `now`, stores the new survey and
//! carries out the effects (messages to the end user, events for the business).

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::config::{InvitationMethod, RepeatPolicy, SurveyConfig};
use crate::ids::{AgentId, ChannelId, ConversationId, RecipientId, SurveyId, TenantId};
use crate::locale::Locale;
use crate::reply::Understanding;
use crate::scale::{Scale, Score};

/// The longest comment kept; longer ones are cut at a character boundary.
pub const MAX_COMMENT_CHARS: usize = 4000;
/// However short the change window, a comment is accepted this long after the rating.
pub const MIN_COMMENT_WINDOW: SignedDuration = SignedDuration::from_hours(24);

/// What started a survey.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    /// The conversation closed.
    Auto,
    /// An agent asked for it.
    Agent,
    /// The end user rated on their own inside the conversation.
    User,
}

/// The rules a survey keeps from its configuration at the moment it was created, so editing
/// the configuration later never changes a survey already under way.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SurveyRules {
    pub scale: Scale,
    pub change_window_hours: u32,
    pub follow_up_comment: bool,
    /// Reason ids offered after a negative rating.
    pub low_rating_reasons: Vec<String>,
    /// Hours after the invitation at which one reminder goes out if no rating came.
    #[serde(default)]
    pub reminder_after_hours: Option<u32>,
}

impl SurveyRules {
    pub fn from_config(config: &SurveyConfig) -> Self {
        Self {
            scale: config.scale,
            change_window_hours: config.change_window_hours,
            follow_up_comment: config.follow_up_comment,
            low_rating_reasons: config.low_rating_reasons.clone(),
            reminder_after_hours: config.reminder_after_hours,
        }
    }
}

/// Why a survey could not be delivered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FailureReason {
    /// A stable machine-readable code, e.g. `outside_window`, `user_blocked`.
    pub code: String,
    pub detail: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LockCause {
    Comment,
    ChangeWindowClosed,
    /// Another conversation opened for the recipient on the survey's channel: what they write
    /// from then on belongs to it, not to this survey.
    AnotherConversation,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum SurveyState {
    Pending {
        deadline: Timestamp,
        /// Whether the end user already got the hint for an unreadable reply.
        hinted: bool,
        reminded: bool,
    },
    Rated {
        score: Score,
        reason: Option<String>,
        changeable_until: Timestamp,
        comment_until: Timestamp,
    },
    Locked {
        score: Score,
        reason: Option<String>,
        comment: Option<String>,
        cause: LockCause,
        comment_until: Timestamp,
    },
    Expired {
        at: Timestamp,
    },
    Failed {
        reason: FailureReason,
        at: Timestamp,
    },
    Cancelled {
        at: Timestamp,
    },
}

/// The state's name, for filters and reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum StateName {
    Pending,
    Rated,
    Locked,
    Expired,
    Failed,
    Cancelled,
}

impl SurveyState {
    pub fn name(&self) -> StateName {
        match self {
            SurveyState::Pending { .. } => StateName::Pending,
            SurveyState::Rated { .. } => StateName::Rated,
            SurveyState::Locked { .. } => StateName::Locked,
            SurveyState::Expired { .. } => StateName::Expired,
            SurveyState::Failed { .. } => StateName::Failed,
            SurveyState::Cancelled { .. } => StateName::Cancelled,
        }
    }
}

/// One score the end user gave; the survey keeps them all, the last is the one that counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RatingEntry {
    pub score: Score,
    pub at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Survey {
    pub id: SurveyId,
    /// Who was asked, where, and about what.
    #[serde(flatten)]
    pub invitation: Invitation,
    pub rules: SurveyRules,
    pub created_at: Timestamp,
    /// When the channel accepted the invitation.
    pub sent_at: Option<Timestamp>,
    /// How the channel sent it, where it has several ways (see [`Event::Sent`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub route: Option<String>,
    pub state: SurveyState,
    pub ratings: Vec<RatingEntry>,
    /// Bumped by every transition; stores use it to refuse a write based on a stale read.
    pub revision: u64,
}

/// What a caller asks for when creating a survey.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invitation {
    pub tenant: TenantId,
    pub conversation: ConversationId,
    /// Which resolution of the conversation the survey is about (1 for the first close).
    pub resolution: u32,
    pub channel: ChannelId,
    pub recipient: RecipientId,
    pub agent: Option<AgentId>,
    pub locale: Locale,
    pub origin: Origin,
}

/// Why no survey was created.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum InviteRefusal {
    #[error("surveys are disabled in this configuration")]
    Disabled,
    #[error("the configuration's invitation method ({method:?}) does not allow {origin:?} invitations")]
    MethodNotAllowed { method: InvitationMethod, origin: Origin },
    #[error("the configuration does not let end users rate on their own")]
    UserRatingNotAllowed,
    #[error("survey {0} is still pending for this conversation")]
    AlreadyPending(SurveyId),
    #[error("survey {0} was already sent for this conversation")]
    AlreadyInvited(SurveyId),
    /// The end user asked for no more invitations at this address (email's unsubscribe link).
    #[error("the recipient unsubscribed from rating requests at this address")]
    Unsubscribed,
}

impl InviteRefusal {
    /// A stable machine-readable name for the rule that said no, as the API reports it.
    pub fn code(&self) -> &'static str {
        match self {
            InviteRefusal::Disabled => "surveys_disabled",
            InviteRefusal::MethodNotAllowed { .. } => "method_not_allowed",
            InviteRefusal::UserRatingNotAllowed => "user_rating_not_allowed",
            InviteRefusal::AlreadyPending(_) => "survey_pending",
            InviteRefusal::AlreadyInvited(_) => "already_invited",
            InviteRefusal::Unsubscribed => "unsubscribed",
        }
    }
}

/// Something that happens to a survey.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The channel accepted the invitation, by `route` where the channel has several (a
    /// messaging window's free-form message, a template, a message tag).
    Sent {
        route: Option<String>,
    },
    /// The end user chose a score.
    Rate(Score),
    /// The end user chose a reason after a negative rating.
    ChooseReason(String),
    Comment(String),
    /// A reply to the pending survey that could not be read as a rating.
    Unreadable,
    /// A reminder went out.
    Remind,
    /// The invitation could not be delivered.
    Fail(FailureReason),
    Cancel,
    /// The deadline passed with no rating (the sweeper's event).
    Expire,
    /// The change window ended (the sweeper's event).
    CloseChangeWindow,
    /// A conversation opened `at` for the survey's recipient on the survey's channel (the
    /// helpdesk reported it, or a widget page names it). Another conversation than the survey's
    /// own ends the rating's changes and the wait for a comment: what comes next is about it.
    ConversationOpened {
        conversation: ConversationId,
        at: Timestamp,
    },
}

/// Events the business is told about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Notice {
    #[serde(rename = "survey.sent")]
    Sent,
    #[serde(rename = "survey.failed")]
    Failed,
    #[serde(rename = "survey.rated")]
    Rated,
    #[serde(rename = "survey.changed")]
    Changed,
    #[serde(rename = "survey.commented")]
    Commented,
    #[serde(rename = "survey.expired")]
    Expired,
    /// A pre-chat was answered to its end.
    #[serde(rename = "prechat.completed")]
    PrechatCompleted,
    /// A pre-chat ended before its end: consent refused, or a required question never answered.
    #[serde(rename = "prechat.ended")]
    PrechatEnded,
    /// A pre-chat's end user stopped answering.
    #[serde(rename = "prechat.abandoned")]
    PrechatAbandoned,
}

/// Messages the end user is sent; the channel renders each from the survey's texts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reply {
    ThankYou,
    AskReason,
    AskComment,
    CommentThanks,
    UnreadableHint,
    ExpiryNotice,
    RatingLocked,
    Reminder,
}

/// What the caller must do after a transition, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    Notify(Notice),
    Reply(Reply),
}

/// Why an event does not apply to a survey in its current state.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Refusal {
    #[error("the survey's deadline has passed")]
    DeadlinePassed,
    #[error("the survey is not due to expire yet")]
    NotDue,
    #[error("the rating can no longer be changed: its change window has closed")]
    ChangeWindowClosed,
    #[error("the rating can no longer be changed: a comment was left")]
    LockedByComment,
    #[error("the rating can no longer be changed: another conversation has opened since")]
    LockedByAnotherConversation,
    #[error("a comment was already left")]
    AlreadyCommented,
    #[error("the time for a comment has passed")]
    CommentWindowClosed,
    #[error("the comment is empty")]
    EmptyComment,
    #[error("{0:?} is not one of the offered reasons")]
    UnknownReason(String),
    #[error("no reason is asked for this rating")]
    NoReasonAsked,
    #[error("{0} is outside the survey's scale")]
    OutOfScale(Score),
    #[error("the event does not apply to a {0:?} survey")]
    WrongState(StateName),
}

impl Refusal {
    /// What to tell an end user whose reply was refused for this reason, if anything.
    pub fn reply(&self) -> Option<Reply> {
        match self {
            Refusal::DeadlinePassed | Refusal::WrongState(StateName::Expired) => Some(Reply::ExpiryNotice),
            Refusal::ChangeWindowClosed | Refusal::LockedByComment | Refusal::LockedByAnotherConversation => {
                Some(Reply::RatingLocked)
            }
            _ => None,
        }
    }
}

/// The outcome of an accepted event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    pub survey: Survey,
    pub effects: Vec<Effect>,
    /// False when the event was accepted but changed nothing (the same score tapped twice, an
    /// unreadable reply after the hint was given): the caller need not write.
    pub changed: bool,
}

/// What the end user is told after one message of theirs, which may carry several events (a typed
/// "4 - quick and helpful" is a rating, then a comment): only what the message's last step calls
/// for. The replies of the earlier steps would ask for what the same message already gave ("Would
/// you like to tell us more?"), so they are dropped; the business still hears of every transition.
/// A refusal that stopped the message is its last step when it has something to say.
pub fn replies_to_message(transitions: &[Transition], stopped_by: Option<&Refusal>) -> Vec<Reply> {
    if let Some(reply) = stopped_by.and_then(Refusal::reply) {
        return vec![reply];
    }
    let Some(last) = transitions.last() else { return Vec::new() };
    last.effects
        .iter()
        .filter_map(|effect| match effect {
            Effect::Reply(reply) => Some(*reply),
            Effect::Notify(_) => None,
        })
        .collect()
}

/// Checks whether a new survey may be created, given the latest survey of the same conversation.
pub fn check_invitation(
    config: &SurveyConfig,
    origin: Origin,
    resolution: u32,
    previous: Option<&Survey>,
    now: Timestamp,
) -> Result<(), InviteRefusal> {
    if !config.enabled {
        return Err(InviteRefusal::Disabled);
    }
    let method = config.invitation_method;
    match (origin, method) {
        (Origin::User, _) if !config.user_initiated => return Err(InviteRefusal::UserRatingNotAllowed),
        (Origin::Auto, InvitationMethod::Agent) | (Origin::Agent, InvitationMethod::Auto) => {
            return Err(InviteRefusal::MethodNotAllowed { method, origin });
        }
        _ => {}
    }
    let Some(previous) = previous else { return Ok(()) };
    if let SurveyState::Pending { deadline, .. } = previous.state
        && now < deadline
    {
        return Err(InviteRefusal::AlreadyPending(previous.id.clone()));
    }
    // A survey that never reached the end user doesn't count as an invitation.
    if matches!(previous.state, SurveyState::Failed { .. } | SurveyState::Cancelled { .. }) {
        return Ok(());
    }
    let same_resolution = previous.invitation.resolution >= resolution;
    if config.repeat == RepeatPolicy::OncePerConversation || same_resolution {
        return Err(InviteRefusal::AlreadyInvited(previous.id.clone()));
    }
    Ok(())
}

impl Event {
    /// The invitation was sent, by the channel's only route.
    pub const SENT: Event = Event::Sent { route: None };
}

impl Survey {
    /// A new pending survey. Call [`check_invitation`] first.
    pub fn new(id: SurveyId, invitation: Invitation, config: &SurveyConfig, now: Timestamp) -> Survey {
        let deadline = now + SignedDuration::from_hours(i64::from(config.validity_hours));
        Survey {
            id,
            invitation,
            rules: SurveyRules::from_config(config),
            created_at: now,
            sent_at: None,
            route: None,
            state: SurveyState::Pending { deadline, hinted: false, reminded: false },
            ratings: Vec::new(),
            revision: 0,
        }
    }

    /// The score that counts, if the survey was rated.
    pub fn score(&self) -> Option<Score> {
        match self.state {
            SurveyState::Rated { score, .. } | SurveyState::Locked { score, .. } => Some(score),
            _ => None,
        }
    }

    pub fn comment(&self) -> Option<&str> {
        match &self.state {
            SurveyState::Locked { comment, .. } => comment.as_deref(),
            _ => None,
        }
    }

    /// When the sweeper should next look at the survey: the reminder time, then the deadline
    /// while pending; the end of the change window while rated; nothing after that.
    pub fn next_due(&self) -> Option<Timestamp> {
        match self.state {
            SurveyState::Pending { deadline, reminded, .. } => {
                Some(self.reminder_at().filter(|at| !reminded && *at < deadline).unwrap_or(deadline))
            }
            SurveyState::Rated { changeable_until, .. } => Some(changeable_until),
            _ => None,
        }
    }

    /// When the reminder is due, if the configuration asked for one.
    fn reminder_at(&self) -> Option<Timestamp> {
        let hours = self.rules.reminder_after_hours?;
        Some(self.created_at + SignedDuration::from_hours(i64::from(hours)))
    }

    /// The event the sweeper applies at `now`, once [`Survey::next_due`] has passed: the
    /// reminder or expiry while pending, the end of the change window while rated.
    pub fn due_event(&self, now: Timestamp) -> Option<Event> {
        match self.state {
            SurveyState::Pending { deadline, .. } if now >= deadline => Some(Event::Expire),
            SurveyState::Pending { reminded: false, .. } if self.reminder_at().is_some_and(|at| now >= at) => {
                Some(Event::Remind)
            }
            SurveyState::Pending { .. } => Some(Event::Expire),
            SurveyState::Rated { .. } => Some(Event::CloseChangeWindow),
            _ => None,
        }
    }

    /// Whether the next free-text message from the end user is to be taken as the comment.
    pub fn awaits_comment(&self, now: Timestamp) -> bool {
        self.rules.follow_up_comment
            && match self.state {
                SurveyState::Rated { comment_until, .. } => now < comment_until,
                SurveyState::Locked { comment: None, comment_until, .. } => now < comment_until,
                _ => false,
            }
    }

    /// Whether a reason for the (negative) rating is waited for: one is offered and none chosen.
    pub fn awaits_reason(&self, now: Timestamp) -> bool {
        match &self.state {
            SurveyState::Rated { score, reason: None, comment_until, .. }
            | SurveyState::Locked { score, reason: None, comment_until, .. } => {
                self.asks_reason(*score) && now < *comment_until
            }
            _ => false,
        }
    }

    /// Whether a score given at `now` would count: pending before its deadline, or rated inside
    /// the change window.
    pub fn takes_rating(&self, now: Timestamp) -> bool {
        match self.state {
            SurveyState::Pending { deadline, .. } => now < deadline,
            SurveyState::Rated { changeable_until, .. } => now < changeable_until,
            _ => false,
        }
    }

    /// The reason chosen for the rating, if any.
    pub fn reason(&self) -> Option<&str> {
        match &self.state {
            SurveyState::Rated { reason, .. } | SurveyState::Locked { reason, .. } => reason.as_deref(),
            _ => None,
        }
    }

    /// What a message the end user typed means for this survey — the one they are answering on
    /// its channel — given the reply reader's `reading` of it on the survey's scale: the events
    /// it carries, in order, or `None` when it is not about the survey (a message for the
    /// helpdesk).
    ///
    /// A reply that is only a rating ("4", "⭐⭐⭐⭐", "4/5") is a score while the survey takes one
    /// or waits for a comment: a first rating, a change inside the change window, or a change
    /// that [`Survey::apply`] refuses once the window has closed, so the end user hears that the
    /// rating is final. Anything else said while a comment is awaited is the comment, whole. A
    /// pending survey takes a rating with its comment ("4 - quick"), and hints once at anything
    /// else.
    pub fn events_for_text(&self, text: &str, reading: Understanding, now: Timestamp) -> Option<Vec<Event>> {
        let awaits_comment = self.awaits_comment(now);
        match (&self.state, reading) {
            (SurveyState::Pending { .. } | SurveyState::Expired { .. }, Understanding::Rating { score, comment }) => {
                Some(std::iter::once(Event::Rate(score)).chain(comment.map(Event::Comment)).collect())
            }
            (SurveyState::Pending { .. }, Understanding::NoRating(_)) => Some(vec![Event::Unreadable]),
            (_, Understanding::Rating { score, comment: None }) if awaits_comment || self.takes_rating(now) => {
                Some(vec![Event::Rate(score)])
            }
            _ if awaits_comment => Some(vec![Event::Comment(text.to_owned())]),
            // Rated and not waiting for a comment, or done: not about the survey.
            _ => None,
        }
    }

    /// Applies an event at time `now`.
    pub fn apply(&self, event: Event, now: Timestamp) -> Result<Transition, Refusal> {
        let mut effects = Vec::new();
        let new_score = match event {
            Event::Rate(score) => Some(score),
            _ => None,
        };
        let state = match (&self.state, event) {
            (_, Event::Sent { route }) => {
                if self.sent_at.is_some() {
                    // The platform's report of the send (a status, an echo) can come before the
                    // sender records it: the route it took is filled in then, once, quietly.
                    if self.route.is_none() && route.is_some() {
                        let mut next = self.changed_to(self.state.clone(), Vec::new());
                        next.survey.route = route;
                        return Ok(next);
                    }
                    return Ok(self.unchanged());
                }
                if let SurveyState::Failed { .. } | SurveyState::Cancelled { .. } = self.state {
                    return Err(Refusal::WrongState(self.state.name()));
                }
                let mut next = self.changed_to(self.state.clone(), vec![Effect::Notify(Notice::Sent)]);
                next.survey.sent_at = Some(now);
                next.survey.route = route;
                return Ok(next);
            }
            (_, Event::Rate(score)) if !self.rules.scale.contains(score.value().into()) => {
                return Err(Refusal::OutOfScale(score));
            }
            (SurveyState::Pending { deadline, .. }, Event::Rate(score)) => {
                if now >= *deadline {
                    return Err(Refusal::DeadlinePassed);
                }
                effects.push(Effect::Notify(Notice::Rated));
                effects.push(Effect::Reply(Reply::ThankYou));
                effects.extend(self.follow_up(score));
                self.first_rating(score, now)
            }
            (SurveyState::Rated { score: old, changeable_until, comment_until, reason }, Event::Rate(score)) => {
                if *old == score {
                    return Ok(self.unchanged());
                }
                if now >= *changeable_until {
                    return Err(Refusal::ChangeWindowClosed);
                }
                effects.push(Effect::Notify(Notice::Changed));
                effects.push(Effect::Reply(Reply::ThankYou));
                // A reason explains a negative rating; it goes with the rating it explained.
                let reason = reason.clone().filter(|_| self.rules.scale.is_negative(score));
                if reason.is_none() && self.asks_reason(score) {
                    effects.push(Effect::Reply(Reply::AskReason));
                }
                SurveyState::Rated { score, reason, changeable_until: *changeable_until, comment_until: *comment_until }
            }
            (SurveyState::Locked { score: old, .. }, Event::Rate(score)) if *old == score => {
                return Ok(self.unchanged());
            }
            (SurveyState::Locked { cause, .. }, Event::Rate(_)) => {
                return Err(match cause {
                    LockCause::Comment => Refusal::LockedByComment,
                    LockCause::ChangeWindowClosed => Refusal::ChangeWindowClosed,
                    LockCause::AnotherConversation => Refusal::LockedByAnotherConversation,
                });
            }
            (
                SurveyState::Rated { score, reason, comment_until, .. }
                | SurveyState::Locked { score, reason, comment_until, .. },
                Event::ChooseReason(choice),
            ) => {
                if reason.is_some() || !self.asks_reason(*score) {
                    return Err(Refusal::NoReasonAsked);
                }
                if now >= *comment_until {
                    return Err(Refusal::CommentWindowClosed);
                }
                if !self.rules.low_rating_reasons.contains(&choice) {
                    return Err(Refusal::UnknownReason(choice));
                }
                effects.push(Effect::Notify(Notice::Changed));
                if self.rules.follow_up_comment && self.comment().is_none() {
                    effects.push(Effect::Reply(Reply::AskComment));
                }
                let mut state = self.state.clone();
                if let SurveyState::Rated { reason, .. } | SurveyState::Locked { reason, .. } = &mut state {
                    *reason = Some(choice);
                }
                state
            }
            (
                SurveyState::Rated { score, reason, comment_until, .. }
                | SurveyState::Locked { score, reason, comment_until, comment: None, .. },
                Event::Comment(text),
            ) => {
                if now >= *comment_until {
                    return Err(Refusal::CommentWindowClosed);
                }
                let text = text.trim();
                if text.is_empty() {
                    return Err(Refusal::EmptyComment);
                }
                effects.push(Effect::Notify(Notice::Commented));
                effects.push(Effect::Reply(Reply::CommentThanks));
                let cause = match self.state {
                    SurveyState::Locked { cause, .. } => cause,
                    _ => LockCause::Comment,
                };
                SurveyState::Locked {
                    score: *score,
                    reason: reason.clone(),
                    comment: Some(text.chars().take(MAX_COMMENT_CHARS).collect()),
                    cause,
                    comment_until: *comment_until,
                }
            }
            (SurveyState::Locked { .. }, Event::Comment(_)) => return Err(Refusal::AlreadyCommented),
            (SurveyState::Pending { deadline, hinted, reminded }, event @ (Event::Unreadable | Event::Remind)) => {
                if now >= *deadline {
                    return Err(Refusal::DeadlinePassed);
                }
                let (hinted, reminded, reply) = match event {
                    Event::Unreadable if !hinted => (true, *reminded, Reply::UnreadableHint),
                    Event::Remind if !reminded => (*hinted, true, Reply::Reminder),
                    // The hint is given once, the reminder sent once; after that, nothing.
                    _ => return Ok(self.unchanged()),
                };
                effects.push(Effect::Reply(reply));
                SurveyState::Pending { deadline: *deadline, hinted, reminded }
            }
            (SurveyState::Pending { .. }, Event::Fail(reason)) => {
                effects.push(Effect::Notify(Notice::Failed));
                SurveyState::Failed { reason, at: now }
            }
            (SurveyState::Pending { .. }, Event::Cancel) => SurveyState::Cancelled { at: now },
            (SurveyState::Pending { deadline, .. }, Event::Expire) => {
                if now < *deadline {
                    return Err(Refusal::NotDue);
                }
                effects.push(Effect::Notify(Notice::Expired));
                SurveyState::Expired { at: *deadline }
            }
            (SurveyState::Rated { score, reason, changeable_until, comment_until }, Event::CloseChangeWindow) => {
                if now < *changeable_until {
                    return Err(Refusal::NotDue);
                }
                SurveyState::Locked {
                    score: *score,
                    reason: reason.clone(),
                    comment: None,
                    cause: LockCause::ChangeWindowClosed,
                    comment_until: *comment_until,
                }
            }
            (_, Event::ConversationOpened { conversation, at }) => {
                // The survey's own conversation, or one older than the survey: what the end user
                // writes still follows from the survey.
                if conversation == self.invitation.conversation || at < self.created_at {
                    return Ok(self.unchanged());
                }
                match &self.state {
                    SurveyState::Rated { score, reason, comment_until, .. } => SurveyState::Locked {
                        score: *score,
                        reason: reason.clone(),
                        comment: None,
                        cause: LockCause::AnotherConversation,
                        comment_until: now.min(*comment_until),
                    },
                    SurveyState::Locked { score, reason, comment: None, cause, comment_until }
                        if now < *comment_until =>
                    {
                        SurveyState::Locked {
                            score: *score,
                            reason: reason.clone(),
                            comment: None,
                            cause: *cause,
                            comment_until: now,
                        }
                    }
                    // A survey waiting for its rating keeps waiting: its invitation still counts
                    // until its deadline. A survey that is done has nothing to end.
                    _ => return Ok(self.unchanged()),
                }
            }
            // Repeats of what already happened (a platform reporting a failure twice, the
            // sweeper running twice) are accepted and change nothing.
            (SurveyState::Failed { .. }, Event::Fail(_))
            | (SurveyState::Cancelled { .. }, Event::Cancel)
            | (SurveyState::Expired { .. }, Event::Expire)
            | (SurveyState::Locked { .. }, Event::CloseChangeWindow) => return Ok(self.unchanged()),
            (state, _) => return Err(Refusal::WrongState(state.name())),
        };
        let mut transition = self.changed_to(state, effects);
        if let Some(score) = new_score {
            transition.survey.ratings.push(RatingEntry { score, at: now });
        }
        Ok(transition)
    }

    fn first_rating(&self, score: Score, now: Timestamp) -> SurveyState {
        let window = SignedDuration::from_hours(i64::from(self.rules.change_window_hours));
        let comment_until = now + window.max(MIN_COMMENT_WINDOW);
        if window.is_zero() {
            return SurveyState::Locked {
                score,
                reason: None,
                comment: None,
                cause: LockCause::ChangeWindowClosed,
                comment_until,
            };
        }
        SurveyState::Rated { score, reason: None, changeable_until: now + window, comment_until }
    }

    fn asks_reason(&self, score: Score) -> bool {
        !self.rules.low_rating_reasons.is_empty() && self.rules.scale.is_negative(score)
    }

    /// After a first rating: the reason choices for a negative one, else the comment prompt.
    fn follow_up(&self, score: Score) -> Option<Effect> {
        if self.asks_reason(score) {
            Some(Effect::Reply(Reply::AskReason))
        } else {
            self.rules.follow_up_comment.then_some(Effect::Reply(Reply::AskComment))
        }
    }

    fn unchanged(&self) -> Transition {
        Transition { survey: self.clone(), effects: Vec::new(), changed: false }
    }

    fn changed_to(&self, state: SurveyState, effects: Vec<Effect>) -> Transition {
        let mut survey = self.clone();
        survey.state = state;
        survey.revision += 1;
        Transition { survey, effects, changed: true }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(hours: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000).unwrap() + SignedDuration::from_hours(hours)
    }

    fn config() -> SurveyConfig {
        SurveyConfig { validity_hours: 48, change_window_hours: 24, ..SurveyConfig::default() }
    }

    fn invitation(origin: Origin) -> Invitation {
        Invitation {
            tenant: TenantId::new("acme").unwrap(),
            conversation: ConversationId::new("conv-1").unwrap(),
            resolution: 1,
            channel: ChannelId::new("wa").unwrap(),
            recipient: RecipientId::new("15550001").unwrap(),
            agent: Some(AgentId::new("ana").unwrap()),
            locale: Locale::En,
            origin,
        }
    }

    fn pending(config: &SurveyConfig) -> Survey {
        Survey::new(SurveyId::new("s1").unwrap(), invitation(Origin::Auto), config, at(0))
    }

    fn score(n: u32) -> Score {
        Scale::FIVE_STARS.score(n).unwrap()
    }

    fn rated(config: &SurveyConfig, n: u32) -> Survey {
        pending(config).apply(Event::Rate(score(n)), at(1)).unwrap().survey
    }

    fn effects(t: &Transition) -> &[Effect] {
        &t.effects
    }

    use Effect::{Notify, Reply as Say};

    #[test]
    fn a_new_survey_is_pending_until_its_deadline() {
        let survey = pending(&config());
        assert_eq!(survey.state, SurveyState::Pending { deadline: at(48), hinted: false, reminded: false });
        assert_eq!(survey.next_due(), Some(at(48)));
        assert_eq!(survey.revision, 0);
    }

    #[test]
    fn sent_is_recorded_once() {
        let survey = pending(&config());
        let sent = survey.apply(Event::SENT, at(0)).unwrap();
        assert_eq!(effects(&sent), [Notify(Notice::Sent)]);
        assert_eq!(sent.survey.sent_at, Some(at(0)));
        let again = sent.survey.apply(Event::SENT, at(1)).unwrap();
        assert!(!again.changed && again.effects.is_empty());
        // A late delivery report after the user already answered still counts as sent.
        let rated = rated(&config(), 5).apply(Event::SENT, at(2)).unwrap();
        assert_eq!(rated.survey.sent_at, Some(at(2)));
    }

    #[test]
    fn the_route_is_kept_when_the_platforms_report_comes_first() {
        let reported = pending(&config()).apply(Event::SENT, at(0)).unwrap().survey;
        let recorded = reported.apply(Event::Sent { route: Some("template".into()) }, at(1)).unwrap();
        assert!(recorded.changed && recorded.effects.is_empty(), "no second notice");
        assert_eq!((recorded.survey.sent_at, recorded.survey.route.as_deref()), (Some(at(0)), Some("template")));
        let again = recorded.survey.apply(Event::Sent { route: Some("free_form".into()) }, at(2)).unwrap();
        assert!(!again.changed, "the route is filled in once");
    }

    #[test]
    fn rating_thanks_and_asks_for_a_comment() {
        let t = pending(&config()).apply(Event::Rate(score(4)), at(1)).unwrap();
        assert_eq!(effects(&t), [Notify(Notice::Rated), Say(Reply::ThankYou), Say(Reply::AskComment)]);
        assert_eq!(
            t.survey.state,
            SurveyState::Rated { score: score(4), reason: None, changeable_until: at(25), comment_until: at(25) }
        );
        assert_eq!(t.survey.ratings, [RatingEntry { score: score(4), at: at(1) }]);
        assert_eq!(t.survey.revision, 1);
        assert!(t.survey.awaits_comment(at(2)));
    }

    #[test]
    fn a_message_with_a_rating_and_a_comment_gets_only_the_comment_thanks() {
        let rating = pending(&config()).apply(Event::Rate(score(4)), at(1)).unwrap();
        let comment = rating.survey.apply(Event::Comment("quick and helpful".into()), at(1)).unwrap();
        assert_eq!(replies_to_message(std::slice::from_ref(&rating), None), [Reply::ThankYou, Reply::AskComment]);
        assert_eq!(replies_to_message(&[rating.clone(), comment], None), [Reply::CommentThanks]);
        // A comment refused without a word to say leaves the rating's replies; one with something
        // to say is what the end user hears.
        let refused = Refusal::EmptyComment;
        assert_eq!(
            replies_to_message(std::slice::from_ref(&rating), Some(&refused)),
            [Reply::ThankYou, Reply::AskComment]
        );
        assert_eq!(replies_to_message(&[], Some(&Refusal::DeadlinePassed)), [Reply::ExpiryNotice]);
        assert_eq!(replies_to_message(&[], Some(&Refusal::AlreadyCommented)), []);
    }

    #[test]
    fn no_comment_prompt_when_comments_are_off() {
        let config = SurveyConfig { follow_up_comment: false, ..config() };
        let t = pending(&config).apply(Event::Rate(score(5)), at(1)).unwrap();
        assert_eq!(effects(&t), [Notify(Notice::Rated), Say(Reply::ThankYou)]);
        assert!(!t.survey.awaits_comment(at(2)));
    }

    #[test]
    fn a_negative_rating_asks_for_a_reason_first() {
        let config = SurveyConfig { low_rating_reasons: vec!["slow".into(), "rude".into()], ..config() };
        let t = pending(&config).apply(Event::Rate(score(1)), at(1)).unwrap();
        assert_eq!(effects(&t), [Notify(Notice::Rated), Say(Reply::ThankYou), Say(Reply::AskReason)]);
        let unknown = t.survey.apply(Event::ChooseReason("weather".into()), at(2));
        assert_eq!(unknown, Err(Refusal::UnknownReason("weather".into())));
        let chosen = t.survey.apply(Event::ChooseReason("slow".into()), at(2)).unwrap();
        assert_eq!(effects(&chosen), [Notify(Notice::Changed), Say(Reply::AskComment)]);
        assert!(matches!(&chosen.survey.state, SurveyState::Rated { reason: Some(r), .. } if r == "slow"));
        assert_eq!(chosen.survey.apply(Event::ChooseReason("rude".into()), at(3)), Err(Refusal::NoReasonAsked));
        // A positive rating is not asked for a reason.
        let happy = pending(&config).apply(Event::Rate(score(5)), at(1)).unwrap();
        assert_eq!(happy.survey.apply(Event::ChooseReason("slow".into()), at(2)), Err(Refusal::NoReasonAsked));
    }

    #[test]
    fn a_rating_after_the_deadline_is_refused_with_the_expiry_notice() {
        let refusal = pending(&config()).apply(Event::Rate(score(5)), at(48)).unwrap_err();
        assert_eq!(refusal, Refusal::DeadlinePassed);
        assert_eq!(refusal.reply(), Some(Reply::ExpiryNotice));
    }

    #[test]
    fn a_score_outside_the_scale_is_refused() {
        let nps_score = Scale::NPS.score(9).unwrap();
        assert_eq!(pending(&config()).apply(Event::Rate(nps_score), at(1)), Err(Refusal::OutOfScale(nps_score)));
    }

    #[test]
    fn a_change_inside_the_window_replaces_the_score_and_keeps_history() {
        let survey = rated(&config(), 2);
        let t = survey.apply(Event::Rate(score(4)), at(10)).unwrap();
        assert_eq!(effects(&t), [Notify(Notice::Changed), Say(Reply::ThankYou)]);
        assert_eq!(t.survey.score(), Some(score(4)));
        assert_eq!(
            t.survey.ratings,
            [RatingEntry { score: score(2), at: at(1) }, RatingEntry { score: score(4), at: at(10) }]
        );
        let same = t.survey.apply(Event::Rate(score(4)), at(11)).unwrap();
        assert!(!same.changed);
        assert_eq!(t.survey.apply(Event::Rate(score(5)), at(25)), Err(Refusal::ChangeWindowClosed));
    }

    #[test]
    fn a_zero_change_window_locks_at_once_but_still_takes_a_comment() {
        let config = SurveyConfig { change_window_hours: 0, ..config() };
        let survey = rated(&config, 3);
        assert!(matches!(survey.state, SurveyState::Locked { cause: LockCause::ChangeWindowClosed, .. }));
        assert_eq!(survey.next_due(), None);
        assert_eq!(survey.apply(Event::Rate(score(5)), at(1)), Err(Refusal::ChangeWindowClosed));
        assert_eq!(Refusal::ChangeWindowClosed.reply(), Some(Reply::RatingLocked));
        assert!(survey.awaits_comment(at(20)));
        let commented = survey.apply(Event::Comment("ok".into()), at(20)).unwrap();
        assert_eq!(commented.survey.comment(), Some("ok"));
        assert_eq!(survey.apply(Event::Comment("late".into()), at(26)), Err(Refusal::CommentWindowClosed));
    }

    #[test]
    fn what_a_survey_waits_for() {
        let config = SurveyConfig { low_rating_reasons: vec!["slow".into()], ..config() };
        let survey = pending(&config);
        assert!(survey.takes_rating(at(47)) && !survey.takes_rating(at(48)));
        assert!(!survey.awaits_reason(at(1)));
        let low = survey.apply(Event::Rate(score(1)), at(1)).unwrap().survey;
        assert!(low.awaits_reason(at(2)) && low.takes_rating(at(24)) && !low.takes_rating(at(25)));
        let explained = low.apply(Event::ChooseReason("slow".into()), at(2)).unwrap().survey;
        assert!(!explained.awaits_reason(at(3)));
        assert_eq!(explained.reason(), Some("slow"));
        assert!(!rated(&config, 5).awaits_reason(at(2)));
    }

    #[test]
    fn a_comment_locks_the_rating() {
        let survey = rated(&config(), 4);
        let t = survey.apply(Event::Comment("  Ana was quick  ".into()), at(2)).unwrap();
        assert_eq!(effects(&t), [Notify(Notice::Commented), Say(Reply::CommentThanks)]);
        assert_eq!(t.survey.comment(), Some("Ana was quick"));
        assert!(matches!(t.survey.state, SurveyState::Locked { cause: LockCause::Comment, .. }));
        assert!(!t.survey.awaits_comment(at(3)));
        assert_eq!(t.survey.apply(Event::Rate(score(5)), at(3)), Err(Refusal::LockedByComment));
        assert_eq!(t.survey.apply(Event::Comment("more".into()), at(3)), Err(Refusal::AlreadyCommented));
        assert_eq!(survey.apply(Event::Comment(" \n ".into()), at(2)), Err(Refusal::EmptyComment));
    }

    fn opened(conversation: &str, hours: i64) -> Event {
        Event::ConversationOpened { conversation: ConversationId::new(conversation).unwrap(), at: at(hours) }
    }

    #[test]
    fn another_conversation_ends_the_rating_and_the_wait_for_a_comment() {
        let survey = rated(&config(), 4);
        let t = survey.apply(opened("conv-2", 2), at(2)).unwrap();
        assert!(t.changed && t.effects.is_empty());
        assert_eq!(
            t.survey.state,
            SurveyState::Locked {
                score: score(4),
                reason: None,
                comment: None,
                cause: LockCause::AnotherConversation,
                comment_until: at(2),
            }
        );
        assert!(!t.survey.awaits_comment(at(2)) && !t.survey.takes_rating(at(2)));
        assert_eq!(t.survey.next_due(), None);
        let refusal = t.survey.apply(Event::Rate(score(5)), at(3)).unwrap_err();
        assert_eq!(refusal, Refusal::LockedByAnotherConversation);
        assert_eq!(refusal.reply(), Some(Reply::RatingLocked));
        assert_eq!(t.survey.apply(Event::Comment("hello".into()), at(3)), Err(Refusal::CommentWindowClosed));
        // Told again (the helpdesk retries, the visitor writes on): nothing more to end.
        assert!(!t.survey.apply(opened("conv-3", 3), at(3)).unwrap().changed);
    }

    #[test]
    fn the_surveys_own_conversation_or_an_older_one_changes_nothing() {
        let survey = rated(&config(), 4);
        assert!(!survey.apply(opened("conv-1", 2), at(2)).unwrap().changed);
        // Reported late: it opened before the survey was sent, so it isn't what came after it.
        assert!(!survey.apply(opened("conv-2", -1), at(2)).unwrap().changed);
        assert!(survey.awaits_comment(at(2)));
    }

    #[test]
    fn another_conversation_ends_only_what_is_still_open() {
        // Waiting for its rating: the invitation still counts until the deadline.
        let waiting = pending(&config());
        assert!(!waiting.apply(opened("conv-2", 1), at(1)).unwrap().changed);
        // Final at once, still waiting for a comment: the comment time ends, the cause stays.
        let final_at_once = rated(&SurveyConfig { change_window_hours: 0, ..config() }, 3);
        let t = final_at_once.apply(opened("conv-2", 2), at(2)).unwrap();
        assert!(matches!(
            t.survey.state,
            SurveyState::Locked { cause: LockCause::ChangeWindowClosed, comment: None, comment_until, .. }
                if comment_until == at(2)
        ));
        assert!(!t.survey.awaits_comment(at(2)));
        // Commented, or past the comment time: nothing left to end.
        let commented = rated(&config(), 4).apply(Event::Comment("ok".into()), at(2)).unwrap().survey;
        assert!(!commented.apply(opened("conv-2", 3), at(3)).unwrap().changed);
        assert!(!final_at_once.apply(opened("conv-2", 30), at(30)).unwrap().changed);
        let expired = pending(&config()).apply(Event::Expire, at(48)).unwrap().survey;
        assert!(!expired.apply(opened("conv-2", 49), at(49)).unwrap().changed);
    }

    /// What `text` typed at `hours` means for `survey`, read on five stars in English.
    fn typed(survey: &Survey, text: &str, hours: i64) -> Option<Vec<Event>> {
        let reading = crate::reply::understand(text, Scale::FIVE_STARS, Locale::En, &crate::reply::Labels::default());
        survey.events_for_text(text, reading, at(hours))
    }

    #[test]
    fn a_typed_rating_answers_a_pending_survey_with_its_comment() {
        let survey = pending(&config());
        assert_eq!(typed(&survey, "4 - quick", 1), Some(vec![Event::Rate(score(4)), Event::Comment("quick".into())]));
        assert_eq!(typed(&survey, "Hello, I need help", 1), Some(vec![Event::Unreadable]));
    }

    #[test]
    fn a_reply_that_is_only_a_rating_changes_the_score_and_words_are_the_comment() {
        let survey = rated(&config(), 5);
        assert_eq!(typed(&survey, "4", 2), Some(vec![Event::Rate(score(4))]));
        assert_eq!(typed(&survey, "⭐⭐⭐⭐", 2), Some(vec![Event::Rate(score(4))]));
        assert_eq!(typed(&survey, "4/5", 2), Some(vec![Event::Rate(score(4))]));
        let changed = survey.apply(Event::Rate(score(4)), at(2)).unwrap();
        assert_eq!(effects(&changed), [Notify(Notice::Changed), Say(Reply::ThankYou)]);
        // Words make it the comment, whole; so does what reads as no rating on this scale.
        for text in ["4 - quick", "Hello, I need help with my invoice", "6"] {
            assert_eq!(typed(&survey, text, 2), Some(vec![Event::Comment(text.into())]), "{text}");
        }
        // Comments off: a change of score still counts while the window is open; words are not
        // the survey's.
        let quiet = rated(&SurveyConfig { follow_up_comment: false, ..config() }, 5);
        assert_eq!(typed(&quiet, "4", 2), Some(vec![Event::Rate(score(4))]));
        assert_eq!(typed(&quiet, "thanks", 2), None);
        assert_eq!(typed(&quiet, "4", 25), None);
    }

    #[test]
    fn a_typed_change_after_the_window_is_refused_as_a_tap_is() {
        let final_at_once = rated(&SurveyConfig { change_window_hours: 0, ..config() }, 5);
        let events = typed(&final_at_once, "4", 2).unwrap();
        assert_eq!(events, [Event::Rate(score(4))]);
        let refusal = final_at_once.apply(events[0].clone(), at(2)).unwrap_err();
        assert_eq!(replies_to_message(&[], Some(&refusal)), [Reply::RatingLocked]);
        // The comment is still welcome.
        assert!(final_at_once.awaits_comment(at(2)));
        // Once commented, or in another conversation, a rating typed is no longer the survey's.
        let commented = final_at_once.apply(Event::Comment("ok".into()), at(2)).unwrap().survey;
        assert_eq!(typed(&commented, "4", 3), None);
        let moved_on = rated(&config(), 5).apply(opened("conv-2", 2), at(2)).unwrap().survey;
        assert_eq!(typed(&moved_on, "4", 3), None);
        assert_eq!(typed(&moved_on, "Hello, I need help with my invoice", 3), None);
    }

    #[test]
    fn long_comments_are_cut() {
        let t = rated(&config(), 4).apply(Event::Comment("é".repeat(MAX_COMMENT_CHARS + 10)), at(2)).unwrap();
        assert_eq!(t.survey.comment().unwrap().chars().count(), MAX_COMMENT_CHARS);
    }

    #[test]
    fn the_change_window_closes_when_due() {
        let survey = rated(&config(), 4);
        assert_eq!(survey.next_due(), Some(at(25)));
        assert_eq!(survey.apply(Event::CloseChangeWindow, at(24)), Err(Refusal::NotDue));
        let t = survey.apply(Event::CloseChangeWindow, at(25)).unwrap();
        assert!(t.effects.is_empty());
        assert!(matches!(
            t.survey.state,
            SurveyState::Locked { cause: LockCause::ChangeWindowClosed, comment: None, .. }
        ));
        assert!(!t.survey.apply(Event::CloseChangeWindow, at(26)).unwrap().changed);
    }

    #[test]
    fn an_unreadable_reply_gets_the_hint_once() {
        let survey = pending(&config());
        let first = survey.apply(Event::Unreadable, at(1)).unwrap();
        assert_eq!(effects(&first), [Say(Reply::UnreadableHint)]);
        let second = first.survey.apply(Event::Unreadable, at(2)).unwrap();
        assert!(!second.changed && second.effects.is_empty());
        assert_eq!(survey.apply(Event::Unreadable, at(49)), Err(Refusal::DeadlinePassed));
    }

    #[test]
    fn the_sweeper_reminds_once_then_expires() {
        let reminding = SurveyConfig { reminder_after_hours: Some(24), ..config() };
        let survey = pending(&reminding);
        assert_eq!(survey.next_due(), Some(at(24)));
        assert_eq!(survey.due_event(at(24)), Some(Event::Remind));
        let reminded = survey.apply(Event::Remind, at(24)).unwrap().survey;
        assert_eq!(reminded.next_due(), Some(at(48)));
        assert_eq!(reminded.due_event(at(48)), Some(Event::Expire));
        // Without a reminder, the deadline is all there is.
        assert_eq!(pending(&config()).next_due(), Some(at(48)));
        // A reminder that would come after the deadline never does.
        let late = pending(&SurveyConfig { reminder_after_hours: Some(60), ..config() });
        assert_eq!(late.next_due(), Some(at(48)));
    }

    #[test]
    fn one_reminder_before_the_deadline() {
        let survey = pending(&config());
        let first = survey.apply(Event::Remind, at(24)).unwrap();
        assert_eq!(effects(&first), [Say(Reply::Reminder)]);
        assert!(first.survey.apply(Event::Remind, at(25)).unwrap().effects.is_empty());
    }

    #[test]
    fn expiry_applies_only_when_due() {
        let survey = pending(&config());
        assert_eq!(survey.apply(Event::Expire, at(47)), Err(Refusal::NotDue));
        let t = survey.apply(Event::Expire, at(50)).unwrap();
        assert_eq!(effects(&t), [Notify(Notice::Expired)]);
        assert_eq!(t.survey.state, SurveyState::Expired { at: at(48) });
        assert_eq!(t.survey.next_due(), None);
        assert!(!t.survey.apply(Event::Expire, at(51)).unwrap().changed);
        let late = t.survey.apply(Event::Rate(score(5)), at(51)).unwrap_err();
        assert_eq!(late.reply(), Some(Reply::ExpiryNotice));
        assert_eq!(rated(&config(), 3).apply(Event::Expire, at(60)), Err(Refusal::WrongState(StateName::Rated)));
    }

    #[test]
    fn a_failed_delivery_fails_the_survey_with_its_reason() {
        let reason = FailureReason { code: "outside_window".into(), detail: "24 h passed".into() };
        let t = pending(&config()).apply(Event::Fail(reason.clone()), at(1)).unwrap();
        assert_eq!(effects(&t), [Notify(Notice::Failed)]);
        assert_eq!(t.survey.state, SurveyState::Failed { reason: reason.clone(), at: at(1) });
        assert!(!t.survey.apply(Event::Fail(reason.clone()), at(2)).unwrap().changed);
        assert_eq!(t.survey.apply(Event::Rate(score(5)), at(2)), Err(Refusal::WrongState(StateName::Failed)));
        assert_eq!(t.survey.apply(Event::SENT, at(2)), Err(Refusal::WrongState(StateName::Failed)));
        assert_eq!(rated(&config(), 5).apply(Event::Fail(reason), at(2)), Err(Refusal::WrongState(StateName::Rated)));
    }

    #[test]
    fn only_a_pending_survey_can_be_cancelled() {
        let t = pending(&config()).apply(Event::Cancel, at(1)).unwrap();
        assert_eq!(t.survey.state, SurveyState::Cancelled { at: at(1) });
        assert!(t.effects.is_empty());
        assert_eq!(t.survey.apply(Event::Rate(score(4)), at(2)), Err(Refusal::WrongState(StateName::Cancelled)));
        assert_eq!(rated(&config(), 5).apply(Event::Cancel, at(2)), Err(Refusal::WrongState(StateName::Rated)));
    }

    #[test]
    fn comments_and_reasons_need_a_rating() {
        let survey = pending(&config());
        assert_eq!(survey.apply(Event::Comment("hi".into()), at(1)), Err(Refusal::WrongState(StateName::Pending)));
        assert_eq!(survey.apply(Event::CloseChangeWindow, at(1)), Err(Refusal::WrongState(StateName::Pending)));
    }

    #[test]
    fn invitations_follow_the_method_and_the_repeat_policy() {
        let config = config();
        assert_eq!(check_invitation(&config, Origin::Auto, 1, None, at(0)), Ok(()));
        let agent_only = SurveyConfig { invitation_method: InvitationMethod::Agent, ..config.clone() };
        assert_eq!(
            check_invitation(&agent_only, Origin::Auto, 1, None, at(0)),
            Err(InviteRefusal::MethodNotAllowed { method: InvitationMethod::Agent, origin: Origin::Auto })
        );
        let auto_only = SurveyConfig { invitation_method: InvitationMethod::Auto, ..config.clone() };
        assert!(check_invitation(&auto_only, Origin::Agent, 1, None, at(0)).is_err());
        let off = SurveyConfig { enabled: false, ..config.clone() };
        assert_eq!(check_invitation(&off, Origin::Agent, 1, None, at(0)), Err(InviteRefusal::Disabled));
        assert_eq!(check_invitation(&config, Origin::User, 1, None, at(0)), Err(InviteRefusal::UserRatingNotAllowed));

        let previous = pending(&config);
        assert_eq!(
            check_invitation(&config, Origin::Agent, 1, Some(&previous), at(1)),
            Err(InviteRefusal::AlreadyPending(previous.id.clone()))
        );
        let done = rated(&config, 5);
        assert_eq!(
            check_invitation(&config, Origin::Auto, 2, Some(&done), at(2)),
            Err(InviteRefusal::AlreadyInvited(done.id.clone()))
        );
        let per_resolution = SurveyConfig { repeat: RepeatPolicy::OncePerResolution, ..config.clone() };
        assert_eq!(check_invitation(&per_resolution, Origin::Auto, 2, Some(&done), at(2)), Ok(()));
        assert!(check_invitation(&per_resolution, Origin::Auto, 1, Some(&done), at(2)).is_err());
        // An invitation that never arrived doesn't use up the conversation's one survey.
        let failed = previous.apply(Event::Fail(FailureReason { code: "x".into(), detail: String::new() }), at(1));
        assert_eq!(check_invitation(&config, Origin::Auto, 1, Some(&failed.unwrap().survey), at(2)), Ok(()));
    }

    #[test]
    fn a_survey_round_trips_through_json() {
        let survey = rated(&config(), 4);
        let json = serde_json::to_string(&survey).unwrap();
        assert_eq!(serde_json::from_str::<Survey>(&json).unwrap(), survey);
    }
}
