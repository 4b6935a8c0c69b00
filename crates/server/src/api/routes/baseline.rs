//! A tenant's baseline checks: its configured jobs, the policies it uploaded
//! (`<data_dir>/baseline/<tenant>/<name>.yml`, checked before they are written), runs started
//! now with the job's policy or another, and the log of recent runs. Results are stored as a
//! scheduled run stores them: findings, evidence and alerts.

use std::path::Path;

use axum::Json;
use axum::extract::{FromRequestParts, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::routing::{delete, get, post, put};
use jiff::Timestamp;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;
use shieldwall_auth::permission::Action;
use shieldwall_baseline::{MAX_POLICY_BYTES, Policy, shipped};
use shieldwall_core::Scope;
use shieldwall_store::meta::{AuditKind, AuditOutcome};

use super::rules::{install, stage};
use super::{Body, route};
use crate::access::{record, sha256_hex};
use crate::api::auth::{Authorised, can};
use crate::api::doc::{Body as Out, Guard, Method, RouteDoc, schema};
use crate::api::problem::{Problem, blocking};
use crate::api::views::DateTime;
use crate::api::{AppState, Routes};
use crate::baseline_runs::{
    MAX_UPLOADS, PolicyOrigin, RunError, RunRecord, UPLOADED_COMMANDS_OFF, command_checks,
    is_upload_name,
};

/// The largest policy accepted through the API, in bytes.
const MAX_UPLOAD_BYTES: usize = 1 << 20;
/// The most runs listed.
const MAX_RUNS: usize = 200;

/// A configured baseline job of the tenant.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct BaselineJobView {
    /// Its name.
    pub name: String,
    /// Its policy's id.
    pub policy: String,
    /// What it checks (`local`, `root:DIR`, `file:PATH`).
    pub target: String,
    /// Seconds between scheduled runs.
    pub every_secs: u64,
    /// The manifest's workload it gives evidence for.
    pub workload: Option<String>,
    /// Whether it runs policies uploaded through the API.
    pub api_policies: bool,
}

/// A baseline policy a run can use.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct BaselinePolicyView {
    /// The name a run asks for.
    pub name: String,
    /// `shipped` or `uploaded`.
    pub origin: String,
    /// Its `policy.id` (prefix of its findings' check ids); none if it does not load.
    pub id: Option<String>,
    /// Its title.
    pub title: Option<String>,
    /// Its checks.
    pub checks: usize,
    /// Checks with a command (`c:`) rule.
    pub command_checks: usize,
    /// Why its command rules do not run, when they do not (uploaded policies, unless the
    /// server allows them).
    pub commands_disabled: Option<String>,
    /// Why a stored upload no longer loads, with the line.
    pub error: Option<String>,
}

/// A baseline policy to write.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BaselinePolicyUpload {
    /// The YAML text, in Wazuh's SCA format (docs/baseline-rules.md).
    #[schemars(length(min = 1, max = 1048576))]
    pub yaml: String,
}

/// A run to start.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BaselineRunRequest {
    /// The tenant's job whose target to check.
    #[schemars(length(min = 1, max = 256))]
    pub job: String,
    /// A policy (uploaded or shipped) to use instead of the job's own.
    #[schemars(length(min = 1, max = 256))]
    pub policy: Option<String>,
}

/// A baseline run, running or finished.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct BaselineRunView {
    /// Its number (since the server started).
    pub id: u64,
    /// The job.
    pub job: String,
    /// The policy's id.
    pub policy: String,
    /// `configured`, `shipped` or `uploaded`.
    pub origin: String,
    /// `schedule`, or the account that started it.
    pub requested_by: String,
    /// The target.
    pub target: String,
    /// Why command rules did not run, when they did not.
    pub commands_disabled: Option<String>,
    /// When it started.
    #[schemars(with = "DateTime")]
    pub started: Timestamp,
    /// When it ended; none while it runs.
    #[schemars(with = "Option<DateTime>")]
    pub finished: Option<Timestamp>,
    /// `running`, `done` or `failed`.
    pub state: String,
    /// Checks passed.
    pub pass: Option<usize>,
    /// Checks failed.
    pub fail: Option<usize>,
    /// Checks not applicable.
    pub not_applicable: Option<usize>,
    /// Checks in error.
    pub error: Option<usize>,
    /// pass / (pass + fail) in percent.
    pub score: Option<f64>,
    /// Alerts raised or counted on for checks that newly fail.
    pub alerts: Option<usize>,
    /// Why its results could not be stored.
    pub failure: Option<String>,
}

