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
use serde::Serialize;
use shieldwall_baseline::{Policy, PolicyError, RuleKind, Target, shipped};
use shieldwall_core::TenantId;
use shieldwall_store::meta::MetaStore;

use crate::baseline::{PreparedJob, RunOutcome, run_with};
use crate::notifier::Channels;

/// The runs kept in the log, newest last.
const MAX_LOGGED_RUNS: usize = 200;

/// Why command rules of an uploaded policy are not run.
pub const UPLOADED_COMMANDS_OFF: &str = "commands disabled: command rules of policies uploaded \
     through the API run only with [api] uploaded_command_rules = true";

/// Where a run's policy came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PolicyOrigin {
    /// The job's own policy, from the configuration.
    Configured,
    /// A policy Shieldwall ships.
    Shipped,
    /// A policy the tenant uploaded through the API.
    Uploaded,
}

/// One run, running or finished.
#[derive(Debug, Clone, Serialize)]
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
#[derive(Debug, Clone, Serialize)]
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
    /// The stored policy no longer loads.
    #[error("{0}")]
    Policy(#[from] PolicyError),
    /// The job runs already.
    #[error("baseline job `{0}` is running; ask again when it has finished")]
    Busy(String),
}

/// A policy ready for a run, with where it came from.
pub struct ChosenPolicy {
    policy: Policy,
    origin: PolicyOrigin,
}

#[derive(Default)]
struct Log {
    next_id: u64,
    running: BTreeSet<String>,
    recent: VecDeque<RunRecord>,
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

    /// The policy `name` for a run of `tenant`: its upload if it has one, else a shipped one.
    pub fn choose(&self, tenant: &TenantId, name: &str) -> Result<ChosenPolicy, RunError> {
        let path = self.upload_path(tenant, name);
        if is_upload_name(name) && path.is_file() {
            return Ok(ChosenPolicy {
                policy: Policy::load(&path)?,
                origin: PolicyOrigin::Uploaded,
            });
        }
        let found = shipped::find(name).ok_or_else(|| RunError::UnknownPolicy(name.to_owned()))?;
        Ok(ChosenPolicy {
            policy: found.load()?,
            origin: PolicyOrigin::Shipped,
        })
    }

    /// The runs logged for `tenant`, newest first, at most `limit`.
    pub fn recent(&self, tenant: &TenantId, limit: usize) -> Vec<RunRecord> {
        let log = self.lock();
        log.recent
            .iter()
            .rev()
            .filter(|r| r.tenant == tenant.as_str())
            .take(limit)
            .cloned()
            .collect()
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
        let job = self
            .tenant_jobs(tenant)
            .find(|j| j.job.name == name)
            .cloned()
            .ok_or_else(|| RunError::UnknownJob {
                tenant: tenant.as_str().to_owned(),
                job: name.to_owned(),
            })?;
        let origin = policy
            .as_ref()
            .map_or(PolicyOrigin::Configured, |p| p.origin);
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
            log.next_id += 1;
            let record = RunRecord {
                id: log.next_id,
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
            log.recent.push_back(record.clone());
            while log.recent.len() > MAX_LOGGED_RUNS {
                log.recent.pop_front();
            }
            record
        };
        let runner = Arc::clone(self);
        let started = record.clone();
        let task = tokio::task::spawn_blocking(move || {
            let chosen = policy.map(|p| p.policy);
            let policy = chosen.as_ref().unwrap_or(&job.policy);
            let result = run_with(
                &job,
                policy,
                &target,
                runner.meta.as_ref(),
                &runner.channels,
            );
            runner.finish(started, &result)
        });
        Ok((record, task))
    }

    fn finish(&self, mut record: RunRecord, result: &Result<RunOutcome, String>) -> RunRecord {
        record.finished = Some(Timestamp::now());
        match result {
            Ok(outcome) => record.outcome = Some(RunSummary::from(outcome)),
            Err(e) => record.failure = Some(e.clone()),
        }
        let mut log = self.lock();
        log.running.remove(&record.job);
        if let Some(logged) = log.recent.iter_mut().find(|r| r.id == record.id) {
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
