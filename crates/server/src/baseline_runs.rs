//! Baseline runs on demand and on schedule, one at a time per job, with a bounded log of recent
//! runs; and the policies a tenant uploads through the API (`<data_dir>/baseline/<tenant>/`).
//!
//! Targets come only from the configuration's `[[baseline]]` jobs: the API chooses a job of the
//! caller's tenant and, optionally, another policy for it, never a path. A policy uploaded
//! through the API runs its `c:` rules only when `[api] uploaded_command_rules` allows it;
//! otherwise they are not applicable, with that reason.

use std::collections::{BTreeSet, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use jiff::Timestamp;
use shieldwall_baseline::{Policy, PolicyError, RuleKind, Target, shipped};
use shieldwall_core::TenantId;
use shieldwall_store::meta::MetaStore;

use crate::baseline::{PreparedJob, Requested, RunOutcome, run_with};
use crate::notifier::Channels;

/// The runs kept in each tenant's log, newest last.
const MAX_LOGGED_RUNS: usize = 200;
/// The policies a tenant may have uploaded at once.
pub const MAX_UPLOADS: usize = 100;

/// Why command rules of an uploaded policy are not run.
pub const UPLOADED_COMMANDS_OFF: &str = "commands disabled: command rules of policies uploaded \
     through the API run only with [api] uploaded_command_rules = true";

/// Where a run's policy came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyOrigin {
    /// The job's own policy, from the configuration.
    Configured,
    /// A policy Shieldwall ships.
    Shipped,
    /// A policy the tenant uploaded through the API.
    Uploaded,
}

impl PolicyOrigin {
    /// `configured`, `shipped` or `uploaded`, as the API and the audit trail show it.
    pub fn as_str(self) -> &'static str {
        match self {
            PolicyOrigin::Configured => "configured",
            PolicyOrigin::Shipped => "shipped",
            PolicyOrigin::Uploaded => "uploaded",
        }
    }
}

/// One run, running or finished.
#[derive(Debug, Clone)]
pub struct RunRecord {
    /// Its number, larger for later runs (since the server started).
    pub id: u64,
    /// The job's tenant.
    pub tenant: String,
    /// The job.
    pub job: String,
    /// The policy's id.
    pub policy: String,
    /// Where the policy came from.
    pub origin: PolicyOrigin,
    /// `schedule`, or the account that asked for it through the API.
    pub requested_by: String,
    /// The job's target.
    pub target: String,
    /// Why command rules did not run, when they did not.
    pub commands_disabled: Option<String>,
    /// When it started.
    pub started: Timestamp,
    /// When it ended; none while it runs.
    pub finished: Option<Timestamp>,
    /// What it gave, once finished.
    pub outcome: Option<RunSummary>,
    /// Why it failed to store its results.
    pub failure: Option<String>,
}

/// A finished run's counts.
#[derive(Debug, Clone)]
pub struct RunSummary {
    /// Checks passed.
    pub pass: usize,
    /// Checks failed.
    pub fail: usize,
    /// Checks not applicable.
    pub not_applicable: usize,
    /// Checks in error.
    pub error: usize,
    /// pass / (pass + fail) in percent.
    pub score: Option<f64>,
    /// Alerts raised or counted on for checks that newly fail.
    pub alerts: usize,
}

impl From<&RunOutcome> for RunSummary {
    fn from(outcome: &RunOutcome) -> RunSummary {
        RunSummary {
            pass: outcome.summary.pass,
            fail: outcome.summary.fail,
            not_applicable: outcome.summary.not_applicable,
            error: outcome.summary.error,
            score: outcome.summary.score,
            alerts: outcome.alerts,
        }
    }
}

/// Why a run was not started.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The tenant has no job of that name.
    #[error("tenant {tenant} has no baseline job `{job}`")]
    UnknownJob {
        /// The tenant.
        tenant: String,
        /// The job asked for.
        job: String,
    },
    /// Neither an uploaded nor a shipped policy has that name.
    #[error("no uploaded or shipped policy is called `{0}`")]
    UnknownPolicy(String),
    /// A shipped policy does not load (a build defect).
    #[error("{0}")]
    Policy(#[from] PolicyError),
    /// A stored upload no longer loads.
    #[error("the stored upload: {0}")]
    StoredUpload(String),
    /// The job runs already.
    #[error("baseline job `{0}` is running; ask again when it has finished")]
    Busy(String),
    /// The job does not take uploaded policies.
    #[error(
        "baseline job `{0}` does not run uploaded policies (the configuration's \
         [[baseline]] api_policies = true allows it)"
    )]
    UploadsRefused(String),
}