route!(JOBS, Get, "/api/v1/tenants/{tenant}/baseline/jobs", "listBaselineJobs",
    "The tenant's configured baseline jobs.", Guard::Permission(Action::ReadFindings),
    query: None, request: None, 200, Out::Json(schema::<Vec<BaselineJobView>>));
route!(POLICIES, Get, "/api/v1/tenants/{tenant}/baseline/policies", "listBaselinePolicies",
    "The baseline policies the tenant's runs can use: shipped and uploaded.",
    Guard::Permission(Action::ReadFindings), query: None, request: None, 200,
    Out::Json(schema::<Vec<BaselinePolicyView>>));
route!(UPLOAD, Put, "/api/v1/tenants/{tenant}/baseline/policies/{policy}", "putBaselinePolicy",
    "Write a baseline policy (checked first; replaces an upload of that name).",
    Guard::Permission(Action::ManagePolicies), query: None,
    request: Some(schema::<BaselinePolicyUpload>), 200, Out::Json(schema::<BaselinePolicyView>));
route!(REMOVE, Delete, "/api/v1/tenants/{tenant}/baseline/policies/{policy}",
    "deleteBaselinePolicy", "Remove an uploaded baseline policy (its findings stay).",
    Guard::Permission(Action::ManagePolicies), query: None, request: None, 204, Out::Empty);
route!(RUNS, Get, "/api/v1/tenants/{tenant}/baseline/runs", "listBaselineRuns",
    "The tenant's recent baseline runs, newest first.", Guard::Permission(Action::ReadFindings),
    query: None, request: None, 200, Out::Json(schema::<Vec<BaselineRunView>>));
route!(START, Post, "/api/v1/tenants/{tenant}/baseline/runs", "startBaselineRun",
    "Start a run of one of the tenant's jobs now; its results are stored as findings.",
    Guard::Permission(Action::ManagePolicies), query: None,
    request: Some(schema::<BaselineRunRequest>), 202, Out::Json(schema::<BaselineRunView>));

pub(super) fn routes(routes: Routes) -> Routes {
    routes
        .add(&JOBS, get(jobs))
        .add(&POLICIES, get(policies))
        .add(&UPLOAD, put(upload))
        .add(&REMOVE, delete(remove))
        .add(&RUNS, get(runs))
        .add(&START, post(start))
}

/// The `{policy}` of an uploaded policy's route: a name no shipped policy answers to.
pub struct PolicyName(pub String);

impl FromRequestParts<AppState> for PolicyName {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Problem> {
        let name = super::path_param(parts, state, "policy").await?;
        if !is_upload_name(&name) {
            return Err(Problem::invalid(format!(
                "{name:?} is not a policy name: 1 to 64 lower-case letters, digits, '-' and '_'"
            )));
        }
        // A run asks for a policy by name, and shipped names and ids come first.
        if shipped::find(&name).is_some() {
            return Err(Problem::invalid(format!(
                "{name:?} names a shipped policy; choose another name"
            )));
        }
        Ok(PolicyName(name))
    }
}

fn run_view(run: RunRecord) -> BaselineRunView {
    let state = match (&run.finished, &run.failure) {
        (None, _) => "running",
        (Some(_), None) => "done",
        (Some(_), Some(_)) => "failed",
    };
    let outcome = run.outcome.as_ref();
    BaselineRunView {
        id: run.id,
        job: run.job,
        policy: run.policy,
        origin: run.origin.as_str().to_owned(),
        requested_by: run.requested_by,
        target: run.target,
        commands_disabled: run.commands_disabled,
        started: run.started,
        finished: run.finished,
        state: state.to_owned(),
        pass: outcome.map(|o| o.pass),
        fail: outcome.map(|o| o.fail),
        not_applicable: outcome.map(|o| o.not_applicable),
        error: outcome.map(|o| o.error),
        score: outcome.and_then(|o| o.score),
        alerts: outcome.map(|o| o.alerts),
        failure: run.failure,
    }
}

