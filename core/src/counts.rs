//! Per-tenant counters of surveys, which the stores keep in the same write as the survey, so a
//! report reads counts rather than surveys.
//!
//! Pure: what a write adds ([`changes`]), where counts are kept, and which of them a report's
//! range reads ([`Plan`]). The stores keep the counters; [`crate::report::from_counters`] turns
//! what they read into a report.
//!
//! # What a survey adds
//!
//! A survey counts in its [`Cell`] (its channel, agent and scale), in the time bucket of its
//! creation: it was invited, and perhaps delivered, failed, expired, or rated with a score
//! ([`Counts::of`]). A cancelled survey counts nowhere. A write of a survey adds what its new
//! revision counts less what the stored one counted; the cell and the creation time never change,
//! so a change only moves counts within one cell of one bucket (a changed score moves one rating
//! from the old score to the new).
//!
//! # Where counts are kept
//!
//! By creation time in UTC, in hierarchical buckets: a tenant has one hash per UTC month and one
//! per UTC day. A month's hash holds the month's counts ([`Slot::Whole`]); a day's hash holds the
//! day's, its four six-hour slots', its 24 hours' and its 96 quarter-hours'. Each slot holds every
//! cell's counts and, for the reports without a filter, each scale's counts over all cells
//! ([`Group`]). A field's value is a [`Counts`] packed as numbers ([`Counts::pack`]): how many
//! were invited, delivered, failed, expired, then how many gave each score of the cell's scale.
//!
//! The volume is bounded by time and cells, never by surveys: at most 125 slots a day, each
//! holding the cells (channel × agent × scale) that had surveys in it.
//!
//! # Reading a range
//!
//! Every time zone's offset in use today, daylight saving included, is a multiple of a quarter
//! hour, so every local day is a run of whole quarter-hours, which the coarsest buckets that fit
//! tile (a UTC day where a local day is one, otherwise six-hour, hour and quarter-hour slots at
//! its ends). A range's ends need not fall on a quarter hour (nor, in the local mean time of
//! before time zones, a day's): the surveys created in the pieces shorter than a quarter hour
//! that are left over are read and counted one by one ([`Plan::scans`]), so a report from
//! counters equals one counted from every survey. So is the part of a range from before the
//! store kept counters (`counted_since` in [`Plan::new`]): no counter holds those surveys whole.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt;

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};

use crate::ids::{AgentId, ChannelId};
use crate::report::{ReportQuery, days};
use crate::scale::{Scale, Score};
use crate::survey::{Survey, SurveyState};

/// The finest bucket: every time zone's offset in use today is a multiple of it.
const QUARTER: SignedDuration = SignedDuration::from_mins(15);
const HOUR_SECONDS: i64 = 3600;
const DAY_SECONDS: i64 = 24 * HOUR_SECONDS;

/// What a group of surveys came to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub invited: i64,
    pub delivered: i64,
    pub failed: i64,
    pub expired: i64,
    /// Ratings per score; scores run from 0 to 10 on every scale.
    pub scores: [i64; 11],
}

/// The counts [`Counts::pack`] puts before the scores.
const STATUSES: usize = 4;

impl Counts {
    /// What a survey counts, or nothing when it was cancelled: a cancelled survey was withdrawn,
    /// it was never a question to the end user.
    pub fn of(survey: &Survey) -> Option<Counts> {
        if let SurveyState::Cancelled { .. } = survey.state {
            return None;
        }
        let failed = matches!(survey.state, SurveyState::Failed { .. });
        let score = survey.score();
        let mut counts = Counts {
            invited: 1,
            // A rated survey necessarily arrived; a failed one did not, even if the channel
            // first accepted it.
            delivered: i64::from(score.is_some() || (survey.sent_at.is_some() && !failed)),
            failed: i64::from(failed),
            expired: i64::from(matches!(survey.state, SurveyState::Expired { .. })),
            scores: [0; 11],
        };
        if let Some(score) = score {
            counts.scores[usize::from(score.value())] = 1;
        }
        Some(counts)
    }

    pub fn rated(&self) -> i64 {
        self.scores.iter().sum()
    }

