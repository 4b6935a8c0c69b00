//! Reports of a tenant over a period (guideline 3.2.8.7: tables and charts, scheduled and
//! mailed): the figures are read from the stores the API reads, with the same queries as the
//! console's overview, and laid out as a [`shieldwall_report::Report`] that renders to HTML and
//! PDF. Blocking: call from the blocking pool.

use std::path::Path;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use shieldwall_core::TenantId;
use shieldwall_query::Aggregation;
use shieldwall_report::{Block, Figure, Report, Section, Table, number};
use shieldwall_store::events::AggregationResult;
use shieldwall_store::meta::{SUMMARY_SEVERITIES, SummaryRequest};
use shieldwall_store::{EventStore, MetaStore, Selection};

use crate::api::problem::Problem;

/// The period a report covers, ending now.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
pub enum Period {
    /// The last 24 hours, per hour.
    #[serde(rename = "24h")]
    Day,
    /// The last 7 days, per day.
    #[default]
    #[serde(rename = "7d")]
    Week,
    /// The last 30 days, per day.
    #[serde(rename = "30d")]
    Month,
}

impl Period {
    fn seconds(self) -> i64 {
        match self {
            Period::Day => 86_400,
            Period::Week => 7 * 86_400,
            Period::Month => 30 * 86_400,
        }
    }

    fn interval_secs(self) -> i64 {
        match self {
            Period::Day => 3_600,
            Period::Week | Period::Month => 86_400,
        }
    }

    fn describe_scheduled(self) -> &'static str {
        match self {
            Period::Day => "since the previous daily report",
            Period::Week | Period::Month => "since the previous weekly report",
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Period::Day => "the last 24 hours, from the start of that hour",
            Period::Week => "the last 7 days, from the start of that day",
            Period::Month => "the last 30 days, from the start of that day",
        }
    }
}

/// A part of a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SectionKind {
    /// Events by log kind and over time, alerts raised and unhandled.
    Overview,
    /// Alerts by severity and state, over time, the rules that raised the most.
    Alerts,
    /// Attack types, ATT&CK techniques, the most frequent sources and targets.
    Attacks,
    /// CCM coverage by domain and the gaps with the highest risk.
    Compliance,
}

/// Every section, in report order.
pub const ALL_SECTIONS: [SectionKind; 4] = [
    SectionKind::Overview,
    SectionKind::Alerts,
    SectionKind::Attacks,
    SectionKind::Compliance,
];

/// What to report on.
#[derive(Debug, Clone)]
pub struct ReportRequest {
    /// The tenant.
    pub tenant: TenantId,
    /// The period, ending at `now`.
    pub period: Period,
    /// The sections, in report order.
    pub sections: Vec<SectionKind>,
    /// The end of the period: when the report is asked for, or when a scheduled one fell due.
    pub now: Timestamp,
    /// When the report is made (the compliance section's evidence is judged at this time).
    pub generated_at: Timestamp,
    /// A scheduled report's previous due time: the report starts at the interval holding it
    /// instead of the one holding "now minus the period", so that consecutive reports leave
    /// no gap whatever their time of day and the clock changes between them.
    pub since: Option<Timestamp>,
}

/// The log kinds, as events name them and as reports label them, in the order both list them.
pub const LOG_KINDS: [(&str, &str); 4] = [
    ("security_event", "Security events"),
    ("behaviour_event", "Behaviour events"),
    ("vulnerability_scan", "Vulnerability scans"),
    ("status_monitoring", "Status monitoring"),
];
const SEVERITY_NAMES: [&str; 5] = ["Info", "Low", "Medium", "High", "Critical"];
const TOP: usize = 10;

/// What the overview and the reports count of a tenant's events in a selection.
pub struct EventCounts {
    /// Every event of the selection (each has one log kind).
    pub total: u64,
    /// Per log kind of [`LOG_KINDS`], in that order.
    pub by_kind: [u64; 4],
    /// The most frequent attack types, source and destination addresses.
    pub attack_types: Vec<(String, u64)>,
    /// The most frequent source addresses.
    pub sources: Vec<(String, u64)>,
    /// The most frequent destination addresses.
    pub targets: Vec<(String, u64)>,
    /// Events per interval when asked for, empty intervals left out.
    pub histogram: Vec<(Timestamp, u64)>,
}