/// A policy ready for a run, with where it came from.
pub struct ChosenPolicy {
    policy: Policy,
    origin: PolicyOrigin,
    sha256: Option<String>,
}

impl ChosenPolicy {
    /// The policy's id.
    pub fn id(&self) -> &str {
        &self.policy.id
    }

    /// Where it came from.
    pub fn origin(&self) -> PolicyOrigin {
        self.origin
    }

    /// The SHA-256 of an uploaded policy's text, as run.
    pub fn sha256(&self) -> Option<&str> {
        self.sha256.as_deref()
    }
}

#[derive(Default)]
struct Log {
    running: BTreeSet<String>,
    /// Per tenant: the last run number given and the latest runs.
    tenants: std::collections::BTreeMap<String, (u64, VecDeque<RunRecord>)>,
}

/// The jobs, and what runs them.
pub struct Runner {
    jobs: Vec<Arc<PreparedJob>>,
    meta: Arc<dyn MetaStore>,
    channels: Arc<Channels>,
    uploads: PathBuf,
    uploaded_commands: bool,
    log: Mutex<Log>,
}

impl Runner {
    /// A runner of `jobs`; tenants' uploaded policies live under `data_dir/baseline/`.
    pub fn new(
        jobs: Vec<PreparedJob>,
        meta: Arc<dyn MetaStore>,
        channels: Arc<Channels>,
        data_dir: &Path,
        uploaded_commands: bool,
    ) -> Runner {
        Runner {
            jobs: jobs.into_iter().map(Arc::new).collect(),
            meta,
            channels,
            uploads: data_dir.join("baseline"),
            uploaded_commands,
            log: Mutex::new(Log::default()),
        }
    }

    /// Every job.
    pub fn jobs(&self) -> &[Arc<PreparedJob>] {
        &self.jobs
    }

