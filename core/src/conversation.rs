//! A support conversation as the business's helpdesk reports it, and whether its close earns an
//! automatic satisfaction invitation.
//!
//! ```text
//! Open ──close──▶ Closed ──reopen──▶ Open ──close──▶ Closed …   (every close: resolution + 1)
//!  ▲ │
//!  └─┘ messages (a message to a closed conversation is refused)
//! ```
//!
//! Like the survey lifecycle this is pure: [`Conversation::apply`] maps a conversation and an
//! event to the next conversation, and [`check_auto_invite`] decides from the conversation and
//! the configuration's [`AutoInviteRules`] alone. The caller stores the record and, when the
//! check passes, goes on to [`check_invitation`](crate::survey::check_invitation) with
//! [`Origin::Auto`] and [`Conversation::resolution`].

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::ids::{AgentId, ChannelId, ConversationId, RecipientId, TenantId};
use crate::locale::Locale;
use crate::survey::{Invitation, Origin};

/// The most distinct end users a conversation records; more than one already makes it a group.
pub const MAX_END_USERS: usize = 10;
/// The most distinct agents a conversation records.
pub const MAX_AGENTS: usize = 20;
/// The longest end-user id the helpdesk may report, in characters.
pub const MAX_END_USER_ID_CHARS: usize = 128;
/// The highest `auto_invite.min_characters` a configuration may set.
pub const MAX_MIN_CHARACTERS: u32 = 100_000;
/// The highest `auto_invite.max_days_since_last_reply` a configuration may set.
pub const MAX_DAYS_SINCE_LAST_REPLY: u32 = 90;
/// The longest `auto_invite.cooldown_days` a configuration may set.
pub const MAX_COOLDOWN_DAYS: u32 = 365;

const DAY: SignedDuration = SignedDuration::from_hours(24);

/// Who opened a conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Opener {
    /// The end user wrote in.
    EndUser,
    /// An agent reached out (outbound).
    Agent,
    /// The helpdesk's API or one of its workflows (outbound).
    Api,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ConversationStatus {
    Open,
    Closed,
}

/// Who wrote a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum Author {
    /// An end user, by the helpdesk's id for them.
    EndUser(String),
    Agent(AgentId),
    /// An automated participant. Its messages are counted but take no part in any rule.
    Bot(String),
}

/// Something the helpdesk reports about a conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ConversationEvent {
    /// A message of `length` characters.
    Message { author: Author, length: u32, at: Timestamp },
    Closed {
        at: Timestamp,
        /// Who resolved it; an agent unless the helpdesk says otherwise.
        #[serde(default)]
        resolved_by: Resolver,
    },
    /// The conversation was reopened. The record keeps no reopening time: what the rules look at
    /// is the last reply and the next close.
    Reopened { at: Timestamp },
}

/// Who resolved (closed) a conversation, as the helpdesk says.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Resolver {
    /// An agent (or the helpdesk did not say).
    #[default]
    Agent,
    /// A bot, with no agent taking part in the close.
    Bot,
    /// The helpdesk itself: closed after a spell of inactivity, or by a rule.
    Automation,
}

/// Messages per kind of author.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MessageCounts {
    pub end_user: u32,
    pub agent: u32,
    pub bot: u32,
}

/// A conversation in the business's helpdesk, kept as a record per tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Conversation {
    pub id: ConversationId,
    pub opened_at: Timestamp,
    pub opened_by: Opener,
    pub status: ConversationStatus,
    /// How many times the conversation has been closed: 0 while first open. See
    /// [`Conversation::resolution`] for the number a survey is about.
    pub resolution: u32,
    /// The distinct end users who wrote, sorted; at most [`MAX_END_USERS`] are recorded.
    pub end_users: Vec<String>,
    /// The distinct agents who replied, in order of first reply; at most [`MAX_AGENTS`] are
    /// recorded (later ones still become [`Conversation::last_agent`]).
    pub agents: Vec<AgentId>,
    /// The agent who replied last.
    pub last_agent: Option<AgentId>,
    /// Characters written by end users and agents; bots' messages don't count.
    pub characters: u64,
    /// The latest message by an end user or an agent.
    pub last_reply_at: Option<Timestamp>,
    pub messages: MessageCounts,
    /// When the conversation was closed; `None` while it is open.
    pub closed_at: Option<Timestamp>,
    /// Who closed it; `None` while it is open (and in records kept before it was known).
    #[serde(default)]
    pub resolved_by: Option<Resolver>,
    pub channel: Option<ChannelId>,
    /// The end user's address on `channel`, when the helpdesk gives it.
    pub recipient: Option<RecipientId>,
}

/// Why an event does not apply to a conversation. All but [`ConversationError::InvalidEndUser`]
/// are conflicts with the conversation's current status (HTTP 409).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ConversationError {
    #[error("the conversation is already closed")]
    AlreadyClosed,
    #[error("the conversation is open: only a closed conversation can be reopened")]
    AlreadyOpen,
    /// A message never reopens a conversation by itself: the helpdesk reports the reopening first.
    #[error("the conversation is closed: it must be reopened before it takes messages")]
    ClosedToMessages,
    #[error("an end user's id must be 1 to {MAX_END_USER_ID_CHARS} characters, got {0:?}")]
    InvalidEndUser(String),
}

impl ConversationError {
    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            ConversationError::AlreadyClosed => "already_closed",
            ConversationError::AlreadyOpen => "already_open",
            ConversationError::ClosedToMessages => "closed_to_messages",
            ConversationError::InvalidEndUser(_) => "invalid_end_user",
        }
    }

    /// Whether the event conflicts with the conversation's status, rather than being malformed.
    pub fn is_conflict(&self) -> bool {
        !matches!(self, ConversationError::InvalidEndUser(_))
    }
}

impl Conversation {
    /// A conversation just opened: no messages, no agent, resolution 0.
    pub fn open(id: ConversationId, opened_by: Opener, at: Timestamp) -> Conversation {
        Conversation {
            id,
            opened_at: at,
            opened_by,
            status: ConversationStatus::Open,
            resolution: 0,
            end_users: Vec::new(),
            agents: Vec::new(),
            last_agent: None,
            characters: 0,
            last_reply_at: None,
            messages: MessageCounts::default(),
            closed_at: None,
            resolved_by: None,
            channel: None,
            recipient: None,
        }
    }

