//! Detection on the ingest stream (`[detection]`): each tenant's Sigma rules and correlation
//! rules, from `rules_dir/<tenant>/`, evaluated through the `shieldwall-event` pipeline on every
//! event once the store has it. Rule files are reloaded while the server runs; a tenant's
//! correlation state lives in one [`Correlator`] per tenant, flushed when its stream goes quiet.
//! Matches of rules that alert on their own and correlation hits become alerts (`alerting`),
//! written to the MetaStore before the batch is acknowledged; every match and hit is also
//! counted per tenant and rule for `status.json`.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant};

use serde::Serialize;
use shieldwall_collect::pipeline::{EventSink, SinkError};
use shieldwall_core::Event;
use shieldwall_detect::correlation::{
    CorrelationHit, CorrelationLimits, CorrelatorStats, Observation,
};
use shieldwall_detect::{
    CorrelationSet, Correlator, EventFields, Pipeline, RuleIndex, RuleSettings, TenantRules,
};

use shieldwall_store::meta::MetaStore;

use crate::alerting::{AlertCounts, AlertWriter};
use crate::config::DetectionSettings;

/// A tenant's rules in service: the index and the correlations over its rules, replaced
/// together.
#[derive(Clone)]
struct TenantDetection {
    index: Arc<RuleIndex>,
    correlations: Arc<CorrelationSet>,
}

/// The rules in service, by tenant; replaced whole on reload.
type Indexes = Arc<RwLock<BTreeMap<String, TenantDetection>>>;

/// The correlators of the tenants, shared by the sink (events) and the run loop (idle flush).
type SharedCorrelators = Arc<Mutex<Correlators>>;

struct Correlators {
    limits: CorrelationLimits,
    /// Each tenant's correlator and when it last saw an event.
    by_tenant: HashMap<String, (Correlator, Instant)>,
}

impl Correlators {
    fn observe(
        &mut self,
        tenant: &str,
        set: &Arc<CorrelationSet>,
        observation: &Observation<'_>,
    ) -> Vec<CorrelationHit> {
        let limits = &self.limits;
        let (correlator, seen) = self.by_tenant.entry(tenant.to_owned()).or_insert_with(|| {
            (
                Correlator::new(Arc::clone(set), limits.clone()),
                Instant::now(),
            )
        });
        let mut hits = Vec::new();
        if !Arc::ptr_eq(correlator.set(), set) {
            hits = correlator.replace_set(Arc::clone(set));
        }
        *seen = Instant::now();
        hits.extend(correlator.observe(observation));
        hits
    }

    /// Flushes the tenants quiet for the lateness tolerance; drops those without rules.
    fn flush_idle(
        &mut self,
        tenants: &BTreeMap<String, TenantDetection>,
    ) -> Vec<(String, CorrelationHit)> {
        let mut out = Vec::new();
        let idle = self.limits.lateness.max(Duration::from_secs(1));
        self.by_tenant.retain(|tenant, (correlator, seen)| {
            let in_service = tenants
                .get(tenant)
                .is_some_and(|t| !t.correlations.is_empty());
            if !in_service || seen.elapsed() >= idle {
                out.extend(correlator.flush().into_iter().map(|h| (tenant.clone(), h)));
            }
            in_service
        });
        out
    }
}

/// What detection has done since the start, for `status.json`.
#[derive(Debug, Default)]
pub struct DetectionCounters {
    inner: Mutex<DetectionSnapshot>,
}