    /// The scores of `scale` and how many gave each.
    pub fn ratings(&self, scale: Scale) -> impl Iterator<Item = (Score, i64)> + '_ {
        scale.scores().map(|score| (score, self.scores[usize::from(score.value())]))
    }

    pub fn add(&mut self, other: &Counts) {
        self.combine(other, 1);
    }

    fn combine(&mut self, other: &Counts, sign: i64) {
        self.invited += sign * other.invited;
        self.delivered += sign * other.delivered;
        self.failed += sign * other.failed;
        self.expired += sign * other.expired;
        for (mine, theirs) in self.scores.iter_mut().zip(other.scores) {
            *mine += sign * theirs;
        }
    }

    fn is_zero(&self) -> bool {
        *self == Counts::default()
    }

    /// As stored: invited, delivered, failed, expired, then the count of each score of `scale`,
    /// lowest first.
    pub fn pack(&self, scale: Scale) -> Vec<i64> {
        let statuses = [self.invited, self.delivered, self.failed, self.expired];
        statuses.into_iter().chain(self.ratings(scale).map(|(_, count)| count)).collect()
    }

    /// Reads [`Counts::pack`] back; missing numbers are zeros, and numbers past the scale's
    /// scores are ignored.
    pub fn unpack(scale: Scale, packed: &[i64]) -> Counts {
        let at = |i: usize| packed.get(i).copied().unwrap_or(0);
        let mut counts = Counts { invited: at(0), delivered: at(1), failed: at(2), expired: at(3), scores: [0; 11] };
        for (i, score) in scale.scores().enumerate() {
            counts.scores[usize::from(score.value())] = at(STATUSES + i);
        }
        counts
    }
}

/// The surveys asked on one channel, credited to one agent (or to none), on one scale.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Cell {
    pub channel: ChannelId,
    pub agent: Option<AgentId>,
    pub scale: Scale,
}

impl Cell {
    pub fn of(survey: &Survey) -> Cell {
        let invitation = &survey.invitation;
        Cell { channel: invitation.channel.clone(), agent: invitation.agent.clone(), scale: survey.rules.scale }
    }
}

/// Whose counts a field holds.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Group {
    /// Every cell of one scale: what a report without a filter reads day by day.
    Scale(Scale),
    Cell(Cell),
}

impl Group {
    pub fn scale(&self) -> Scale {
        match self {
            Group::Scale(scale) => *scale,
            Group::Cell(cell) => cell.scale,
        }
    }
}

/// Where a tenant's counts of one UTC month or day are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Period {
    /// The month of the date, which is its first day.
    Month(Date),
    Day(Date),
}

impl Period {
    /// The first instant after the period.
    pub fn end(self) -> Timestamp {
        let next = match self {
            Period::Month(first) => first.last_of_month().tomorrow(),
            Period::Day(date) => date.tomorrow(),
        };
        next.ok().and_then(|date| utc_midnight(date).ok()).unwrap_or(Timestamp::MAX)
    }
}

impl fmt::Display for Period {
    /// `2027-03` for a month, `2027-03-01` for a day.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Period::Month(first) => write!(f, "{:04}-{:02}", first.year(), first.month()),
            Period::Day(date) => write!(f, "{:04}-{:02}-{:02}", date.year(), date.month(), date.day()),
        }
    }
}

/// A part of a period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Slot {
    /// The whole month or day.
    Whole,
    /// One of a day's four six-hour slots, from 00:00 UTC.
    SixHours(u8),
    Hour(u8),
    /// One of a day's 96 quarter-hours, from 00:00 UTC.
    Quarter(u8),
}

/// One bucket: a slot of a period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Bucket {
    pub period: Period,
    pub slot: Slot,
}

impl Bucket {
    /// The buckets holding an instant, coarsest first: its month, its day, and the day's slots.
    fn holding(at: Timestamp) -> [Bucket; 5] {
        let time = TimeZone::UTC.to_datetime(at);
        let (date, hour) = (time.date(), time.hour() as u8);
        let day = Period::Day(date);
        [
            Bucket { period: Period::Month(date.first_of_month()), slot: Slot::Whole },
            Bucket { period: day, slot: Slot::Whole },
            Bucket { period: day, slot: Slot::SixHours(hour / 6) },
            Bucket { period: day, slot: Slot::Hour(hour) },
            Bucket { period: day, slot: Slot::Quarter(hour * 4 + time.minute() as u8 / 15) },
        ]
    }
}

/// A counter: one group's counts in one slot of a period's hash.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Field {
    pub slot: Slot,
    pub group: Group,
}