/// Counts by log kind, the top values and, with `interval`, the histogram: one pass over the
/// store.
pub fn event_counts(
    events: &dyn EventStore,
    tenant: &TenantId,
    selection: &Selection,
    interval: Option<std::time::Duration>,
) -> Result<EventCounts, Problem> {
    let mut aggregations: Vec<Aggregation> = [
        ("log_kind", LOG_KINDS.len()),
        ("attack_type", TOP),
        ("src_endpoint.ip", TOP),
        ("dst_endpoint.ip", TOP),
    ]
    .map(|(field, top)| Aggregation::CountBy {
        field: field.to_owned(),
        top,
    })
    .into();
    aggregations.extend(interval.map(|interval| Aggregation::Histogram { interval }));
    let results = events
        .aggregate(tenant, selection, &aggregations)
        .map_err(Problem::internal)?;
    let values = |i: usize| -> Vec<(String, u64)> {
        match results.get(i) {
            Some(AggregationResult::CountBy { buckets, .. }) => buckets.clone(),
            _ => Vec::new(),
        }
    };
    let kinds = values(0);
    let by_kind =
        LOG_KINDS.map(|(kind, _)| kinds.iter().find(|(k, _)| k == kind).map_or(0, |(_, n)| *n));
    let other = match results.first() {
        Some(AggregationResult::CountBy { other, .. }) => *other,
        _ => 0,
    };
    Ok(EventCounts {
        total: by_kind.iter().sum::<u64>() + other,
        by_kind,
        attack_types: values(1),
        sources: values(2),
        targets: values(3),
        histogram: match results.get(4) {
            Some(AggregationResult::Histogram { buckets, .. }) => buckets.clone(),
            _ => Vec::new(),
        },
    })
}