fn policy_view(
    name: String,
    origin: PolicyOrigin,
    loaded: Result<Policy, String>,
    commands_disabled: Option<String>,
) -> BaselinePolicyView {
    match loaded {
        Ok(policy) => BaselinePolicyView {
            name,
            origin: origin.as_str().to_owned(),
            command_checks: command_checks(&policy),
            checks: policy.checks.len(),
            id: Some(policy.id),
            title: Some(policy.name),
            commands_disabled,
            error: None,
        },
        Err(error) => BaselinePolicyView {
            name,
            origin: origin.as_str().to_owned(),
            id: None,
            title: None,
            checks: 0,
            command_checks: 0,
            commands_disabled,
            error: Some(error),
        },
    }
}

async fn jobs(
    auth: Authorised<can::ReadFindings>,
    State(state): State<AppState>,
) -> Result<Json<Vec<BaselineJobView>>, Problem> {
    let tenant = auth.tenant()?;
    Ok(Json(
        state
            .baseline
            .tenant_jobs(tenant)
            .map(|job| BaselineJobView {
                name: job.job.name.clone(),
                policy: job.policy.id.clone(),
                target: job.target.describe(),
                every_secs: job.job.every_secs,
                workload: job.job.workload.clone(),
                api_policies: job.job.api_policies,
            })
            .collect(),
    ))
}

async fn policies(
    auth: Authorised<can::ReadFindings>,
    State(state): State<AppState>,
) -> Result<Json<Vec<BaselinePolicyView>>, Problem> {
    let tenant = auth.tenant()?.clone();
    let runner = std::sync::Arc::clone(&state.baseline);
    let disabled = (!runner.uploaded_commands()).then(|| UPLOADED_COMMANDS_OFF.to_owned());
    let views = blocking(move || {
        let mut views: Vec<BaselinePolicyView> = shipped::all()
            .iter()
            .map(|s| {
                policy_view(
                    s.name.to_owned(),
                    PolicyOrigin::Shipped,
                    s.load().map_err(|e| e.to_string()),
                    None,
                )
            })
            .collect();
        for (name, _) in runner.uploads(&tenant).into_iter().take(MAX_UPLOADS) {
            let loaded = runner.load_upload(&tenant, &name).map(|(policy, _)| policy);
            views.push(policy_view(
                name,
                PolicyOrigin::Uploaded,
                loaded,
                disabled.clone(),
            ));
        }
        Ok(views)
    })
    .await?;
    Ok(Json(views))
}

async fn upload(
    auth: Authorised<can::ManagePolicies>,
    State(state): State<AppState>,
    PolicyName(name): PolicyName,
    Body(upload): Body<BaselinePolicyUpload>,
) -> Result<Json<BaselinePolicyView>, Problem> {
    if upload.yaml.len() > MAX_UPLOAD_BYTES.min(MAX_POLICY_BYTES) {
        return Err(Problem::invalid("a baseline policy may be at most 1 MiB"));
    }
    let tenant = auth.tenant()?.clone();
    let runner = std::sync::Arc::clone(&state.baseline);
    let disabled = (!runner.uploaded_commands()).then(|| UPLOADED_COMMANDS_OFF.to_owned());
    let meta = state.meta.clone();
    let origin = auth.origin.clone();
    let view = blocking(move || {
        let shown = format!("{name}.yml");
        let policy = Policy::parse(Path::new(&shown), &upload.yaml)
            .map_err(|e| Problem::invalid(e.to_string()))?;
        // Findings are keyed by the policy's id: an upload must not pass for another policy,
        // nor read another's history.
        if let Some((_, whose)) = runner
            .taken_ids(&tenant, &name)
            .into_iter()
            .find(|(id, _)| *id == policy.id)
        {
            return Err(Problem::invalid(format!(
                "{shown}: policy id {:?} is that of {whose}; give the upload its own id",
                policy.id
            )));
        }
        let path = runner.upload_path(&tenant, &name);
        let uploads = runner.uploads(&tenant);
        if !path.exists() && uploads.len() >= MAX_UPLOADS {
            return Err(Problem::conflict(format!(
                "the tenant has {MAX_UPLOADS} uploaded policies, the most it may keep: remove one first"
            )));
        }
        let temp = stage(&path, &upload.yaml, |_| Ok(()))?;
        let audit = record(
            Scope::Tenant(tenant),
            Timestamp::now(),
            AuditKind::Change,
            &origin,
            &format!("baseline-policy:{name}"),
            "put_baseline_policy",
            AuditOutcome::Success,
        )
        .with_detail(json!({
            "sha256": sha256_hex(&upload.yaml), "bytes": upload.yaml.len(), "policy": policy.id,
            "command_checks": command_checks(&policy),
        }));
        install(meta.as_ref(), &audit, &temp, &path)?;
        Ok(policy_view(
            name,
            PolicyOrigin::Uploaded,
            Ok(policy),
            disabled,
        ))
    })
    .await?;
    Ok(Json(view))
}

