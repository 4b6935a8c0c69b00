//! Reports through the API: a period and sections, rendered as one self-contained HTML page or
//! as a PDF (no browser involved). Each report is recorded in the tenant's audit trail as a
//! search, since it reads the tenant's events.

use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use jiff::Timestamp;
use schemars::JsonSchema;
use serde::Deserialize;
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
use crate::api::{AppState, Routes};
use crate::reports::{ALL_SECTIONS, Period, ReportRequest, SectionKind};

route!(REPORT_HTML, Get, "/api/v1/tenants/{tenant}/reports/html", "reportHtml",
    "A report of the tenant over a period as one self-contained HTML page (recorded).",
    Guard::Permission(Action::ReadPlan), query: Some(schema::<ReportQuery>), request: None, 200,
    Out::Text("text/html"));
route!(REPORT_PDF, Get, "/api/v1/tenants/{tenant}/reports/pdf", "reportPdf",
    "The same report as a PDF (recorded).",
    Guard::Permission(Action::ReadPlan), query: Some(schema::<ReportQuery>), request: None, 200,
    Out::Text("application/pdf"));

pub(super) fn routes(routes: Routes) -> Routes {
    routes
        .add(&REPORT_HTML, get(html))
        .add(&REPORT_PDF, get(pdf))
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