/// Builds the report from the stores.
pub fn build(
    meta: &dyn MetaStore,
    events: &dyn EventStore,
    data_dir: &Path,
    request: &ReportRequest,
) -> Result<Report, Problem> {
    // From the start of the interval that holds "now minus the period" (or the previous due
    // time) up to now: the whole period, in intervals aligned like the store's histograms
    // (whole hours or UTC days).
    let interval = request.period.interval_secs();
    let begins = request.since.map_or_else(
        || request.now.as_second() - request.period.seconds(),
        Timestamp::as_second,
    );
    let start = begins.div_euclid(interval) * interval;
    let from = Timestamp::from_second(start).map_err(Problem::internal)?;
    let to = request.now;
    let tenant = &request.tenant;
    let all = Selection {
        query: shieldwall_query::Query::All,
        from: Some(from),
        to: Some(to),
    };
    let counted = event_counts(
        events,
        tenant,
        &all,
        Some(std::time::Duration::from_secs(interval.unsigned_abs())),
    )?;
    let alerts = meta.alert_summary(&SummaryRequest {
        tenant: tenant.clone(),
        from,
        to,
        interval_secs: interval.unsigned_abs(),
        top: TOP,
    })?;
    let capped = |values: &[(String, u64)]| -> Vec<(String, u64)> {
        values.iter().map(|(value, n)| (cap(value), *n)).collect()
    };
    let total = counted.total;
    let label_of = |t: Timestamp| -> String {
        let text = t.to_string();
        if interval < 86_400 {
            text.get(..16)
                .map_or(text.clone(), |s| format!("{}Z", s.replace('T', " ")))
        } else {
            text.get(..10).map_or(text.clone(), str::to_owned)
        }
    };
    // Every interval of the period, empty ones as 0, so a quiet (or broken) hour shows.
    let starts: Vec<Timestamp> = (0..)
        .map(|k| start + k * interval)
        .take_while(|t| *t < to.as_second())
        .filter_map(|t| Timestamp::from_second(t).ok())
        .collect();
    let filled = |counts: &[(Timestamp, u64)]| -> Vec<(String, u64)> {
        starts
            .iter()
            .map(|t| {
                let n = counts.iter().find(|(s, _)| s == t).map_or(0, |(_, n)| *n);
                (label_of(*t), n)
            })
            .collect()
    };
    let per_interval = filled(&counted.histogram);
    let unit = if interval < 86_400 { "hour" } else { "day" };
    let mut sections = Vec::new();
    for kind in &request.sections {
        let section = match kind {
            SectionKind::Overview => {
                let mut figures = vec![Figure {
                    label: "Events".into(),
                    value: total,
                }];
                figures.extend(
                    LOG_KINDS
                        .iter()
                        .zip(counted.by_kind)
                        .map(|((_, label), value)| Figure {
                            label: (*label).into(),
                            value,
                        }),
                );
                figures.push(Figure {
                    label: "Alerts raised".into(),
                    value: alerts.total,
                });
                figures.push(Figure {
                    label: "Unhandled, all time".into(),
                    value: alerts.unhandled,
                });
                Section {
                    heading: "Overview".into(),
                    blocks: vec![
                        Block::Figures(figures),
                        Block::Bars {
                            caption: format!("Events per {unit} (UTC)"),
                            bars: per_interval.clone(),
                        },
                    ],
                }
            }
            SectionKind::Alerts => {
                let by_severity = SUMMARY_SEVERITIES
                    .iter()
                    .zip(SEVERITY_NAMES)
                    .zip(alerts.by_severity)
                    .rev()
                    .map(|((_, name), value)| Figure {
                        label: format!("{name} alerts"),
                        value,
                    });
                let by_state = ["New", "Acknowledged", "Closed"]
                    .into_iter()
                    .zip(alerts.by_state)
                    .map(|(name, value)| Figure {
                        label: format!("{name} now"),
                        value,
                    });
                Section {
                    heading: "Alerts".into(),
                    blocks: vec![
                        Block::Figures(by_severity.chain(by_state).collect()),
                        Block::Bars {
                            caption: format!("Alerts raised per {unit} (UTC)"),
                            bars: filled(
                                &alerts
                                    .buckets
                                    .iter()
                                    .map(|(start, counts)| (*start, counts.iter().sum()))
                                    .collect::<Vec<_>>(),
                            ),
                        },
                        Block::Table(Table {
                            caption: "Rules that raised the most alerts".into(),
                            headers: vec!["Rule".into(), "Title".into(), "Alerts".into()],
                            rows: alerts
                                .top_rules
                                .iter()
                                .map(|(id, title, n)| vec![cap(id), cap(title), number(*n)])
                                .collect(),
                            empty: "no alerts in this period".into(),
                        }),
                    ],
                }
            }
            SectionKind::Attacks => Section {
                heading: "Attacks".into(),
                blocks: vec![
                    Block::Bars {
                        caption: "Attack types (events)".into(),
                        bars: capped(&counted.attack_types),
                    },
                    Block::Table(Table {
                        caption: "ATT&CK techniques and tactics on alerts".into(),
                        headers: vec!["Tag".into(), "Alerts".into()],
                        rows: alerts
                            .attack
                            .iter()
                            .map(|(tag, n)| {
                                vec![cap(tag.trim_start_matches("attack.")), number(*n)]
                            })
                            .collect(),
                        empty: "none in this period".into(),
                    }),
                    top_table("Top source addresses", capped(&counted.sources)),
                    top_table("Top destination addresses", capped(&counted.targets)),
                ],
            },
            SectionKind::Compliance => compliance(meta, data_dir, tenant, request.generated_at)?,
        };
        sections.push(section);
    }
    Ok(Report {
        title: format!("Security report: {tenant}"),
        subtitle: vec![
            format!(
                "Tenant {tenant}, {} ({} to {}, UTC)",
                if request.since.is_some() {
                    request.period.describe_scheduled()
                } else {
                    request.period.describe()
                },
                from.strftime("%Y-%m-%d %H:%M"),
                to.strftime("%Y-%m-%d %H:%M")
            ),
            format!(
                "Generated {} by Shieldwall",
                request.generated_at.strftime("%Y-%m-%d %H:%M:%S UTC")
            ),
        ],
        sections,
    })
}

/// The longest value a report prints (event fields can hold whole log lines).
const MAX_TEXT: usize = 256;

