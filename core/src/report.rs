//! Reports on surveys: the figures a business sees for a period, and its ratings as CSV.
//!
//! Like the lifecycle, this is pure and synchronous: the caller reads the counters (or the
//! surveys) and passes the period; nothing here reads a clock or a store. A report is counted
//! from the tenant's counters ([`from_counters`], see [`crate::counts`]); counting the surveys
//! one by one ([`build`]) gives the same report, and is what tests hold the counters to.
//!
//! # What is counted
//!
//! A survey belongs to a report when it was created in `[from, to)` and matches the query's
//! channel and agent, if set. Cancelled surveys are left out of every figure: a cancelled survey
//! was withdrawn, it was never a question to the end user.
//!
//! # Mixed scales
//!
//! A business may change its scale, so one report can hold surveys asked on different scales.
//! Each survey keeps the scale it was created with and is judged on that scale alone:
//!
//! - CSAT counts a rating as satisfied by [`Scale::is_positive`] on the survey's own scale (4–5 of
//!   five stars or faces, 7–10 on `numeric:1-10`), so surveys on different scales pool into one
//!   share. Surveys on the 0–10 NPS scale are left out of CSAT, numerator and denominator alike.
//! - NPS counts only surveys on the 0–10 scale (`numeric:0-10`).
//! - The average score and the distribution of scores only mean something on one scale: they are
//!   given for a group only when all its rated surveys share one scale.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use crate::counts::{Cell, Counters, Counts, Group, Plan, covers};
use crate::ids::{AgentId, ChannelId, SurveyId};
use crate::scale::{Scale, Score};
use crate::survey::{Survey, SurveyState};

/// The most days [`Report::by_day`] lists. A longer range lists its first `MAX_DAYS` days; its
/// later surveys still count in the totals and the other splits.
pub const MAX_DAYS: usize = 400;
/// The most entries [`Report::negative`] lists: the most recent ones.
pub const MAX_NEGATIVE: usize = 100;
/// The most negative ratings a store keeps in a tenant's index of them, the most recently rated:
/// what [`Report::negative`] is chosen from. A report whose filters leave fewer than
/// [`MAX_NEGATIVE`] of these lists fewer, even if older negative ratings match.
pub const NEGATIVE_KEPT: usize = 1000;

/// The header of the ratings export ([`ratings_csv_header`]).
pub const CSV_HEADER: [&str; 12] = [
    "survey_id",
    "created_at",
    "rated_at",
    "channel",
    "agent",
    "locale",
    "scale",
    "score",
    "positive",
    "comment",
    "reason",
    "changes",
];

/// Which surveys a report covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportQuery {
    /// The first instant of the period (included), by the surveys' creation time.
    pub from: Timestamp,
    /// The end of the period (excluded).
    pub to: Timestamp,
    /// The time zone the days of [`Report::by_day`] are counted in.
    pub time_zone: TimeZone,
    /// Only the surveys of this channel.
    pub channel: Option<ChannelId>,
    /// Only the surveys credited to this agent.
    pub agent: Option<AgentId>,
}

impl ReportQuery {
    /// All surveys created in `[from, to)`, with days counted in UTC.
    pub fn new(from: Timestamp, to: Timestamp) -> Self {
        Self { from, to, time_zone: TimeZone::UTC, channel: None, agent: None }
    }

    pub fn in_time_zone(self, time_zone: TimeZone) -> Self {
        Self { time_zone, ..self }
    }

    pub fn for_channel(self, channel: ChannelId) -> Self {
        Self { channel: Some(channel), ..self }
    }

    pub fn for_agent(self, agent: AgentId) -> Self {
        Self { agent: Some(agent), ..self }
    }

    /// Whether the survey was created in the period and matches the channel and agent, if set.
    /// Says nothing of its state: [`build`] also leaves out cancelled surveys.
    pub fn includes(&self, survey: &Survey) -> bool {
        let invitation = &survey.invitation;
        (self.from..self.to).contains(&survey.created_at)
            && self.channel.as_ref().is_none_or(|channel| *channel == invitation.channel)
            && self.agent.as_ref().is_none_or(|agent| invitation.agent.as_ref() == Some(agent))
    }
}

/// The figures of a period. Serialized field names are the API's.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Report {
    pub from: Timestamp,
    pub to: Timestamp,
    pub totals: Figures,
    /// One entry per agent, sorted by agent id; the surveys credited to no agent come last,
    /// with a null `agent`.
    pub by_agent: Vec<AgentFigures>,
    /// One entry per channel, sorted by channel id.
    pub by_channel: Vec<ChannelFigures>,
    /// One entry per day of the period in the query's time zone, by the surveys' creation time,
    /// oldest first. Days without surveys are listed with zero counts, so a chart has no gaps.
    /// At most [`MAX_DAYS`] days.
    pub by_day: Vec<DayFigures>,
    /// The negative ratings ([`Scale::is_negative`]: the bottom 40% of a scale's levels, the
    /// detractors 0–6 on NPS), the most recently rated first; at most [`MAX_NEGATIVE`], chosen
    /// among the tenant's [`NEGATIVE_KEPT`] most recent negative ratings.
    pub negative: Vec<NegativeRating>,
    /// The scales of the surveys counted, e.g. `stars:5`, sorted.
    pub scales: Vec<String>,
    /// Whether the part of the range from before the store kept counters held more surveys
    /// than a report reads one by one, so that only its first ones were counted.
    pub truncated: bool,
}