    /// The same conversation, reached on `channel` (at `recipient`, when known).
    pub fn on_channel(self, channel: ChannelId, recipient: Option<RecipientId>) -> Conversation {
        Conversation { channel: Some(channel), recipient, ..self }
    }

    pub fn is_closed(&self) -> bool {
        self.status == ConversationStatus::Closed
    }

    /// The agent a survey of this conversation credits: the last one who replied.
    pub fn credited_agent(&self) -> Option<&AgentId> {
        self.last_agent.as_ref()
    }

    /// The resolution a survey asked for now is about, as [`check_invitation`] and
    /// [`Invitation::resolution`] count them: once closed, the close just made (1 for the
    /// first close, 2 after a reopening and a second close, …); while open, the one under way
    /// (1 while first open, 2 once reopened), so a survey an agent asks for before the close
    /// counts for the same resolution as the close's own.
    ///
    /// [`check_invitation`]: crate::survey::check_invitation
    pub fn resolution(&self) -> u32 {
        match self.status {
            ConversationStatus::Closed => self.resolution,
            ConversationStatus::Open => self.resolution.saturating_add(1),
        }
    }

    /// The invitation for a survey of this conversation, or `None` while the helpdesk has not
    /// said where to reach the end user (no channel or no recipient).
    pub fn invitation(&self, tenant: TenantId, locale: Locale, origin: Origin) -> Option<Invitation> {
        Some(Invitation {
            tenant,
            conversation: self.id.clone(),
            resolution: self.resolution(),
            channel: self.channel.clone()?,
            recipient: self.recipient.clone()?,
            agent: self.credited_agent().cloned(),
            locale,
            origin,
        })
    }

    /// Applies an event, in the order the helpdesk reported it. A message timestamped before the
    /// latest reply still counts but does not move `last_reply_at` back.
    pub fn apply(&self, event: ConversationEvent) -> Result<Conversation, ConversationError> {
        let mut next = self.clone();
        match event {
            ConversationEvent::Message { .. } if self.is_closed() => return Err(ConversationError::ClosedToMessages),
            ConversationEvent::Message { author: Author::Bot(_), .. } => {
                next.messages.bot = next.messages.bot.saturating_add(1);
            }
            ConversationEvent::Message { author: Author::EndUser(user), length, at } => {
                if user.is_empty() || user.chars().count() > MAX_END_USER_ID_CHARS {
                    return Err(ConversationError::InvalidEndUser(user));
                }
                next.messages.end_user = next.messages.end_user.saturating_add(1);
                if let Err(place) = next.end_users.binary_search(&user)
                    && next.end_users.len() < MAX_END_USERS
                {
                    next.end_users.insert(place, user);
                }
                next.count_reply(length, at);
            }
            ConversationEvent::Message { author: Author::Agent(agent), length, at } => {
                next.messages.agent = next.messages.agent.saturating_add(1);
                if !next.agents.contains(&agent) && next.agents.len() < MAX_AGENTS {
                    next.agents.push(agent.clone());
                }
                next.last_agent = Some(agent);
                next.count_reply(length, at);
            }
            ConversationEvent::Closed { at, resolved_by } => {
                if self.is_closed() {
                    return Err(ConversationError::AlreadyClosed);
                }
                next.status = ConversationStatus::Closed;
                next.resolution = next.resolution.saturating_add(1);
                next.closed_at = Some(at);
                next.resolved_by = Some(resolved_by);
            }
            ConversationEvent::Reopened { at: _ } => {
                if !self.is_closed() {
                    return Err(ConversationError::AlreadyOpen);
                }
                next.status = ConversationStatus::Open;
                next.closed_at = None;
                next.resolved_by = None;
            }
        }
        Ok(next)
    }

    fn count_reply(&mut self, length: u32, at: Timestamp) {
        self.characters = self.characters.saturating_add(u64::from(length));
        self.last_reply_at = Some(self.last_reply_at.map_or(at, |last| last.max(at)));
    }
}

/// Which closed conversations earn an automatic invitation. Each rule can be switched off:
/// the booleans by `false` (the `include_*` ones by `true`), the limits by `null`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(default))]
#[serde(default, deny_unknown_fields)]
pub struct AutoInviteRules {
    /// An agent replied at least once; bots don't count.
    pub require_agent_reply: bool,
    /// End users and agents wrote at least this many characters together (0 to 100 000).
    pub min_characters: Option<u32>,
    /// The close came at most this many days (of 24 hours) after the last reply (1 to 90).
    pub max_days_since_last_reply: Option<u32>,
    /// No invitation for a group conversation: one where more than one end user wrote.
    pub single_end_user: bool,
    /// Invite for conversations an agent opened, too.
    pub include_agent_outbound: bool,
    /// Invite for conversations the helpdesk's API or a workflow opened, too.
    pub include_api_outbound: bool,
    /// Invite for conversations a bot resolved, too.
    pub include_bot_resolved: bool,
    /// Invite for conversations the helpdesk resolved on its own (after inactivity, by a
    /// rule), too.
    pub include_auto_resolved: bool,
    /// Ask only this share of the conversations that pass every other rule, in percent (1 to
    /// 100; `null`: all). Which ones is decided by a hash of the conversation's id: the same
    /// conversation is decided the same way on every close, replay and gateway.
    pub sample_percent: Option<u8>,
    /// Ask one end user at most once in this many days (1 to 365; `null`: no limit), counting
    /// the automatic invitations made while it was set.
    pub cooldown_days: Option<u32>,
}

impl Default for AutoInviteRules {
    fn default() -> Self {
        Self {
            require_agent_reply: true,
            min_characters: Some(250),
            max_days_since_last_reply: Some(7),
            single_end_user: true,
            include_agent_outbound: false,
            include_api_outbound: false,
            include_bot_resolved: false,
            include_auto_resolved: false,
            sample_percent: None,
            cooldown_days: None,
        }
    }
}

