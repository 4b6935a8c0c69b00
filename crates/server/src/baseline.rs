//! Scheduled baseline checks (`[[baseline]]` jobs): each job checks one target against one
//! policy every `every_secs`, stores a finding per check, raises an alert for each check that
//! newly fails, and records evidence for the CCM controls the run observed as met, which the
//! plan counts for the `baseline` module.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use jiff::Timestamp;
use serde::Deserialize;
use serde_json::json;
use shieldwall_baseline::{
    CheckReport, Evaluator, Limits, Policy, PolicyReport, Summary, Target, findings,
};
use shieldwall_core::{Finding, FindingStatus, Scope, Severity, TenantId};
use shieldwall_store::meta::{AlertSource, AuditKind, AuditOutcome, MetaStore, NewAlert};

use crate::notifier::Channels;

/// The shortest interval between two runs of a job.
pub const MIN_EVERY_SECS: u64 = 60;

/// A check that fails again within a week of its alert's last failure, while the alert is open,
/// counts on that alert instead of raising another.
const ALERT_DEDUP_WINDOW_SECS: u64 = 7 * 86_400;

/// The most checks of one target whose previous result is read (far above any policy).
const MAX_PREVIOUS_CHECKS: usize = 100_000;

/// The longest check title an alert repeats; a longer one is cut (the finding has it whole).
const MAX_TITLE_CHARS: usize = 1000;

fn truncated(text: &str, chars: usize) -> String {
    match text.char_indices().nth(chars) {
        Some((end, _)) => format!("{}…", text.get(..end).unwrap_or(text)),
        None => text.to_owned(),
    }
}

/// One `[[baseline]]` job as configured.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BaselineJob {
    /// Unique name, used in logs and audit records.
    pub name: String,
    /// The tenant whose findings and evidence the job writes.
    pub tenant: String,
    /// A policy file (relative to the configuration file) or a shipped policy's name.
    pub policy: String,
    /// `local`, `root:DIR`, `file:PATH` or `ssh:[USER@]HOST[:PORT]`.
    #[serde(default = "default_target")]
    pub target: String,
    /// For `root:` targets: run command rules with chroot.
    #[serde(default)]
    pub chroot: bool,
    /// For `file:` targets: policy variables bound to more files.
    #[serde(default)]
    pub vars: BTreeMap<String, PathBuf>,
    /// Seconds between runs; the first run is at start. Default: a day.
    #[serde(default = "default_every")]
    pub every_secs: u64,
    /// The manifest's workload the target belongs to, for the plan's evidence.
    #[serde(default)]
    pub workload: Option<String>,
    /// Seconds a command rule may run. Default: 30.
    #[serde(default = "default_command_timeout")]
    pub command_timeout_secs: u64,
    /// Seconds the weak-password search may spend. Default: 30.
    #[serde(default = "default_command_timeout")]
    pub password_budget_secs: u64,
    /// Policies uploaded through the API may run on this job's target. Off by default: an
    /// upload's rules read whatever the target holds, and their pass or fail tells its
    /// author about it (on `local`, the server's own files).
    #[serde(default)]
    pub api_policies: bool,
    /// For `ssh:` targets: the private key file (only its owner may read it).
    #[serde(default)]
    pub ssh_key: Option<PathBuf>,
    /// For `ssh:` targets: the known_hosts file that lists the host's key.
    #[serde(default)]
    pub known_hosts: Option<PathBuf>,
}

fn default_target() -> String {
    "local".to_owned()
}

fn default_every() -> u64 {
    86_400
}

fn default_command_timeout() -> u64 {
    30
}

impl BaselineJob {
    /// Checks what can be checked without touching the filesystem.
    pub fn validate(&self) -> Result<(), String> {
        if self.name.trim().is_empty() {
            return Err("a [[baseline]] job needs a name".to_owned());
        }
        TenantId::new(self.tenant.clone())
            .map_err(|e| format!("baseline job `{}`: {e}", self.name))?;
        if self.every_secs < MIN_EVERY_SECS {
            return Err(format!(
                "baseline job `{}`: every_secs is {}; at least {MIN_EVERY_SECS}",
                self.name, self.every_secs
            ));
        }
        if self.command_timeout_secs == 0 || self.command_timeout_secs > 3600 {
            return Err(format!(
                "baseline job `{}`: command_timeout_secs must be 1 to 3600",
                self.name
            ));
        }
        if self.password_budget_secs == 0 || self.password_budget_secs > 86_400 {
            return Err(format!(
                "baseline job `{}`: password_budget_secs must be 1 to 86400",
                self.name
            ));
        }
        Ok(())
    }
}