/// `text` cut to [`MAX_TEXT`] characters, marked when cut.
fn cap(text: &str) -> String {
    if text.chars().count() <= MAX_TEXT {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(MAX_TEXT).collect();
    out.push('…');
    out
}

fn top_table(caption: &str, values: Vec<(String, u64)>) -> Block {
    Block::Table(Table {
        caption: caption.into(),
        headers: vec!["Address".into(), "Events".into()],
        rows: values
            .into_iter()
            .map(|(value, n)| vec![value, number(n)])
            .collect(),
        empty: "none in this period".into(),
    })
}

fn compliance(
    meta: &dyn MetaStore,
    data_dir: &Path,
    tenant: &TenantId,
    now: Timestamp,
) -> Result<Section, Problem> {
    let heading = "Compliance".to_owned();
    let today = now.to_zoned_datetime(jiff::tz::TimeZone::UTC).date();
    let plan = match crate::plans::plan_json(data_dir, meta, tenant, today) {
        Ok(plan) => plan,
        Err(problem) if problem.status == axum::http::StatusCode::NOT_FOUND => {
            return Ok(Section {
                heading,
                blocks: vec![Block::Paragraph(
                    "The tenant has no deployment manifest yet, so there is no plan to report on."
                        .into(),
                )],
            });
        }
        // The other sections still report; this one says why it cannot.
        Err(problem) => {
            tracing::warn!(
                "report of {tenant}: the plan could not be computed: {}",
                problem.detail
            );
            return Ok(Section {
                heading,
                blocks: vec![Block::Paragraph(format!(
                    "The plan could not be computed: {}",
                    problem.detail
                ))],
            });
        }
    };
    let count = |value: &serde_json::Value, key: &str| {
        value
            .get(key)
            .and_then(serde_json::Value::as_u64)
            .unwrap_or(0)
    };
    let text = |value: &serde_json::Value, key: &str| {
        value
            .get(key)
            .and_then(serde_json::Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let empty = serde_json::Value::Null;
    let total = plan.pointer("/coverage/total").unwrap_or(&empty);
    let gaps = plan
        .get("gaps")
        .and_then(serde_json::Value::as_array)
        .cloned()
        .unwrap_or_default();
    let figures = [
        ("Controls", count(total, "controls")),
        ("Covered", count(total, "covered")),
        ("Partly covered", count(total, "partial")),
        ("Open", count(total, "gap")),
        ("Inherited", count(total, "inherited")),
        ("Gaps", u64::try_from(gaps.len()).unwrap_or(u64::MAX)),
    ]
    .map(|(label, value)| Figure {
        label: label.into(),
        value,
    });
    let domains = plan
        .pointer("/coverage/domains")
        .and_then(serde_json::Value::as_array)
        .cloned()
        .unwrap_or_default();
    let percent = |value: &serde_json::Value, key: &str| {
        // Rounded down, so 99.6% met is not printed as 100% while a control is open.
        format!(
            "{:.0}%",
            value
                .get(key)
                .and_then(serde_json::Value::as_f64)
                .unwrap_or(0.0)
                .floor()
        )
    };
    Ok(Section {
        heading,
        blocks: vec![
            Block::Paragraph(format!(
                "{} ({}), evidence judged as of {}.",
                text(&plan, "organisation"),
                text(&plan, "framework"),
                text(&plan, "as_of")
            )),
            Block::Figures(figures.to_vec()),
            Block::Table(Table {
                caption: "CCM coverage by domain".into(),
                headers: [
                    "Domain",
                    "Controls",
                    "Covered",
                    "Partial",
                    "Open",
                    "Inherited",
                    "Met",
                ]
                .map(str::to_owned)
                .to_vec(),
                rows: domains
                    .iter()
                    .map(|d| {
                        vec![
                            format!("{} {}", text(d, "domain"), text(d, "name")),
                            number(count(d, "controls")),
                            number(count(d, "covered")),
                            number(count(d, "partial")),
                            number(count(d, "gap")),
                            number(count(d, "inherited")),
                            percent(d, "percent_met"),
                        ]
                    })
                    .collect(),
                empty: "no controls".into(),
            }),
            Block::Table(Table {
                caption: "Gaps with the highest risk".into(),
                headers: ["Rank", "Score", "Gap", "Owner", "Why"]
                    .map(str::to_owned)
                    .to_vec(),
                rows: gaps
                    .iter()
                    .take(20)
                    .map(|g| {
                        vec![
                            number(count(g, "rank")),
                            number(count(g, "score")),
                            format!("{} ({})", text(g, "name"), text(g, "id")),
                            text(g, "owner"),
                            text(g, "reason"),
                        ]
                    })
                    .collect(),
                empty: "no gaps".into(),
            }),
        ],
    })
}