/// What came of a group of surveys. Cancelled surveys are not counted.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Figures {
    /// Surveys created.
    pub invited: u64,
    /// Surveys the channel accepted, or that were rated (a rated survey necessarily arrived).
    /// A survey whose delivery failed is not delivered, even if the channel first accepted it.
    pub delivered: u64,
    pub failed: u64,
    pub expired: u64,
    /// Surveys rated (rated or locked).
    pub rated: u64,
    /// `rated / delivered`, from 0 to 1; null when nothing was delivered.
    pub response_rate: Option<f64>,
    /// The share of satisfied ratings among the rated surveys, from 0 to 1, each survey judged on
    /// its own scale by [`Scale::is_positive`]. Surveys on the NPS scale are left out. Null when
    /// no survey off the NPS scale was rated.
    pub csat: Option<f64>,
    /// For surveys on the 0–10 scale only: the percentage of promoters (9–10) minus the
    /// percentage of detractors (0–6), from −100 to 100, rounded to one decimal. Null when no
    /// survey on the NPS scale was rated.
    pub nps: Option<f64>,
    /// The mean score, when all the rated surveys share one scale; null otherwise (and when none
    /// was rated).
    pub average_score: Option<f64>,
    /// How many rated surveys gave each score, keyed by the score (`"1"` to `"5"`, `"0"` to
    /// `"10"`), with every level of the scale listed. Only when all the rated surveys share one
    /// scale: empty when they don't, or when none was rated.
    #[cfg_attr(feature = "openapi", schema(value_type = BTreeMap<String, u64>))]
    pub distribution: BTreeMap<u8, u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AgentFigures {
    pub agent: Option<AgentId>,
    #[serde(flatten)]
    pub figures: Figures,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChannelFigures {
    pub channel: ChannelId,
    #[serde(flatten)]
    pub figures: Figures,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DayFigures {
    /// `YYYY-MM-DD` in the query's time zone.
    pub date: Date,
    #[serde(flatten)]
    pub figures: Figures,
}

/// A negative rating, for the business to follow up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NegativeRating {
    pub survey_id: SurveyId,
    pub score: Score,
    pub scale: Scale,
    pub comment: Option<String>,
    pub reason: Option<String>,
    pub agent: Option<AgentId>,
    pub channel: ChannelId,
    /// When the score that counts was given.
    pub rated_at: Timestamp,
}

/// The report on the surveys `query` covers, counted one by one. Callers pass the surveys created
/// in the period; the period, channel and agent are checked again here, so passing more does no
/// harm. What [`from_counters`] always equals.
pub fn build(surveys: &[Survey], query: &ReportQuery) -> Report {
    let mut figures = Figuring::default();
    for survey in surveys {
        let Some(counts) = counted(survey, query) else { continue };
        let cell = Cell::of(survey);
        figures.day(query.time_zone.to_datetime(survey.created_at).date()).add(cell.scale, &counts);
        figures.add(&cell, &counts);
    }
    figures.report(query, negative_ratings(surveys, query))
}

/// The report on the surveys `query` covers, from the tenant's counters (see [`crate::counts`]):
/// what the store read of the counters `plan` names, the surveys created in the pieces of the
/// plan that counters don't cover, and the surveys of the store's index of negative ratings.
pub fn from_counters(
    query: &ReportQuery,
    plan: &Plan,
    counters: &Counters,
    scanned: &[Survey],
    negative: &[Survey],
) -> Report {
    // Summed before they are judged: only a group's whole counts mean something.
    let mut cells: HashMap<Cell, Counts> = HashMap::new();
    for bucket in &plan.range.buckets {
        for (group, counts) in counters.in_bucket(bucket) {
            if let Group::Cell(cell) = group
                && covers(query, cell)
            {
                cells.entry(cell.clone()).or_default().add(counts);
            }
        }
    }
    let by_scale = query.channel.is_none() && query.agent.is_none();
    let mut days: Vec<HashMap<Scale, Counts>> = plan
        .days
        .iter()
        .map(|(_, part)| {
            let mut scales: HashMap<Scale, Counts> = HashMap::new();
            for (group, counts) in part.buckets.iter().flat_map(|bucket| counters.in_bucket(bucket)) {
                let wanted = match group {
                    Group::Scale(_) => by_scale,
                    Group::Cell(cell) => !by_scale && covers(query, cell),
                };
                if wanted {
                    scales.entry(group.scale()).or_default().add(counts);
                }
            }
            scales
        })
        .collect();
    for survey in scanned {
        let Some(counts) = counted(survey, query) else { continue };
        let (cell, at) = (Cell::of(survey), survey.created_at);
        if plan.range.scans(at) {
            cells.entry(cell.clone()).or_default().add(&counts);
        }
        let date = query.time_zone.to_datetime(at).date();
        if let Ok(day) = plan.days.binary_search_by_key(&date, |(date, _)| *date)
            && plan.days[day].1.scans(at)
        {
            days[day].entry(cell.scale).or_default().add(&counts);
        }
    }

    let mut figures = Figuring::default();
    for (cell, counts) in &cells {
        figures.add(cell, counts);
    }
    for ((date, _), scales) in plan.days.iter().zip(days) {
        let day = figures.day(*date);
        for (scale, counts) in scales {
            day.add(scale, &counts);
        }
    }
    figures.report(query, negative_ratings(negative, query))
}

/// When the survey's negative rating ([`Scale::is_negative`]) was given, if it holds one: what
/// the stores index negative ratings by.
pub fn negative_rated_at(survey: &Survey) -> Option<Timestamp> {
    let score = survey.score()?;
    survey.rules.scale.is_negative(score).then(|| rated_at(survey))
}

/// The negative ratings among `surveys` that count in the query, the newest [`MAX_NEGATIVE`].
fn negative_ratings(surveys: &[Survey], query: &ReportQuery) -> Vec<NegativeRating> {
    let mut negative: Vec<NegativeRating> = surveys
        .iter()
        .filter(|survey| counted(survey, query).is_some())
        .filter_map(|survey| {
            let invitation = &survey.invitation;
            Some(NegativeRating {
                rated_at: negative_rated_at(survey)?,
                survey_id: survey.id.clone(),
                score: survey.score()?,
                scale: survey.rules.scale,
                comment: survey.comment().map(str::to_owned),
                reason: reason(survey).map(str::to_owned),
                agent: invitation.agent.clone(),
                channel: invitation.channel.clone(),
            })
        })
        .collect();
    // Most recent first; the survey id settles ties so the order never depends on the input's.
    negative.sort_by(|a, b| b.rated_at.cmp(&a.rated_at).then_with(|| a.survey_id.cmp(&b.survey_id)));
    negative.truncate(MAX_NEGATIVE);
    negative
}

/// A report's groups while they are counted.
#[derive(Default)]
struct Figuring {
    totals: Tally,
    by_agent: BTreeMap<Option<AgentId>, Tally>,
    by_channel: BTreeMap<ChannelId, Tally>,
    by_day: BTreeMap<Date, Tally>,
    scales: BTreeSet<String>,
}

impl Figuring {
    /// Counts a cell's surveys in the totals and the splits by agent and channel (not by day).
    fn add(&mut self, cell: &Cell, counts: &Counts) {
        // No survey counted: what is left are changes to a survey whose creation was not counted
        // (one an earlier version created while a newer one already counted: README's upgrade).
        if counts.invited <= 0 {
            return;
        }
        self.totals.add(cell.scale, counts);
        self.by_agent.entry(cell.agent.clone()).or_default().add(cell.scale, counts);
        self.by_channel.entry(cell.channel.clone()).or_default().add(cell.scale, counts);
        self.scales.insert(cell.scale.to_string());
    }

    fn day(&mut self, date: Date) -> &mut Tally {
        self.by_day.entry(date).or_default()
    }

    fn report(self, query: &ReportQuery, negative: Vec<NegativeRating>) -> Report {
        // `None` sorts first in the map; the surveys without an agent are listed last.
        let (unassigned, assigned): (Vec<_>, Vec<_>) =
            self.by_agent.into_iter().partition(|(agent, _)| agent.is_none());
        let by_agent = assigned
            .into_iter()
            .chain(unassigned)
            .map(|(agent, tally)| AgentFigures { agent, figures: tally.figures() })
            .collect();
        let by_channel = self
            .by_channel
            .into_iter()
            .map(|(channel, tally)| ChannelFigures { channel, figures: tally.figures() })
            .collect();
        let by_day = days(query)
            .into_iter()
            .map(|date| DayFigures { date, figures: self.by_day.get(&date).map(Tally::figures).unwrap_or_default() })
            .collect();
        Report {
            from: query.from,
            to: query.to,
            totals: self.totals.figures(),
            by_agent,
            by_channel,
            by_day,
            negative,
            scales: self.scales.into_iter().collect(),
            truncated: false,
        }
    }
}

/// The ratings export's header row. The export is the rated surveys a query covers as CSV (RFC
/// 4180: comma-separated, CRLF line ends), oldest first, one row per survey ([`ratings_csv_row`])
/// under [`CSV_HEADER`]:
///
/// - `created_at`, `rated_at`: RFC 3339 in UTC, to the second; `rated_at` is when the score that
///   counts was given;
/// - `agent`, `comment`, `reason`: empty when there is none;
/// - `positive`: `true` or `false` by [`Scale::is_positive`] on the survey's scale; empty on the
///   NPS scale, which CSAT leaves out;
/// - `changes`: how many times the end user changed their score.
///
/// A field holding a comma, a double quote, CR or LF is quoted, its quotes doubled. Against
/// formula injection, a field starting with `=`, `+`, `-`, `@`, a tab or CR gets a leading `'`,
/// so a spreadsheet shows it as text instead of evaluating it.
pub fn ratings_csv_header() -> String {
    let mut out = String::new();
    push_row(&mut out, CSV_HEADER);
    out
}

/// One survey's row of the ratings export (see [`ratings_csv_header`]), if the survey is in the
/// query and rated.
pub fn ratings_csv_row(survey: &Survey, query: &ReportQuery) -> Option<String> {
    if !query.includes(survey) {
        return None;
    }
    let score = survey.score()?;
    let invitation = &survey.invitation;
    let scale = survey.rules.scale;
    let positive = if scale.is_nps() {
        ""
    } else if scale.is_positive(score) {
        "true"
    } else {
        "false"
    };
    let changes = survey.ratings.len().saturating_sub(1);
    let mut out = String::new();
    push_row(
        &mut out,
        [
            survey.id.as_str(),
            &utc_seconds(survey.created_at),
            &utc_seconds(rated_at(survey)),
            invitation.channel.as_str(),
            invitation.agent.as_ref().map_or("", AgentId::as_str),
            invitation.locale.tag(),
            &scale.to_string(),
            &score.to_string(),
            positive,
            survey.comment().unwrap_or_default(),
            reason(survey).unwrap_or_default(),
            &changes.to_string(),
        ],
    );
    Some(out)
}

/// What the survey counts in the report: nothing unless it is in the query, and not cancelled.
fn counted(survey: &Survey, query: &ReportQuery) -> Option<Counts> {
    if query.includes(survey) { Counts::of(survey) } else { None }
}

/// When the score that counts was given. A rated survey always has a rating entry; the creation
/// time only stands in for a record without one.
fn rated_at(survey: &Survey) -> Timestamp {
    survey.ratings.last().map_or(survey.created_at, |entry| entry.at)
}

fn reason(survey: &Survey) -> Option<&str> {
    match &survey.state {
        SurveyState::Rated { reason, .. } | SurveyState::Locked { reason, .. } => reason.as_deref(),
        _ => None,
    }
}

/// The days of the query's period in its time zone, first to last, at most [`MAX_DAYS`].
pub(crate) fn days(query: &ReportQuery) -> Vec<Date> {
    let tz = &query.time_zone;
    // The period excludes `to`: its last day is the one holding the instant just before.
    let Some(end) = query.to.checked_sub(SignedDuration::from_nanos(1)).ok().filter(|_| query.from < query.to) else {
        return Vec::new();
    };
    let last = tz.to_datetime(end).date();
    let mut days = Vec::new();
    let mut day = Some(tz.to_datetime(query.from).date());
    while let Some(today) = day.filter(|today| *today <= last && days.len() < MAX_DAYS) {
        days.push(today);
        day = today.tomorrow().ok();
    }
    days
}

fn utc_seconds(at: Timestamp) -> String {
    at.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Running counts for one group of surveys.
#[derive(Default)]
struct Tally {
    invited: u64,
    delivered: u64,
    failed: u64,
    expired: u64,
    rated: u64,
    /// Rated surveys off the NPS scale, and how many of them were satisfied.
    csat_rated: u64,
    positive: u64,
    nps_rated: u64,
    promoters: u64,
    detractors: u64,
    score_sum: u64,
    scale: ScaleSeen,
    /// Ratings per score; scores run from 0 to 10 on every scale.
    counts: [u64; 11],
}

/// The scales of a group's rated surveys.
#[derive(Default)]
enum ScaleSeen {
    #[default]
    None,
    One(Scale),
    Mixed,
}

impl Tally {
    /// Adds the counts of surveys on `scale`. A count below zero (changes to a survey whose
    /// creation was not counted) counts as none.
    fn add(&mut self, scale: Scale, counts: &Counts) {
        let count = |n: i64| u64::try_from(n).unwrap_or(0);
        self.invited += count(counts.invited);
        self.delivered += count(counts.delivered);
        self.failed += count(counts.failed);
        self.expired += count(counts.expired);
        for (score, n) in counts.ratings(scale) {
            let n = count(n);
            if n == 0 {
                continue;
            }
            self.rated += n;
            if scale.is_nps() {
                self.nps_rated += n;
                self.promoters += if score.value() >= 9 { n } else { 0 };
                self.detractors += if score.value() <= 6 { n } else { 0 };
            } else {
                self.csat_rated += n;
                self.positive += if scale.is_positive(score) { n } else { 0 };
            }
            self.score_sum += u64::from(score.value()) * n;
            self.counts[usize::from(score.value())] += n;
            self.scale = match self.scale {
                ScaleSeen::None => ScaleSeen::One(scale),
                ScaleSeen::One(seen) if seen == scale => ScaleSeen::One(scale),
                _ => ScaleSeen::Mixed,
            };
        }
    }

    fn figures(&self) -> Figures {
        let share = |part: u64, whole: u64| (whole > 0).then(|| part as f64 / whole as f64);
        let nps = (self.nps_rated > 0).then(|| {
            let percent = (self.promoters as f64 - self.detractors as f64) * 100.0 / self.nps_rated as f64;
            // `+ 0.0` turns a rounded −0.0 into 0.0.
            (percent * 10.0).round() / 10.0 + 0.0
        });
        let (average_score, distribution) = match self.scale {
            ScaleSeen::One(scale) => (
                share(self.score_sum, self.rated),
                scale.scores().map(|score| (score.value(), self.counts[usize::from(score.value())])).collect(),
            ),
            ScaleSeen::None | ScaleSeen::Mixed => (None, BTreeMap::new()),
        };
        Figures {
            invited: self.invited,
            delivered: self.delivered,
            failed: self.failed,
            expired: self.expired,
            rated: self.rated,
            response_rate: share(self.rated, self.delivered),
            csat: share(self.positive, self.csat_rated),
            nps,
            average_score,
            distribution,
        }
    }
}

fn push_row<'a>(out: &mut String, fields: impl IntoIterator<Item = &'a str>) {
    for (i, field) in fields.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_field(out, field);
    }
    out.push_str("\r\n");
}