impl fmt::Display for Field {
    /// `<slot>/all/<scale>` or `<slot>/cell/<channel>/<agent>/<scale>`, the agent empty for none;
    /// the slot `w` (whole), `s0`–`s3`, `h0`–`h23` or `q0`–`q95`. Ids and scales never hold a
    /// `/`, so the parts read back unambiguously.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.slot {
            Slot::Whole => f.write_str("w")?,
            Slot::SixHours(n) => write!(f, "s{n}")?,
            Slot::Hour(n) => write!(f, "h{n}")?,
            Slot::Quarter(n) => write!(f, "q{n}")?,
        }
        match &self.group {
            Group::Scale(scale) => write!(f, "/all/{scale}"),
            Group::Cell(cell) => {
                let agent = cell.agent.as_ref().map_or("", AgentId::as_str);
                write!(f, "/cell/{}/{agent}/{}", cell.channel, cell.scale)
            }
        }
    }
}

impl Field {
    /// Reads a field's name ([`Field`]'s `Display`) back.
    pub fn parse(name: &str) -> Option<Field> {
        let mut parts = name.split('/');
        let slot = parts.next()?;
        let number = |limit: u8| slot.get(1..)?.parse::<u8>().ok().filter(|n| *n < limit);
        let slot = match slot.chars().next()? {
            'w' if slot.len() == 1 => Slot::Whole,
            's' => Slot::SixHours(number(4)?),
            'h' => Slot::Hour(number(24)?),
            'q' => Slot::Quarter(number(96)?),
            _ => return None,
        };
        let group = match (parts.next()?, parts.next()?, parts.next(), parts.next()) {
            ("all", scale, None, None) => Group::Scale(scale.parse().ok()?),
            ("cell", channel, Some(agent), Some(scale)) => Group::Cell(Cell {
                channel: ChannelId::new(channel).ok()?,
                agent: if agent.is_empty() { None } else { Some(AgentId::new(agent).ok()?) },
                scale: scale.parse().ok()?,
            }),
            _ => return None,
        };
        parts.next().is_none().then_some(Field { slot, group })
    }
}

/// Counts to add to a field of a period's hash, packed ([`Counts::pack`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CounterChange {
    pub period: Period,
    pub field: Field,
    pub deltas: Vec<i64>,
}

/// Adds packed counts to a sum, position by position: what a counter's writes do to it, and
/// what adding up a tenant's shards does.
pub fn add_packed(sum: &mut Vec<i64>, counts: &[i64]) {
    if sum.len() < counts.len() {
        sum.resize(counts.len(), 0);
    }
    for (sum, count) in sum.iter_mut().zip(counts) {
        *sum += count;
    }
}

/// What writing `after` over `before` changes in the tenant's counters (`None`: no survey, as
/// before a create or after taking one back). Every bucket holding the survey's creation time
/// changes, each for its cell and for its scale.
pub fn changes(before: Option<&Survey>, after: Option<&Survey>) -> Vec<CounterChange> {
    let counted = |survey: &Survey| Counts::of(survey).map(|counts| (survey.created_at, Cell::of(survey), counts));
    let mut deltas = Vec::new();
    match (before.and_then(counted), after.and_then(counted)) {
        (Some((at, cell, old)), Some((new_at, new_cell, new))) if at == new_at && cell == new_cell => {
            let mut delta = new;
            delta.combine(&old, -1);
            deltas.push((at, cell, delta));
        }
        (before, after) => {
            if let Some((at, cell, old)) = before {
                let mut delta = Counts::default();
                delta.combine(&old, -1);
                deltas.push((at, cell, delta));
            }
            deltas.extend(after);
        }
    }
    deltas
        .into_iter()
        .filter(|(_, _, delta)| !delta.is_zero())
        .flat_map(|(at, cell, delta)| in_buckets(at, cell, delta))
        .collect()
}

/// Adding `delta` to a cell's counts at `at`: in every bucket holding `at`, for the cell and its
/// scale.
fn in_buckets(at: Timestamp, cell: Cell, delta: Counts) -> Vec<CounterChange> {
    let deltas = delta.pack(cell.scale);
    let groups = [Group::Scale(cell.scale), Group::Cell(cell)];
    Bucket::holding(at)
        .into_iter()
        .flat_map(|bucket| groups.clone().into_iter().map(move |group| (bucket, group)))
        .map(|(bucket, group)| CounterChange {
            period: bucket.period,
            field: Field { slot: bucket.slot, group },
            deltas: deltas.clone(),
        })
        .collect()
}

/// A span of time, `[from, to)`.
pub type Span = (Timestamp, Timestamp);