/// A job ready to run: its policy loaded and its target resolved.
#[derive(Debug)]
pub struct PreparedJob {
    /// The configured job.
    pub job: BaselineJob,
    /// Its tenant.
    pub tenant: TenantId,
    /// The loaded policy.
    pub policy: Policy,
    /// The resolved target.
    pub target: Target,
}

/// Loads each job's policy and resolves its target (paths relative to `base`, the
/// configuration file's folder), so that a bad job stops the start with its reason.
pub fn prepare(jobs: &[BaselineJob], base: &Path) -> Result<Vec<PreparedJob>, String> {
    let mut prepared = Vec::with_capacity(jobs.len());
    for job in jobs {
        let context = |e: String| format!("baseline job `{}`: {e}", job.name);
        let tenant = TenantId::new(job.tenant.clone()).map_err(|e| context(e.to_string()))?;
        let mut loaded =
            shieldwall_baseline::shipped::resolve(&job.policy, base).map_err(context)?;
        if loaded.len() != 1 {
            return Err(context(format!(
                "policy `{}` names {} policies; a job runs one",
                job.policy,
                loaded.len()
            )));
        }
        let policy = loaded
            .pop()
            .ok_or_else(|| context("no policy".to_owned()))?
            .map_err(|e| context(e.to_string()))?;
        let target = match job.target.strip_prefix("ssh:") {
            Some(_) if job.chroot || !job.vars.is_empty() => {
                return Err(context(
                    "chroot and vars do not apply to ssh: targets".to_owned(),
                ));
            }
            Some(host) => {
                let file = |field: &str, path: &Option<PathBuf>| {
                    path.as_ref()
                        .map(|p| base.join(p))
                        .ok_or_else(|| context(format!("an ssh: target needs `{field}`")))
                };
                Target::ssh(
                    host,
                    file("ssh_key", &job.ssh_key)?,
                    file("known_hosts", &job.known_hosts)?,
                )
                .map_err(context)?
            }
            None if job.ssh_key.is_some() || job.known_hosts.is_some() => {
                return Err(context(
                    "ssh_key and known_hosts apply to ssh: targets only".to_owned(),
                ));
            }
            None => Target::parse(&job.target, job.chroot, &job.vars, base).map_err(context)?,
        };
        prepared.push(PreparedJob {
            job: job.clone(),
            tenant,
            policy,
            target,
        });
    }
    Ok(prepared)
}

/// What one run stored.
#[derive(Debug, Clone, PartialEq)]
pub struct RunOutcome {
    /// Findings stored (one per check).
    pub findings: u64,
    /// Controls the run recorded as met.
    pub controls: usize,
    /// Checks per outcome, and the policy's score.
    pub summary: Summary,
    /// Alerts raised or counted on for checks that newly fail.
    pub alerts: usize,
}

/// Runs a job once, now: stores its findings and evidence, and raises an alert for each check
/// that failed where the target's previous run had it pass or not applicable.
pub fn run_once(
    job: &PreparedJob,
    meta: &dyn MetaStore,
    channels: &Channels,
) -> Result<RunOutcome, String> {
    let requested = Requested {
        by: "schedule",
        uploaded: false,
    };
    run_with(job, &job.policy, &job.target, &requested, meta, channels)
}

/// Who asked for a run, and whether its policy is a tenant's upload.
#[derive(Debug, Clone, Copy)]
pub struct Requested<'a> {
    /// `schedule`, or the account that started it.
    pub by: &'a str,
    /// The policy was uploaded through the API: its results are findings and alerts, never
    /// evidence (anyone holding manage_policies could write a policy that tags any control).
    pub uploaded: bool,
}

