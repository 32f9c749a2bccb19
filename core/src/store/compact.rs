//! The survey record as the Redis store keeps it: a compact binary form, about a fifth of the
//! JSON's size, so a pending survey costs Redis as few bytes as its key and pointers allow.
//!
//! ```text
//! <revision, decimal ASCII> ':' <format version byte, 1> <fields>
//! ```
//!
//! The revision leads, in decimal, so the store's compare-and-set script can read it without
//! decoding anything else. The tenant and the survey id are in the record's key and not
//! repeated. Fields, in order: conversation, resolution, channel, recipient, agent, locale tag,
//! origin, the rules (scale as written in configurations, change window, comment flag, reasons,
//! reminder), created_at, sent_at, route, state, ratings. Integers are LEB128 varints (zigzag
//! when signed); strings a varint length and UTF-8; options a 0/1 byte before the value; lists
//! a varint count. `created_at` is unix seconds and nanoseconds; every later time is its offset
//! from `created_at` in the same two parts, a few bytes each. A reader refuses a version it
//! doesn't know, so the format can change by bumping the version byte and reading both.

use jiff::{SignedDuration, Timestamp};

use crate::ids::{AgentId, ChannelId, ConversationId, RecipientId, SurveyId, TenantId};
use crate::locale::Locale;
use crate::scale::Scale;
use crate::survey::{FailureReason, Invitation, LockCause, Origin, RatingEntry, Survey, SurveyRules, SurveyState};

/// The format written.
const VERSION: u8 = 1;

/// Encodes a survey's record.
pub fn encode(survey: &Survey) -> Vec<u8> {
    let mut out = Writer(Vec::with_capacity(128));
    out.0.extend_from_slice(survey.revision.to_string().as_bytes());
    out.0.push(b':');
    out.0.push(VERSION);
    let invitation = &survey.invitation;
    out.str(invitation.conversation.as_str());
    out.uint(invitation.resolution.into());
    out.str(invitation.channel.as_str());
    out.str(invitation.recipient.as_str());
    out.option(invitation.agent.as_ref(), |out, agent| out.str(agent.as_str()));
    out.str(invitation.locale.tag());
    out.0.push(match invitation.origin {
        Origin::Auto => 0,
        Origin::Agent => 1,
        Origin::User => 2,
    });
    let rules = &survey.rules;
    out.str(&rules.scale.to_string());
    out.uint(rules.change_window_hours.into());
    out.0.push(rules.follow_up_comment.into());
    out.uint(rules.low_rating_reasons.len() as u64);
    for reason in &rules.low_rating_reasons {
        out.str(reason);
    }
    out.option(rules.reminder_after_hours.as_ref(), |out, hours| out.uint((*hours).into()));
    let origin = survey.created_at;
    out.int(origin.as_second());
    out.uint(origin.subsec_nanosecond() as u64);
    out.option(survey.sent_at.as_ref(), |out, at| out.time(origin, *at));
    out.option(survey.route.as_ref(), |out, route| out.str(route));
    match &survey.state {
        SurveyState::Pending { deadline, hinted, reminded } => {
            out.0.push(0);
            out.time(origin, *deadline);
            out.0.push(u8::from(*hinted) | u8::from(*reminded) << 1);
        }
        SurveyState::Rated { score, reason, changeable_until, comment_until } => {
            out.0.push(1);
            out.0.push(score.value());
            out.option(reason.as_ref(), |out, reason| out.str(reason));
            out.time(origin, *changeable_until);
            out.time(origin, *comment_until);
        }
        SurveyState::Locked { score, reason, comment, cause, comment_until } => {
            out.0.push(2);
            out.0.push(score.value());
            out.option(reason.as_ref(), |out, reason| out.str(reason));
            out.option(comment.as_ref(), |out, comment| out.str(comment));
            out.0.push(match cause {
                LockCause::Comment => 0,
                LockCause::ChangeWindowClosed => 1,
                LockCause::AnotherConversation => 2,
            });
            out.time(origin, *comment_until);
        }
        SurveyState::Expired { at } => {
            out.0.push(3);
            out.time(origin, *at);
        }
        SurveyState::Failed { reason, at } => {
            out.0.push(4);
            out.str(&reason.code);
            out.str(&reason.detail);
            out.time(origin, *at);
        }
        SurveyState::Cancelled { at } => {
            out.0.push(5);
            out.time(origin, *at);
        }
    }
    out.uint(survey.ratings.len() as u64);
    for rating in &survey.ratings {
        out.0.push(rating.score.value());
        out.time(origin, rating.at);
    }
    out.0
}