/// The rule that kept a closed conversation from an automatic invitation. Serialized with its
/// stable code in `rule`, e.g. `{"rule":"too_short","characters":80,"required":250}`.
#[derive(Debug, Clone, PartialEq, Eq, Error, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "rule", rename_all = "snake_case")]
pub enum Ineligible {
    #[error("the conversation is not closed")]
    NotClosed,
    #[error("an agent opened the conversation")]
    AgentOutbound,
    #[error("the API or a workflow opened the conversation")]
    ApiOutbound,
    #[error("a bot resolved the conversation")]
    BotResolved,
    #[error("the helpdesk resolved the conversation on its own")]
    AutoResolved,
    #[error("{end_users} end users wrote in the conversation; only one-to-one conversations are surveyed")]
    GroupConversation { end_users: u32 },
    #[error("no agent replied")]
    NoAgentReply,
    #[error("{characters} characters were exchanged, {required} are required")]
    TooShort { characters: u64, required: u32 },
    #[error("the conversation closed {days_since_last_reply} days after the last reply, the limit is {limit}")]
    Stale { days_since_last_reply: u32, limit: u32 },
    #[error("the end user was asked at {last_asked_at}, within the {days}-day cooldown")]
    CoolingDown { days: u32, last_asked_at: Timestamp },
    #[error("the conversation is not among the {percent} % sampled")]
    NotSampled { percent: u8 },
}

impl Ineligible {
    /// The rule's stable code, the same as the serialized `rule`.
    pub fn rule(&self) -> &'static str {
        match self {
            Ineligible::NotClosed => "not_closed",
            Ineligible::AgentOutbound => "agent_outbound",
            Ineligible::ApiOutbound => "api_outbound",
            Ineligible::BotResolved => "bot_resolved",
            Ineligible::AutoResolved => "auto_resolved",
            Ineligible::GroupConversation { .. } => "group_conversation",
            Ineligible::NoAgentReply => "no_agent_reply",
            Ineligible::TooShort { .. } => "too_short",
            Ineligible::Stale { .. } => "stale",
            Ineligible::CoolingDown { .. } => "cooling_down",
            Ineligible::NotSampled { .. } => "not_sampled",
        }
    }
}

/// Checks whether a conversation's close earns an automatic invitation, rule by rule in this
/// order, and returns the first that fails:
///
/// 1. `not_closed`: the conversation is closed (always checked);
/// 2. `agent_outbound`: an agent did not open it, unless `include_agent_outbound`;
/// 3. `api_outbound`: the API or a workflow did not open it, unless `include_api_outbound`;
/// 4. `bot_resolved`, `auto_resolved`: an agent resolved it, not a bot (unless
///    `include_bot_resolved`) nor the helpdesk on its own (unless `include_auto_resolved`);
/// 5. `group_conversation`: at most one end user wrote, if `single_end_user`;
/// 6. `no_agent_reply`: an agent replied, if `require_agent_reply`;
/// 7. `too_short`: end users and agents wrote at least `min_characters`;
/// 8. `stale`: the close came at most `max_days_since_last_reply` days after the last reply —
///    the close time counts, not `now` — or after the opening when nobody wrote;
/// 9. `cooling_down`: the end user was not asked (`last_asked_at`, automatically) within the
///    last `cooldown_days` days before `now`;
/// 10. `not_sampled`: the conversation is among the `sample_percent` sampled ([`sampled`]).
pub fn check_auto_invite(
    conversation: &Conversation,
    rules: &AutoInviteRules,
    last_asked_at: Option<Timestamp>,
    now: Timestamp,
) -> Result<(), Ineligible> {
    let Some(closed_at) = conversation.closed_at.filter(|_| conversation.is_closed()) else {
        return Err(Ineligible::NotClosed);
    };
    match conversation.opened_by {
        Opener::Agent if !rules.include_agent_outbound => return Err(Ineligible::AgentOutbound),
        Opener::Api if !rules.include_api_outbound => return Err(Ineligible::ApiOutbound),
        _ => {}
    }
    match conversation.resolved_by {
        Some(Resolver::Bot) if !rules.include_bot_resolved => return Err(Ineligible::BotResolved),
        Some(Resolver::Automation) if !rules.include_auto_resolved => return Err(Ineligible::AutoResolved),
        _ => {}
    }
    let end_users = conversation.end_users.len();
    if rules.single_end_user && end_users > 1 {
        return Err(Ineligible::GroupConversation { end_users: u32::try_from(end_users).unwrap_or(u32::MAX) });
    }
    if rules.require_agent_reply && conversation.messages.agent == 0 {
        return Err(Ineligible::NoAgentReply);
    }
    if let Some(required) = rules.min_characters
        && conversation.characters < u64::from(required)
    {
        return Err(Ineligible::TooShort { characters: conversation.characters, required });
    }
    if let Some(limit) = rules.max_days_since_last_reply {
        let since = conversation.last_reply_at.unwrap_or(conversation.opened_at);
        let elapsed = closed_at.duration_since(since);
        if elapsed > DAY * i32::try_from(limit).unwrap_or(i32::MAX) {
            return Err(Ineligible::Stale { days_since_last_reply: whole_days_up(elapsed), limit });
        }
    }
    if let (Some(days), Some(last_asked_at)) = (rules.cooldown_days, last_asked_at)
        && now.duration_since(last_asked_at) < DAY * i32::try_from(days).unwrap_or(i32::MAX)
    {
        return Err(Ineligible::CoolingDown { days, last_asked_at });
    }
    if let Some(percent) = rules.sample_percent
        && !sampled(&conversation.id, percent)
    {
        return Err(Ineligible::NotSampled { percent });
    }
    Ok(())
}

/// Whether a conversation is among `percent` % of all: by a fixed hash of its id, so the
/// decision never changes for it, and a share of conversations taken at 20 % is among those
/// taken at 30 %.
pub fn sampled(conversation: &ConversationId, percent: u8) -> bool {
    crate::store::work::fnv1a(conversation.as_str()) % 100 < u32::from(percent)
}