/// Runs `policy` against `target` (the job's, or a narrower copy of it) with the job's limits,
/// tenant and workload, and stores the outcome as [`run_once`] does.
pub fn run_with(
    job: &PreparedJob,
    policy: &Policy,
    target: &Target,
    requested: &Requested<'_>,
    meta: &dyn MetaStore,
    channels: &Channels,
) -> Result<RunOutcome, String> {
    let limits = Limits {
        command_timeout: Duration::from_secs(job.job.command_timeout_secs),
        password_budget: Duration::from_secs(job.job.password_budget_secs),
        ..Limits::default()
    };
    let report = Evaluator::new(target, limits).policy(policy, &mut |_, _| {});
    let now = Timestamp::now();
    let found = findings::findings(&report, &job.tenant, now);
    let previous: BTreeMap<String, FindingStatus> = meta
        .latest_findings(
            &job.tenant,
            findings::MODULE,
            &report.target,
            &format!("{}/", report.policy),
            MAX_PREVIOUS_CHECKS,
        )
        .map_err(|e| format!("reading the previous run's findings: {e}"))?
        .into_iter()
        .map(|stored| (stored.finding.check_id, stored.finding.status))
        .collect();
    // Alerts go first: if storing the findings fails after them, the next run alerts again
    // (and merges into the open alert) rather than never.
    let alerts = newly_failing(&job.tenant, &report, &found, &previous, channels, now);
    if !alerts.is_empty() {
        meta.raise_alerts(&alerts)
            .map_err(|e| format!("raising alerts: {e}"))?;
    }
    let stored = meta
        .record_findings(&found)
        .map_err(|e| format!("storing findings: {e}"))?;
    let mut controls = 0;
    let evidence = if requested.uploaded {
        None
    } else {
        findings::evidence(
            &report,
            &found,
            &job.tenant,
            job.job.workload.as_deref(),
            now,
        )
    };
    if let Some(evidence) = evidence {
        controls = evidence.controls.len();
        let origin = crate::access::Origin {
            address: "local".to_owned(),
            actor: "module:baseline".to_owned(),
        };
        let audit = crate::access::record(
            Scope::Tenant(job.tenant.clone()),
            now,
            AuditKind::Change,
            &origin,
            &format!("evidence:{}", evidence.id),
            "observe",
            AuditOutcome::Success,
        )
        .with_detail(json!({
            "job": job.job.name, "policy": report.policy, "target": report.target,
            "requested_by": requested.by,
            "controls": evidence.controls.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(),
        }));
        meta.record_evidence(&evidence, "module:baseline", now, &audit)
            .map_err(|e| format!("storing evidence: {e}"))?;
    }
    Ok(RunOutcome {
        findings: stored,
        controls,
        summary: report.summary,
        alerts: alerts.len(),
    })
}

/// The alerts of the checks that fail now and passed, or did not apply, at the previous run.
/// A target's first run raises none: it is the baseline the later runs are compared with. A
/// check whose previous run was an error is not known to have changed, so it raises none either.
fn newly_failing(
    tenant: &TenantId,
    report: &PolicyReport,
    found: &[Finding],
    previous: &BTreeMap<String, FindingStatus>,
    channels: &Channels,
    now: Timestamp,
) -> Vec<NewAlert> {
    report
        .checks
        .iter()
        .zip(found)
        .filter(|(_, finding)| {
            finding.status == FindingStatus::Fail
                && matches!(
                    previous.get(&finding.check_id),
                    Some(FindingStatus::Pass | FindingStatus::NotApplicable)
                )
        })
        .filter_map(|(check, finding)| {
            let alert = alert_for(tenant, check, finding, channels, now);
            match alert.validate() {
                Ok(()) => Some(alert),
                Err(e) => {
                    tracing::error!(
                        tenant = tenant.as_str(),
                        check = finding.check_id.as_str(),
                        "baseline alert not raised: {e}"
                    );
                    None
                }
            }
        })
        .collect()
}

fn alert_for(
    tenant: &TenantId,
    check: &CheckReport,
    finding: &Finding,
    channels: &Channels,
    now: Timestamp,
) -> NewAlert {
    let group = BTreeMap::from([
        ("check".to_owned(), finding.check_id.clone()),
        ("target".to_owned(), finding.target.clone()),
    ]);
    let severity = Severity::Medium;
    NewAlert {
        tenant: tenant.clone(),
        dedup_key: shieldwall_alert::dedup_key(
            AlertSource::Baseline,
            &finding.check_id,
            group.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        ),
        dedup_window_secs: ALERT_DEDUP_WINDOW_SECS,
        source: AlertSource::Baseline,
        rule_id: finding.check_id.clone(),
        title: format!(
            "Baseline check newly fails: {}",
            truncated(&check.title, MAX_TITLE_CHARS)
        ),
        author: None,
        license: None,
        level: severity.as_str().to_owned(),
        severity,
        attack: check.mitre.clone(),
        controls: check
            .compliance
            .get(findings::CCM_V4_KEY)
            .cloned()
            .unwrap_or_default(),
        group,
        events: Vec::new(),
        count: 1,
        time: now,
        raised_at: now,
        notify: channels.for_alert(tenant.as_str(), severity),
    }
}