/// How a report's range is read: which buckets tile it, and which pieces of it are left to read
/// survey by survey.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// The whole range: for the totals and the splits by agent and channel.
    pub range: Part,
    /// Each day the report lists, in order.
    pub days: Vec<(Date, Part)>,
}

/// A part of a range: the buckets that tile it and the pieces they can't cover.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Part {
    pub buckets: Vec<Bucket>,
    /// Shorter than a quarter hour each.
    pub scans: Vec<Span>,
}

impl Part {
    /// Whether a survey created `at` falls in one of the pieces read survey by survey.
    pub fn scans(&self, at: Timestamp) -> bool {
        self.scans.iter().any(|(from, to)| (*from..*to).contains(&at))
    }
}

impl Plan {
    /// How `query` is read from counters kept since `counted_since`: what came before is read
    /// survey by survey, as no counter holds it whole.
    pub fn new(query: &ReportQuery, counted_since: Timestamp) -> Plan {
        let tile = |from, to, months| tile_counted(from, to, months, counted_since);
        let range = tile(query.from, query.to, true);
        let tz = &query.time_zone;
        let days = days(query)
            .into_iter()
            .map(|date| {
                let start = local_start(date, tz).unwrap_or(Timestamp::MIN).max(query.from);
                let end = date.tomorrow().ok().and_then(|next| local_start(next, tz)).unwrap_or(Timestamp::MAX);
                (date, tile(start, end.min(query.to), false))
            })
            .collect();
        Plan { range, days }
    }

    /// The months whose hashes are read whole: they hold the month-long buckets of the range,
    /// and name the cells that had surveys in each month, which says what to read of its days.
    pub fn months(&self) -> Vec<Period> {
        let all = self.range.buckets.iter().chain(self.days.iter().flat_map(|(_, part)| &part.buckets));
        let months: BTreeSet<Period> = all
            .map(|bucket| match bucket.period {
                Period::Day(date) => Period::Month(date.first_of_month()),
                month => month,
            })
            .collect();
        months.into_iter().collect()
    }

    /// Every piece of the range read survey by survey, merged: the range's and its days'.
    pub fn scans(&self) -> Vec<Span> {
        let mut spans: Vec<Span> =
            self.range.scans.iter().chain(self.days.iter().flat_map(|(_, part)| &part.scans)).copied().collect();
        spans.sort();
        let mut merged: Vec<Span> = Vec::with_capacity(spans.len());
        for (from, to) in spans {
            match merged.last_mut() {
                Some((_, end)) if from <= *end => *end = (*end).max(to),
                _ => merged.push((from, to)),
            }
        }
        merged
    }

    /// The fields to read from each day's hash, given what the months' hashes hold: for the
    /// range, the cells the query covers; for its days, those cells too when the query has a
    /// filter, or else each scale's counts.
    pub fn reads(&self, query: &ReportQuery, months: &Counters) -> Vec<(Period, Vec<Field>)> {
        let mut seen: HashSet<(Period, Field)> = HashSet::new();
        let mut fields: Vec<(Period, Field)> = Vec::new();
        let mut want = |bucket: &Bucket, by_scale: bool| {
            let Period::Day(date) = bucket.period else { return };
            let month = Bucket { period: Period::Month(date.first_of_month()), slot: Slot::Whole };
            for (group, _) in months.in_bucket(&month) {
                let wanted = match group {
                    Group::Scale(_) => by_scale,
                    Group::Cell(cell) => !by_scale && covers(query, cell),
                };
                let field = Field { slot: bucket.slot, group: group.clone() };
                if wanted && seen.insert((bucket.period, field.clone())) {
                    fields.push((bucket.period, field));
                }
            }
        };
        for bucket in &self.range.buckets {
            want(bucket, false);
        }
        let by_scale = query.channel.is_none() && query.agent.is_none();
        for bucket in self.days.iter().flat_map(|(_, part)| &part.buckets) {
            want(bucket, by_scale);
        }
        let mut by_period: BTreeMap<Period, Vec<Field>> = BTreeMap::new();
        for (period, field) in fields {
            by_period.entry(period).or_default().push(field);
        }
        by_period.into_iter().collect()
    }
}

/// Whether the query's filters let a cell's surveys in.
pub fn covers(query: &ReportQuery, cell: &Cell) -> bool {
    query.channel.as_ref().is_none_or(|channel| *channel == cell.channel)
        && query.agent.as_ref().is_none_or(|agent| cell.agent.as_ref() == Some(agent))
}

