//! A tenant's detection rules and alerting policy, in `rules_dir/<tenant>/`: list them, upload a
//! rule file (checked before it is written, then written atomically), enable or disable one
//! (renamed to and from `.disabled`, which the loader ignores), upload `alerting.toml`. The
//! server's rule reload picks changes up within `[detection] reload_secs`.

use std::path::{Path, PathBuf};

use axum::Json;
use axum::extract::{FromRequestParts, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::routing::{get, put};
use jiff::Timestamp;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;
use shieldwall_auth::permission::Action;
use shieldwall_core::Scope;
use shieldwall_store::meta::{AuditKind, AuditOutcome};

use super::Body;
use super::route;
use crate::access::{record, sha256_hex};
use crate::api::auth::{Authorised, Permission, can};
use crate::api::doc::{Body as Out, Guard, Method, RouteDoc, schema};
use crate::api::problem::{Problem, blocking};
use crate::api::views::DateTime;
use crate::api::{AppState, Routes};

/// The largest rule or policy file accepted, in bytes.
const MAX_FILE_BYTES: usize = 1 << 20;
/// The most rule files listed.
const MAX_LISTED: usize = 10_000;

/// A rule file of the tenant.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct RuleFileView {
    /// Its name (relative to the tenant's directory).
    pub name: String,
    /// Whether the loader reads it (`.disabled` files are kept but not read).
    pub enabled: bool,
    /// Its size.
    pub bytes: u64,
    /// When it last changed.
    #[schemars(with = "Option<DateTime>")]
    pub modified: Option<Timestamp>,
    /// Rules, filters and correlations in it (for a file that loads).
    pub documents: Option<usize>,
    /// Why it does not load, with the line.
    pub error: Option<String>,
}

/// A rule file to write.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleUpload {
    /// The YAML text (Sigma rules, filters or correlations; several documents allowed).
    #[schemars(length(min = 1, max = 1048576))]
    pub yaml: String,
}

/// Whether a rule file is read.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EnabledRequest {
    /// True to read it, false to keep it but not read it.
    pub enabled: bool,
}

/// The tenant's alerting policy to write.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicyUpload {
    /// The TOML text of `alerting.toml` (docs/alerts.md).
    #[schemars(length(min = 1, max = 1048576))]
    pub toml: String,
}

route!(RULES, Get, "/api/v1/tenants/{tenant}/rules", "listRules",
    "The tenant's rule files, with whether each loads.", Guard::Permission(Action::ReadRules),
    query: None, request: None, 200, Out::Json(schema::<Vec<RuleFileView>>));
route!(UPLOAD, Put, "/api/v1/tenants/{tenant}/rules/{name}", "putRuleFile",
    "Write a rule file (checked first; replaces a file of that name).",
    Guard::Permission(Action::ManageRules), query: None, request: Some(schema::<RuleUpload>),
    200, Out::Json(schema::<RuleFileView>));
route!(ENABLE, Put, "/api/v1/tenants/{tenant}/rules/{name}/enabled", "setRuleFileEnabled",
    "Enable or disable a rule file.", Guard::Permission(Action::ManageRules), query: None,
    request: Some(schema::<EnabledRequest>), 200, Out::Json(schema::<RuleFileView>));
route!(POLICY, Put, "/api/v1/tenants/{tenant}/policies/alerting", "putAlertingPolicy",
    "Write the tenant's alerting policy (alerting.toml; checked first).",
    Guard::Permission(Action::ManagePolicies), query: None,
    request: Some(schema::<PolicyUpload>), 204, Out::Empty);

pub(super) fn routes(routes: Routes) -> Routes {
    routes
        .add(&RULES, get(list))
        .add(&UPLOAD, put(upload))
        .add(&ENABLE, put(set_enabled))
        .add(&POLICY, put(put_policy))
}

/// The `{name}` of a rule route: a file name ending in `.yml` or `.yaml`, no path.
pub struct FileName(pub String);

impl FromRequestParts<AppState> for FileName {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Problem> {
        let name = super::path_param(parts, state, "name").await?;
        let ok = name.len() <= 128
            && (name.ends_with(".yml") || name.ends_with(".yaml"))
            && name
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
            && name.chars().all(|c| {
                c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '_' | '.')
            });
        if ok {
            Ok(FileName(name))
        } else {
            Err(Problem::invalid(format!(
                "{name:?} is not a rule file name: lower-case letters, digits, '-', '_' and '.', ending in .yml or .yaml"
            )))
        }
    }
}

