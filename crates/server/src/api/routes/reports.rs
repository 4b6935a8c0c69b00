//! Reports through the API: a period and sections, rendered as one self-contained HTML page or
//! as a PDF (no browser involved). Each report is recorded in the tenant's audit trail as a
//! search, since it reads the tenant's events.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use jiff::Timestamp;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;
use shieldwall_auth::permission::Action;
use shieldwall_core::Scope;
use shieldwall_store::meta::{AuditKind, AuditOutcome};

use super::Params;
use super::route;
use crate::access::record;
use crate::api::auth::{Authorised, can};
use crate::api::doc::{Body as Out, Guard, Method, RouteDoc, schema};
use crate::api::problem::{Problem, blocking};
use crate::api::views::DateTime;
use crate::api::{AppState, Routes};
use crate::report_schedule::{Every, Format};
use crate::reports::{ALL_SECTIONS, Period, ReportRequest, SectionKind};

route!(REPORT_HTML, Get, "/api/v1/tenants/{tenant}/reports/html", "reportHtml",
    "A report of the tenant over a period as one self-contained HTML page (recorded).",
    Guard::Permission(Action::ReadPlan), query: Some(schema::<ReportQuery>), request: None, 200,
    Out::Text("text/html"));
route!(REPORT_PDF, Get, "/api/v1/tenants/{tenant}/reports/pdf", "reportPdf",
    "The same report as a PDF (recorded).",
    Guard::Permission(Action::ReadPlan), query: Some(schema::<ReportQuery>), request: None, 200,
    Out::Text("application/pdf"));

route!(REPORT_SCHEDULES, Get, "/api/v1/tenants/{tenant}/reports/schedules", "reportSchedules",
    "The tenant's scheduled reports (`[[report]]` of the configuration) with their latest mailings.",
    Guard::Permission(Action::ReadPlan), query: None, request: None, 200,
    Out::Json(schema::<ScheduleList>));

pub(super) fn routes(routes: Routes) -> Routes {
    routes
        .add(&REPORT_HTML, get(html))
        .add(&REPORT_PDF, get(pdf))
        .add(&REPORT_SCHEDULES, get(schedules))
}

/// The most mailings listed.
const MAILINGS: usize = 100;
/// The most characters of an error listed (an SMTP server's reply may be long).
const MAX_ERROR_CHARS: usize = 500;

fn capped(error: &str) -> String {
    match error.char_indices().nth(MAX_ERROR_CHARS) {
        Some((cut, _)) => format!("{}…", error.get(..cut).unwrap_or(error)),
        None => error.to_owned(),
    }
}

/// The tenant's scheduled reports.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ScheduleList {
    /// Each schedule of the tenant, in the configuration's order.
    pub schedules: Vec<ScheduleView>,
}

/// One scheduled report.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ScheduleView {
    /// Its name.
    pub name: String,
    /// `daily` or `weekly`.
    pub every: Every,
    /// When it goes, for people ("daily at 06:00 UTC").
    pub schedule: String,
    /// The period each report covers.
    pub period: Period,
    /// Its sections.
    pub sections: Vec<SectionKind>,
    /// The files mailed.
    pub formats: Vec<Format>,
    /// The e-mail channels it goes to.
    pub channels: Vec<String>,
    /// When it falls due next.
    #[schemars(with = "Option<DateTime>")]
    pub next_due: Option<Timestamp>,
    /// Its latest mailings, newest first (at most 100 over all schedules).
    pub mailings: Vec<MailingView>,
}

/// One mailing of a scheduled report to one channel.
#[derive(Debug, Serialize, JsonSchema)]
pub struct MailingView {
    /// Its id.
    pub id: u64,
    /// When the report fell due (the end of its period).
    #[schemars(with = "DateTime")]
    pub due_at: Timestamp,
    /// The channel.
    pub channel: String,
    /// `pending`, `delivered` or `failed`.
    pub state: String,
    /// Attempts made.
    pub attempts: u32,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    /// When it was delivered or given up.
    #[schemars(with = "Option<DateTime>")]
    pub done_at: Option<Timestamp>,
}

