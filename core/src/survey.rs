//! The survey lifecycle as a pure state machine: `(survey, event, now) → (survey, effects)`.
//!
//! ```text
//! Pending ──rate──▶ Rated ──comment / change window ends──▶ Locked
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
use crate::scale::{Scale, Score};

/// The longest comment kept; longer ones are cut at a character boundary.
pub const MAX_COMMENT_CHARS: usize = 4000;
/// However short the change window, a comment is accepted this long after the rating.
pub const MIN_COMMENT_WINDOW: SignedDuration = SignedDuration::from_hours(24);

/// What started a survey.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
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
}

impl SurveyRules {
    pub fn from_config(config: &SurveyConfig) -> Self {
        Self {
            scale: config.scale,
            change_window_hours: config.change_window_hours,
            follow_up_comment: config.follow_up_comment,
            low_rating_reasons: config.low_rating_reasons.clone(),
        }
    }
}

/// Why a survey could not be delivered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
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
pub struct RatingEntry {
    pub score: Score,
    pub at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Survey {
    pub id: SurveyId,
    pub tenant: TenantId,
    pub conversation: ConversationId,
    /// Which resolution of the conversation this survey is about (1 for the first close).
    pub resolution: u32,
    pub channel: ChannelId,
    pub recipient: RecipientId,
    pub agent: Option<AgentId>,
    pub locale: Locale,
    pub origin: Origin,
    pub rules: SurveyRules,
    pub created_at: Timestamp,
    /// When the channel accepted the invitation.
    pub sent_at: Option<Timestamp>,
    pub state: SurveyState,
    pub ratings: Vec<RatingEntry>,
    /// Bumped by every transition; stores use it to refuse a write based on a stale read.
    pub revision: u64,
}

/// What a caller asks for when creating a survey.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invitation {
    pub tenant: TenantId,
    pub conversation: ConversationId,
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
}

/// Something that happens to a survey.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The channel accepted the invitation.
    Sent,
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
}

/// Events the business is told about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
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
            Refusal::ChangeWindowClosed | Refusal::LockedByComment => Some(Reply::RatingLocked),
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
    let same_resolution = previous.resolution >= resolution;
    if config.repeat == RepeatPolicy::OncePerConversation || same_resolution {
        return Err(InviteRefusal::AlreadyInvited(previous.id.clone()));
    }
    Ok(())
}

impl Survey {
    /// A new pending survey. Call [`check_invitation`] first.
    pub fn new(id: SurveyId, invitation: Invitation, config: &SurveyConfig, now: Timestamp) -> Survey {
        let deadline = now + SignedDuration::from_hours(i64::from(config.validity_hours));
        Survey {
            id,
            tenant: invitation.tenant,
            conversation: invitation.conversation,
            resolution: invitation.resolution,
            channel: invitation.channel,
            recipient: invitation.recipient,
            agent: invitation.agent,
            locale: invitation.locale,
            origin: invitation.origin,
            rules: SurveyRules::from_config(config),
            created_at: now,
            sent_at: None,
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

    /// When the sweeper should next look at the survey: the deadline while pending, the end
    /// of the change window while rated, nothing after that.
    pub fn next_due(&self) -> Option<Timestamp> {
        match self.state {
            SurveyState::Pending { deadline, .. } => Some(deadline),
            SurveyState::Rated { changeable_until, .. } => Some(changeable_until),
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

    /// Applies an event at time `now`.
    pub fn apply(&self, event: Event, now: Timestamp) -> Result<Transition, Refusal> {
        let mut effects = Vec::new();
        let new_score = match event {
            Event::Rate(score) => Some(score),
            _ => None,
        };
        let state = match (&self.state, event) {
            (_, Event::Sent) => {
                if self.sent_at.is_some() {
                    return Ok(self.unchanged());
                }
                if let SurveyState::Failed { .. } | SurveyState::Cancelled { .. } = self.state {
                    return Err(Refusal::WrongState(self.state.name()));
                }
                let mut next = self.changed_to(self.state.clone(), vec![Effect::Notify(Notice::Sent)]);
                next.survey.sent_at = Some(now);
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
                SurveyState::Rated {
                    score,
                    reason,
                    changeable_until: *changeable_until,
                    comment_until: *comment_until,
                }
            }
            (SurveyState::Locked { score: old, .. }, Event::Rate(score)) if *old == score => {
                return Ok(self.unchanged());
            }
            (SurveyState::Locked { cause, .. }, Event::Rate(_)) => {
                return Err(match cause {
                    LockCause::Comment => Refusal::LockedByComment,
                    LockCause::ChangeWindowClosed => Refusal::ChangeWindowClosed,
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