async fn remove(
    auth: Authorised<can::ManagePolicies>,
    State(state): State<AppState>,
    PolicyName(name): PolicyName,
) -> Result<StatusCode, Problem> {
    let tenant = auth.tenant()?.clone();
    let path = state.baseline.upload_path(&tenant, &name);
    let meta = state.meta.clone();
    let origin = auth.origin.clone();
    blocking(move || {
        if !path.is_file() {
            return Err(Problem::not_found(format!(
                "tenant {tenant} has no uploaded policy {name}"
            )));
        }
        let audit = record(
            Scope::Tenant(tenant),
            Timestamp::now(),
            AuditKind::Change,
            &origin,
            &format!("baseline-policy:{name}"),
            "delete_baseline_policy",
            AuditOutcome::Success,
        );
        // The record first, so that nothing is removed without one.
        meta.append_audit(&audit)?;
        std::fs::remove_file(&path).map_err(Problem::internal)
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn runs(
    auth: Authorised<can::ReadFindings>,
    State(state): State<AppState>,
) -> Result<Json<Vec<BaselineRunView>>, Problem> {
    let recent = state.baseline.recent(auth.tenant()?, MAX_RUNS);
    Ok(Json(recent.into_iter().map(run_view).collect()))
}

fn run_problem(e: RunError) -> Problem {
    match e {
        RunError::UnknownJob { .. } | RunError::UnknownPolicy(_) => {
            Problem::not_found(e.to_string())
        }
        RunError::Busy(_) | RunError::StoredUpload(_) | RunError::UploadsRefused(_) => {
            Problem::conflict(e.to_string())
        }
        RunError::Policy(_) => Problem::internal(e),
    }
}

async fn start(
    auth: Authorised<can::ManagePolicies>,
    State(state): State<AppState>,
    Body(request): Body<BaselineRunRequest>,
) -> Result<(StatusCode, Json<BaselineRunView>), Problem> {
    let tenant = auth.tenant()?.clone();
    let runner = std::sync::Arc::clone(&state.baseline);
    let meta = state.meta.clone();
    let origin = auth.origin.clone();
    let run = blocking(move || {
        let audit = |outcome, detail: serde_json::Value| {
            record(
                Scope::Tenant(tenant.clone()),
                Timestamp::now(),
                AuditKind::Change,
                &origin,
                &format!("baseline-job:{}", request.job),
                "start_baseline_run",
                outcome,
            )
            .with_detail(detail)
        };
        // One record per attempt: a refusal with its reason, or the run that started.
        let refuse = |e: RunError| {
            let _ = meta.append_audit(&audit(
                AuditOutcome::Failure,
                json!({"policy": request.policy, "error": e.to_string()}),
            ));
            run_problem(e)
        };
        let job = runner.job(&tenant, &request.job).map_err(refuse)?;
        let chosen = match &request.policy {
            Some(name) => Some(runner.choose(&tenant, name).map_err(refuse)?),
            None => None,
        };
        let policy_id = chosen
            .as_ref()
            .map_or(job.policy.id.clone(), |c| c.id().to_owned());
        let policy_origin = chosen
            .as_ref()
            .map_or("configured", |c| c.origin().as_str());
        let sha256 = chosen.as_ref().and_then(|c| c.sha256().map(str::to_owned));
        let target = job.target.describe();
        let (run, _finishing) = runner
            .start(&tenant, &request.job, chosen, &origin.actor)
            .map_err(refuse)?;
        let detail = json!({
            "run": run.id, "policy": policy_id, "origin": policy_origin, "sha256": sha256,
            "target": target,
        });
        if let Err(e) = meta.append_audit(&audit(AuditOutcome::Success, detail)) {
            // The run is under way; the failure to record it is logged where it can be seen.
            tracing::error!(
                tenant = run.tenant.as_str(),
                "baseline run {} of job `{}` started without its audit record: {e}",
                run.id,
                run.job
            );
        }
        Ok(run)
    })
    .await?;
    Ok((StatusCode::ACCEPTED, Json(run_view(run))))
}