/// A snapshot of [`DetectionCounters`].
#[derive(Debug, Clone, Default, Serialize)]
pub struct DetectionSnapshot {
    /// Rules in service, by tenant.
    pub rules: BTreeMap<String, usize>,
    /// Events evaluated.
    pub evaluated: u64,
    /// Seconds spent evaluating rules and correlations (and building the alerts they raise).
    pub evaluation_seconds: f64,
    /// Matches by tenant, then by rule (its id, or its title when it has none).
    pub matches: BTreeMap<String, BTreeMap<String, u64>>,
    /// Rule files rejected now, with file, line and reason.
    pub rule_errors: Vec<String>,
    /// Correlation rules in service, by tenant.
    pub correlation_rules: BTreeMap<String, usize>,
    /// Correlation hits by tenant, then by rule (its id, or its title).
    pub correlation_hits: BTreeMap<String, BTreeMap<String, u64>>,
    /// Each tenant's correlation state and what it refused (late, ungrouped...).
    pub correlation_state: BTreeMap<String, CorrelatorStats>,
    /// Alerts raised, merged, suppressed and waiting.
    pub alerts: AlertCounts,
}

impl DetectionCounters {
    /// The current counts.
    pub fn snapshot(&self) -> DetectionSnapshot {
        self.inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// The rule directories of a running server and the indexes they give.
pub struct Detection {
    rules: Option<TenantRules>,
    indexes: Indexes,
    correlators: SharedCorrelators,
    alerts: Arc<Mutex<AlertWriter>>,
    rules_dir: Option<std::path::PathBuf>,
    counters: Arc<DetectionCounters>,
    /// The errors reported at the last reload, so that each is logged once when it appears.
    reported: Vec<String>,
}

impl Detection {
    /// Loads the rules of `settings`; problems are reported by [`Detection::reload`], not fatal.
    /// Alerts go to `meta`.
    pub fn start(
        settings: &DetectionSettings,
        meta: Arc<dyn MetaStore>,
        channels: Arc<crate::notifier::Channels>,
        responder: Arc<crate::response::Responder>,
    ) -> Result<Detection, String> {
        let rules = settings.rules_dir.as_ref().map(|dir| {
            TenantRules::new(
                dir.clone(),
                RuleSettings {
                    placeholders: settings.placeholders.clone(),
                    ..RuleSettings::default()
                },
            )
        });
        let limits = CorrelationLimits {
            lateness: Duration::from_secs(settings.lateness_secs),
            max_groups: settings.max_groups,
            ..CorrelationLimits::default()
        };
        let mut detection = Detection {
            rules,
            indexes: Arc::default(),
            correlators: Arc::new(Mutex::new(Correlators {
                limits,
                by_tenant: HashMap::new(),
            })),
            alerts: Arc::new(Mutex::new(AlertWriter::new(meta, channels, responder)?)),
            rules_dir: settings.rules_dir.clone(),
            counters: Arc::default(),
            reported: Vec::new(),
        };
        detection.reload();
        Ok(detection)
    }

    /// Picks up changed rule files; logs what changed and what is rejected.
    pub fn reload(&mut self) {
        let Some(rules) = &mut self.rules else {
            return;
        };
        let changed = rules.refresh();
        let mut errors: Vec<String> = rules
            .errors()
            .into_iter()
            .map(|(tenant, e)| format!("tenant {tenant:?}: {e}"))
            .collect();
        if let Some(dir) = &self.rules_dir {
            let mut alerts = self.alerts.lock().unwrap_or_else(PoisonError::into_inner);
            alerts.reload_policies(dir, rules.tenants());
            errors.extend(alerts.errors.iter().cloned());
        }
        if !changed.is_empty() {
            let mut indexes = self.indexes.write().unwrap_or_else(PoisonError::into_inner);
            for tenant in &changed {
                match (rules.index(tenant), rules.correlations(tenant)) {
                    (Some(index), Some(correlations)) => {
                        tracing::info!(
                            tenant = tenant.as_str(),
                            rules = index.rules().len(),
                            correlations = correlations.rules().len(),
                            "detection rules loaded"
                        );
                        indexes.insert(
                            tenant.clone(),
                            TenantDetection {
                                index,
                                correlations,
                            },
                        );
                    }
                    _ => {
                        tracing::info!(tenant = tenant.as_str(), "detection rules removed");
                        indexes.remove(tenant);
                    }
                }
            }
        }
        for e in errors.iter().filter(|e| !self.reported.contains(e)) {
            tracing::error!("detection rule rejected: {e}");
        }
        self.reported.clone_from(&errors);
        let mut counts = self
            .counters
            .inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let indexes = self.indexes.read().unwrap_or_else(PoisonError::into_inner);
        counts.rules = indexes
            .iter()
            .map(|(t, i)| (t.clone(), i.index.rules().len()))
            .collect();
        counts.correlation_rules = indexes
            .iter()
            .map(|(t, i)| (t.clone(), i.correlations.rules().len()))
            .collect();
        counts.rule_errors = errors;
    }

    /// Correlates what waits in the reorder buffers of tenants whose stream has gone quiet, and
    /// refreshes the correlation figures of `status.json`. Called by the run loop.
    pub fn tick(&self) {
        let indexes = self
            .indexes
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let mut correlators = self
            .correlators
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let hits = correlators.flush_idle(&indexes);
        let state: BTreeMap<String, CorrelatorStats> = correlators
            .by_tenant
            .iter()
            .map(|(t, (c, _))| (t.clone(), c.stats()))
            .collect();
        drop(correlators);
        self.take_hits(hits);
        self.counters
            .inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .correlation_state = state;
    }

    /// At shutdown: correlates everything in the reorder buffers and writes the alerts, so that
    /// an attack completed in the last moments before a stop still alerts.
    pub fn finish(&self) {
        let hits: Vec<(String, CorrelationHit)> = {
            let mut correlators = self
                .correlators
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            correlators
                .by_tenant
                .iter_mut()
                .flat_map(|(t, (c, _))| c.flush().into_iter().map(move |h| (t.clone(), h)))
                .collect()
        };
        self.take_hits(hits);
    }

    /// Alerts and counts of hits that a flush released (outside a batch of events), written at
    /// once. A write failure stays queued, logged by the writer, and holds back the next batch.
    fn take_hits(&self, hits: Vec<(String, CorrelationHit)>) {
        let alert_counts = {
            let mut alerts = self.alerts.lock().unwrap_or_else(PoisonError::into_inner);
            for (tenant, hit) in &hits {
                if hit.alerts_alone()
                    && let Ok(tenant) = shieldwall_core::TenantId::new(tenant.as_str())
                {
                    alerts.on_hit(&tenant, hit);
                }
            }
            let _ = alerts.flush();
            alerts.counts()
        };
        let mut counts = self
            .counters
            .inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        for (tenant, hit) in hits {
            record_hit(&mut counts, &tenant, &hit);
        }
        counts.alerts = alert_counts;
    }

    /// The counters `status.json` reports.
    pub fn counters(&self) -> Arc<DetectionCounters> {
        Arc::clone(&self.counters)
    }

    /// `inner`, with every event it stores evaluated against its tenant's rules.
    pub fn sink(&self, inner: Box<dyn EventSink>) -> Result<DetectingSink, String> {
        Ok(DetectingSink {
            inner,
            indexes: Arc::clone(&self.indexes),
            correlators: Arc::clone(&self.correlators),
            alerts: Arc::clone(&self.alerts),
            pipeline: Pipeline::shieldwall_event().map_err(|e| e.to_string())?,
            counters: Arc::clone(&self.counters),
        })
    }
}

/// A sink that evaluates the rules on what its inner sink stored.
pub struct DetectingSink {
    inner: Box<dyn EventSink>,
    indexes: Indexes,
    correlators: SharedCorrelators,
    alerts: Arc<Mutex<AlertWriter>>,
    pipeline: Pipeline,
    counters: Arc<DetectionCounters>,
}

impl EventSink for DetectingSink {
    fn write(&mut self, events: &[Event]) -> Result<(), SinkError> {
        // Alerts of an earlier batch that could not be written go first; until they are, this
        // batch is refused (it stays in the spool) rather than detected and queued on top.
        {
            let mut alerts = self.alerts.lock().unwrap_or_else(PoisonError::into_inner);
            if alerts.has_pending() {
                alerts.flush().map_err(sink_error)?;
            }
        }
        self.inner.write(events)?;
        let indexes = self.indexes.read().unwrap_or_else(PoisonError::into_inner);
        if indexes.is_empty() {
            return Ok(());
        }
        let mut found: Vec<(String, String)> = Vec::new();
        let mut hits: Vec<(String, CorrelationHit)> = Vec::new();
        let mut evaluated = 0u64;
        let started = std::time::Instant::now();
        let mut correlators = self
            .correlators
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let mut alerts = self.alerts.lock().unwrap_or_else(PoisonError::into_inner);
        for event in events {
            let tenant = event.tenant.as_str();
            let Some(rules) = indexes.get(tenant) else {
                continue;
            };
            let Ok(value) = serde_json::to_value(event) else {
                continue;
            };
            evaluated += 1;
            let fired = rules.index.fired(Some(&self.pipeline), &value);
            if fired.is_empty() && rules.correlations.is_empty() {
                continue;
            }
            // The pipeline's view is for the fields of matched events; an event that fired
            // nothing only moves its tenant's correlation clock, and no field of it is read.
            let view = (!fired.is_empty()).then(|| self.pipeline.view(&value));
            let fields: &dyn EventFields = match &view {
                Some(view) => view,
                None => &value,
            };
            for i in &fired {
                let Some(rule) = rules.index.rules().get(*i) else {
                    continue;
                };
                let name = rule.id.clone().unwrap_or_else(|| rule.title.clone());
                if rules.correlations.alerts_alone(*i) {
                    tracing::debug!(
                        tenant,
                        rule = name.as_str(),
                        title = rule.title.as_str(),
                        level = rule.level.as_deref().unwrap_or("-"),
                        event = %event.id,
                        "rule fired"
                    );
                    alerts.on_match(&event.tenant, rule, event.id, event.time, fields);
                }
                found.push((tenant.to_owned(), name));
            }
            if rules.correlations.is_empty() {
                continue;
            }
            let observation = Observation {
                time: event.time,
                received: Some(event.received),
                event: event.id.as_uuid().as_u128(),
                fired: &fired,
                fields,
            };
            for hit in correlators.observe(tenant, &rules.correlations, &observation) {
                if hit.alerts_alone() {
                    alerts.on_hit(&event.tenant, &hit);
                }
                hits.push((tenant.to_owned(), hit));
            }
        }
        let evaluation = started.elapsed().as_secs_f64();
        // A failure keeps the alerts queued; the next batch waits for them (above).
        let _ = alerts.flush();
        drop(alerts);
        drop(correlators);
        drop(indexes);
        let mut counts = self
            .counters
            .inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        counts.evaluated += evaluated;
        counts.evaluation_seconds += evaluation;
        for (tenant, rule) in found {
            *counts
                .matches
                .entry(tenant)
                .or_default()
                .entry(rule)
                .or_default() += 1;
        }
        for (tenant, hit) in hits {
            record_hit(&mut counts, &tenant, &hit);
        }
        Ok(())
    }
}

fn sink_error(reason: String) -> SinkError {
    SinkError {
        path: std::path::PathBuf::from("meta.sqlite"),
        source: std::io::Error::other(reason),
    }
}

/// Logs a correlation hit and counts it.
fn record_hit(counts: &mut DetectionSnapshot, tenant: &str, hit: &CorrelationHit) {
    let Some(rule) = hit.rule() else {
        return;
    };
    let name = rule.id.clone().unwrap_or_else(|| rule.title.clone());
    if hit.alerts_alone() {
        let group: Vec<String> = hit.group.iter().map(|(k, v)| format!("{k}={v}")).collect();
        tracing::info!(
            tenant,
            rule = name.as_str(),
            title = rule.title.as_str(),
            level = rule.level.as_deref().unwrap_or("-"),
            group = group.join(",").as_str(),
            value = hit.value,
            events = hit.events.len(),
            "correlation fired"
        );
    }
    *counts
        .correlation_hits
        .entry(tenant.to_owned())
        .or_default()
        .entry(name)
        .or_default() += 1;
}