/// The tenant's rule directory.
fn tenant_dir<P: Permission>(state: &AppState, auth: &Authorised<P>) -> Result<PathBuf, Problem> {
    let root = state.rules_dir.as_ref().ok_or_else(|| {
        Problem::conflict("this server has no [detection] rules_dir: rules cannot be managed")
    })?;
    Ok(root.join(auth.tenant()?.as_str()))
}

fn view(dir: &Path, path: &Path, settings: &shieldwall_detect::RuleSettings) -> RuleFileView {
    let name = path
        .strip_prefix(dir)
        .unwrap_or(path)
        .to_string_lossy()
        .into_owned();
    let metadata = std::fs::metadata(path).ok();
    let enabled = !name.ends_with(".disabled");
    let loaded = shieldwall_detect::ruleset::load_file(path, settings);
    RuleFileView {
        name,
        enabled,
        bytes: metadata.as_ref().map_or(0, std::fs::Metadata::len),
        modified: metadata
            .and_then(|m| m.modified().ok())
            .and_then(|t| Timestamp::try_from(t).ok()),
        documents: loaded.as_ref().ok().map(Vec::len),
        error: loaded.err().map(|e| {
            let file = e
                .file
                .strip_prefix(dir)
                .unwrap_or(&e.file)
                .display()
                .to_string();
            format!("{file}, line {}: {}", e.line, e.reason)
        }),
    }
}

fn files(dir: &Path, depth: usize, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if out.len() >= MAX_LISTED {
            return;
        }
        if path.is_dir() && depth < 8 {
            files(&path, depth + 1, out);
        } else {
            let name = path.to_string_lossy();
            if name.ends_with(".yml")
                || name.ends_with(".yaml")
                || name.ends_with(".yml.disabled")
                || name.ends_with(".yaml.disabled")
            {
                out.push(path);
            }
        }
    }
}

async fn list(
    auth: Authorised<can::ReadRules>,
    State(state): State<AppState>,
) -> Result<Json<Vec<RuleFileView>>, Problem> {
    let dir = tenant_dir(&state, &auth)?;
    let settings = state.rule_settings.clone();
    let views = blocking(move || {
        let mut found = Vec::new();
        files(&dir, 0, &mut found);
        found.sort();
        Ok(found.iter().map(|p| view(&dir, p, &settings)).collect())
    })
    .await?;
    Ok(Json(views))
}

/// Writes `text` beside `path` as a temporary file (which the loader does not read) and checks it
/// with `check`; returns the temporary file, to be put in place with [`install`] once the change
/// is recorded.
pub(super) fn stage(
    path: &Path,
    text: &str,
    check: impl FnOnce(&Path) -> Result<(), Problem>,
) -> Result<PathBuf, Problem> {
    let dir = path
        .parent()
        .ok_or_else(|| Problem::internal("a file path without a directory"))?;
    std::fs::create_dir_all(dir).map_err(Problem::internal)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temp = dir.join(format!(".{name}.upload"));
    std::fs::write(&temp, text).map_err(Problem::internal)?;
    if let Err(problem) = check(&temp) {
        let _ = std::fs::remove_file(&temp);
        return Err(problem);
    }
    Ok(temp)
}

/// Records `audit`, then renames `from` to `to`; if the rename fails, records that it failed.
/// The record comes first, so that no change is made without one.
pub(super) fn install(
    meta: &dyn shieldwall_store::MetaStore,
    audit: &shieldwall_store::meta::NewAuditRecord,
    from: &Path,
    to: &Path,
) -> Result<(), Problem> {
    if let Err(e) = meta.append_audit(audit) {
        if from
            .file_name()
            .is_some_and(|n| n.to_string_lossy().ends_with(".upload"))
        {
            let _ = std::fs::remove_file(from);
        }
        return Err(e.into());
    }
    if let Err(e) = std::fs::rename(from, to) {
        let mut failed = audit.clone();
        failed.outcome = AuditOutcome::Failure;
        failed.detail = json!({"error": e.to_string(), "attempted": audit.detail});
        let _ = meta.append_audit(&failed);
        return Err(Problem::internal(e));
    }
    Ok(())
}

