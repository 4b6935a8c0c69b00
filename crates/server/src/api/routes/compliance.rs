//! The tenant's responsibility plan: its deployment manifest (kept in
//! `<data_dir>/tenants/<tenant>/manifest.toml`), the plan computed from it with the evidence on
//! record, attestations people upload as evidence, and the check modules' findings.

use std::path::PathBuf;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post, put};
use jiff::civil::Date;
use jiff::{SignedDuration, Timestamp};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;
use shieldwall_auth::permission::Action;
use shieldwall_core::{ControlRef, Evidence, EvidenceSource, FindingStatus, RecordId, Scope};
use shieldwall_store::meta::{AuditKind, AuditOutcome};

use super::route;
use super::{Body, Params};
use crate::access::record;
use crate::api::auth::{Authorised, Permission, can};
use crate::api::doc::{Body as Out, Guard, Method, RouteDoc, schema};
use crate::api::problem::{Problem, blocking};
use crate::api::views::{DateTime, page_size};
use crate::api::{AppState, Routes};

/// The largest manifest accepted, in bytes.
const MAX_MANIFEST_BYTES: usize = 1 << 20;

/// A deployment manifest to keep for the tenant.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ManifestUpload {
    /// The TOML text (docs/manifest.md).
    #[schemars(length(min = 1, max = 1048576))]
    pub toml: String,
}

/// When to judge the plan.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanQuery {
    /// Judge evidence as of this day (YYYY-MM-DD); default today (UTC).
    #[schemars(regex(pattern = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"))]
    pub as_of: Option<String>,
}

/// An attestation: a person answers for a capability or controls until a date.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AttestationRequest {
    /// The catalog capability it supports (`waf`), if any.
    #[schemars(length(min = 1, max = 128))]
    pub capability: Option<String>,
    /// The controls it supports (`ccm-4.0.13:LOG-05`), if any.
    #[serde(default)]
    #[schemars(length(max = 64))]
    pub controls: Vec<String>,
    /// The workload it is about, if one.
    #[schemars(length(min = 1, max = 128))]
    pub workload: Option<String>,
    /// What is attested, in words (kept in the audit trail).
    #[schemars(length(min = 1, max = 4096))]
    pub statement: String,
    /// When it stops counting (within three years).
    #[schemars(with = "DateTime")]
    pub expires: Timestamp,
}

/// A piece of evidence on record.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct EvidenceView {
    /// Its place (the paging cursor).
    pub seq: u64,
    /// Its id.
    pub id: String,
    /// `attestation` (with its owner) or `module` (with the module).
    pub source: serde_json::Value,
    /// The capability it supports.
    pub capability: Option<String>,
    /// The controls it supports.
    pub controls: Vec<String>,
    /// The workload.
    pub workload: Option<String>,
    /// When observed or attested.
    #[schemars(with = "DateTime")]
    pub observed: Timestamp,
    /// When it stops counting.
    #[schemars(with = "Option<DateTime>")]
    pub expires: Option<Timestamp>,
    /// Who recorded it.
    pub recorded_by: String,
}

/// Paging backwards.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordQuery {
    /// Only records before this place (the next page).
    #[schemars(range(min = 1))]
    pub before: Option<u64>,
    /// At most this many (1 to 1000; default 100).
    #[schemars(range(min = 1, max = 1000))]
    pub limit: Option<usize>,
}

/// Which findings to list.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FindingQuery {
    /// Only findings of this module (`baseline`).
    #[schemars(length(min = 1, max = 64))]
    pub module: Option<String>,
    /// Only findings with this outcome.
    pub status: Option<FindingStatusName>,
    /// Only findings before this place (the next page).
    #[schemars(range(min = 1))]
    pub before: Option<u64>,
    /// At most this many (1 to 1000; default 100).
    #[schemars(range(min = 1, max = 1000))]
    pub limit: Option<usize>,
}

