//! The detection-and-correlation stage with the shipped rule set (`rules/`): normalised events
//! from a given number of distinct source addresses (the group keys of most shipped
//! correlations) go through the rule index and one tenant's correlator, as `shieldwall serve`
//! runs them. Prints events per second with the rules only, with correlation, and for the whole
//! alert pipeline (alerts built and written to SQLite), the groups held, and the memory per group
//! (as the correlator estimates it and as resident memory grew).
//!
//! `correlation-bench [EVENTS] [KEYS]` (defaults 1,000,000 and 100,000).

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use jiff::Timestamp;
use serde_json::{Value, json};
use shieldwall_alert::{Alerter, Decision, Policy};
use shieldwall_core::TenantId;
use shieldwall_detect::correlation::{CorrelationLimits, Observation};
use shieldwall_detect::{CorrelationSet, Correlator, Pipeline, Prefilter, RuleIndex, RuleSettings};
use shieldwall_store::meta::{MetaStore, NewAlert, SqliteMetaStore};

fn main() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let events: usize = args
        .next()
        .map_or(Ok(1_000_000), |a| a.parse())
        .map_err(|e| format!("EVENTS: {e}"))?;
    let keys: u64 = args
        .next()
        .map_or(Ok(100_000), |a| a.parse())
        .map_err(|e| format!("KEYS: {e}"))?;
    let rules_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../rules");
    let loaded = shieldwall_detect::ruleset::load(&rules_dir, &RuleSettings::default());
    if !loaded.errors.is_empty() {
        return Err(format!("rules did not load: {:?}", loaded.errors));
    }
    let index = RuleIndex::new(
        loaded.rules.into_iter().map(|(_, r)| r).collect(),
        Prefilter::On,
    )
    .map_err(|e| e.to_string())?;
    let (set, errors) = CorrelationSet::new(index.rules(), loaded.correlations);
    if !errors.is_empty() {
        return Err(format!("correlations did not load: {errors:?}"));
    }
    let set = Arc::new(set);
    let pipeline = Pipeline::shieldwall_event().map_err(|e| e.to_string())?;
    let limits = CorrelationLimits {
        max_groups: 4_000_000,
        ..CorrelationLimits::default()
    };

    // Rules only (events are generated as they go, in both passes, so that memory is the
    // correlator's).
    let started = Instant::now();
    let mut matches = 0usize;
    for (_, event) in Events::new(events, keys) {
        matches += index.fired(Some(&pipeline), &event).len();
    }
    let rules_only = started.elapsed();

    // Rules, then correlation.
    let before = rss_kib("VmRSS:").unwrap_or(0);
    let limits_again = limits.clone();
    let mut correlator = Correlator::new(Arc::clone(&set), limits);
    let mut hits = 0usize;
    let started = Instant::now();
    for (i, (time, event)) in Events::new(events, keys).enumerate() {
        let fired = index.fired(Some(&pipeline), &event);
        let view = pipeline.view(&event);
        hits += correlator
            .observe(&Observation {
                time,
                received: None,
                event: i as u128,
                fired: &fired,
                fields: &view,
            })
            .len();
    }
    // What still waits for the lateness tolerance is correlated too, within the time.
    hits += correlator.flush().len();
    let stage = started.elapsed();
    let after = rss_kib("VmRSS:").unwrap_or(0);
    let stats = correlator.stats();

    // The whole alert pipeline: rules, correlation, alerts built and written to SQLite (on disk,
    // synchronous=FULL, one transaction per 1,000 events as the server's batches).
    drop(correlator);
    let alert_dir = std::env::temp_dir().join(format!("correlation-bench-{}", std::process::id()));
    std::fs::create_dir_all(&alert_dir).map_err(|e| e.to_string())?;
    let meta = SqliteMetaStore::open(alert_dir.join("meta.sqlite")).map_err(|e| e.to_string())?;
    let alerter = Alerter::new().map_err(|e| e.to_string())?;
    let policy = Policy::default();
    let tenant = TenantId::new("bench").map_err(|e| e.to_string())?;
    let mut correlator = Correlator::new(Arc::clone(&set), limits_again);
    let (mut raised, mut merged) = (0usize, 0usize);
    let mut batch = Vec::new();
    let mut write = |batch: &mut Vec<NewAlert>| -> Result<(), String> {
        for outcome in meta.raise_alerts(batch).map_err(|e| e.to_string())? {
            if outcome.raised {
                raised += 1;
            } else {
                merged += 1;
            }
        }
        batch.clear();
        Ok(())
    };
    let started = Instant::now();
    for (i, (time, event)) in Events::new(events, keys).enumerate() {
        let fired = index.fired(Some(&pipeline), &event);
        let view = pipeline.view(&event);
        let hits = correlator.observe(&Observation {
            time,
            received: None,
            event: i as u128,
            fired: &fired,
            fields: &view,
        });
        let now = Timestamp::now();
        for hit in hits.iter().filter(|h| h.alerts_alone()) {
            if let Some(Decision::Raise { alert, .. }) =
                alerter.from_hit(&tenant, &policy, hit, now)
            {
                batch.push(*alert);
            }
        }
        if i % 1000 == 999 {
            write(&mut batch)?;
        }
    }
    let now = Timestamp::now();
    for hit in correlator.flush().iter().filter(|h| h.alerts_alone()) {
        if let Some(Decision::Raise { alert, .. }) = alerter.from_hit(&tenant, &policy, hit, now) {
            batch.push(*alert);
        }
    }
    write(&mut batch)?;
    let pipeline_time = started.elapsed();
    let _ = std::fs::remove_dir_all(&alert_dir);

    let rate = |d: Duration| events as f64 / d.as_secs_f64().max(1e-9);
    let per_event = |d: Duration| d.as_secs_f64() * 1e9 / events.max(1) as f64;
    println!(
        "{events} events, {keys} source addresses, {} rules, {} correlations, {matches} rule matches",
        index.rules().len(),
        set.rules().len()
    );
    println!(
        "rules only: {:.0} events/s; rules and correlation: {:.0} events/s; correlation adds {:.0} ns per event",
        rate(rules_only),
        rate(stage),
        per_event(stage) - per_event(rules_only)
    );
    println!("hits: {hits}");
    println!(
        "alert pipeline (rules, correlation, alerts into SQLite): {:.0} events/s; {raised} alerts raised, {merged} repeats merged",
        rate(pipeline_time)
    );
    println!(
        "state: {} groups, {} entries, {} pending; {} groups expired, {} evicted",
        stats.groups, stats.entries, stats.pending, stats.groups_expired, stats.groups_evicted,
    );
    let groups = stats.groups.max(1) as f64;
    println!(
        "memory: {:.0} bytes per group estimated by the correlator ({} bytes), {:.0} bytes per group by RSS growth ({} MiB)",
        stats.state_bytes as f64 / groups,
        stats.state_bytes,
        after.saturating_sub(before) as f64 * 1024.0 / groups,
        after.saturating_sub(before) / 1024,
    );
    Ok(())
}