/// Days in a duration, a started day counting as one: 7 days and an hour are 8.
fn whole_days_up(duration: SignedDuration) -> u32 {
    let day = DAY.as_nanos();
    let days = (duration.as_nanos().max(0) + day - 1) / day;
    u32::try_from(days).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{FieldError, RepeatPolicy, SurveyConfig};
    use crate::ids::SurveyId;
    use crate::survey::{InviteRefusal, Survey, SurveyState, check_invitation};

    fn at(hours: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000).unwrap() + SignedDuration::from_hours(hours)
    }

    fn agent(name: &str) -> AgentId {
        AgentId::new(name).unwrap()
    }

    fn said(author: Author, length: u32, hour: i64) -> ConversationEvent {
        ConversationEvent::Message { author, length, at: at(hour) }
    }

    /// The close of a conversation an agent resolved, at `at`.
    fn closing(at: Timestamp) -> ConversationEvent {
        ConversationEvent::Closed { at, resolved_by: Resolver::Agent }
    }

    fn user(id: &str) -> Author {
        Author::EndUser(id.into())
    }

    fn by_agent(name: &str) -> Author {
        Author::Agent(agent(name))
    }

    fn run(mut conversation: Conversation, events: impl IntoIterator<Item = ConversationEvent>) -> Conversation {
        for event in events {
            conversation = conversation.apply(event).unwrap();
        }
        conversation
    }

    fn opened(by: Opener) -> Conversation {
        Conversation::open(ConversationId::new("zd:42").unwrap(), by, at(0))
    }

    /// A conversation that passes every default rule: one end user, one agent, 300 characters,
    /// closed an hour after the last reply.
    fn eligible(by: Opener) -> Conversation {
        run(opened(by), [said(user("u1"), 120, 1), said(by_agent("ana"), 180, 2), closing(at(3))])
    }

    fn check(conversation: &Conversation, rules: &AutoInviteRules) -> Result<(), Ineligible> {
        check_auto_invite(conversation, rules, None, at(1000))
    }

    fn defaults() -> AutoInviteRules {
        AutoInviteRules::default()
    }

    #[test]
    fn a_new_conversation_is_open_with_nothing_said() {
        let conversation = opened(Opener::EndUser);
        assert_eq!(conversation.status, ConversationStatus::Open);
        assert_eq!(conversation.resolution, 0);
        assert_eq!(conversation.resolution(), 1);
        assert_eq!(conversation.messages, MessageCounts::default());
        assert_eq!(conversation.credited_agent(), None);
        assert_eq!((conversation.last_reply_at, conversation.closed_at), (None, None));
    }

    #[test]
    fn messages_are_counted_per_author_and_bots_take_no_part() {
        let conversation = run(
            opened(Opener::EndUser),
            [
                said(Author::Bot("triage".into()), 5000, 1),
                said(user("u1"), 40, 2),
                said(by_agent("ana"), 60, 3),
                said(Author::Bot("triage".into()), 900, 4),
                said(user("u1"), 10, 5),
            ],
        );
        assert_eq!(conversation.messages, MessageCounts { end_user: 2, agent: 1, bot: 2 });
        assert_eq!(conversation.characters, 110);
        assert_eq!(conversation.last_reply_at, Some(at(5)));
        assert_eq!(conversation.end_users, ["u1"]);
        assert_eq!(conversation.agents, [agent("ana")]);
    }

    #[test]
    fn end_users_are_kept_sorted_and_distinct_up_to_the_cap() {
        let mut conversation = run(opened(Opener::EndUser), [said(user("m"), 1, 1), said(user("b"), 1, 1)]);
        conversation = run(conversation, [said(user("m"), 1, 2), said(user("x"), 1, 2)]);
        assert_eq!(conversation.end_users, ["b", "m", "x"]);
        let many = (0..MAX_END_USERS + 5).map(|i| said(user(&format!("u{i:02}")), 1, 3));
        let conversation = run(conversation, many);
        assert_eq!(conversation.end_users.len(), MAX_END_USERS);
        assert!(conversation.end_users.is_sorted());
        assert_eq!(conversation.messages.end_user, 4 + MAX_END_USERS as u32 + 5);
    }

    #[test]
    fn agents_are_kept_in_order_of_first_reply_and_the_last_is_credited() {
        let conversation = run(
            opened(Opener::EndUser),
            [said(by_agent("zoe"), 1, 1), said(by_agent("ana"), 1, 2), said(by_agent("zoe"), 1, 3)],
        );
        assert_eq!(conversation.agents, [agent("zoe"), agent("ana")]);
        assert_eq!(conversation.credited_agent(), Some(&agent("zoe")));
        // Past the cap, agents are no longer listed but the last one is still credited.
        let many = (0..MAX_AGENTS + 3).map(|i| said(by_agent(&format!("a{i:02}")), 1, 4));
        let conversation = run(conversation, many);
        assert_eq!(conversation.agents.len(), MAX_AGENTS);
        assert_eq!(conversation.agents[..2], [agent("zoe"), agent("ana")]);
        let last = format!("a{:02}", MAX_AGENTS + 2);
        assert_eq!(conversation.credited_agent(), Some(&agent(&last)));
    }

    #[test]
    fn an_earlier_message_reported_late_does_not_move_the_last_reply_back() {
        let conversation = run(opened(Opener::EndUser), [said(user("u1"), 10, 5), said(by_agent("ana"), 10, 3)]);
        assert_eq!(conversation.last_reply_at, Some(at(5)));
        assert_eq!(conversation.credited_agent(), Some(&agent("ana")));
    }

    #[test]
    fn an_end_user_id_must_be_present_and_bounded() {
        let conversation = opened(Opener::EndUser);
        assert_eq!(conversation.apply(said(user(""), 1, 1)), Err(ConversationError::InvalidEndUser(String::new())));
        let long = "é".repeat(MAX_END_USER_ID_CHARS + 1);
        let error = conversation.apply(said(user(&long), 1, 1)).unwrap_err();
        assert_eq!(error.code(), "invalid_end_user");
        assert!(!error.is_conflict());
        assert!(conversation.apply(said(user(&"é".repeat(MAX_END_USER_ID_CHARS)), 1, 1)).is_ok());
    }

    #[test]
    fn every_close_is_a_new_resolution() {
        let closed = eligible(Opener::EndUser);
        assert!(closed.is_closed());
        assert_eq!((closed.resolution, closed.resolution()), (1, 1));
        assert_eq!(closed.closed_at, Some(at(3)));

        let reopened = closed.apply(ConversationEvent::Reopened { at: at(10) }).unwrap();
        assert_eq!(reopened.status, ConversationStatus::Open);
        assert_eq!(reopened.closed_at, None);
        assert_eq!((reopened.resolution, reopened.resolution()), (1, 2));

        let again = run(reopened, [said(user("u1"), 5, 11), closing(at(12))]);
        assert_eq!((again.resolution, again.resolution()), (2, 2));
        assert_eq!(again.closed_at, Some(at(12)));
        assert_eq!(again.characters, 305);
    }

    #[test]
    fn transitions_that_do_not_apply_are_refused_as_conflicts() {
        let open = opened(Opener::EndUser);
        let refused = open.apply(ConversationEvent::Reopened { at: at(1) }).unwrap_err();
        assert_eq!(refused, ConversationError::AlreadyOpen);
        assert_eq!((refused.code(), refused.is_conflict()), ("already_open", true));

        let closed = eligible(Opener::EndUser);
        let refused = closed.apply(closing(at(4))).unwrap_err();
        assert_eq!(refused, ConversationError::AlreadyClosed);
        assert_eq!((refused.code(), refused.is_conflict()), ("already_closed", true));

        // A message never reopens a conversation, whoever wrote it and even if dated before the close.
        for author in [user("u1"), by_agent("ana"), Author::Bot("b".into())] {
            let refused = closed.apply(said(author, 10, 2)).unwrap_err();
            assert_eq!(refused, ConversationError::ClosedToMessages);
            assert_eq!((refused.code(), refused.is_conflict()), ("closed_to_messages", true));
        }
    }

    #[test]
    fn the_default_rules() {
        assert_eq!(
            defaults(),
            AutoInviteRules {
                require_agent_reply: true,
                min_characters: Some(250),
                max_days_since_last_reply: Some(7),
                single_end_user: true,
                include_agent_outbound: false,
                include_api_outbound: false,
                include_bot_resolved: false,
                include_auto_resolved: false,
                sample_percent: None,
                cooldown_days: None,
            }
        );
        assert_eq!(SurveyConfig::default().auto_invite, defaults());
        assert_eq!(check(&eligible(Opener::EndUser), &defaults()), Ok(()));
    }

    #[test]
    fn only_a_closed_conversation_is_invited() {
        let open = run(opened(Opener::EndUser), [said(user("u1"), 300, 1), said(by_agent("ana"), 300, 2)]);
        assert_eq!(check(&open, &defaults()), Err(Ineligible::NotClosed));
        let everything_off = AutoInviteRules {
            require_agent_reply: false,
            min_characters: None,
            max_days_since_last_reply: None,
            single_end_user: false,
            include_agent_outbound: true,
            include_api_outbound: true,
            include_bot_resolved: true,
            include_auto_resolved: true,
            sample_percent: None,
            cooldown_days: None,
        };
        assert_eq!(check(&open, &everything_off), Err(Ineligible::NotClosed));
        let reopened = eligible(Opener::EndUser).apply(ConversationEvent::Reopened { at: at(5) }).unwrap();
        assert_eq!(check(&reopened, &everything_off), Err(Ineligible::NotClosed));
        // A record claiming to be closed without a close time is not trusted.
        let inconsistent = Conversation { closed_at: None, ..eligible(Opener::EndUser) };
        assert_eq!(check(&inconsistent, &everything_off), Err(Ineligible::NotClosed));
    }

    #[test]
    fn agent_outbound_conversations_are_excluded_unless_included() {
        let outbound = eligible(Opener::Agent);
        assert_eq!(check(&outbound, &defaults()), Err(Ineligible::AgentOutbound));
        let included = AutoInviteRules { include_agent_outbound: true, ..defaults() };
        assert_eq!(check(&outbound, &included), Ok(()));
        // Including agent outbound says nothing of API outbound.
        assert_eq!(check(&eligible(Opener::Api), &included), Err(Ineligible::ApiOutbound));
    }

    #[test]
    fn api_outbound_conversations_are_excluded_unless_included() {
        let outbound = eligible(Opener::Api);
        assert_eq!(check(&outbound, &defaults()), Err(Ineligible::ApiOutbound));
        let included = AutoInviteRules { include_api_outbound: true, ..defaults() };
        assert_eq!(check(&outbound, &included), Ok(()));
        assert_eq!(check(&eligible(Opener::Agent), &included), Err(Ineligible::AgentOutbound));
    }

    #[test]
    fn a_sample_takes_its_share_by_the_conversations_id_and_decides_each_the_same_way() {
        let ids: Vec<ConversationId> = (0..10_000).map(|n| ConversationId::new(format!("zd-{n}")).unwrap()).collect();
        for percent in [1_u8, 20, 50, 99] {
            let taken = ids.iter().filter(|id| sampled(id, percent)).count();
            let expected = 100 * usize::from(percent);
            assert!(taken.abs_diff(expected) <= 150, "{taken} of 10 000 at {percent} %");
        }
        // A larger share keeps the conversations a smaller one took; all at 100.
        assert!(ids.iter().filter(|id| sampled(id, 20)).all(|id| sampled(id, 30)));
        assert!(ids.iter().all(|id| sampled(id, 100)));

        // The rule comes last, and says its share; the same conversation, closed again, the same.
        let rules = AutoInviteRules { sample_percent: Some(50), ..defaults() };
        let mut left_out = eligible(Opener::EndUser);
        while sampled(&left_out.id, 50) {
            let next = format!("{}-next", left_out.id);
            left_out.id = ConversationId::new(next).unwrap();
        }
        assert_eq!(check(&left_out, &rules), Err(Ineligible::NotSampled { percent: 50 }));
        let again = run(
            left_out.apply(ConversationEvent::Reopened { at: at(4) }).unwrap(),
            [said(by_agent("ana"), 10, 5), closing(at(6))],
        );
        assert_eq!(check(&again, &rules), Err(Ineligible::NotSampled { percent: 50 }));
        let short = AutoInviteRules { min_characters: Some(10_000), ..rules };
        assert!(matches!(check(&again, &short), Err(Ineligible::TooShort { .. })));
    }

    #[test]
    fn conversations_a_bot_or_the_helpdesk_resolved_are_excluded_unless_included() {
        let closed_by = |resolved_by| {
            let open = run(opened(Opener::EndUser), [said(user("u1"), 120, 1), said(by_agent("ana"), 180, 2)]);
            open.apply(ConversationEvent::Closed { at: at(3), resolved_by }).unwrap()
        };
        let (by_bot, by_itself) = (closed_by(Resolver::Bot), closed_by(Resolver::Automation));
        assert_eq!(by_bot.resolved_by, Some(Resolver::Bot));
        assert_eq!(check(&by_bot, &defaults()), Err(Ineligible::BotResolved));
        assert_eq!(check(&by_itself, &defaults()), Err(Ineligible::AutoResolved));
        assert_eq!(check(&closed_by(Resolver::Agent), &defaults()), Ok(()));
        let bots = AutoInviteRules { include_bot_resolved: true, ..defaults() };
        assert_eq!(check(&by_bot, &bots), Ok(()));
        assert_eq!(check(&by_itself, &bots), Err(Ineligible::AutoResolved));
        let automation = AutoInviteRules { include_auto_resolved: true, ..defaults() };
        assert_eq!(check(&by_itself, &automation), Ok(()));
        // Reopened, it is nobody's resolution; the helpdesk says who closed it next.
        let reopened = by_itself.apply(ConversationEvent::Reopened { at: at(4) }).unwrap();
        assert_eq!(reopened.resolved_by, None);
        assert_eq!(check(&run(reopened, [closing(at(5))]), &defaults()), Ok(()));
        // Unsaid, it is an agent's: what helpdesks sent before this field means the same.
        let event: ConversationEvent =
            serde_json::from_str(r#"{"type":"closed","at":"2027-01-15T08:00:00Z"}"#).unwrap();
        assert!(matches!(event, ConversationEvent::Closed { resolved_by: Resolver::Agent, .. }));
    }

    #[test]
    fn an_end_user_asked_within_the_cooldown_is_not_asked_again() {
        let rules = AutoInviteRules { cooldown_days: Some(7), ..defaults() };
        let conversation = eligible(Opener::EndUser);
        let now = at(1000);
        let asked = |days_ago: i64| Some(now - DAY * i32::try_from(days_ago).unwrap());
        assert_eq!(check_auto_invite(&conversation, &rules, None, now), Ok(()));
        assert_eq!(
            check_auto_invite(&conversation, &rules, asked(6), now),
            Err(Ineligible::CoolingDown { days: 7, last_asked_at: asked(6).unwrap() })
        );
        // Seven whole days on, it is over; with no cooldown, the last ask counts for nothing.
        assert_eq!(check_auto_invite(&conversation, &rules, asked(7), now), Ok(()));
        assert_eq!(check_auto_invite(&conversation, &defaults(), asked(0), now), Ok(()));
        // It comes after the conversation's own rules.
        let short = AutoInviteRules { min_characters: Some(10_000), ..rules };
        assert!(matches!(check_auto_invite(&conversation, &short, asked(1), now), Err(Ineligible::TooShort { .. })));
    }

    #[test]
    fn group_conversations_are_excluded_unless_allowed() {
        let reopened = eligible(Opener::EndUser).apply(ConversationEvent::Reopened { at: at(4) }).unwrap();
        let group = run(reopened, [said(user("u2"), 1, 5), said(user("u1"), 1, 5), closing(at(6))]);
        assert_eq!(check(&group, &defaults()), Err(Ineligible::GroupConversation { end_users: 2 }));
        let allowed = AutoInviteRules { single_end_user: false, ..defaults() };
        assert_eq!(check(&group, &allowed), Ok(()));
        // The same end user writing many times is not a group.
        let chatty = run(opened(Opener::EndUser), (0..5).map(|_| said(user("u1"), 60, 1)));
        let chatty = run(chatty, [said(by_agent("ana"), 1, 2), closing(at(3))]);
        assert_eq!(check(&chatty, &defaults()), Ok(()));
    }

    #[test]
    fn an_agent_must_have_replied_unless_not_required() {
        let no_agent = run(
            opened(Opener::EndUser),
            [said(user("u1"), 300, 1), said(Author::Bot("faq".into()), 300, 2), closing(at(3))],
        );
        assert_eq!(check(&no_agent, &defaults()), Err(Ineligible::NoAgentReply));
        let not_required = AutoInviteRules { require_agent_reply: false, ..defaults() };
        assert_eq!(check(&no_agent, &not_required), Ok(()));
    }

    #[test]
    fn a_conversation_must_be_long_enough_unless_no_minimum() {
        let short = run(
            opened(Opener::EndUser),
            [
                said(user("u1"), 100, 1),
                said(by_agent("ana"), 149, 2),
                // Bot chatter doesn't make up the difference.
                said(Author::Bot("faq".into()), 10_000, 2),
                closing(at(3)),
            ],
        );
        assert_eq!(short.characters, 249);
        assert_eq!(check(&short, &defaults()), Err(Ineligible::TooShort { characters: 249, required: 250 }));
        assert_eq!(check(&short, &AutoInviteRules { min_characters: Some(249), ..defaults() }), Ok(()));
        assert_eq!(check(&short, &AutoInviteRules { min_characters: None, ..defaults() }), Ok(()));
    }

    #[test]
    fn the_close_must_follow_the_last_reply_closely_unless_no_limit() {
        let base = run(opened(Opener::EndUser), [said(user("u1"), 150, 1), said(by_agent("ana"), 150, 2)]);
        let close = |hours_after_reply: i64| base.apply(closing(at(2 + hours_after_reply))).unwrap();
        // Exactly seven days is within the limit.
        assert_eq!(check(&close(7 * 24), &defaults()), Ok(()));
        assert_eq!(
            check(&close(7 * 24 + 1), &defaults()),
            Err(Ineligible::Stale { days_since_last_reply: 8, limit: 7 })
        );
        assert_eq!(check(&close(30 * 24), &defaults()), Err(Ineligible::Stale { days_since_last_reply: 30, limit: 7 }));
        let a_day = AutoInviteRules { max_days_since_last_reply: Some(1), ..defaults() };
        assert_eq!(check(&close(25), &a_day), Err(Ineligible::Stale { days_since_last_reply: 2, limit: 1 }));
        assert_eq!(check(&close(30 * 24), &AutoInviteRules { max_days_since_last_reply: None, ..defaults() }), Ok(()));
    }

    #[test]
    fn staleness_is_measured_at_the_close_not_now() {
        let closed = eligible(Opener::EndUser);
        assert_eq!(check_auto_invite(&closed, &defaults(), None, at(3)), Ok(()));
        assert_eq!(check_auto_invite(&closed, &defaults(), None, at(24 * 365)), Ok(()));
        // A reopening without a new reply leaves the last reply where it was.
        let late = run(closed, [ConversationEvent::Reopened { at: at(4) }, closing(at(2 + 8 * 24))]);
        assert_eq!(check(&late, &defaults()), Err(Ineligible::Stale { days_since_last_reply: 8, limit: 7 }));
    }

    #[test]
    fn with_no_reply_at_all_staleness_counts_from_the_opening() {
        let lax = AutoInviteRules { require_agent_reply: false, min_characters: None, ..defaults() };
        let silent = opened(Opener::EndUser).apply(closing(at(24))).unwrap();
        assert_eq!(silent.last_reply_at, None);
        assert_eq!(check(&silent, &defaults()), Err(Ineligible::NoAgentReply));
        assert_eq!(check(&silent, &lax), Ok(()));
        let forgotten = opened(Opener::EndUser).apply(closing(at(10 * 24))).unwrap();
        assert_eq!(check(&forgotten, &lax), Err(Ineligible::Stale { days_since_last_reply: 10, limit: 7 }));
        // Only bots wrote: still no reply.
        let bots = run(opened(Opener::EndUser), [said(Author::Bot("faq".into()), 500, 200), closing(at(201))]);
        assert_eq!(bots.last_reply_at, None);
        assert_eq!(check(&bots, &lax), Err(Ineligible::Stale { days_since_last_reply: 9, limit: 7 }));
    }

    #[test]
    fn a_close_stamped_before_the_last_reply_is_not_stale() {
        let conversation = run(opened(Opener::EndUser), [said(user("u1"), 150, 5), said(by_agent("ana"), 150, 6)]);
        let closed = conversation.apply(closing(at(4))).unwrap();
        assert_eq!(check(&closed, &AutoInviteRules { max_days_since_last_reply: Some(1), ..defaults() }), Ok(()));
    }

    #[test]
    fn rules_are_checked_in_their_documented_order() {
        // Opened by an agent, two end users, no agent reply, short, and stale: every rule fails.
        let all_wrong =
            run(opened(Opener::Agent), [said(user("u1"), 1, 1), said(user("u2"), 1, 1), closing(at(30 * 24))]);
        let mut rules = defaults();
        let mut stops = Vec::new();
        while let Err(stop) = check(&all_wrong, &rules) {
            stops.push(stop.rule());
            match stop {
                Ineligible::AgentOutbound => rules.include_agent_outbound = true,
                Ineligible::GroupConversation { .. } => rules.single_end_user = false,
                Ineligible::NoAgentReply => rules.require_agent_reply = false,
                Ineligible::TooShort { .. } => rules.min_characters = None,
                Ineligible::Stale { .. } => rules.max_days_since_last_reply = None,
                other => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!(stops, ["agent_outbound", "group_conversation", "no_agent_reply", "too_short", "stale"]);

        let from_api = Conversation { opened_by: Opener::Api, ..all_wrong.clone() };
        assert_eq!(check(&from_api, &defaults()), Err(Ineligible::ApiOutbound));
        let open = Conversation { status: ConversationStatus::Open, closed_at: None, ..all_wrong };
        assert_eq!(check(&open, &defaults()), Err(Ineligible::NotClosed));
    }

    #[test]
    fn ineligibility_serializes_with_its_rule_code() {
        let cases = [
            (Ineligible::NotClosed, r#"{"rule":"not_closed"}"#),
            (Ineligible::AgentOutbound, r#"{"rule":"agent_outbound"}"#),
            (Ineligible::ApiOutbound, r#"{"rule":"api_outbound"}"#),
            (Ineligible::GroupConversation { end_users: 3 }, r#"{"rule":"group_conversation","end_users":3}"#),
            (Ineligible::NoAgentReply, r#"{"rule":"no_agent_reply"}"#),
            (
                Ineligible::TooShort { characters: 80, required: 250 },
                r#"{"rule":"too_short","characters":80,"required":250}"#,
            ),
            (
                Ineligible::Stale { days_since_last_reply: 9, limit: 7 },
                r#"{"rule":"stale","days_since_last_reply":9,"limit":7}"#,
            ),
        ];
        for (stop, json) in cases {
            assert_eq!(serde_json::to_string(&stop).unwrap(), json);
            assert_eq!(serde_json::from_str::<Ineligible>(json).unwrap(), stop);
            assert!(json.contains(&format!(r#""rule":"{}""#, stop.rule())));
        }
        assert_eq!(
            Ineligible::TooShort { characters: 80, required: 250 }.to_string(),
            "80 characters were exchanged, 250 are required"
        );
    }

    #[test]
    fn a_conversation_round_trips_through_json() {
        let conversation = eligible(Opener::EndUser)
            .on_channel(ChannelId::new("wa").unwrap(), Some(RecipientId::new("15550001").unwrap()));
        let json = serde_json::to_value(&conversation).unwrap();
        assert_eq!(json["opened_by"], "end_user");
        assert_eq!(json["status"], "closed");
        assert_eq!(json["messages"], serde_json::json!({"end_user": 1, "agent": 1, "bot": 0}));
        assert_eq!(serde_json::from_value::<Conversation>(json).unwrap(), conversation);
        let fresh = opened(Opener::Api);
        let json = serde_json::to_string(&fresh).unwrap();
        assert_eq!(serde_json::from_str::<Conversation>(&json).unwrap(), fresh);
    }

    #[test]
    fn events_read_from_json() {
        let event: ConversationEvent = serde_json::from_str(
            r#"{"type":"message","author":{"kind":"agent","id":"ana"},"length":12,"at":"2027-01-15T08:00:00Z"}"#,
        )
        .unwrap();
        let ConversationEvent::Message { author, length, .. } = &event else { panic!("{event:?}") };
        assert_eq!((author, *length), (&by_agent("ana"), 12));
        let closed: ConversationEvent =
            serde_json::from_str(r#"{"type":"closed","at":"2027-01-15T08:00:00Z"}"#).unwrap();
        assert!(matches!(closed, ConversationEvent::Closed { .. }));
        let bad_agent =
            r#"{"type":"message","author":{"kind":"agent","id":"a b"},"length":1,"at":"2027-01-15T08:00:00Z"}"#;
        assert!(serde_json::from_str::<ConversationEvent>(bad_agent).is_err());
    }

    #[test]
    fn the_invitation_credits_the_last_agent_and_the_resolution() {
        let tenant = TenantId::new("acme").unwrap();
        let closed = eligible(Opener::EndUser);
        assert_eq!(closed.invitation(tenant.clone(), Locale::En, Origin::Auto), None);
        let reached = closed.clone().on_channel(ChannelId::new("wa").unwrap(), None);
        assert_eq!(reached.invitation(tenant.clone(), Locale::En, Origin::Auto), None);
        let reached = closed.on_channel(ChannelId::new("wa").unwrap(), Some(RecipientId::new("15550001").unwrap()));
        let invitation = reached.invitation(tenant.clone(), Locale::Es, Origin::Auto).unwrap();
        assert_eq!(invitation.agent, Some(agent("ana")));
        assert_eq!(invitation.resolution, 1);
        assert_eq!(invitation.conversation, reached.id);

        // Once per resolution: the second close may be surveyed, the first not twice.
        let config = SurveyConfig { repeat: RepeatPolicy::OncePerResolution, ..SurveyConfig::default() };
        let first = Survey::new(SurveyId::new("s1").unwrap(), invitation, &config, at(3));
        let first = Survey { state: SurveyState::Expired { at: at(100) }, ..first };
        assert_eq!(
            check_invitation(&config, Origin::Auto, reached.resolution(), Some(&first), at(200)),
            Err(InviteRefusal::AlreadyInvited(first.id.clone()))
        );
        let reopened = reached.apply(ConversationEvent::Reopened { at: at(201) }).unwrap();
        // An agent asking while reopened asks about the resolution under way.
        assert_eq!(check_invitation(&config, Origin::Agent, reopened.resolution(), Some(&first), at(202)), Ok(()));
        let second = run(reopened, [said(by_agent("bo"), 300, 202), closing(at(203))]);
        let invitation = second.invitation(tenant, Locale::En, Origin::Auto).unwrap();
        assert_eq!((invitation.resolution, invitation.agent), (2, Some(agent("bo"))));
        assert_eq!(check_invitation(&config, Origin::Auto, second.resolution(), Some(&first), at(204)), Ok(()));
    }

    fn auto_invite_errors(rules: AutoInviteRules) -> Vec<FieldError> {
        SurveyConfig { auto_invite: rules, ..SurveyConfig::default() }.validate().err().unwrap_or_default()
    }

    #[test]
    fn configuration_validation_names_the_auto_invite_fields() {
        let fields = |rules| auto_invite_errors(rules).into_iter().map(|e| e.field).collect::<Vec<_>>();
        assert_eq!(
            fields(AutoInviteRules { min_characters: Some(100_001), max_days_since_last_reply: Some(0), ..defaults() }),
            ["auto_invite.min_characters", "auto_invite.max_days_since_last_reply"]
        );
        assert_eq!(
            fields(AutoInviteRules { max_days_since_last_reply: Some(91), ..defaults() }),
            ["auto_invite.max_days_since_last_reply"]
        );
        let edges = AutoInviteRules {
            min_characters: Some(MAX_MIN_CHARACTERS),
            max_days_since_last_reply: Some(MAX_DAYS_SINCE_LAST_REPLY),
            ..defaults()
        };
        assert_eq!(fields(edges), Vec::<String>::new());
        let low_edges = AutoInviteRules { min_characters: Some(0), max_days_since_last_reply: Some(1), ..defaults() };
        assert_eq!(fields(low_edges), Vec::<String>::new());
        let off = AutoInviteRules { min_characters: None, max_days_since_last_reply: None, ..defaults() };
        assert_eq!(fields(off), Vec::<String>::new());
        for days in [0, 366] {
            assert_eq!(
                fields(AutoInviteRules { cooldown_days: Some(days), ..defaults() }),
                ["auto_invite.cooldown_days"]
            );
        }
        for percent in [0, 101] {
            assert_eq!(
                fields(AutoInviteRules { sample_percent: Some(percent), ..defaults() }),
                ["auto_invite.sample_percent"]
            );
        }
        for percent in [1, 100] {
            assert_eq!(fields(AutoInviteRules { sample_percent: Some(percent), ..defaults() }), Vec::<String>::new());
        }
        let message = auto_invite_errors(AutoInviteRules { max_days_since_last_reply: Some(0), ..defaults() });
        assert_eq!(message[0].to_string(), "auto_invite.max_days_since_last_reply: must be 1 to 90 days");
    }

    #[test]
    fn the_configuration_reads_auto_invite_rules_with_defaults() {
        let config: SurveyConfig = serde_json::from_str("{}").unwrap();
        assert_eq!(config.auto_invite, defaults());
        let config: SurveyConfig = serde_json::from_str(
            r#"{"auto_invite":{"min_characters":null,"include_api_outbound":true,"max_days_since_last_reply":3}}"#,
        )
        .unwrap();
        assert_eq!(
            config.auto_invite,
            AutoInviteRules {
                min_characters: None,
                include_api_outbound: true,
                max_days_since_last_reply: Some(3),
                ..defaults()
            }
        );
        let error = serde_json::from_str::<SurveyConfig>(r#"{"auto_invite":{"max_days":3}}"#).unwrap_err();
        assert!(error.to_string().contains("unknown field"), "{error}");
        let json = serde_json::to_value(SurveyConfig::default()).unwrap();
        assert_eq!(json["auto_invite"]["min_characters"], 250);
        assert_eq!(serde_json::from_value::<SurveyConfig>(json).unwrap(), SurveyConfig::default());
    }
}