/// Outcomes of a check.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum FindingStatusName {
    /// Met.
    Pass,
    /// Not met.
    Fail,
    /// Does not apply.
    NotApplicable,
    /// Could not be evaluated.
    Error,
}

/// A check module's result.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct FindingView {
    /// Its place (the paging cursor).
    pub seq: u64,
    /// The finding (its id, module, target, check_id, status, severity, remediation, time).
    pub finding: serde_json::Map<String, serde_json::Value>,
}

route!(MANIFEST, Put, "/api/v1/tenants/{tenant}/manifest", "putManifest",
    "Keep the tenant's deployment manifest (checked first).",
    Guard::Permission(Action::ManageManifest), query: None,
    request: Some(schema::<ManifestUpload>), 204, Out::Empty);
route!(PLAN, Get, "/api/v1/tenants/{tenant}/plan", "getPlan",
    "The responsibility plan of the tenant's manifest with the evidence on record (docs/plan-json.md).",
    Guard::Permission(Action::ReadPlan), query: Some(schema::<PlanQuery>), request: None, 200,
    Out::Json(schema::<serde_json::Map<String, serde_json::Value>>));
route!(COVERAGE, Get, "/api/v1/tenants/{tenant}/plan/coverage", "getPlanCoverage",
    "The plan's CCM coverage by domain and in total, and its number of gaps: the plan's summary for overviews.",
    Guard::Permission(Action::ReadPlan), query: Some(schema::<PlanQuery>), request: None, 200,
    Out::Json(schema::<CoverageSummary>));
route!(EVIDENCE, Get, "/api/v1/tenants/{tenant}/evidence", "listEvidence",
    "The tenant's evidence, newest first.", Guard::Permission(Action::ReadFindings),
    query: Some(schema::<RecordQuery>), request: None, 200,
    Out::Json(schema::<Vec<EvidenceView>>));
route!(ATTEST, Post, "/api/v1/tenants/{tenant}/attestations", "createAttestation",
    "Attest a capability or controls until a date: evidence for the plan.",
    Guard::Permission(Action::UploadAttestation), query: None,
    request: Some(schema::<AttestationRequest>), 201, Out::Json(schema::<EvidenceView>));
route!(FINDINGS, Get, "/api/v1/tenants/{tenant}/findings", "listFindings",
    "The check modules' findings for the tenant, newest first.",
    Guard::Permission(Action::ReadFindings), query: Some(schema::<FindingQuery>),
    request: None, 200, Out::Json(schema::<Vec<FindingView>>));

pub(super) fn routes(routes: Routes) -> Routes {
    routes
        .add(&MANIFEST, put(put_manifest))
        .add(&PLAN, get(plan))
        .add(&COVERAGE, get(coverage))
        .add(&EVIDENCE, get(evidence))
        .add(&ATTEST, post(attest))
        .add(&FINDINGS, get(findings))
}

fn manifest_path<P: Permission>(
    state: &AppState,
    auth: &Authorised<P>,
) -> Result<PathBuf, Problem> {
    Ok(crate::plans::manifest_path(&state.data_dir, auth.tenant()?))
}

fn catalog() -> Result<&'static shieldwall_catalog::Catalog, Problem> {
    shieldwall_catalog::Catalog::embedded().map_err(Problem::internal)
}