/// Events as our parsers write them, one millisecond apart: failed and successful logons,
/// firewall drops and web requests, from `keys` distinct addresses; the same sequence each time.
struct Events {
    left: usize,
    keys: u64,
    state: u64,
    time: Timestamp,
}

impl Events {
    fn new(n: usize, keys: u64) -> Events {
        Events {
            left: n,
            keys: keys.max(1),
            state: 0x2545_F491_4F6C_DD1D,
            time: Timestamp::from_second(1_800_000_000).unwrap_or(Timestamp::UNIX_EPOCH),
        }
    }

    fn next_u64(&mut self) -> u64 {
        self.state ^= self.state << 13;
        self.state ^= self.state >> 7;
        self.state ^= self.state << 17;
        self.state
    }
}

impl Iterator for Events {
    type Item = (Timestamp, Value);

    fn next(&mut self) -> Option<Self::Item> {
        self.left = self.left.checked_sub(1)?;
        self.time += Duration::from_millis(1);
        let key = self.next_u64() % self.keys;
        let ip = format!("10.{}.{}.{}", key >> 16 & 255, key >> 8 & 255, key & 255);
        let host = format!("web{}", self.next_u64() % 50);
        let event = match self.next_u64() % 4 {
            0 => json!({"class": "authentication", "status": "failure", "parser": "sshd",
                "user": {"name": format!("user{}", self.next_u64() % 20)},
                "src_endpoint": {"ip": ip}, "device": {"hostname": host}}),
            1 => json!({"class": "authentication", "status": "success", "parser": "sshd",
                "user": {"name": "deploy"}, "src_endpoint": {"ip": ip},
                "device": {"hostname": host}}),
            2 => json!({"class": "network_activity", "action": "denied", "parser": "netfilter",
                "src_endpoint": {"ip": ip},
                "dst_endpoint": {"ip": "10.0.0.5", "port": self.next_u64() % 1024}}),
            _ => json!({"class": "http_activity", "parser": "nginx-access",
                "src_endpoint": {"ip": ip},
                "http": {"url": format!("/page/{}", self.next_u64() % 100), "status_code": 404,
                    "response_bytes": self.next_u64() % 100_000}}),
        };
        Some((self.time, event))
    }
}

/// A memory figure of the process in KiB, from /proc (Linux): `VmRSS:` now, `VmHWM:` peak.
fn rss_kib(which: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(which))?;
    line.split_whitespace().nth(1)?.parse().ok()
}
