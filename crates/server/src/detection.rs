//! Detection on the ingest stream (`[detection]`): each tenant's Sigma rules, from
//! `rules_dir/<tenant>/`, evaluated through the `shieldwall-event` pipeline on every event once
//! the store has it. Rule files are reloaded while the server runs. Until alerts exist, a match
//! is counted per tenant and rule for `status.json` and logged.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use serde::Serialize;
use shieldwall_collect::pipeline::{EventSink, SinkError};
use shieldwall_core::Event;
use shieldwall_detect::{Pipeline, RuleIndex, RuleSettings, TenantRules};

use crate::config::DetectionSettings;

/// The indexes in service, by tenant; replaced whole on reload.
type Indexes = Arc<RwLock<BTreeMap<String, Arc<RuleIndex>>>>;

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
    /// Matches by tenant, then by rule (its id, or its title when it has none).
    pub matches: BTreeMap<String, BTreeMap<String, u64>>,
    /// Rule files rejected now, with file, line and reason.
    pub rule_errors: Vec<String>,
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
    counters: Arc<DetectionCounters>,
    /// The errors reported at the last reload, so that each is logged once when it appears.
    reported: Vec<String>,
}

impl Detection {
    /// Loads the rules of `settings`; problems are reported by [`Detection::reload`], not fatal.
    pub fn start(settings: &DetectionSettings) -> Detection {
        let rules = settings.rules_dir.as_ref().map(|dir| {
            TenantRules::new(
                dir.clone(),
                RuleSettings {
                    placeholders: settings.placeholders.clone(),
                    ..RuleSettings::default()
                },
            )
        });
        let mut detection = Detection {
            rules,
            indexes: Arc::default(),
            counters: Arc::default(),
            reported: Vec::new(),
        };
        detection.reload();
        detection
    }

    /// Picks up changed rule files; logs what changed and what is rejected.
    pub fn reload(&mut self) {
        let Some(rules) = &mut self.rules else {
            return;
        };
        let changed = rules.refresh();
        let errors: Vec<String> = rules
            .errors()
            .into_iter()
            .map(|(tenant, e)| format!("tenant {tenant:?}: {e}"))
            .collect();
        if !changed.is_empty() {
            let mut indexes = self.indexes.write().unwrap_or_else(PoisonError::into_inner);
            for tenant in &changed {
                match rules.index(tenant) {
                    Some(index) => {
                        tracing::info!(
                            tenant = tenant.as_str(),
                            rules = index.rules().len(),
                            "detection rules loaded"
                        );
                        indexes.insert(tenant.clone(), index);
                    }
                    None => {
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
        counts.rules = self
            .indexes
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .map(|(t, i)| (t.clone(), i.rules().len()))
            .collect();
        counts.rule_errors = errors;
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
            pipeline: Pipeline::shieldwall_event().map_err(|e| e.to_string())?,
            counters: Arc::clone(&self.counters),
        })
    }
}

/// A sink that evaluates the rules on what its inner sink stored.
pub struct DetectingSink {
    inner: Box<dyn EventSink>,
    indexes: Indexes,
    pipeline: Pipeline,
    counters: Arc<DetectionCounters>,
}

impl EventSink for DetectingSink {
    fn write(&mut self, events: &[Event]) -> Result<(), SinkError> {
        self.inner.write(events)?;
        let indexes = self.indexes.read().unwrap_or_else(PoisonError::into_inner);
        if indexes.is_empty() {
            return Ok(());
        }
        let mut found: Vec<(String, String)> = Vec::new();
        let mut evaluated = 0u64;
        for event in events {
            let Some(index) = indexes.get(event.tenant.as_str()) else {
                continue;
            };
            let Ok(value) = serde_json::to_value(event) else {
                continue;
            };
            evaluated += 1;
            for i in index.fired(Some(&self.pipeline), &value) {
                let Some(rule) = index.rules().get(i) else {
                    continue;
                };
                let name = rule.id.clone().unwrap_or_else(|| rule.title.clone());
                tracing::info!(
                    tenant = event.tenant.as_str(),
                    rule = name.as_str(),
                    title = rule.title.as_str(),
                    level = rule.level.as_deref().unwrap_or("-"),
                    event = %event.id,
                    "rule fired"
                );
                found.push((event.tenant.as_str().to_owned(), name));
            }
        }
        drop(indexes);
        let mut counts = self
            .counters
            .inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        counts.evaluated += evaluated;
        for (tenant, rule) in found {
            *counts
                .matches
                .entry(tenant)
                .or_default()
                .entry(rule)
                .or_default() += 1;
        }
        Ok(())
    }
}