/// The revision at the head of a record, as the store's scripts compare it.
fn revision(record: &[u8]) -> Option<u64> {
    let end = record.iter().position(|&b| b == b':')?;
    std::str::from_utf8(&record[..end]).ok()?.parse().ok()
}

/// Reads a record back; the tenant and id come from its key.
pub fn decode(record: &[u8], tenant: &TenantId, id: &SurveyId) -> Result<Survey, String> {
    let revision = revision(record).ok_or("no revision at the head of the record")?;
    let start = record.iter().position(|&b| b == b':').map_or(0, |colon| colon + 1);
    let mut r = Reader { bytes: &record[start..] };
    match r.byte()? {
        VERSION => {}
        other => return Err(format!("format version {other} is not known")),
    }
    let invitation = Invitation {
        tenant: tenant.clone(),
        conversation: ConversationId::new(r.str()?).map_err(|e| e.to_string())?,
        resolution: r.uint()?.try_into().map_err(|_| "resolution out of range")?,
        channel: ChannelId::new(r.str()?).map_err(|e| e.to_string())?,
        recipient: RecipientId::new(r.str()?).map_err(|e| e.to_string())?,
        agent: r.option(|r| AgentId::new(r.str()?).map_err(|e| e.to_string()))?,
        locale: r.str()?.parse::<Locale>().map_err(|e| e.to_string())?,
        origin: match r.byte()? {
            0 => Origin::Auto,
            1 => Origin::Agent,
            2 => Origin::User,
            other => return Err(format!("origin {other} is not known")),
        },
    };
    let scale: Scale = r.str()?.parse().map_err(|e: crate::scale::ScaleError| e.to_string())?;
    let rules = SurveyRules {
        scale,
        change_window_hours: r.uint()?.try_into().map_err(|_| "change window out of range")?,
        follow_up_comment: r.byte()? != 0,
        low_rating_reasons: (0..r.uint()?).map(|_| r.str().map(str::to_owned)).collect::<Result<_, _>>()?,
        reminder_after_hours: r.option(|r| r.uint()?.try_into().map_err(|_| "reminder out of range".to_owned()))?,
    };
    let seconds = r.int()?;
    let nanos = i32::try_from(r.uint()?).map_err(|_| "nanoseconds out of range")?;
    let origin = Timestamp::new(seconds, nanos).map_err(|e| e.to_string())?;
    let sent_at = r.option(|r| r.time(origin))?;
    let route = r.option(|r| r.str().map(str::to_owned))?;
    let score = |r: &mut Reader| scale.score(r.byte()?.into()).map_err(|e| e.to_string());
    let state = match r.byte()? {
        0 => {
            let deadline = r.time(origin)?;
            let flags = r.byte()?;
            SurveyState::Pending { deadline, hinted: flags & 1 != 0, reminded: flags & 2 != 0 }
        }
        1 => SurveyState::Rated {
            score: score(&mut r)?,
            reason: r.option(|r| r.str().map(str::to_owned))?,
            changeable_until: r.time(origin)?,
            comment_until: r.time(origin)?,
        },
        2 => SurveyState::Locked {
            score: score(&mut r)?,
            reason: r.option(|r| r.str().map(str::to_owned))?,
            comment: r.option(|r| r.str().map(str::to_owned))?,
            cause: match r.byte()? {
                0 => LockCause::Comment,
                1 => LockCause::ChangeWindowClosed,
                2 => LockCause::AnotherConversation,
                other => return Err(format!("lock cause {other} is not known")),
            },
            comment_until: r.time(origin)?,
        },
        3 => SurveyState::Expired { at: r.time(origin)? },
        4 => SurveyState::Failed {
            reason: FailureReason { code: r.str()?.to_owned(), detail: r.str()?.to_owned() },
            at: r.time(origin)?,
        },
        5 => SurveyState::Cancelled { at: r.time(origin)? },
        other => return Err(format!("state {other} is not known")),
    };
    let ratings = (0..r.uint()?)
        .map(|_| Ok(RatingEntry { score: score(&mut r)?, at: r.time(origin)? }))
        .collect::<Result<_, String>>()?;
    if !r.bytes.is_empty() {
        return Err(format!("{} bytes after the record", r.bytes.len()));
    }
    Ok(Survey { id: id.clone(), invitation, rules, created_at: origin, sent_at, route, state, ratings, revision })
}