    /// The jobs of one tenant.
    pub fn tenant_jobs<'a>(
        &'a self,
        tenant: &'a TenantId,
    ) -> impl Iterator<Item = &'a Arc<PreparedJob>> + 'a {
        self.jobs.iter().filter(move |j| &j.tenant == tenant)
    }

    /// Whether uploaded policies run their command rules.
    pub fn uploaded_commands(&self) -> bool {
        self.uploaded_commands
    }

    /// The folder of a tenant's uploaded policies.
    pub fn upload_dir(&self, tenant: &TenantId) -> PathBuf {
        self.uploads.join(tenant.as_str())
    }

    /// The file of an uploaded policy (the name checked by the caller).
    pub fn upload_path(&self, tenant: &TenantId, name: &str) -> PathBuf {
        self.upload_dir(tenant).join(format!("{name}.yml"))
    }

    /// The tenant's job called `name`.
    pub fn job(&self, tenant: &TenantId, name: &str) -> Result<Arc<PreparedJob>, RunError> {
        self.tenant_jobs(tenant)
            .find(|j| j.job.name == name)
            .cloned()
            .ok_or_else(|| RunError::UnknownJob {
                tenant: tenant.as_str().to_owned(),
                job: name.to_owned(),
            })
    }

    /// Reads a tenant's upload, named in errors as `NAME.yml` (not by its place on the server).
    pub fn load_upload(&self, tenant: &TenantId, name: &str) -> Result<(Policy, String), String> {
        let text = std::fs::read_to_string(self.upload_path(tenant, name))
            .map_err(|e| format!("{name}.yml: {e}"))?;
        let policy =
            Policy::parse(Path::new(&format!("{name}.yml")), &text).map_err(|e| e.to_string())?;
        Ok((policy, text))
    }

    /// The policy `name` for a run of `tenant`: a shipped one (by file name or id), else the
    /// tenant's upload of that name (uploads may not take a shipped name or id).
    pub fn choose(&self, tenant: &TenantId, name: &str) -> Result<ChosenPolicy, RunError> {
        if let Some(found) = shipped::find(name) {
            return Ok(ChosenPolicy {
                policy: found.load()?,
                origin: PolicyOrigin::Shipped,
                sha256: None,
            });
        }
        if !is_upload_name(name) || !self.upload_path(tenant, name).is_file() {
            return Err(RunError::UnknownPolicy(name.to_owned()));
        }
        let (policy, text) = self
            .load_upload(tenant, name)
            .map_err(RunError::StoredUpload)?;
        Ok(ChosenPolicy {
            policy,
            origin: PolicyOrigin::Uploaded,
            sha256: Some(crate::access::sha256_hex(&text)),
        })
    }

    /// The policy ids an upload called `name` may not take, with whose they are: the shipped
    /// policies', the configured jobs', and the tenant's other uploads' (findings are keyed by
    /// policy id, so two policies with one id would read each other's history).
    pub fn taken_ids(&self, tenant: &TenantId, name: &str) -> Vec<(String, String)> {
        let mut taken: Vec<(String, String)> = shipped::all()
            .iter()
            .filter_map(|s| {
                s.load()
                    .ok()
                    .map(|p| (p.id, format!("shipped policy {}", s.name)))
            })
            .collect();
        taken.extend(self.jobs.iter().map(|j| {
            (
                j.policy.id.clone(),
                format!("the policy of job {}", j.job.name),
            )
        }));
        for (other, _) in self.uploads(tenant) {
            if other != name
                && let Ok((policy, _)) = self.load_upload(tenant, &other)
            {
                taken.push((policy.id, format!("upload {other}")));
            }
        }
        taken
    }

    /// The tenant's uploads (name and file), sorted by name; a directory holding more than
    /// [`MAX_UPLOADS`] (put there by hand) is read only that far.
    pub fn uploads(&self, tenant: &TenantId) -> Vec<(String, std::path::PathBuf)> {
        let Ok(entries) = std::fs::read_dir(self.upload_dir(tenant)) else {
            return Vec::new();
        };
        let mut found: Vec<(String, std::path::PathBuf)> = entries
            .flatten()
            .filter_map(|entry| {
                let path = entry.path();
                let stem = path.file_name()?.to_str()?.strip_suffix(".yml")?.to_owned();
                is_upload_name(&stem).then_some((stem, path))
            })
            .take(MAX_UPLOADS * 10)
            .collect();
        found.sort();
        found
    }

    /// The runs logged for `tenant`, newest first, at most `limit`.
    pub fn recent(&self, tenant: &TenantId, limit: usize) -> Vec<RunRecord> {
        let log = self.lock();
        log.tenants
            .get(tenant.as_str())
            .map(|(_, runs)| runs.iter().rev().take(limit).cloned().collect())
            .unwrap_or_default()
    }

    /// Whether the job called `name` is running.
    pub fn is_running(&self, name: &str) -> bool {
        self.lock().running.contains(name)
    }

    /// Starts the job `name` of `tenant` on the blocking pool, with `policy` in place of its own
    /// if given; returns the run as logged at its start, and the task that finishes it.
    pub fn start(
        self: &Arc<Self>,
        tenant: &TenantId,
        name: &str,
        policy: Option<ChosenPolicy>,
        requested_by: &str,
    ) -> Result<(RunRecord, tokio::task::JoinHandle<RunRecord>), RunError> {
        let job = self.job(tenant, name)?;
        let origin = policy
            .as_ref()
            .map_or(PolicyOrigin::Configured, |p| p.origin);
        if origin == PolicyOrigin::Uploaded && !job.job.api_policies {
            return Err(RunError::UploadsRefused(job.job.name.clone()));
        }
        let target = if origin == PolicyOrigin::Uploaded && !self.uploaded_commands {
            job.target.without_commands(UPLOADED_COMMANDS_OFF)
        } else {
            job.target.clone()
        };
        let record = {
            let mut log = self.lock();
            if !log.running.insert(job.job.name.clone()) {
                return Err(RunError::Busy(job.job.name.clone()));
            }
            let (last_id, runs) = log.tenants.entry(tenant.as_str().to_owned()).or_default();
            *last_id += 1;
            let record = RunRecord {
                id: *last_id,
                tenant: tenant.as_str().to_owned(),
                job: job.job.name.clone(),
                policy: policy
                    .as_ref()
                    .map_or_else(|| job.policy.id.clone(), |p| p.policy.id.clone()),
                origin,
                requested_by: requested_by.to_owned(),
                target: target.describe(),
                commands_disabled: commands_disabled(&target),
                started: Timestamp::now(),
                finished: None,
                outcome: None,
                failure: None,
            };
            runs.push_back(record.clone());
            while runs.len() > MAX_LOGGED_RUNS {
                runs.pop_front();
            }
            record
        };
        let runner = Arc::clone(self);
        let started = record.clone();
        let task = tokio::task::spawn_blocking(move || {
            let chosen = policy.map(|p| p.policy);
            let policy = chosen.as_ref().unwrap_or(&job.policy);
            let requested = Requested {
                by: &started.requested_by,
                uploaded: origin == PolicyOrigin::Uploaded,
            };
            // Whatever happens in the run, the job is marked finished: a panic must not leave
            // it "running" for good, refusing every later run.
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                run_with(
                    &job,
                    policy,
                    &target,
                    &requested,
                    runner.meta.as_ref(),
                    &runner.channels,
                )
            }))
            .unwrap_or_else(|_| Err("the run panicked".to_owned()));
            runner.finish(started, &result)
        });
        Ok((record, task))
    }

    fn finish(&self, mut record: RunRecord, result: &Result<RunOutcome, String>) -> RunRecord {
        record.finished = Some(Timestamp::now());
        match result {
            Ok(outcome) => record.outcome = Some(RunSummary::from(outcome)),
            Err(e) => {
                tracing::error!(
                    tenant = record.tenant.as_str(),
                    "baseline job `{}` (run {}, policy {}): {e}",
                    record.job,
                    record.id,
                    record.policy
                );
                record.failure = Some(e.clone());
            }
        }
        let mut log = self.lock();
        log.running.remove(&record.job);
        if let Some((_, runs)) = log.tenants.get_mut(&record.tenant)
            && let Some(logged) = runs.iter_mut().find(|r| r.id == record.id)
        {
            *logged = record.clone();
        }
        record
    }

    // The log holds plain data that every update leaves whole, so a panic elsewhere while it
    // was held leaves nothing half-written: take it back.
    fn lock(&self) -> std::sync::MutexGuard<'_, Log> {
        self.log
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

