//! Alerts on the ingest stream: each tenant's alerting policy (`rules_dir/<tenant>/alerting.toml`,
//! reloaded with the rules), alerts built from the matches and hits detection reports, and their
//! writing to the MetaStore, one transaction per batch. Alerts that cannot be written wait, and
//! the sink refuses the next batch until they are written (so the spool keeps the events, and no
//! batch is detected twice); what waits is at most one batch's alerts.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::SystemTime;

use jiff::Timestamp;
use serde::Serialize;
use shieldwall_alert::{Alerter, Decision, Policy};
use shieldwall_core::{RecordId, TenantId};
use shieldwall_detect::correlation::CorrelationHit;
use shieldwall_detect::{EventFields, Rule};
use shieldwall_store::meta::{MetaStore, NewAlert};

use crate::notifier::Channels;
use crate::response::{Job, Responder};

/// What alerting has done since the start, for `status.json`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct AlertCounts {
    /// New alerts written.
    pub raised: u64,
    /// Repeats merged into open alerts.
    pub merged: u64,
    /// Matches and hits an exception suppressed, by tenant and exception owner.
    pub suppressed: BTreeMap<String, BTreeMap<String, u64>>,
    /// Alerts waiting to be written.
    pub pending: usize,
    /// Failed writes to the MetaStore.
    pub write_errors: u64,
    /// The last write error.
    pub last_error: Option<String>,
    /// Alerts refused before writing (a rule's text the store does not accept), with the reason
    /// logged.
    pub invalid: u64,
    /// Exceptions past their expiry date (not applied), as `tenant: owner (reason), expired DATE`.
    pub expired_exceptions: Vec<String>,
}

type Stamp = Option<(SystemTime, u64)>;

/// Builds and writes alerts.
pub struct AlertWriter {
    alerter: Alerter,
    meta: Arc<dyn MetaStore>,
    channels: Arc<Channels>,
    responder: Arc<Responder>,
    policies: BTreeMap<String, (Stamp, Arc<Policy>)>,
    default_policy: Arc<Policy>,
    /// Alerts to write, and beside each (same position) the response action its rule names.
    pending: Vec<NewAlert>,
    responses: Vec<Option<String>>,
    counts: AlertCounts,
    /// Policy files that do not load, by tenant (the last good policy stays in service).
    pub errors: Vec<String>,
}

impl AlertWriter {
    /// A writer into `meta`, queueing notifications to the `channels` that want each alert.
    pub fn new(
        meta: Arc<dyn MetaStore>,
        channels: Arc<Channels>,
        responder: Arc<Responder>,
    ) -> Result<AlertWriter, String> {
        Ok(AlertWriter {
            alerter: Alerter::new().map_err(|e| e.to_string())?,
            meta,
            channels,
            responder,
            policies: BTreeMap::new(),
            default_policy: Arc::new(Policy::default()),
            pending: Vec::new(),
            responses: Vec::new(),
            counts: AlertCounts::default(),
            errors: Vec::new(),
        })
    }