/// Counters as read, by bucket.
#[derive(Debug, Default)]
pub struct Counters {
    by_bucket: HashMap<Bucket, Vec<(Group, Counts)>>,
}

impl Counters {
    /// Keeps what was read of a period's hash.
    pub fn insert(&mut self, period: Period, field: Field, packed: &[i64]) {
        let counts = Counts::unpack(field.group.scale(), packed);
        if !counts.is_zero() {
            self.by_bucket.entry(Bucket { period, slot: field.slot }).or_default().push((field.group, counts));
        }
    }

    /// Every group read of a bucket.
    pub fn in_bucket(&self, bucket: &Bucket) -> impl Iterator<Item = &(Group, Counts)> {
        self.by_bucket.get(bucket).into_iter().flatten()
    }
}

/// The buckets tiling `[from, to)`, coarsest first where they fit, and the pieces at the ends
/// no bucket fits. Month-long buckets only if `months`.
/// Tiles `[from, to)` as [`tile`] does where counters were kept; what comes before
/// `counted_since` is one piece to read survey by survey.
fn tile_counted(from: Timestamp, to: Timestamp, months: bool, counted_since: Timestamp) -> Part {
    if from >= to || counted_since <= from {
        return tile(from, to, months);
    }
    let split = counted_since.min(to);
    let mut part = tile(split, to, months);
    part.scans.insert(0, (from, split));
    part
}

fn tile(from: Timestamp, to: Timestamp, months: bool) -> Part {
    let mut part = Part::default();
    if from >= to {
        return part;
    }
    let (start, end) = (ceil_quarter(from), floor_quarter(to));
    if start >= end {
        part.scans.push((from, to));
        return part;
    }
    if from < start {
        part.scans.push((from, start));
    }
    let mut at = start;
    while at < end {
        let (bucket, next) = widest_bucket(at, end, months);
        part.buckets.push(bucket);
        at = next;
    }
    if end < to {
        part.scans.push((end, to));
    }
    part
}

/// The widest bucket starting at `at` (on a quarter hour) and ending by `end`, and its end.
fn widest_bucket(at: Timestamp, end: Timestamp, months: bool) -> (Bucket, Timestamp) {
    let seconds = at.as_second();
    let day_aligned = seconds.rem_euclid(DAY_SECONDS) == 0;
    let fits = |span: i64| seconds.rem_euclid(span) == 0 && at + SignedDuration::from_secs(span) <= end;
    let [month, day, six_hours, hour, quarter] = Bucket::holding(at);
    if months && day_aligned && month.period.end() <= end {
        let Period::Month(first) = month.period else { unreachable!("the first bucket is the month's") };
        if Period::Day(first) == day.period {
            return (month, month.period.end());
        }
    }
    for (bucket, span) in [(day, DAY_SECONDS), (six_hours, 6 * HOUR_SECONDS), (hour, HOUR_SECONDS)] {
        if fits(span) {
            return (bucket, at + SignedDuration::from_secs(span));
        }
    }
    (quarter, at + QUARTER)
}

fn floor_quarter(at: Timestamp) -> Timestamp {
    let quarter = QUARTER.as_nanos();
    let nanos = at.as_nanosecond();
    Timestamp::from_nanosecond(nanos - nanos.rem_euclid(quarter)).unwrap_or(Timestamp::MIN)
}

fn ceil_quarter(at: Timestamp) -> Timestamp {
    let floor = floor_quarter(at);
    if floor == at { at } else { floor.checked_add(QUARTER).unwrap_or(Timestamp::MAX) }
}

fn utc_midnight(date: Date) -> Result<Timestamp, jiff::Error> {
    Ok(date.to_zoned(TimeZone::UTC)?.timestamp())
}