fn commands_disabled(target: &Target) -> Option<String> {
    match target {
        Target::Ssh {
            commands: shieldwall_baseline::Commands::Disabled(reason),
            ..
        } => Some(reason.clone()),
        Target::Ssh { .. } => None,
        Target::Tree {
            commands: shieldwall_baseline::Commands::Disabled(reason),
            ..
        } => Some(reason.clone()),
        Target::Tree { .. } => None,
        Target::Files { .. } => Some("commands are not run against a configuration file".into()),
    }
}

/// Whether `name` may name an uploaded policy: lower-case letters, digits, `-` and `_`, 1 to 64,
/// starting with a letter or digit.
pub fn is_upload_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '_'))
}

/// How many checks of `policy` have a command rule.
pub fn command_checks(policy: &Policy) -> usize {
    policy
        .checks
        .iter()
        .filter(|check| {
            check
                .rules
                .iter()
                .any(|line| matches!(&line.rule, Ok(rule) if rule.kind == RuleKind::Command))
        })
        .count()
}

/// Runs every job at start and then every `every_secs`, until `shutdown`. A run that fails is
/// logged and retried at the next interval; a job that is still running (started through the
/// API) skips a tick.
pub async fn schedule(runner: Arc<Runner>, shutdown: tokio_util::sync::CancellationToken) {
    let mut tasks = tokio::task::JoinSet::new();
    for job in runner.jobs().to_vec() {
        let runner = Arc::clone(&runner);
        let shutdown = shutdown.clone();
        tasks.spawn(async move {
            let every = std::time::Duration::from_secs(job.job.every_secs);
            let mut ticker = tokio::time::interval(every);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let name = job.job.name.clone();
            loop {
                tokio::select! {
                    () = shutdown.cancelled() => break,
                    _ = ticker.tick() => {}
                }
                // A run started through the API holds the job: the scheduled one waits for it
                // rather than skipping a whole interval.
                while runner.is_running(&name) {
                    tokio::select! {
                        () = shutdown.cancelled() => return,
                        () = tokio::time::sleep(std::time::Duration::from_secs(5)) => {}
                    }
                }
                let task = match runner.start(&job.tenant, &name, None, "schedule") {
                    Ok((_, task)) => task,
                    Err(e) => {
                        tracing::warn!("baseline job `{name}`: not run now: {e}");
                        continue;
                    }
                };
                // A run in progress does not hold up shutdown: its thread finishes on its own
                // (within its command timeouts) and what it stores is complete or absent.
                let finished = tokio::select! {
                    () = shutdown.cancelled() => break,
                    finished = task => finished,
                };
                log_finished(&name, finished);
            }
        });
    }
    while tasks.join_next().await.is_some() {}
}

fn log_finished(name: &str, finished: Result<RunRecord, tokio::task::JoinError>) {
    match finished {
        Ok(RunRecord {
            outcome: Some(summary),
            ..
        }) => tracing::info!(
            "baseline job `{name}`: {} passed, {} failed, {} not applicable, {} errors, \
             {} newly failing, score {}",
            summary.pass,
            summary.fail,
            summary.not_applicable,
            summary.error,
            summary.alerts,
            summary
                .score
                .map_or_else(|| "n/a".to_owned(), |s| format!("{s:.1}%"))
        ),
        Ok(RunRecord { failure, .. }) => tracing::error!(
            "baseline job `{name}`: {}",
            failure.unwrap_or_else(|| "no outcome".to_owned())
        ),
        Err(e) => tracing::error!("baseline job `{name}` stopped: {e}"),
    }
}
