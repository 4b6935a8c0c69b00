//! The overview routes: fixed summaries over a recent window that the console's situation view
//! and the reports refresh often. Each names one permission, like every route. Unlike
//! `events/aggregate`, the events overview takes no query and is not recorded in the audit
//! trail: it shows the same figures to everyone who may read the tenant's events, and a wall
//! screen refreshing it every 30 s would otherwise write 2,880 records a day (decision 62).

use axum::Json;
use axum::extract::State;
use axum::routing::get;
use jiff::{Timestamp, ToSpan};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use shieldwall_auth::permission::Action;
use shieldwall_query::Aggregation;
use shieldwall_store::Selection;
use shieldwall_store::events::AggregationResult;
use shieldwall_store::meta::SummaryRequest;

use super::Params;
use super::route;
use crate::api::auth::{Authorised, can};
use crate::api::doc::{Body as Out, Guard, Method, RouteDoc, schema};
use crate::api::problem::{Problem, blocking};
use crate::api::views::DateTime;
use crate::api::{AppState, Routes};
use crate::reports::{LOG_KINDS, event_counts};

route!(EVENTS_OVERVIEW, Get, "/api/v1/tenants/{tenant}/events/overview", "eventsOverview",
    "Events per interval by log kind, and the top attack types, sources and targets, over a recent window (not recorded).",
    Guard::Permission(Action::ReadEvents), query: Some(schema::<WindowQuery>), request: None,
    200, Out::Json(schema::<EventsOverview>));
route!(ALERT_SUMMARY, Get, "/api/v1/tenants/{tenant}/alerts/summary", "alertSummary",
    "Alerts raised over a recent window: by severity, state and interval, top rules and ATT&CK tags.",
    Guard::Permission(Action::ReadAlerts), query: Some(schema::<WindowQuery>), request: None,
    200, Out::Json(schema::<AlertSummaryView>));

pub(super) fn routes(routes: Routes) -> Routes {
    routes
        .add(&EVENTS_OVERVIEW, get(events_overview))
        .add(&ALERT_SUMMARY, get(alert_summary))
}

/// How many top values each list has.
const TOP: usize = 10;

/// The window of an overview.
#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
pub enum Window {
    /// The last hour, per minute.
    #[default]
    #[serde(rename = "1h")]
    Hour,
    /// The last six hours, per five minutes.
    #[serde(rename = "6h")]
    SixHours,
    /// The last day, per quarter of an hour.
    #[serde(rename = "24h")]
    Day,
    /// The last week, per hour.
    #[serde(rename = "7d")]
    Week,
}

impl Window {
    fn seconds(self) -> i64 {
        match self {
            Window::Hour => 3_600,
            Window::SixHours => 6 * 3_600,
            Window::Day => 86_400,
            Window::Week => 7 * 86_400,
        }
    }

    fn interval_secs(self) -> i64 {
        match self {
            Window::Hour => 60,
            Window::SixHours => 300,
            Window::Day => 900,
            Window::Week => 3_600,
        }
    }

    /// `[from, to)` ending at the end of the interval that holds `now`, so that intervals start
    /// on multiples of their length and the last one is the current one.
    fn period(self, now: Timestamp) -> Result<(Timestamp, Timestamp), Problem> {
        let interval = self.interval_secs();
        let end = (now.as_second().div_euclid(interval) + 1) * interval;
        let to = Timestamp::from_second(end).map_err(Problem::internal)?;
        let from = to
            .checked_sub(self.seconds().seconds())
            .map_err(Problem::internal)?;
        Ok((from, to))
    }
}

/// Which window to summarise.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WindowQuery {
    /// `1h` (default, per minute), `6h` (per 5 minutes), `24h` (per 15 minutes) or `7d` (per hour).
    pub window: Option<Window>,
}

/// A value and how many times it was seen.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct TopValue {
    /// The value.
    pub value: String,
    /// Events or alerts with it.
    pub count: u64,
}

/// The events of one log kind in the window.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct KindSeries {
    /// `security_event`, `behaviour_event`, `vulnerability_scan` or `status_monitoring`.
    pub kind: String,
    /// Events of the kind in the window.
    pub total: u64,
    /// Start of each interval holding events of the kind, and their count; empty intervals
    /// are left out.
    #[schemars(with = "Vec<(DateTime, u64)>")]
    pub buckets: Vec<(Timestamp, u64)>,
}

/// The events overview of a window.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct EventsOverview {
    /// Start of the window.
    #[schemars(with = "DateTime")]
    pub from: Timestamp,
    /// End of the window, exclusive.
    #[schemars(with = "DateTime")]
    pub to: Timestamp,
    /// Length of each interval.
    pub interval_secs: u64,
    /// Events in the window.
    pub total: u64,
    /// Per log kind, all four always present.
    pub kinds: Vec<KindSeries>,
    /// The most frequent attack types (`attack_type`).
    pub attack_types: Vec<TopValue>,
    /// The most frequent source addresses (`src_endpoint.ip`).
    pub sources: Vec<TopValue>,
    /// The most frequent destination addresses (`dst_endpoint.ip`).
    pub targets: Vec<TopValue>,
}

/// Counts by severity.
#[derive(Debug, Clone, Copy, Default, Serialize, JsonSchema, PartialEq, Eq)]
pub struct SeverityCounts {
    /// Informational.
    pub info: u64,
    /// Low.
    pub low: u64,
    /// Medium.
    pub medium: u64,
    /// High.
    pub high: u64,
    /// Critical.
    pub critical: u64,
}