async fn schedules(
    auth: Authorised<can::ReadPlan>,
    State(state): State<AppState>,
) -> Result<Json<ScheduleList>, Problem> {
    let tenant = auth.tenant()?.clone();
    let meta = state.meta.clone();
    let listed = tenant.clone();
    let mailings = blocking(move || Ok(meta.report_deliveries(Some(&listed), MAILINGS)?)).await?;
    let now = Timestamp::now();
    let schedules = state
        .report_schedules
        .iter()
        .filter(|s| s.tenant == tenant)
        .map(|s| ScheduleView {
            name: s.name.clone(),
            every: s.every,
            schedule: s.describe(),
            period: s.period(),
            sections: s.sections.clone(),
            formats: s.formats.clone(),
            channels: s.channels.clone(),
            next_due: s.next_due(now).ok(),
            mailings: mailings
                .iter()
                .filter(|m| m.schedule == s.name)
                .map(|m| MailingView {
                    id: m.id,
                    due_at: m.due_at,
                    channel: m.channel.clone(),
                    state: m.state.as_str().to_owned(),
                    attempts: m.attempts,
                    last_error: m.last_error.as_deref().map(capped),
                    done_at: m.done_at,
                })
                .collect(),
        })
        .collect();
    Ok(Json(ScheduleList { schedules }))
}

/// The policy of a report page: its own inline styles and nothing else, no script at all.
pub const REPORT_CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; \
     frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/// What to report.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportQuery {
    /// `24h` (per hour), `7d` (default, per day) or `30d` (per day), ending now.
    pub period: Option<Period>,
    /// Sections, comma-separated, from `overview`, `alerts`, `attacks`, `compliance`
    /// (default: all four, in that order).
    #[schemars(length(max = 64))]
    pub sections: Option<String>,
}

fn sections(text: Option<&str>) -> Result<Vec<SectionKind>, Problem> {
    let Some(text) = text.filter(|t| !t.trim().is_empty()) else {
        return Ok(ALL_SECTIONS.to_vec());
    };
    let mut chosen = Vec::new();
    for name in text.split(',').map(str::trim) {
        let kind: SectionKind = serde_json::from_value(json!(name)).map_err(|_| {
            Problem::invalid(format!(
                "unknown report section {name:?}: choose from overview, alerts, attacks, compliance"
            ))
        })?;
        if !chosen.contains(&kind) {
            chosen.push(kind);
        }
    }
    // Always in report order, whatever the order asked.
    Ok(ALL_SECTIONS
        .into_iter()
        .filter(|k| chosen.contains(k))
        .collect())
}

async fn report(
    auth: &Authorised<can::ReadPlan>,
    state: &AppState,
    query: &ReportQuery,
    format: &'static str,
) -> Result<shieldwall_report::Report, Problem> {
    let tenant = auth.tenant()?.clone();
    let request = ReportRequest {
        tenant: tenant.clone(),
        period: query.period.unwrap_or_default(),
        sections: sections(query.sections.as_deref())?,
        now: Timestamp::now(),
        generated_at: Timestamp::now(),
        since: None,
    };
    let detail = json!({"period": request.period, "sections": request.sections});
    let (meta, events, data_dir) = (
        state.meta.clone(),
        state.events.clone(),
        state.data_dir.clone(),
    );
    let origin = auth.origin.clone();
    blocking(move || {
        let built = crate::reports::build(meta.as_ref(), events.as_ref(), &data_dir, &request);
        // Recorded after the work, with how it ended: a report that failed read nothing out.
        let outcome = match &built {
            Ok(_) => AuditOutcome::Success,
            Err(_) => AuditOutcome::Failure,
        };
        let audit = record(
            Scope::Tenant(tenant),
            request.now,
            AuditKind::Search,
            &origin,
            "report",
            format,
            outcome,
        )
        .with_detail(detail);
        meta.append_audit(&audit)?;
        built
    })
    .await
}

async fn html(
    auth: Authorised<can::ReadPlan>,
    State(state): State<AppState>,
    Params(query): Params<ReportQuery>,
) -> Result<Response, Problem> {
    let report = report(&auth, &state, &query, "html").await?;
    let mut response = shieldwall_report::html::render(&report).into_response();
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(REPORT_CSP),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

async fn pdf(
    auth: Authorised<can::ReadPlan>,
    State(state): State<AppState>,
    Params(query): Params<ReportQuery>,
) -> Result<Response, Problem> {
    let report = report(&auth, &state, &query, "pdf").await?;
    let name = format!(
        "attachment; filename=\"shieldwall-{}-{}.pdf\"",
        auth.tenant()?,
        Timestamp::now().strftime("%Y%m%d-%H%M")
    );
    let bytes =
        blocking(move || shieldwall_report::pdf::render(&report).map_err(Problem::internal))
            .await?;
    let mut response = bytes.into_response();
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/pdf"),
    );
    if let Ok(value) = HeaderValue::from_str(&name) {
        h.insert(header::CONTENT_DISPOSITION, value);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}