/// Writes one CSV field: guarded against formula injection, then quoted if need be.
fn push_field(out: &mut String, field: &str) {
    let guard = field.starts_with(['=', '+', '-', '@', '\t', '\r']);
    let quote = field.contains([',', '"', '\r', '\n']);
    if quote {
        out.push('"');
    }
    if guard {
        out.push('\'');
    }
    for c in field.chars() {
        if c == '"' {
            out.push('"');
        }
        out.push(c);
    }
    if quote {
        out.push('"');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The whole export of `surveys`, oldest first, as the API streams it.
    fn ratings_csv(surveys: &[Survey], query: &ReportQuery) -> String {
        let mut sorted: Vec<&Survey> = surveys.iter().collect();
        sorted.sort_by(|a, b| a.created_at.cmp(&b.created_at).then_with(|| a.id.cmp(&b.id)));
        let rows = sorted.into_iter().filter_map(|survey| ratings_csv_row(survey, query));
        std::iter::once(ratings_csv_header()).chain(rows).collect()
    }
    use crate::config::SurveyConfig;
    use crate::ids::{ConversationId, RecipientId, TenantId};
    use crate::locale::Locale;
    use crate::survey::{Event, FailureReason, Invitation, Origin};

    fn t(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    fn minutes(n: i64) -> SignedDuration {
        SignedDuration::from_mins(n)
    }

    /// How a test survey is asked: channel `wa`, agent `ana`, five stars unless changed.
    struct Ask {
        channel: &'static str,
        agent: Option<&'static str>,
        scale: Scale,
        reasons: Vec<String>,
    }

    fn ask() -> Ask {
        Ask { channel: "wa", agent: Some("ana"), scale: Scale::FIVE_STARS, reasons: Vec::new() }
    }

    impl Ask {
        fn channel(self, channel: &'static str) -> Self {
            Self { channel, ..self }
        }

        fn agent(self, agent: Option<&'static str>) -> Self {
            Self { agent, ..self }
        }

        fn scale(self, scale: Scale) -> Self {
            Self { scale, ..self }
        }

        fn reasons(self, reasons: &[&str]) -> Self {
            Self { reasons: reasons.iter().map(|r| r.to_string()).collect(), ..self }
        }

        /// A survey created at `created`, still pending and not yet sent.
        fn pending(&self, id: &str, created: Timestamp) -> Survey {
            let config = SurveyConfig {
                scale: self.scale,
                validity_hours: 48,
                change_window_hours: 24,
                low_rating_reasons: self.reasons.clone(),
                ..SurveyConfig::default()
            };
            let invitation = Invitation {
                tenant: TenantId::new("acme").unwrap(),
                conversation: ConversationId::new(format!("conv-{id}")).unwrap(),
                resolution: 1,
                channel: ChannelId::new(self.channel).unwrap(),
                recipient: RecipientId::new("15550001").unwrap(),
                agent: self.agent.map(|agent| AgentId::new(agent).unwrap()),
                locale: Locale::En,
                origin: Origin::Auto,
            };
            Survey::new(SurveyId::new(id).unwrap(), invitation, &config, created)
        }

        /// Sent a minute after `created`.
        fn sent(&self, id: &str, created: Timestamp) -> Survey {
            apply(self.pending(id, created), Event::SENT, created + minutes(1))
        }

        /// Sent, then rated `score` ten minutes after `created`.
        fn rated(&self, id: &str, created: Timestamp, score: u32) -> Survey {
            let score = self.scale.score(score).unwrap();
            apply(self.sent(id, created), Event::Rate(score), created + minutes(10))
        }

        fn rated_many(&self, prefix: &str, created: Timestamp, scores: &[u32]) -> Vec<Survey> {
            scores.iter().enumerate().map(|(i, score)| self.rated(&format!("{prefix}{i}"), created, *score)).collect()
        }
    }

    fn apply(survey: Survey, event: Event, now: Timestamp) -> Survey {
        survey.apply(event, now).unwrap().survey
    }

    fn score(n: u32) -> Score {
        Scale::FIVE_STARS.score(n).unwrap()
    }

    fn failure() -> FailureReason {
        FailureReason { code: "outside_window".into(), detail: "24 h passed".into() }
    }

    /// March 2027, days counted in UTC.
    fn march() -> ReportQuery {
        ReportQuery::new(t("2027-03-01T00:00:00Z"), t("2027-04-01T00:00:00Z"))
    }

    const DAY1: &str = "2027-03-01T10:00:00Z";

    fn five_star_distribution(counts: [u64; 5]) -> BTreeMap<u8, u64> {
        (1..=5).zip(counts).collect()
    }

    #[test]
    fn csat_is_the_share_of_the_top_two_of_five() {
        let surveys = ask().rated_many("s", t(DAY1), &[5, 4, 3, 1]);
        let totals = build(&surveys, &march()).totals;
        assert_eq!(
            totals,
            Figures {
                invited: 4,
                delivered: 4,
                failed: 0,
                expired: 0,
                rated: 4,
                response_rate: Some(1.0),
                csat: Some(0.5),
                nps: None,
                average_score: Some(3.25),
                distribution: five_star_distribution([1, 0, 1, 1, 1]),
            }
        );
    }

    #[test]
    fn nps_is_promoters_minus_detractors_in_percent() {
        let nps = ask().scale(Scale::NPS);
        let even = build(&nps.rated_many("s", t(DAY1), &[10, 9, 8, 7, 6, 0]), &march()).totals;
        assert_eq!(even.nps, Some(0.0));
        assert_eq!(even.csat, None, "NPS surveys are left out of CSAT");
        assert_eq!(even.distribution.len(), 11);
        assert_eq!(even.distribution[&0], 1);
        assert_eq!(even.distribution[&5], 0);
        assert_eq!(even.average_score, Some(40.0 / 6.0));

        let keen = build(&nps.rated_many("s", t(DAY1), &[10, 10, 9, 8, 3]), &march()).totals;
        assert_eq!(keen.nps, Some(40.0));

        // One promoter, two detractors: −33.33… rounds to one decimal.
        let sour = build(&nps.rated_many("s", t(DAY1), &[10, 0, 6]), &march()).totals;
        assert_eq!(sour.nps, Some(-33.3));
    }

    #[test]
    fn response_rate_counts_delivered_surveys_only() {
        let at = t(DAY1);
        let surveys = vec![
            ask().rated("rated", at, 5),
            // Rated before any delivery report: the survey evidently arrived.
            apply(ask().pending("rated-unreported", at), Event::Rate(score(4)), at),
            apply(ask().sent("expired", at), Event::Expire, at + SignedDuration::from_hours(48)),
            apply(ask().pending("failed", at), Event::Fail(failure()), at + minutes(1)),
            // Accepted by the channel, then reported undeliverable.
            apply(ask().sent("failed-after-send", at), Event::Fail(failure()), at + minutes(2)),
            ask().pending("unsent", at),
            ask().sent("waiting", at),
        ];
        let totals = build(&surveys, &march()).totals;
        assert_eq!((totals.invited, totals.delivered, totals.failed, totals.expired, totals.rated), (7, 4, 2, 1, 2));
        assert_eq!(totals.response_rate, Some(0.5));
    }

    #[test]
    fn an_empty_group_has_no_rates() {
        let report = build(&[], &march());
        assert_eq!(report.totals, Figures::default());
        assert_eq!(report.totals.response_rate, None);
        assert!(report.by_agent.is_empty() && report.by_channel.is_empty() && report.negative.is_empty());
        assert_eq!(report.by_day.len(), 31);
        assert!(report.scales.is_empty());
        // Sent but not answered: a response rate of zero, but no CSAT.
        let totals = build(&[ask().sent("s", t(DAY1))], &march()).totals;
        assert_eq!((totals.response_rate, totals.csat, totals.average_score), (Some(0.0), None, None));
        assert!(totals.distribution.is_empty());
    }

    #[test]
    fn each_survey_is_judged_on_its_own_scale() {
        let at = t(DAY1);
        let surveys = vec![
            ask().rated("stars", at, 4),
            ask().agent(Some("bo")).scale(Scale::numeric(1, 10).unwrap()).rated("ten", at, 7),
            ask().agent(Some("bo")).scale(Scale::Faces).rated("faces", at, 2),
            ask().agent(Some("bo")).scale(Scale::NPS).rated("nps", at, 10),
        ];
        let report = build(&surveys, &march());
        let totals = &report.totals;
        assert_eq!(totals.rated, 4);
        assert_eq!(totals.csat, Some(2.0 / 3.0), "4 of 5 and 7 of 10 are satisfied, 2 of 5 faces not");
        assert_eq!(totals.nps, Some(100.0));
        assert_eq!(totals.average_score, None);
        assert!(totals.distribution.is_empty());
        assert_eq!(report.scales, ["emoji:5", "numeric:0-10", "numeric:1-10", "stars:5"]);
        // Ana's only rating is on five stars: her group has an average and a distribution.
        let ana = &report.by_agent[0];
        assert_eq!(ana.agent.as_ref().map(AgentId::as_str), Some("ana"));
        assert_eq!(ana.figures.average_score, Some(4.0));
        assert_eq!(ana.figures.distribution, five_star_distribution([0, 0, 0, 1, 0]));
        assert!(report.by_agent[1].figures.distribution.is_empty());
    }

    #[test]
    fn figures_split_by_agent_and_channel() {
        let at = t(DAY1);
        let surveys = vec![
            ask().agent(Some("zoe")).rated("z1", at, 5),
            ask().agent(None).channel("tg").rated("n1", at, 1),
            ask().rated("a1", at, 5),
            ask().channel("tg").rated("a2", at, 2),
            apply(ask().agent(Some("bo")).pending("b1", at), Event::Fail(failure()), at),
        ];
        let report = build(&surveys, &march());
        let agents: Vec<_> = report
            .by_agent
            .iter()
            .map(|g| (g.agent.as_ref().map(AgentId::as_str), g.figures.invited, g.figures.rated, g.figures.csat))
            .collect();
        assert_eq!(
            agents,
            [
                (Some("ana"), 2, 2, Some(0.5)),
                (Some("bo"), 1, 0, None),
                (Some("zoe"), 1, 1, Some(1.0)),
                (None, 1, 1, Some(0.0)),
            ]
        );
        let channels: Vec<_> = report
            .by_channel
            .iter()
            .map(|g| (g.channel.as_str(), g.figures.invited, g.figures.failed, g.figures.csat))
            .collect();
        assert_eq!(channels, [("tg", 2, 0, Some(0.0)), ("wa", 3, 1, Some(1.0))]);

        let ana_on_wa = march().for_channel(ChannelId::new("wa").unwrap()).for_agent(AgentId::new("ana").unwrap());
        let report = build(&surveys, &ana_on_wa);
        assert_eq!(report.totals.invited, 1);
        assert_eq!(report.by_agent.len(), 1);
        assert_eq!(report.by_channel.len(), 1);
        assert_eq!(ratings_csv(&surveys, &ana_on_wa).lines().count(), 2);
    }

    #[test]
    fn every_day_of_the_period_is_listed() {
        let query = ReportQuery::new(t("2027-03-01T00:00:00Z"), t("2027-03-04T00:00:00Z"));
        let surveys = vec![
            ask().rated("a", t("2027-03-01T00:00:00Z"), 5),
            ask().rated("b", t("2027-03-03T23:59:59Z"), 1),
            // Just outside the period on either side.
            ask().rated("early", t("2027-02-28T23:59:59Z"), 5),
            ask().rated("late", t("2027-03-04T00:00:00Z"), 5),
        ];
        let report = build(&surveys, &query);
        let days: Vec<_> = report.by_day.iter().map(|d| (d.date.to_string(), d.figures.invited)).collect();
        assert_eq!(days, [("2027-03-01".into(), 1), ("2027-03-02".into(), 0), ("2027-03-03".into(), 1)]);
        assert_eq!(report.by_day[1].figures, Figures::default());
        assert_eq!(report.totals.invited, 2);
    }

    #[test]
    fn days_are_counted_in_the_query_time_zone() {
        // Shanghai has kept UTC+8 without daylight saving since 1991.
        let shanghai = TimeZone::get("Asia/Shanghai").unwrap_or_else(|_| TimeZone::fixed(jiff::tz::offset(8)));
        let surveys = vec![ask().rated("late-evening", t("2027-03-01T23:30:00Z"), 4)];
        let day = |query: &ReportQuery| -> Vec<(String, u64)> {
            build(&surveys, query).by_day.iter().map(|d| (d.date.to_string(), d.figures.invited)).collect()
        };
        let utc = ReportQuery::new(t("2027-03-01T00:00:00Z"), t("2027-03-02T00:00:00Z"));
        assert_eq!(day(&utc), [("2027-03-01".into(), 1)]);
        // The same instants in Shanghai run from 08:00 on the 1st to 08:00 on the 2nd.
        assert_eq!(day(&utc.in_time_zone(shanghai)), [("2027-03-01".into(), 0), ("2027-03-02".into(), 1)]);
    }

    #[test]
    fn a_long_period_lists_at_most_400_days() {
        let query = ReportQuery::new(t("2027-01-01T00:00:00Z"), t("2030-01-01T00:00:00Z"));
        let surveys = vec![ask().rated("late", t("2029-06-01T10:00:00Z"), 5)];
        let report = build(&surveys, &query);
        assert_eq!(report.by_day.len(), MAX_DAYS);
        assert_eq!(report.by_day[0].date.to_string(), "2027-01-01");
        assert_eq!(report.by_day[MAX_DAYS - 1].date.to_string(), "2028-02-04");
        assert_eq!(report.totals.invited, 1);
        // An empty or reversed period has no days.
        let reversed = ReportQuery::new(query.to, query.from);
        assert!(build(&surveys, &reversed).by_day.is_empty());
        assert!(build(&surveys, &ReportQuery::new(query.from, query.from)).by_day.is_empty());
    }

    #[test]
    fn negative_ratings_come_most_recent_first() {
        let asked = ask().reasons(&["slow"]);
        let at = t(DAY1);
        let first = asked.rated("first", at, 1);
        let with_reason =
            apply(asked.rated("reasoned", at + minutes(60), 2), Event::ChooseReason("slow".into()), at + minutes(80));
        let commented = apply(with_reason, Event::Comment("Nobody answered".into()), at + minutes(90));
        // Created first but changed to a negative score last: it is the most recent.
        let changed = apply(asked.rated("changed", at - minutes(60), 5), Event::Rate(score(2)), at + minutes(120));
        let positive = asked.rated("positive", at + minutes(200), 5);
        let report = build(&[first, commented, changed, positive], &march());
        let ids: Vec<_> = report.negative.iter().map(|n| n.survey_id.as_str()).collect();
        assert_eq!(ids, ["changed", "reasoned", "first"]);
        assert_eq!(
            report.negative[1],
            NegativeRating {
                survey_id: SurveyId::new("reasoned").unwrap(),
                score: score(2),
                scale: Scale::FIVE_STARS,
                comment: Some("Nobody answered".into()),
                reason: Some("slow".into()),
                agent: Some(AgentId::new("ana").unwrap()),
                channel: ChannelId::new("wa").unwrap(),
                rated_at: at + minutes(70),
            }
        );
        assert_eq!(report.negative[0].rated_at, at + minutes(120));

        let nps = ask().scale(Scale::NPS).rated_many("n", at, &[6, 7]);
        let ids: Vec<_> = build(&nps, &march()).negative.into_iter().map(|n| n.survey_id.to_string()).collect();
        assert_eq!(ids, ["n0"], "detractors only");
    }

    #[test]
    fn at_most_100_negative_ratings_are_listed() {
        let surveys: Vec<_> = (0..130).map(|i| ask().rated(&format!("s{i:03}"), t(DAY1) + minutes(i), 1)).collect();
        let negative = build(&surveys, &march()).negative;
        assert_eq!(negative.len(), MAX_NEGATIVE);
        assert_eq!(negative[0].survey_id.as_str(), "s129");
        assert_eq!(negative[99].survey_id.as_str(), "s030");
    }

    #[test]
    fn cancelled_surveys_count_nowhere() {
        let at = t(DAY1);
        let cancelled = apply(ask().scale(Scale::NPS).agent(Some("bo")).sent("c", at), Event::Cancel, at + minutes(5));
        let surveys = vec![ask().rated("r", at, 5), cancelled];
        let report = build(&surveys, &march());
        assert_eq!((report.totals.invited, report.totals.delivered), (1, 1));
        assert_eq!(report.by_agent.len(), 1);
        assert_eq!(report.scales, ["stars:5"]);
        assert_eq!(ratings_csv(&surveys, &march()).lines().count(), 2);
    }

    #[test]
    fn the_report_serializes_with_the_api_field_names() {
        let surveys = vec![ask().agent(None).rated("s1", t(DAY1), 2)];
        let json = serde_json::to_value(build(&surveys, &march())).unwrap();
        assert_eq!(json["from"], "2027-03-01T00:00:00Z");
        assert_eq!(json["totals"]["csat"], 0.0);
        assert_eq!(json["totals"]["nps"], serde_json::Value::Null);
        assert_eq!(json["totals"]["distribution"], serde_json::json!({"1": 0, "2": 1, "3": 0, "4": 0, "5": 0}));
        assert_eq!(json["by_agent"][0]["agent"], serde_json::Value::Null);
        assert_eq!(json["by_agent"][0]["invited"], 1);
        assert_eq!(json["by_channel"][0]["channel"], "wa");
        assert_eq!(json["by_day"][0]["date"], "2027-03-01");
        assert_eq!(json["by_day"][1]["response_rate"], serde_json::Value::Null);
        assert_eq!(
            json["negative"][0],
            serde_json::json!({
                "survey_id": "s1",
                "score": 2,
                "scale": "stars:5",
                "comment": null,
                "reason": null,
                "agent": null,
                "channel": "wa",
                "rated_at": "2027-03-01T10:10:00Z",
            })
        );
        assert_eq!(json["scales"], serde_json::json!(["stars:5"]));
        assert_eq!(json["truncated"], false);
    }

    #[test]
    fn the_csv_lists_rated_surveys_with_their_history() {
        let at = t(DAY1);
        let asked = ask().reasons(&["slow"]);
        let changed = apply(asked.rated("b", at + minutes(1), 5), Event::Rate(score(4)), at + minutes(30));
        let changed = apply(changed, Event::Rate(score(1)), at + minutes(40));
        let changed = apply(changed, Event::ChooseReason("slow".into()), at + minutes(41));
        let surveys = vec![
            changed,
            ask().agent(None).channel("tg").scale(Scale::NPS).rated("a", at, 9),
            ask().sent("unrated", at),
            ask().rated("outside", t("2027-04-01T00:00:00Z"), 5),
        ];
        let csv = ratings_csv(&surveys, &march());
        assert_eq!(
            csv,
            "survey_id,created_at,rated_at,channel,agent,locale,scale,score,positive,comment,reason,changes\r\n\
             a,2027-03-01T10:00:00Z,2027-03-01T10:10:00Z,tg,,en,numeric:0-10,9,,,,0\r\n\
             b,2027-03-01T10:01:00Z,2027-03-01T10:40:00Z,wa,ana,en,stars:5,1,false,,slow,2\r\n"
        );
    }

    #[test]
    fn csv_fields_are_quoted_and_guarded_against_formulas() {
        let at = t(DAY1);
        let comments = [
            ("a", "fast, kind", "\"fast, kind\""),
            ("b", "she said \"hi\"\nthen left", "\"she said \"\"hi\"\"\nthen left\""),
            ("c", "=HYPERLINK(\"http://x\",\"y\")", "\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\""),
            ("d", "-1", "'-1"),
            ("e", "@sum", "'@sum"),
            ("f", "+1", "'+1"),
        ];
        let surveys: Vec<_> = comments
            .iter()
            .map(|(id, text, _)| apply(ask().rated(id, at, 4), Event::Comment(text.to_string()), at + minutes(20)))
            .collect();
        let mut expected = CSV_HEADER.join(",") + "\r\n";
        for (id, _, field) in comments {
            expected +=
                &format!("{id},2027-03-01T10:00:00Z,2027-03-01T10:10:00Z,wa,ana,en,stars:5,4,true,{field},,0\r\n");
        }
        assert_eq!(ratings_csv(&surveys, &march()), expected);
    }

    #[test]
    fn the_csv_escaper_follows_rfc_4180() {
        let field = |text: &str| {
            let mut out = String::new();
            push_field(&mut out, text);
            out
        };
        assert_eq!(field("plain"), "plain");
        assert_eq!(field(""), "");
        assert_eq!(field("a,b"), "\"a,b\"");
        assert_eq!(field("a\"b"), "\"a\"\"b\"");
        assert_eq!(field("a\rb"), "\"a\rb\"");
        assert_eq!(field("a\nb"), "\"a\nb\"");
        assert_eq!(field("=1+1"), "'=1+1");
        assert_eq!(field("\tx"), "'\tx");
        assert_eq!(field("\rx"), "\"'\rx\"");
        assert_eq!(field("-2,5"), "\"'-2,5\"");
        // Only a leading character is a formula.
        assert_eq!(field("a=b-c"), "a=b-c");
        let mut row = String::new();
        push_row(&mut row, ["x", "y,z", ""]);
        assert_eq!(row, "x,\"y,z\",\r\n");
    }
}
