//! Delivers the notification outbox (`[[notify]]` channels, docs/notifications.md): every
//! second, the due notifications are sent, each attempt recorded in the MetaStore; a failure is
//! retried with exponential backoff (10 s doubling to an hour) and given up after
//! [`MAX_ATTEMPTS`], when it stays in the outbox as failed and is reported. A restart resumes
//! from the outbox, so nothing queued is lost.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use jiff::Timestamp;
use serde::Serialize;
use shieldwall_core::Severity;
use shieldwall_notify::{Channel, ChannelSettings, Message};
use shieldwall_store::meta::{DeliveryOutcome, MetaStore, OutboxItem, StoredAlert};
use tokio_util::sync::CancellationToken;

/// Attempts before a notification is given up (3 h 25 min of backoff in all, checked below).
pub const MAX_ATTEMPTS: u32 = 12;
/// Notifications sent per round.
const BATCH: usize = 20;

/// What the notifier has done since the start, for `status.json`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct NotifyCounts {
    /// Delivered, by channel.
    pub delivered: BTreeMap<String, u64>,
    /// Failed attempts to be retried, by channel.
    pub retried: BTreeMap<String, u64>,
    /// Given up, by channel (they stay in the outbox as failed).
    pub failed: BTreeMap<String, u64>,
    /// The last error of each channel.
    pub last_error: BTreeMap<String, String>,
}

/// Shared counts.
pub type Counts = Arc<Mutex<NotifyCounts>>;

/// The channels of the configuration, built (their secrets read).
pub struct Channels {
    settings: Vec<ChannelSettings>,
    built: BTreeMap<String, Channel>,
}

impl Channels {
    /// Builds every channel; the first that fails is the error.
    pub fn build(settings: &[ChannelSettings], base: &Path) -> Result<Channels, String> {
        let mut built = BTreeMap::new();
        for s in settings {
            built.insert(s.name.clone(), s.build(base).map_err(|e| e.to_string())?);
        }
        Ok(Channels {
            settings: settings.to_vec(),
            built,
        })
    }

    /// The channels that want an alert of `tenant` at `severity`.
    pub fn for_alert(&self, tenant: &str, severity: Severity) -> Vec<String> {
        self.settings
            .iter()
            .filter(|s| s.wants(tenant, severity))
            .map(|s| s.name.clone())
            .collect()
    }

    /// The built channel of a name.
    pub fn get(&self, name: &str) -> Option<&Channel> {
        self.built.get(name)
    }

    /// Whether any channel is configured.
    pub fn is_empty(&self) -> bool {
        self.settings.is_empty()
    }
}

/// The message of an alert.
pub fn message(delivery: u64, alert: &StoredAlert) -> Message {
    let severity = alert.severity.as_str();
    let mut text = format!(
        "Alert {} of tenant {}: {}\n\nseverity: {severity} (rule level {})\nrule: {}{}\nseen: {} time(s), {} to {}\n",
        alert.id,
        alert.tenant.as_str(),
        alert.title,
        alert.level,
        alert.rule_id,
        alert
            .author
            .as_deref()
            .map(|a| format!(
                " by {a} ({})",
                alert.license.as_deref().unwrap_or("licence not stated")
            ))
            .unwrap_or_default(),
        alert.count,
        alert.first_seen,
        alert.last_seen,
    );
    for (field, value) in &alert.group {
        text.push_str(&format!("{field}: {value}\n"));
    }
    if !alert.attack.is_empty() {
        text.push_str(&format!("ATT&CK: {}\n", alert.attack.join(", ")));
    }
    if !alert.controls.is_empty() {
        text.push_str(&format!(
            "CCM v4.0.13 controls: {}\n",
            alert.controls.join(", ")
        ));
    }
    text.push_str(&format!(
        "\nHandle it with: shieldwall alerts show {} --tenant {}\n",
        alert.id,
        alert.tenant.as_str()
    ));
    Message {
        delivery,
        severity: alert.severity,
        subject: format!(
            "[{severity}] {} (tenant {}, alert {})",
            alert.title,
            alert.tenant.as_str(),
            alert.id
        ),
        alert: serde_json::to_value(alert).unwrap_or_default(),
        text,
    }
}

/// The wait before attempt `attempts + 1`: 10 s, doubling, at most an hour.
pub fn backoff(attempts: u32) -> Duration {
    let seconds = 10u64.saturating_mul(1 << attempts.saturating_sub(1).min(20));
    Duration::from_secs(seconds.min(3600))
}

/// Runs until `stop`: one delivery loop per channel, so that a slow or dead channel only
/// delays its own notifications.
pub async fn run(
    meta: Arc<dyn MetaStore>,
    channels: Arc<Channels>,
    counts: Counts,
    stop: CancellationToken,
) {
    let mut loops = tokio::task::JoinSet::new();
    for name in channels.built.keys() {
        loops.spawn(channel_loop(
            name.clone(),
            Arc::clone(&meta),
            Arc::clone(&channels),
            Arc::clone(&counts),
            stop.clone(),
        ));
    }
    while loops.join_next().await.is_some() {}
}

