//! Reports over a date range: `/v1/reports` and the CSV export of ratings. Both read only, so
//! both accept the dashboard's session cookie as well as the bearer key (see [`Reader`]).

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use futures_util::{StreamExt, stream};
use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use ratewire_core::questionnaire::report::PrechatReport;
use ratewire_core::report::{self, MAX_DAYS, Report, ReportQuery};
use ratewire_core::store::{self, StoreError};
use ratewire_core::{AgentId, ChannelId};
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::flow::listing::Walk;
use crate::http::AppState;
use crate::http::api::doc::{BadRequest, Invalid};
use crate::http::auth::Reader;
use crate::http::error::{ApiError, ApiQuery};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::default().routes(routes!(figures)).routes(routes!(csv)).routes(routes!(prechat))
}

/// The pre-chats a report covers: those started on the UTC days from `from` to `to`.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct DaysQuery {
    /// The first day (`YYYY-MM-DD`, UTC), included; default 29 days before `to`.
    from: Option<Date>,
    /// The last day (`YYYY-MM-DD`, UTC), included; default today. At most 400 days after `from`.
    to: Option<Date>,
}

/// What the pre-chats started on a range of UTC days came to: how many started, completed,
/// ended or were abandoned, and per question how many reached it, answered or skipped it,
/// stopped at it and how many replies it could not read. Read from the tenant's daily tallies.
/// Also answers the dashboard's session cookie in place of the bearer key.
#[utoipa::path(
    get,
    path = "/v1/reports/prechat",
    operation_id = "prechat_report",
    tag = "reports",
    params(DaysQuery),
    security(("bearer" = []), ("session" = [])),
    responses(
        (status = 200, description = "The pre-chats' figures", body = PrechatReport),
        (status = 400, response = BadRequest),
        (status = 422, response = Invalid),
    ),
)]
async fn prechat(
    State(state): State<AppState>,
    Reader(tenant): Reader,
    ApiQuery(range): ApiQuery<DaysQuery>,
) -> Result<Json<PrechatReport>, ApiError> {
    let to = range.to.unwrap_or_else(|| Timestamp::now().to_zoned(TimeZone::UTC).date());
    let from = match range.from {
        Some(from) => from,
        None => to.checked_sub(jiff::Span::new().days(29)).map_err(|_| ApiError::invalid("to", "is too early"))?,
    };
    if from > to {
        return Err(ApiError::invalid("from", "must not be after to"));
    }
    let days: Vec<Date> =
        from.series(jiff::Span::new().days(1)).take_while(|day| *day <= to).take(MAX_DAYS + 1).collect();
    if days.len() > MAX_DAYS {
        return Err(ApiError::invalid("to", format!("a report covers at most {MAX_DAYS} days")));
    }
    let tallies = state.flow.store.tallies(&tenant, &days).await?;
    Ok(Json(PrechatReport::from_tallies(&tallies)))
}

/// The surveys a report covers: those created in the range, of a channel or an agent if given.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct RangeQuery {
    /// Start of the range (RFC 3339), inclusive; default 30 days before `to`. Must be before
    /// `to`, and at most 400 days before it (422 otherwise).
    from: Option<Timestamp>,
    /// End of the range (RFC 3339), exclusive; default now.
    to: Option<Timestamp>,
    /// IANA time zone for the per-day figures; default UTC.
    #[param(example = "Europe/Madrid")]
    tz: Option<String>,
    /// Only surveys sent on this channel.
    #[param(inline)]
    channel: Option<ChannelId>,
    /// Only surveys credited to this agent.
    #[param(inline)]
    agent: Option<AgentId>,
}