async fn put_manifest(
    auth: Authorised<can::ManageManifest>,
    State(state): State<AppState>,
    Body(upload): Body<ManifestUpload>,
) -> Result<StatusCode, Problem> {
    if upload.toml.len() > MAX_MANIFEST_BYTES {
        return Err(Problem::invalid("a manifest may be at most 1 MiB"));
    }
    let path = manifest_path(&state, &auth)?;
    let meta = state.meta.clone();
    let tenant = auth.tenant()?.clone();
    let origin = auth.origin.clone();
    blocking(move || {
        let manifest = shieldwall_plan::manifest::parse("manifest.toml", &upload.toml, catalog()?)
            .map_err(|e| Problem::invalid(e.to_string()))?;
        if manifest.tenant != tenant {
            return Err(Problem::invalid(format!(
                "the manifest is for tenant {:?} (its `tenant` key), not {tenant:?}: set `tenant = \"{tenant}\"`",
                manifest.tenant.as_str()
            )));
        }
        let temp = super::rules::stage(&path, &upload.toml, |_| Ok(()))?;
        let audit = record(
            Scope::Tenant(tenant),
            Timestamp::now(),
            AuditKind::Change,
            &origin,
            "manifest",
            "put_manifest",
            AuditOutcome::Success,
        )
        .with_detail(json!({"sha256": crate::access::sha256_hex(&upload.toml), "bytes": upload.toml.len()}));
        super::rules::install(meta.as_ref(), &audit, &temp, &path)
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The plan's coverage by domain: what an overview shows.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct CoverageSummary {
    /// The day evidence was judged at.
    pub as_of: String,
    /// The framework (`ccm-4.0.13`).
    pub framework: String,
    /// Per domain: `domain`, `name`, `controls`, `covered`, `partial`, `gap`, `inherited`,
    /// `not_applicable`, `percent_met`, `percent_own_covered` (docs/plan-json.md).
    pub domains: Vec<serde_json::Map<String, serde_json::Value>>,
    /// The same counts over every control (`domain` is `*`).
    pub total: serde_json::Map<String, serde_json::Value>,
    /// Gaps listed by the plan.
    pub gaps: usize,
}

async fn plan(
    auth: Authorised<can::ReadPlan>,
    State(state): State<AppState>,
    Params(query): Params<PlanQuery>,
) -> Result<Json<serde_json::Value>, Problem> {
    Ok(Json(tenant_plan(&state, &auth, &query).await?))
}

async fn coverage(
    auth: Authorised<can::ReadPlan>,
    State(state): State<AppState>,
    Params(query): Params<PlanQuery>,
) -> Result<Json<CoverageSummary>, Problem> {
    let plan = tenant_plan(&state, &auth, &query).await?;
    let at = |pointer: &str| plan.pointer(pointer);
    let text = |pointer: &str| {
        at(pointer)
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_owned()
    };
    let object = |value: &serde_json::Value| value.as_object().cloned().unwrap_or_default();
    Ok(Json(CoverageSummary {
        as_of: text("/as_of"),
        framework: text("/framework"),
        domains: at("/coverage/domains")
            .and_then(|d| d.as_array())
            .map(|d| d.iter().map(object).collect())
            .unwrap_or_default(),
        total: at("/coverage/total").map(object).unwrap_or_default(),
        gaps: at("/gaps").and_then(|g| g.as_array()).map_or(0, Vec::len),
    }))
}

/// The plan of the tenant's stored manifest with the evidence on record, as its JSON.
async fn tenant_plan(
    state: &AppState,
    auth: &Authorised<can::ReadPlan>,
    query: &PlanQuery,
) -> Result<serde_json::Value, Problem> {
    let as_of = match &query.as_of {
        Some(text) => text
            .parse::<Date>()
            .map_err(|e| Problem::invalid(format!("as_of {text:?}: {e}")))?,
        None => Timestamp::now()
            .to_zoned_datetime(jiff::tz::TimeZone::UTC)
            .date(),
    };
    let tenant = auth.tenant()?.clone();
    let (meta, data_dir) = (state.meta.clone(), state.data_dir.clone());
    blocking(move || crate::plans::plan_json(&data_dir, meta.as_ref(), &tenant, as_of)).await
}

fn evidence_view(stored: &shieldwall_store::meta::StoredEvidence) -> EvidenceView {
    let e = &stored.evidence;
    EvidenceView {
        seq: stored.seq,
        id: e.id.to_string(),
        source: serde_json::to_value(&e.source).unwrap_or_default(),
        capability: e.capability.clone(),
        controls: e.controls.iter().map(ToString::to_string).collect(),
        workload: e.workload.clone(),
        observed: e.observed,
        expires: e.expires,
        recorded_by: stored.recorded_by.clone(),
    }
}

async fn evidence(
    auth: Authorised<can::ReadFindings>,
    State(state): State<AppState>,
    Params(query): Params<RecordQuery>,
) -> Result<Json<Vec<EvidenceView>>, Problem> {
    let limit = page_size(query.limit)?;
    let tenant = auth.tenant()?.clone();
    let meta = state.meta.clone();
    let stored = blocking(move || Ok(meta.evidence(&tenant, query.before, limit)?)).await?;
    Ok(Json(stored.iter().map(evidence_view).collect()))
}

async fn attest(
    auth: Authorised<can::UploadAttestation>,
    State(state): State<AppState>,
    Body(request): Body<AttestationRequest>,
) -> Result<(StatusCode, Json<EvidenceView>), Problem> {
    let catalog = catalog()?;
    if let Some(capability) = &request.capability
        && catalog.capability(capability).is_none()
    {
        return Err(Problem::invalid(format!(
            "capability {capability:?} is not in the catalog (see `shieldwall catalog capabilities`)"
        )));
    }
    let controls = request
        .controls
        .iter()
        .map(|c| {
            c.parse::<ControlRef>()
                .map_err(|e| Problem::invalid(format!("control {c:?}: {e}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    if request.capability.is_none() && controls.is_empty() {
        return Err(Problem::invalid(
            "an attestation names a capability, controls, or both",
        ));
    }
    let now = Timestamp::now();
    if request.expires <= now || request.expires > now + SignedDuration::from_hours(24 * 366 * 3) {
        return Err(Problem::invalid(
            "expires must be in the future and within three years",
        ));
    }
    let tenant = auth.tenant()?.clone();
    let account = auth.grant.account().to_owned();
    let nanos = now.as_nanosecond().to_string();
    let evidence = Evidence {
        id: RecordId::derive("attestation", &[tenant.as_str(), &account, &nanos]),
        tenant: tenant.clone(),
        source: EvidenceSource::Attestation {
            owner: account.clone(),
        },
        capability: request.capability.clone(),
        controls,
        workload: request.workload.clone(),
        observed: now,
        expires: Some(request.expires),
    };
    let audit = record(
        Scope::Tenant(tenant),
        now,
        AuditKind::Change,
        &auth.origin,
        &format!("evidence:{}", evidence.id),
        "attest",
        AuditOutcome::Success,
    )
    .with_detail(
        json!({"capability": request.capability, "controls": request.controls,
        "workload": request.workload, "statement": request.statement, "expires": request.expires}),
    );
    let meta = state.meta.clone();
    let stored =
        blocking(move || Ok(meta.record_evidence(&evidence, &account, now, &audit)?)).await?;
    Ok((StatusCode::CREATED, Json(evidence_view(&stored))))
}

async fn findings(
    auth: Authorised<can::ReadFindings>,
    State(state): State<AppState>,
    Params(query): Params<FindingQuery>,
) -> Result<Json<Vec<FindingView>>, Problem> {
    let limit = page_size(query.limit)?;
    let tenant = auth.tenant()?.clone();
    let status = query.status.map(|s| match s {
        FindingStatusName::Pass => FindingStatus::Pass,
        FindingStatusName::Fail => FindingStatus::Fail,
        FindingStatusName::NotApplicable => FindingStatus::NotApplicable,
        FindingStatusName::Error => FindingStatus::Error,
    });
    let meta = state.meta.clone();
    let found = blocking(move || {
        Ok(meta.findings(
            &tenant,
            query.module.as_deref(),
            status,
            query.before,
            limit,
        )?)
    })
    .await?;
    Ok(Json(
        found
            .iter()
            .map(|f| FindingView {
                seq: f.seq,
                finding: match serde_json::to_value(&f.finding) {
                    Ok(serde_json::Value::Object(map)) => map,
                    _ => serde_json::Map::new(),
                },
            })
            .collect(),
    ))
}
