//! When a Page may write to a person, and how: Messenger's messaging window and message tags.
//!
//! Within 24 hours of the person's last message a Page answers freely (`RESPONSE`). After that
//! only a message tag opens the way, and Meta's policy forbids tagged messages that prompt a
//! survey, so ratewire never picks one itself: it uses the tag the business named in the
//! channel's `message_tag` setting, and none when none is named.

use std::fmt;

use jiff::SignedDuration;
use ratewire_core::{FailureReason, Origin};

use super::failure;
use crate::{Content, SendContext};

/// How long after a person's last message a Page may answer without a tag.
pub const STANDARD_WINDOW: SignedDuration = SignedDuration::from_hours(24);
/// How long after a person's last message a human agent may still answer (`HUMAN_AGENT`).
pub const HUMAN_AGENT_WINDOW: SignedDuration = SignedDuration::from_hours(24 * 7);

/// The message tags Meta still accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageTag {
    ConfirmedEventUpdate,
    PostPurchaseUpdate,
    AccountUpdate,
    /// A human agent's message, up to 7 days after the person's last message; never an
    /// automated one.
    HumanAgent,
}

/// Of the 17 tags Meta had before 2020-03-04, those it removed then and refuses since;
/// `ACCOUNT_UPDATE` lives on, with a narrower meaning.
const RETIRED_TAGS: [&str; 16] = [
    "BUSINESS_PRODUCTIVITY",
    "COMMUNITY_ALERT",
    "CONFIRMED_EVENT_REMINDER",
    "NON_PROMOTIONAL_SUBSCRIPTION",
    "PAIRING_UPDATE",
    "APPLICATION_UPDATE",
    "PAYMENT_UPDATE",
    "PERSONAL_FINANCE_UPDATE",
    "SHIPPING_UPDATE",
    "RESERVATION_UPDATE",
    "ISSUE_RESOLUTION",
    "APPOINTMENT_UPDATE",
    "GAME_EVENT",
    "TRANSPORTATION_UPDATE",
    "FEATURE_FUNCTIONALITY_UPDATE",
    "TICKET_UPDATE",
];

impl MessageTag {
    pub const ALL: [MessageTag; 4] = [
        MessageTag::ConfirmedEventUpdate,
        MessageTag::PostPurchaseUpdate,
        MessageTag::AccountUpdate,
        MessageTag::HumanAgent,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            MessageTag::ConfirmedEventUpdate => "CONFIRMED_EVENT_UPDATE",
            MessageTag::PostPurchaseUpdate => "POST_PURCHASE_UPDATE",
            MessageTag::AccountUpdate => "ACCOUNT_UPDATE",
            MessageTag::HumanAgent => "HUMAN_AGENT",
        }
    }

    /// A tag as the `message_tag` setting names it; a retired or unknown one is refused, saying why.
    pub fn parse(text: &str) -> Result<MessageTag, String> {
        let text = text.trim();
        if let Some(tag) = MessageTag::ALL.into_iter().find(|tag| tag.as_str() == text) {
            return Ok(tag);
        }
        let accepted = MessageTag::ALL.map(MessageTag::as_str).join(", ");
        if RETIRED_TAGS.contains(&text.to_ascii_uppercase().as_str()) {
            Err(format!("{text} is one of the message tags Meta retired on 2020-03-04; use one of {accepted}"))
        } else {
            Err(format!("{text:?} is not a message tag; use one of {accepted}"))
        }
    }
}

impl fmt::Display for MessageTag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a message goes out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// Within 24 hours of the person's last message.
    Response,
    /// Outside it, under the business's chosen tag.
    Tag(MessageTag),
}

impl Route {
    /// The request's `messaging_type`.
    pub fn messaging_type(self) -> &'static str {
        match self {
            Route::Response => "RESPONSE",
            Route::Tag(_) => "MESSAGE_TAG",
        }
    }

    pub fn tag(self) -> Option<MessageTag> {
        match self {
            Route::Response => None,
            Route::Tag(tag) => Some(tag),
        }
    }
}

/// `RESPONSE` or `MESSAGE_TAG:HUMAN_AGENT`: what the survey's record says was taken.
impl fmt::Display for Route {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Route::Response => f.write_str("RESPONSE"),
            Route::Tag(tag) => write!(f, "MESSAGE_TAG:{tag}"),
        }
    }
}