/// Every second, the channel's due notifications, one after another.
async fn channel_loop(
    name: String,
    meta: Arc<dyn MetaStore>,
    channels: Arc<Channels>,
    counts: Counts,
    stop: CancellationToken,
) {
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
        let due = {
            let (meta, name) = (Arc::clone(&meta), name.clone());
            tokio::task::spawn_blocking(move || {
                meta.due_notifications(&name, Timestamp::now(), BATCH)
            })
            .await
        };
        let due = match due {
            Ok(Ok(due)) => due,
            Ok(Err(e)) => {
                tracing::error!(
                    channel = name.as_str(),
                    "notification outbox unreadable: {e}"
                );
                continue;
            }
            Err(_) => continue,
        };
        for item in due {
            if stop.is_cancelled() {
                return;
            }
            attempt(&meta, &channels, &counts, item).await;
        }
    }
}

/// How long an attempt holds its notification: the longest a channel may take, and a margin.
const LEASE: Duration = Duration::from_secs(360);

async fn attempt(
    meta: &Arc<dyn MetaStore>,
    channels: &Channels,
    counts: &Counts,
    item: OutboxItem,
) {
    // Claimed first: if the outcome cannot be recorded, the notification is not sent again
    // before the lease ends (and is sent again then: at least once, never in a tight loop).
    let claimed = {
        let meta = Arc::clone(meta);
        let id = item.id;
        let until = Timestamp::now()
            .checked_add(LEASE)
            .unwrap_or_else(|_| Timestamp::now());
        tokio::task::spawn_blocking(move || meta.claim_notification(id, until)).await
    };
    match claimed {
        Ok(Ok(true)) => {}
        Ok(Ok(false)) | Err(_) => return,
        Ok(Err(e)) => {
            tracing::error!(
                delivery = item.id,
                "notification not sent: cannot claim it: {e}"
            );
            return;
        }
    }
    let alert = {
        let meta = Arc::clone(meta);
        let (tenant, id) = (item.tenant.clone(), item.alert);
        tokio::task::spawn_blocking(move || meta.alert(&tenant, id)).await
    };
    let result = match (&alert, channels.built.get(&item.channel)) {
        (Ok(Ok(Some(alert))), Some(channel)) => channel
            .deliver(&message(item.id, alert))
            .await
            .map_err(|e| (e.retryable, e.message)),
        (Ok(Ok(None)), _) => Err((false, format!("alert {} no longer exists", item.alert))),
        (Ok(Err(e)), _) => Err((true, format!("reading alert {}: {e}", item.alert))),
        (Err(e), _) => Err((true, e.to_string())),
        (_, None) => Err((
            false,
            format!("channel {:?} is no longer configured", item.channel),
        )),
    };
    let attempts = item.attempts + 1;
    let outcome = match &result {
        Ok(()) => DeliveryOutcome::Delivered,
        Err((true, error)) if attempts < MAX_ATTEMPTS => DeliveryOutcome::Retry {
            error: error.clone(),
            at: Timestamp::now()
                .checked_add(backoff(attempts))
                .unwrap_or_else(|_| Timestamp::now()),
        },
        Err((_, error)) => DeliveryOutcome::Failed {
            error: format!("{error} (after {attempts} attempt(s))"),
        },
    };
    {
        let mut counts = counts.lock().unwrap_or_else(PoisonError::into_inner);
        let channel = item.channel.clone();
        match &outcome {
            DeliveryOutcome::Delivered => *counts.delivered.entry(channel).or_default() += 1,
            DeliveryOutcome::Retry { error, .. } => {
                *counts.retried.entry(channel.clone()).or_default() += 1;
                counts.last_error.insert(channel, error.clone());
            }
            DeliveryOutcome::Failed { error } => {
                *counts.failed.entry(channel.clone()).or_default() += 1;
                counts.last_error.insert(channel, error.clone());
            }
        }
    }
    match &outcome {
        DeliveryOutcome::Delivered => tracing::info!(
            channel = item.channel.as_str(),
            alert = item.alert,
            delivery = item.id,
            "notification delivered"
        ),
        DeliveryOutcome::Retry { error, at } => tracing::warn!(
            channel = item.channel.as_str(),
            alert = item.alert,
            delivery = item.id,
            attempts,
            next = %at,
            "notification failed, will retry: {error}"
        ),
        DeliveryOutcome::Failed { error } => tracing::error!(
            channel = item.channel.as_str(),
            alert = item.alert,
            delivery = item.id,
            "notification given up: {error}"
        ),
    }
    let meta = Arc::clone(meta);
    let id = item.id;
    match tokio::task::spawn_blocking(move || meta.record_delivery(id, &outcome, Timestamp::now()))
        .await
    {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => tracing::error!("recording notification {id} failed: {e}"),
        Err(e) => tracing::error!("recording notification {id} failed: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_an_hour() {
        let secs: Vec<u64> = (1..=MAX_ATTEMPTS).map(|a| backoff(a).as_secs()).collect();
        assert_eq!(secs[..6], [10, 20, 40, 80, 160, 320]);
        assert_eq!(*secs.last().unwrap(), 3600);
        // The waits between the 12 attempts: what docs/notifications.md states.
        let total: u64 = (1..MAX_ATTEMPTS).map(|a| backoff(a).as_secs()).sum();
        assert_eq!(total, 3 * 3600 + 25 * 60 + 10);
    }
}