impl From<[u64; 5]> for SeverityCounts {
    fn from([info, low, medium, high, critical]: [u64; 5]) -> Self {
        SeverityCounts {
            info,
            low,
            medium,
            high,
            critical,
        }
    }
}

/// The alerts of one interval.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct SeverityBucket {
    /// Start of the interval.
    #[schemars(with = "DateTime")]
    pub start: Timestamp,
    /// Alerts raised in it, by severity.
    pub counts: SeverityCounts,
}

/// A rule and the alerts it raised.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct RuleCount {
    /// The rule's id.
    pub rule_id: String,
    /// Its title.
    pub title: String,
    /// Alerts it raised in the window.
    pub count: u64,
}

/// Alerts by their state now.
#[derive(Debug, Clone, Copy, Default, Serialize, JsonSchema)]
pub struct StateCounts {
    /// Not yet handled.
    pub new: u64,
    /// Acknowledged.
    pub acknowledged: u64,
    /// Closed.
    pub closed: u64,
}

/// The alerts raised in a window.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct AlertSummaryView {
    /// Start of the window.
    #[schemars(with = "DateTime")]
    pub from: Timestamp,
    /// End of the window, exclusive.
    #[schemars(with = "DateTime")]
    pub to: Timestamp,
    /// Length of each interval.
    pub interval_secs: u64,
    /// Alerts raised in the window.
    pub total: u64,
    /// Of those, by severity.
    pub by_severity: SeverityCounts,
    /// Of those, by their state now.
    pub by_state: StateCounts,
    /// The tenant's alerts not yet handled (state new), raised at any time.
    pub unhandled: u64,
    /// Intervals holding alerts, in time order.
    pub buckets: Vec<SeverityBucket>,
    /// The rules that raised the most.
    pub top_rules: Vec<RuleCount>,
    /// The ATT&CK tags (`attack.t1110`, `attack.credential-access`) on the most alerts.
    pub attack: Vec<TopValue>,
}

fn top_values(values: Vec<(String, u64)>) -> Vec<TopValue> {
    values
        .into_iter()
        .map(|(value, count)| TopValue { value, count })
        .collect()
}

async fn events_overview(
    auth: Authorised<can::ReadEvents>,
    State(state): State<AppState>,
    Params(query): Params<WindowQuery>,
) -> Result<Json<EventsOverview>, Problem> {
    let tenant = auth.tenant()?.clone();
    let window = query.window.unwrap_or_default();
    let (from, to) = window.period(Timestamp::now())?;
    let interval = std::time::Duration::from_secs(window.interval_secs().unsigned_abs());
    let events = state.events.clone();
    let overview = blocking(move || {
        let within = |query| Selection {
            query,
            from: Some(from),
            to: Some(to),
        };
        // The counts in one pass; then one histogram per kind that has events.
        let counted = event_counts(
            events.as_ref(),
            &tenant,
            &within(shieldwall_query::Query::All),
            None,
        )?;
        let mut kinds = Vec::with_capacity(LOG_KINDS.len());
        for ((kind, _), kind_total) in LOG_KINDS.into_iter().zip(counted.by_kind) {
            let buckets = if kind_total == 0 {
                Vec::new()
            } else {
                let query = shieldwall_query::parse(&format!("log_kind:{kind}"))
                    .map_err(|e| Problem::internal(e.render(kind)))?;
                match events
                    .aggregate(
                        &tenant,
                        &within(query),
                        &[Aggregation::Histogram { interval }],
                    )
                    .map_err(Problem::internal)?
                    .first()
                {
                    Some(AggregationResult::Histogram { buckets, .. }) => buckets.clone(),
                    _ => Vec::new(),
                }
            };
            kinds.push(KindSeries {
                kind: kind.to_owned(),
                total: kind_total,
                buckets,
            });
        }
        Ok(EventsOverview {
            from,
            to,
            interval_secs: interval.as_secs(),
            total: counted.total,
            kinds,
            attack_types: top_values(counted.attack_types),
            sources: top_values(counted.sources),
            targets: top_values(counted.targets),
        })
    })
    .await?;
    Ok(Json(overview))
}

async fn alert_summary(
    auth: Authorised<can::ReadAlerts>,
    State(state): State<AppState>,
    Params(query): Params<WindowQuery>,
) -> Result<Json<AlertSummaryView>, Problem> {
    let tenant = auth.tenant()?.clone();
    let window = query.window.unwrap_or_default();
    let (from, to) = window.period(Timestamp::now())?;
    let interval_secs = window.interval_secs().unsigned_abs();
    let request = SummaryRequest {
        tenant,
        from,
        to,
        interval_secs,
        top: TOP,
    };
    let meta = state.meta.clone();
    let summary = blocking(move || Ok(meta.alert_summary(&request)?)).await?;
    let [new, acknowledged, closed] = summary.by_state;
    Ok(Json(AlertSummaryView {
        from,
        to,
        interval_secs,
        total: summary.total,
        by_severity: summary.by_severity.into(),
        by_state: StateCounts {
            new,
            acknowledged,
            closed,
        },
        unhandled: summary.unhandled,
        buckets: summary
            .buckets
            .into_iter()
            .map(|(start, counts)| SeverityBucket {
                start,
                counts: counts.into(),
            })
            .collect(),
        top_rules: summary
            .top_rules
            .into_iter()
            .map(|(rule_id, title, count)| RuleCount {
                rule_id,
                title,
                count,
            })
            .collect(),
        attack: summary
            .attack
            .into_iter()
            .map(|(value, count)| TopValue { value, count })
            .collect(),
    }))
}