struct Writer(Vec<u8>);

impl Writer {
    fn uint(&mut self, mut value: u64) {
        while value >= 0x80 {
            self.0.push(value as u8 | 0x80);
            value >>= 7;
        }
        self.0.push(value as u8);
    }

    fn int(&mut self, value: i64) {
        self.uint(((value << 1) ^ (value >> 63)) as u64);
    }

    fn str(&mut self, text: &str) {
        self.uint(text.len() as u64);
        self.0.extend_from_slice(text.as_bytes());
    }

    fn option<T>(&mut self, value: Option<&T>, write: impl FnOnce(&mut Self, &T)) {
        match value {
            None => self.0.push(0),
            Some(value) => {
                self.0.push(1);
                write(self, value);
            }
        }
    }

    /// A time after (or before) the survey's creation, as its offset.
    fn time(&mut self, origin: Timestamp, at: Timestamp) {
        let offset = at.duration_since(origin);
        self.int(offset.as_secs());
        self.int(offset.subsec_nanos().into());
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    fn byte(&mut self) -> Result<u8, String> {
        let (&first, rest) = self.bytes.split_first().ok_or("the record ends early")?;
        self.bytes = rest;
        Ok(first)
    }

    fn uint(&mut self) -> Result<u64, String> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = self.byte()?;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err("a number runs past 64 bits".into())
    }

    fn int(&mut self) -> Result<i64, String> {
        let zigzag = self.uint()?;
        Ok((zigzag >> 1) as i64 ^ -((zigzag & 1) as i64))
    }