    /// Rereads the policy files of `tenants` under `rules_dir` that changed.
    pub fn reload_policies<'a>(
        &mut self,
        rules_dir: &Path,
        tenants: impl Iterator<Item = &'a str>,
    ) {
        let mut seen = Vec::new();
        let mut errors = Vec::new();
        for tenant in tenants {
            seen.push(tenant.to_owned());
            let path = rules_dir.join(tenant).join("alerting.toml");
            let stamp = std::fs::metadata(&path)
                .ok()
                .map(|m| (m.modified().unwrap_or(SystemTime::UNIX_EPOCH), m.len()));
            if self.policies.get(tenant).is_some_and(|(s, _)| *s == stamp) {
                continue;
            }
            match Policy::load(&path) {
                Ok(policy) => {
                    for rule in policy.rules.values() {
                        if let Some(action) = &rule.response
                            && !self.responder.knows(action)
                        {
                            errors.push(format!(
                                "tenant {tenant:?}: {}: rule {:?} names response {action:?}, which no [[response]] in the server configuration declares",
                                path.display(),
                                rule.rule
                            ));
                        }
                    }
                    tracing::info!(
                        tenant,
                        exceptions = policy.exceptions.len(),
                        rules = policy.rules.len(),
                        "alerting policy loaded"
                    );
                    self.policies
                        .insert(tenant.to_owned(), (stamp, Arc::new(policy)));
                }
                Err(e) => errors.push(format!("tenant {tenant:?}: {e}")),
            }
        }
        self.policies.retain(|t, _| seen.contains(t));
        let now = Timestamp::now();
        self.counts.expired_exceptions = self
            .policies
            .iter()
            .flat_map(|(tenant, (_, p))| {
                p.expired(now).map(move |e| {
                    format!(
                        "{tenant}: {} ({}), expired {}",
                        e.owner, e.reason, e.expires
                    )
                })
            })
            .collect();
        self.errors = errors;
    }

    fn policy(&self, tenant: &str) -> Arc<Policy> {
        self.policies
            .get(tenant)
            .map_or_else(|| Arc::clone(&self.default_policy), |(_, p)| Arc::clone(p))
    }

    fn take(&mut self, tenant: &TenantId, decision: Decision) {
        match decision {
            Decision::Raise {
                mut alert,
                response,
            } => {
                alert.notify = self.channels.for_alert(tenant.as_str(), alert.severity);
                // One bad alert must not block the others: it is refused here, alone.
                if let Err(e) = alert.validate() {
                    self.counts.invalid += 1;
                    tracing::error!(
                        tenant = tenant.as_str(),
                        rule = alert.rule_id.as_str(),
                        "alert not raised: {e}"
                    );
                    return;
                }
                self.pending.push(*alert);
                self.responses.push(response);
            }
            Decision::Suppressed { owner, .. } => {
                *self
                    .counts
                    .suppressed
                    .entry(tenant.as_str().to_owned())
                    .or_default()
                    .entry(owner)
                    .or_default() += 1;
            }
        }
    }

    /// Queues the alert of `rule` matching an event.
    pub fn on_match(
        &mut self,
        tenant: &TenantId,
        rule: &Rule,
        event: RecordId,
        time: Timestamp,
        fields: &dyn EventFields,
    ) {
        let policy = self.policy(tenant.as_str());
        let decision =
            self.alerter
                .from_match(tenant, &policy, rule, event, time, fields, Timestamp::now());
        self.take(tenant, decision);
    }

    /// Queues the alert of a correlation hit.
    pub fn on_hit(&mut self, tenant: &TenantId, hit: &CorrelationHit) {
        let policy = self.policy(tenant.as_str());
        if let Some(decision) = self
            .alerter
            .from_hit(tenant, &policy, hit, Timestamp::now())
        {
            self.take(tenant, decision);
        }
    }

    /// Whether alerts wait to be written.
    pub fn has_pending(&self) -> bool {
        !self.pending.is_empty()
    }

    /// Writes what is queued; an error leaves it queued and is returned.
    pub fn flush(&mut self) -> Result<(), String> {
        if self.pending.is_empty() {
            self.counts.pending = 0;
            return Ok(());
        }
        match self.meta.raise_alerts(&self.pending) {
            Ok(outcomes) => {
                for ((alert, response), outcome) in
                    self.pending.iter().zip(&self.responses).zip(&outcomes)
                {
                    if outcome.raised {
                        if let Some(action) = response {
                            self.responder.submit(Job {
                                action: action.clone(),
                                tenant: alert.tenant.clone(),
                                alert: outcome.id,
                                group: alert.group.clone(),
                            });
                        }
                        self.counts.raised += 1;
                        tracing::warn!(
                            tenant = alert.tenant.as_str(),
                            alert = outcome.id,
                            rule = alert.rule_id.as_str(),
                            title = alert.title.as_str(),
                            severity = ?alert.severity,
                            "alert raised"
                        );
                    } else {
                        self.counts.merged += 1;
                    }
                }
                self.pending.clear();
                self.responses.clear();
                self.counts.pending = 0;
                Ok(())
            }
            Err(e) => {
                self.counts.write_errors += 1;
                let message = e.to_string();
                if self.counts.last_error.as_deref() != Some(message.as_str()) {
                    tracing::error!("alerts could not be written, kept for a retry: {message}");
                }
                self.counts.last_error = Some(message.clone());
                self.counts.pending = self.pending.len();
                Err(format!(
                    "{} alert(s) wait for the metadata store: {message}",
                    self.pending.len()
                ))
            }
        }
    }

    /// The counts for `status.json`.
    pub fn counts(&self) -> AlertCounts {
        self.counts.clone()
    }
}