/// The first instant of a local day.
fn local_start(date: Date, tz: &TimeZone) -> Option<Timestamp> {
    Some(date.to_zoned(tz.clone()).ok()?.start_of_day().ok()?.timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(at: &str) -> Timestamp {
        at.parse().unwrap()
    }

    fn plan(from: &str, to: &str, tz: &str) -> Plan {
        Plan::new(&ReportQuery::new(t(from), t(to)).in_time_zone(TimeZone::get(tz).unwrap()), Timestamp::MIN)
    }

    #[test]
    fn field_names_read_back() {
        let cell = |agent: Option<&str>| Cell {
            channel: ChannelId::new("wa:main").unwrap(),
            agent: agent.map(|agent| AgentId::new(agent).unwrap()),
            scale: Scale::NPS,
        };
        let fields = [
            (Field { slot: Slot::Whole, group: Group::Scale(Scale::FIVE_STARS) }, "w/all/stars:5"),
            (Field { slot: Slot::SixHours(3), group: Group::Cell(cell(None)) }, "s3/cell/wa:main//numeric:0-10"),
            (
                Field { slot: Slot::Hour(23), group: Group::Cell(cell(Some("ana"))) },
                "h23/cell/wa:main/ana/numeric:0-10",
            ),
            (Field { slot: Slot::Quarter(95), group: Group::Scale(Scale::NPS) }, "q95/all/numeric:0-10"),
        ];
        for (field, name) in fields {
            assert_eq!(field.to_string(), name);
            assert_eq!(Field::parse(name), Some(field));
        }
        for name in ["q96/all/stars:5", "w/all", "x/all/stars:5", "w/cell/wa//stars:5/more", "w0/all/stars:5"] {
            assert_eq!(Field::parse(name), None, "{name}");
        }
    }

    #[test]
    fn a_local_day_is_tiled_by_the_widest_buckets_that_fit() {
        // Kathmandu is UTC+5:45: its 1 March runs from 18:15 UTC on 28 February.
        let day = plan("2027-02-28T18:15:00Z", "2027-03-01T18:15:00Z", "Asia/Kathmandu");
        let slots: Vec<_> = day.range.buckets.iter().map(|bucket| bucket.slot).collect();
        use Slot::*;
        let expected = [Quarter(73), Quarter(74), Quarter(75), Hour(19), Hour(20), Hour(21), Hour(22), Hour(23)];
        assert_eq!(slots[..8], expected);
        assert_eq!(slots[8..], [SixHours(0), SixHours(1), SixHours(2), Quarter(72)]);
        assert!(day.range.scans.is_empty());
        assert_eq!(day.days.len(), 1);
        assert_eq!(day.days[0].1, day.range);
    }

    #[test]
    fn the_ends_between_quarter_hours_are_scanned() {
        let plan = plan("2027-03-01T10:07:30Z", "2027-03-02T10:52:00Z", "UTC");
        let scans = [
            (t("2027-03-01T10:07:30Z"), t("2027-03-01T10:15:00Z")),
            (t("2027-03-02T10:45:00Z"), t("2027-03-02T10:52:00Z")),
        ];
        assert_eq!(plan.range.scans, scans);
        assert_eq!(plan.scans(), scans);
        let inside = Plan::new(&ReportQuery::new(t("2027-03-01T10:01:00Z"), t("2027-03-01T10:14:00Z")), Timestamp::MIN);
        assert!(inside.range.buckets.is_empty());
        assert_eq!(inside.scans(), [(t("2027-03-01T10:01:00Z"), t("2027-03-01T10:14:00Z"))]);
    }

    #[test]
    fn what_came_before_the_counters_is_scanned() {
        let query = ReportQuery::new(t("2027-03-01T00:00:00Z"), t("2027-03-03T00:00:00Z"));
        let since = t("2027-03-01T17:15:00Z");
        let plan = Plan::new(&query, since);
        assert_eq!(plan.range.scans, [(query.from, since)]);
        assert_eq!(plan.range.buckets[0].slot, Slot::Quarter(17 * 4 + 1), "from the next quarter hour on");
        assert_eq!(plan.days[0].1.scans, [(query.from, since)]);
        assert_eq!(plan.days[1].1, Plan::new(&query, Timestamp::MIN).days[1].1, "the next day is counted");
        assert_eq!(plan.scans(), [(query.from, since)]);
        // Counters kept since after the range: all of it scanned.
        let before = Plan::new(&query, t("2027-04-01T00:00:00Z"));
        assert!(before.range.buckets.is_empty() && before.days.iter().all(|(_, day)| day.buckets.is_empty()));
        assert_eq!(before.scans(), [(query.from, query.to)]);
    }

    #[test]
    fn a_year_reads_its_months_whole() {
        let year = plan("2027-01-01T00:00:00Z", "2028-01-01T00:00:00Z", "UTC");
        assert_eq!(year.range.buckets.len(), 12);
        assert!(year.range.buckets.iter().all(|bucket| matches!(bucket.period, Period::Month(_))));
        assert_eq!(year.months().len(), 12);
        assert_eq!(year.days.len(), 365);
        assert!(year.days.iter().all(|(_, day)| day.buckets.len() == 1 && day.scans.is_empty()));
    }
}