    fn str(&mut self) -> Result<&'a str, String> {
        let length = usize::try_from(self.uint()?).map_err(|_| "a string longer than memory")?;
        if length > self.bytes.len() {
            return Err("the record ends inside a string".into());
        }
        let (text, rest) = self.bytes.split_at(length);
        self.bytes = rest;
        std::str::from_utf8(text).map_err(|e| e.to_string())
    }

    fn option<T>(&mut self, read: impl FnOnce(&mut Self) -> Result<T, String>) -> Result<Option<T>, String> {
        match self.byte()? {
            0 => Ok(None),
            1 => read(self).map(Some),
            other => Err(format!("option marker {other}")),
        }
    }

    fn time(&mut self, origin: Timestamp) -> Result<Timestamp, String> {
        let seconds = self.int()?;
        // Within a second, so building the duration can't overflow: a damaged record is refused.
        let nanos = i32::try_from(self.int()?)
            .ok()
            .filter(|nanos| nanos.unsigned_abs() < 1_000_000_000)
            .ok_or("nanoseconds out of range")?;
        origin.checked_add(SignedDuration::new(seconds, nanos)).map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SurveyConfig;
    use crate::survey::Event;

    fn survey() -> Survey {
        let created = Timestamp::new(1_763_700_000, 123_456_789).unwrap();
        let invitation = Invitation {
            tenant: TenantId::new("acme").unwrap(),
            conversation: ConversationId::new("zd:40123456").unwrap(),
            resolution: 2,
            channel: ChannelId::new("wa").unwrap(),
            recipient: RecipientId::new("15550001234").unwrap(),
            agent: Some(AgentId::new("ana").unwrap()),
            locale: Locale::PtBr,
            origin: Origin::Agent,
        };
        let config = SurveyConfig {
            low_rating_reasons: vec!["slow".into(), "unresolved".into()],
            reminder_after_hours: Some(4),
            ..SurveyConfig::default()
        };
        Survey::new(SurveyId::new("0123456789abcdef0123456789abcdef").unwrap(), invitation, &config, created)
    }

    fn round_trip(survey: &Survey) {
        let record = encode(survey);
        assert_eq!(revision(&record), Some(survey.revision));
        let read = decode(&record, &survey.invitation.tenant, &survey.id).unwrap();
        assert_eq!(&read, survey);
    }

    #[test]
    fn every_state_reads_back_exactly() {
        let pending = survey();
        round_trip(&pending);
        let at = pending.created_at + SignedDuration::new(90, 5);
        let sent = pending.apply(Event::Sent { route: Some("template".into()) }, at).unwrap().survey;
        round_trip(&sent);
        let rated = sent.apply(Event::Rate(Scale::FIVE_STARS.score(2).unwrap()), at).unwrap().survey;
        round_trip(&rated);
        let reason = rated.apply(Event::ChooseReason("slow".into()), at).unwrap().survey;
        round_trip(&reason);
        let commented = reason.apply(Event::Comment("Tardó, pero bien 👍".into()), at).unwrap().survey;
        round_trip(&commented);
        let other = Event::ConversationOpened { conversation: ConversationId::new("T-2").unwrap(), at };
        round_trip(&reason.apply(other, at + SignedDuration::from_secs(1)).unwrap().survey);
        let failed =
            pending.apply(Event::Fail(FailureReason { code: "user_blocked".into(), detail: "131031".into() }), at);
        round_trip(&failed.unwrap().survey);
        let late = pending.created_at + SignedDuration::from_hours(24 * 365);
        round_trip(&pending.apply(Event::Expire, late).unwrap().survey);
    }

    #[test]
    fn a_pending_survey_takes_a_fraction_of_its_json() {
        let pending = survey();
        let json = serde_json::to_vec(&pending).unwrap();
        let record = encode(&pending);
        assert!(record.len() * 4 < json.len(), "{} bytes against {} of JSON", record.len(), json.len());
    }

    #[test]
    fn damaged_records_are_refused_not_misread() {
        let pending = survey();
        let (tenant, id) = (&pending.invitation.tenant, &pending.id);
        let record = encode(&pending);
        for cut in 0..record.len() {
            assert!(decode(&record[..cut], tenant, id).is_err(), "cut at {cut}");
        }
        let mut extended = record.clone();
        extended.push(0);
        assert!(decode(&extended, tenant, id).is_err());
        let mut future = record.clone();
        future[2] = VERSION + 1;
        assert!(decode(&future, tenant, id).unwrap_err().contains("version"));
        assert!(decode(b"{\"id\":\"x\"}", tenant, id).is_err());
    }

    #[test]
    fn a_time_with_nanoseconds_past_a_second_is_refused() {
        for (seconds, nanos) in [(i64::MAX, 1_500_000_000), (0, 1_000_000_000), (0, -1_000_000_000)] {
            let mut writer = Writer(Vec::new());
            writer.int(seconds);
            writer.int(nanos);
            let mut reader = Reader { bytes: &writer.0 };
            assert!(reader.time(Timestamp::UNIX_EPOCH).is_err(), "{seconds} s {nanos} ns");
        }
    }
}