/// The route a message may take, or why it may not be sent at all (`outside_window`).
pub fn route(context: &SendContext, content: &Content, tag: Option<MessageTag>) -> Result<Route, FailureReason> {
    let since = context.last_inbound_at.map(|at| context.now.duration_since(at));
    if since.is_some_and(|since| since < STANDARD_WINDOW) {
        return Ok(Route::Response);
    }
    let last = match context.last_inbound_at {
        Some(at) => {
            format!("the person last wrote at {}, more than 24 hours ago", at.round(jiff::Unit::Second).unwrap_or(at))
        }
        None => "the person has not written to the Page since the channel was connected".to_owned(),
    };
    let Some(tag) = tag else {
        return Err(failure(
            "outside_window",
            format!(
                "{last}, and no message tag is configured (settings.message_tag): Meta forbids tagged \
                 messages that prompt a survey, so none is chosen for the business"
            ),
        ));
    };
    if tag == MessageTag::HumanAgent {
        let by_agent = context.origin == Origin::Agent && matches!(content, Content::Invitation { .. });
        if !by_agent {
            return Err(failure(
                "outside_window",
                format!(
                    "{last}, and the HUMAN_AGENT tag may only carry an agent's own invitation, not an automated message"
                ),
            ));
        }
        if since.is_none_or(|since| since >= HUMAN_AGENT_WINDOW) {
            return Err(failure(
                "outside_window",
                format!("{last}, and the HUMAN_AGENT tag only reaches people who wrote within the last 7 days"),
            ));
        }
    }
    Ok(Route::Tag(tag))
}

#[cfg(test)]
mod tests {
    use jiff::Timestamp;

    use super::*;
    use crate::InvitationLayout;

    /// A send at a fixed time; the person last wrote `hours_ago`.
    fn context(hours_ago: Option<i64>, origin: Origin) -> SendContext {
        let now: Timestamp = "2026-05-04T12:00:00Z".parse().unwrap();
        SendContext {
            now,
            last_inbound_at: hours_ago.map(|hours| now - SignedDuration::from_hours(hours)),
            origin,
            locale: ratewire_core::Locale::En,
        }
    }

    fn invitation() -> Content {
        Content::Invitation {
            text: "How did we do?".into(),
            layout: InvitationLayout::TypedAnswer { hint: "1-5".into() },
        }
    }

    #[test]
    fn within_a_day_of_the_last_message_it_is_a_response() {
        for tag in [None, Some(MessageTag::HumanAgent), Some(MessageTag::AccountUpdate)] {
            for origin in [Origin::Auto, Origin::Agent] {
                let route = route(&context(Some(23), origin), &invitation(), tag);
                assert_eq!(route, Ok(Route::Response));
            }
        }
        // A clock a little behind the platform's: still inside.
        assert_eq!(route(&context(Some(-1), Origin::Auto), &invitation(), None), Ok(Route::Response));
        assert_eq!(Route::Response.to_string(), "RESPONSE");
    }

    #[test]
    fn outside_it_nothing_is_sent_without_a_tag() {
        for hours in [Some(24), Some(25), Some(24 * 30), None] {
            let refused = route(&context(hours, Origin::Agent), &invitation(), None).unwrap_err();
            assert_eq!(refused.code, "outside_window");
            assert!(refused.detail.contains("no message tag is configured"), "{}", refused.detail);
        }
        let never = route(&context(None, Origin::Agent), &invitation(), None).unwrap_err();
        assert!(never.detail.contains("has not written"), "{}", never.detail);
    }

    #[test]
    fn human_agent_carries_an_agents_invitation_for_seven_days() {
        let tag = Some(MessageTag::HumanAgent);
        let sent = route(&context(Some(48), Origin::Agent), &invitation(), tag).unwrap();
        assert_eq!(sent, Route::Tag(MessageTag::HumanAgent));
        assert_eq!(sent.to_string(), "MESSAGE_TAG:HUMAN_AGENT");
        assert_eq!((sent.messaging_type(), sent.tag()), ("MESSAGE_TAG", Some(MessageTag::HumanAgent)));

        let automatic = route(&context(Some(48), Origin::Auto), &invitation(), tag).unwrap_err();
        assert_eq!(automatic.code, "outside_window");
        assert!(automatic.detail.contains("agent's own invitation"), "{}", automatic.detail);
        let reminder = route(&context(Some(48), Origin::Agent), &Content::Text("Still there?".into()), tag);
        assert_eq!(reminder.unwrap_err().code, "outside_window", "an automated reply is no agent's message");
        for hours in [Some(24 * 7), Some(24 * 8), None] {
            let late = route(&context(hours, Origin::Agent), &invitation(), tag).unwrap_err();
            assert!(late.detail.contains("7 days"), "{}", late.detail);
        }
    }

    #[test]
    fn other_tags_are_the_business_s_explicit_choice() {
        let tag = Some(MessageTag::ConfirmedEventUpdate);
        let sent = route(&context(Some(24 * 30), Origin::Auto), &invitation(), tag).unwrap();
        assert_eq!(sent.to_string(), "MESSAGE_TAG:CONFIRMED_EVENT_UPDATE");
    }

    #[test]
    fn tags_are_parsed_strictly() {
        assert_eq!(MessageTag::parse("HUMAN_AGENT"), Ok(MessageTag::HumanAgent));
        assert_eq!(MessageTag::parse(" ACCOUNT_UPDATE "), Ok(MessageTag::AccountUpdate));
        assert!(MessageTag::parse("issue_resolution").unwrap_err().contains("retired"));
        assert!(MessageTag::parse("human_agent").unwrap_err().contains("not a message tag"));
        assert!(RETIRED_TAGS.iter().all(|retired| MessageTag::parse(retired).is_err()));
    }
}