impl RangeQuery {
    fn into_query(self) -> Result<ReportQuery, ApiError> {
        let to = self.to.unwrap_or_else(Timestamp::now);
        let from = self.from.unwrap_or(to - SignedDuration::from_hours(24 * 30));
        if from >= to {
            return Err(ApiError::invalid("from", "must be before to"));
        }
        if to.duration_since(from) > SignedDuration::from_hours(24 * MAX_DAYS as i64) {
            return Err(ApiError::invalid("to", format!("a report covers at most {MAX_DAYS} days")));
        }
        let time_zone = match self.tz {
            Some(name) => {
                TimeZone::get(&name).map_err(|_| ApiError::invalid("tz", format!("unknown time zone {name:?}")))?
            }
            None => TimeZone::UTC,
        };
        let mut query = ReportQuery::new(from, to).in_time_zone(time_zone);
        if let Some(channel) = self.channel {
            query = query.for_channel(channel);
        }
        if let Some(agent) = self.agent {
            query = query.for_agent(agent);
        }
        Ok(query)
    }
}

/// The figures of a date range: totals, by agent, by channel, by day, and the negative ratings
/// to follow up. Read from the tenant's counters: what it costs depends on the range, not on
/// how many surveys it holds. Also answers the dashboard's session cookie in place of the bearer
/// key.
#[utoipa::path(
    get,
    path = "/v1/reports",
    operation_id = "report",
    tag = "reports",
    params(RangeQuery),
    security(("bearer" = []), ("session" = [])),
    responses(
        (status = 200, description = "The report", body = Report),
        (status = 400, response = BadRequest),
        (status = 422, response = Invalid),
    ),
)]
async fn figures(
    State(state): State<AppState>,
    Reader(tenant): Reader,
    ApiQuery(range): ApiQuery<RangeQuery>,
) -> Result<Json<Report>, ApiError> {
    let query = range.into_query()?;
    Ok(Json(store::report(&*state.flow.store, &tenant, &query, state.settings.report_max_surveys).await?))
}

/// Every rating of the range as CSV, one row per survey rated, for a spreadsheet. Also answers
/// the dashboard's session cookie in place of the bearer key.
#[utoipa::path(
    get,
    path = "/v1/reports/ratings.csv",
    operation_id = "ratings_csv",
    tag = "reports",
    params(RangeQuery),
    security(("bearer" = []), ("session" = [])),
    responses(
        (
            status = 200,
            description = "The ratings, as an attachment `ratings-FROM-TO.csv`",
            content_type = "text/csv",
            body = String,
            headers(("content-disposition" = String, description = "`attachment; filename=\"ratings-YYYYMMDD-YYYYMMDD.csv\"`")),
        ),
        (status = 400, response = BadRequest),
        (status = 422, response = Invalid),
    ),
)]
async fn csv(
    State(state): State<AppState>,
    Reader(tenant): Reader,
    ApiQuery(range): ApiQuery<RangeQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let query = range.into_query()?;
    let name = format!("ratings-{}-{}.csv", query.from.strftime("%Y%m%d"), query.to.strftime("%Y%m%d"));
    // Streamed a page of surveys at a time, so an export of any size holds one page in memory.
    // A store failure part way can no longer change the status: the body ends short, and the
    // failure is logged.
    let walk = Walk::new(&tenant, query.from, query.to);
    let header = stream::once(async { Ok::<_, StoreError>(Bytes::from(report::ratings_csv_header())) });
    let store = state.flow.store.clone();
    let rows = stream::try_unfold((walk, store, query, tenant), |(mut walk, store, query, tenant)| async move {
        loop {
            let page = walk.next_page(&*store).await.inspect_err(|error| {
                tracing::warn!(%tenant, %error, "the ratings export stopped short");
            })?;
            if page.is_empty() {
                return Ok(None);
            }
            let rows: String = page.iter().filter_map(|survey| report::ratings_csv_row(survey, &query)).collect();
            if !rows.is_empty() {
                return Ok(Some((Bytes::from(rows), (walk, store, query, tenant))));
            }
        }
    });
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}\"")),
        ],
        Body::from_stream(header.chain(rows)),
    ))
}