async fn upload(
    auth: Authorised<can::ManageRules>,
    State(state): State<AppState>,
    FileName(name): FileName,
    Body(upload): Body<RuleUpload>,
) -> Result<Json<RuleFileView>, Problem> {
    if upload.yaml.len() > MAX_FILE_BYTES {
        return Err(Problem::invalid("a rule file may be at most 1 MiB"));
    }
    let dir = tenant_dir(&state, &auth)?;
    let settings = state.rule_settings.clone();
    let meta = state.meta.clone();
    let tenant = auth.tenant()?.clone();
    let origin = auth.origin.clone();
    let view = blocking(move || {
        let path = dir.join(&name);
        let temp = stage(&path, &upload.yaml, |temp| {
            shieldwall_detect::ruleset::load_file(temp, &settings)
                .map(|_| ())
                .map_err(|e| Problem::invalid(format!("{name}, line {}: {}", e.line, e.reason)))
        })?;
        let audit = record(
            Scope::Tenant(tenant),
            Timestamp::now(),
            AuditKind::Change,
            &origin,
            &format!("rules:{name}"),
            "put_rule_file",
            AuditOutcome::Success,
        )
        .with_detail(json!({"sha256": sha256_hex(&upload.yaml), "bytes": upload.yaml.len()}));
        install(meta.as_ref(), &audit, &temp, &path)?;
        // An upload is enabled: a disabled copy of the same name goes.
        let _ = std::fs::remove_file(dir.join(format!("{name}.disabled")));
        Ok(view(&dir, &path, &settings))
    })
    .await?;
    Ok(Json(view))
}

async fn set_enabled(
    auth: Authorised<can::ManageRules>,
    State(state): State<AppState>,
    FileName(name): FileName,
    Body(request): Body<EnabledRequest>,
) -> Result<Json<RuleFileView>, Problem> {
    let dir = tenant_dir(&state, &auth)?;
    let settings = state.rule_settings.clone();
    let meta = state.meta.clone();
    let tenant = auth.tenant()?.clone();
    let origin = auth.origin.clone();
    let view = blocking(move || {
        let on = dir.join(&name);
        let off = dir.join(format!("{name}.disabled"));
        let (from, to) = if request.enabled {
            (&off, &on)
        } else {
            (&on, &off)
        };
        if !to.exists() {
            if !from.exists() {
                return Err(Problem::not_found(format!(
                    "tenant has no rule file {name}"
                )));
            }
            let audit = record(
                Scope::Tenant(tenant),
                Timestamp::now(),
                AuditKind::Change,
                &origin,
                &format!("rules:{name}"),
                if request.enabled {
                    "enable_rule_file"
                } else {
                    "disable_rule_file"
                },
                AuditOutcome::Success,
            );
            install(meta.as_ref(), &audit, from, to)?;
        }
        Ok(view(&dir, to, &settings))
    })
    .await?;
    Ok(Json(view))
}

async fn put_policy(
    auth: Authorised<can::ManagePolicies>,
    State(state): State<AppState>,
    Body(upload): Body<PolicyUpload>,
) -> Result<StatusCode, Problem> {
    if upload.toml.len() > MAX_FILE_BYTES {
        return Err(Problem::invalid("a policy may be at most 1 MiB"));
    }
    let dir = tenant_dir(&state, &auth)?;
    let meta = state.meta.clone();
    let tenant = auth.tenant()?.clone();
    let origin = auth.origin.clone();
    blocking(move || {
        let path = dir.join("alerting.toml");
        let temp = stage(&path, &upload.toml, |_| {
            shieldwall_alert::policy::Policy::parse(Path::new("alerting.toml"), &upload.toml)
                .map(|_| ())
                .map_err(|e| Problem::invalid(e.to_string()))
        })?;
        let audit = record(
            Scope::Tenant(tenant),
            Timestamp::now(),
            AuditKind::Change,
            &origin,
            "policies:alerting",
            "put_alerting_policy",
            AuditOutcome::Success,
        )
        .with_detail(json!({"sha256": sha256_hex(&upload.toml), "bytes": upload.toml.len()}));
        install(meta.as_ref(), &audit, &temp, &path)
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
