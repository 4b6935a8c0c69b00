//! The alert records of the [`MetaStore`](super::MetaStore): what the alert pipeline raises
//! ([`NewAlert`], merged into an open alert with the same deduplication key within its window),
//! what is stored ([`StoredAlert`]), how an analyst changes one ([`AlertChange`]), and the
//! history of every change ([`AlertHistoryEntry`]), which is append-only.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use shieldwall_core::{AlertState, RecordId, Severity, TenantId};

use super::MetaError;

/// The most event ids one alert keeps (the count goes on beyond it).
pub const MAX_ALERT_EVENTS: usize = 1000;
/// The longest comment, resolution, title or actor name accepted, in bytes.
pub const MAX_ALERT_TEXT: usize = 16 * 1024;

/// What raised an alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertSource {
    /// A detection rule matched one event.
    Detection,
    /// A correlation rule fired over several.
    Correlation,
    /// A baseline check that passed (or was first seen) now fails.
    Baseline,
}

impl AlertSource {
    /// The name stored and shown: `detection`, `correlation` or `baseline`.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertSource::Detection => "detection",
            AlertSource::Correlation => "correlation",
            AlertSource::Baseline => "baseline",
        }
    }

    pub(crate) fn parse(text: &str) -> Option<AlertSource> {
        match text {
            "detection" => Some(AlertSource::Detection),
            "correlation" => Some(AlertSource::Correlation),
            "baseline" => Some(AlertSource::Baseline),
            _ => None,
        }
    }
}

/// An alert as the pipeline raises it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewAlert {
    /// The tenant.
    pub tenant: TenantId,
    /// Alerts with the same key merge while the earlier one is not closed and the new one falls
    /// within `dedup_window_secs` of its first or last event.
    pub dedup_key: String,
    /// The merge window, in seconds of event time.
    pub dedup_window_secs: u64,
    /// What raised it.
    pub source: AlertSource,
    /// The rule's id (its title when it has none).
    pub rule_id: String,
    /// The rule's title.
    pub title: String,
    /// The rule's author, credited as the Detection Rule License asks.
    pub author: Option<String>,
    /// The rule's licence.
    pub license: Option<String>,
    /// The rule's level as written (`high`).
    pub level: String,
    /// The severity the level maps to.
    pub severity: Severity,
    /// ATT&CK tags of the rule (`attack.t1110`, `attack.credential_access`).
    pub attack: Vec<String>,
    /// CCM v4.0.13 controls the techniques map to.
    pub controls: Vec<String>,
    /// The group-by (or deduplication) field values.
    pub group: BTreeMap<String, String>,
    /// The matching events.
    pub events: Vec<RecordId>,
    /// How many matches this record stands for (at least 1).
    pub count: u64,
    /// When the (last) matching event happened.
    pub time: Timestamp,
    /// When the pipeline raised it.
    pub raised_at: Timestamp,
    /// The notification channels to notify when it is raised (not when it merges).
    #[serde(default)]
    pub notify: Vec<String>,
}

impl NewAlert {
    /// The rules every implementation checks before writing.
    pub fn validate(&self) -> Result<(), MetaError> {
        let invalid = |reason: String| Err(MetaError::InvalidAlert { reason });
        for (name, text) in [
            ("dedup_key", &self.dedup_key),
            ("rule_id", &self.rule_id),
            ("title", &self.title),
            ("level", &self.level),
        ] {
            if text.is_empty() || text.len() > MAX_ALERT_TEXT || text.contains('\0') {
                return invalid(format!(
                    "{name} must be 1 to {MAX_ALERT_TEXT} bytes without NUL characters"
                ));
            }
        }
        if self.count == 0 || i64::try_from(self.count).is_err() {
            return invalid(format!(
                "count {} is not a positive 64-bit integer",
                self.count
            ));
        }
        if i64::try_from(self.dedup_window_secs).is_err() {
            return invalid("dedup_window_secs is too large".into());
        }
        if self
            .notify
            .iter()
            .any(|c| c.is_empty() || c.len() > 256 || c.contains('\0'))
        {
            return invalid(
                "a notification channel name must be 1 to 256 bytes without NUL".into(),
            );
        }
        Ok(())
    }
}

/// A stored alert.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredAlert {
    /// Its id: positive, unique in the store, larger for later alerts.
    pub id: u64,
    /// The tenant.
    pub tenant: TenantId,
    /// What raised it.
    pub source: AlertSource,
    /// The rule's id.
    pub rule_id: String,
    /// The rule's title.
    pub title: String,
    /// The rule's author.
    pub author: Option<String>,
    /// The rule's licence.
    pub license: Option<String>,
    /// The rule's level.
    pub level: String,
    /// Severity.
    pub severity: Severity,
    /// ATT&CK tags.
    pub attack: Vec<String>,
    /// CCM v4.0.13 controls.
    pub controls: Vec<String>,
    /// Group-by values.
    pub group: BTreeMap<String, String>,
    /// The first [`MAX_ALERT_EVENTS`] matching events.
    pub events: Vec<RecordId>,
    /// How many matches were merged into it.
    pub count: u64,
    /// Time of the earliest matching event.
    pub first_seen: Timestamp,
    /// Time of the latest matching event.
    pub last_seen: Timestamp,
    /// Handling state.
    pub state: AlertState,
    /// Who it is assigned to.
    pub assignee: Option<String>,
    /// How it was closed.
    pub resolution: Option<String>,
    /// When it was raised.
    pub created_at: Timestamp,
    /// When it last changed (a merge or an analyst's change).
    pub updated_at: Timestamp,
}

/// What [`MetaStore::raise_alerts`](super::MetaStore::raise_alerts) did with one new alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertOutcome {
    /// The alert it raised or merged into.
    pub id: u64,
    /// Whether it raised a new alert (false: merged).
    pub raised: bool,
}

/// An analyst's change to an alert.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum AlertAction {
    /// new to acknowledged.
    Acknowledge,
    /// new or acknowledged to closed, with how it was resolved.
    Close {
        /// The resolution (not empty).
        resolution: String,
    },
    /// closed back to acknowledged.
    Reopen,
    /// Sets or clears the assignee.
    Assign {
        /// Who; `None` unassigns.
        assignee: Option<String>,
    },
    /// Adds a comment.
    Comment {
        /// The text (not empty).
        text: String,
    },
}

impl AlertAction {
    /// The name recorded in the history.
    pub fn name(&self) -> &'static str {
        match self {
            AlertAction::Acknowledge => "acknowledged",
            AlertAction::Close { .. } => "closed",
            AlertAction::Reopen => "reopened",
            AlertAction::Assign { .. } => "assigned",
            AlertAction::Comment { .. } => "commented",
        }
    }

    /// The text recorded with it.
    pub fn detail(&self) -> Option<&str> {
        match self {
            AlertAction::Close { resolution } => Some(resolution),
            AlertAction::Assign { assignee } => assignee.as_deref(),
            AlertAction::Comment { text } => Some(text),
            AlertAction::Acknowledge | AlertAction::Reopen => None,
        }
    }

    /// The state after the action from `state`, or why it is not allowed.
    pub fn next_state(&self, state: AlertState) -> Result<AlertState, String> {
        use AlertState::{Acknowledged, Closed, New};
        match (self, state) {
            (AlertAction::Acknowledge, New) => Ok(Acknowledged),
            (AlertAction::Acknowledge, s) => {
                Err(format!("cannot acknowledge an alert that is {}", name(s)))
            }
            (AlertAction::Close { .. }, New | Acknowledged) => Ok(Closed),
            (AlertAction::Close { .. }, Closed) => Err("the alert is already closed".into()),
            (AlertAction::Reopen, Closed) => Ok(Acknowledged),
            (AlertAction::Reopen, s) => Err(format!("cannot reopen an alert that is {}", name(s))),
            (AlertAction::Assign { .. } | AlertAction::Comment { .. }, s) => Ok(s),
        }
    }
}

/// The word for a state, as stored and shown.
pub fn name(state: AlertState) -> &'static str {
    match state {
        AlertState::New => "new",
        AlertState::Acknowledged => "acknowledged",
        AlertState::Closed => "closed",
    }
}

/// A state from its word.
pub fn parse_state(text: &str) -> Option<AlertState> {
    match text {
        "new" => Some(AlertState::New),
        "acknowledged" => Some(AlertState::Acknowledged),
        "closed" => Some(AlertState::Closed),
        _ => None,
    }
}

/// A change, with who made it and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertChange {
    /// What.
    #[serde(flatten)]
    pub action: AlertAction,
    /// Who (a user name, `cli`...; not empty).
    pub actor: String,
    /// When.
    pub at: Timestamp,
}

impl AlertChange {
    /// The rules every implementation checks before writing.
    pub fn validate(&self) -> Result<(), MetaError> {
        let invalid = |reason: String| Err(MetaError::InvalidAlert { reason });
        let bad_text = |t: &str| t.len() > MAX_ALERT_TEXT || t.contains('\0');
        if self.actor.trim().is_empty() || bad_text(&self.actor) {
            return invalid("the actor must be named (at most 16 KiB, no NUL)".into());
        }
        match &self.action {
            AlertAction::Close { resolution } if resolution.trim().is_empty() => {
                invalid("closing an alert needs a resolution".into())
            }
            AlertAction::Comment { text } if text.trim().is_empty() => {
                invalid("a comment needs text".into())
            }
            action if action.detail().is_some_and(bad_text) => invalid(format!(
                "the text is longer than {MAX_ALERT_TEXT} bytes or holds NUL"
            )),
            _ => Ok(()),
        }
    }
}

/// One recorded change of an alert.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertHistoryEntry {
    /// Its id, larger for later entries.
    pub id: u64,
    /// The alert.
    pub alert: u64,
    /// When.
    pub at: Timestamp,
    /// Who (`shieldwall` for the pipeline).
    pub actor: String,
    /// `raised`, `acknowledged`, `closed`, `reopened`, `assigned`, `commented`.
    pub action: String,
    /// The resolution, assignee or comment.
    pub detail: Option<String>,
}

/// Which alerts [`MetaStore::alerts`](super::MetaStore::alerts) lists, newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AlertFilter {
    /// Only this tenant's.
    pub tenant: Option<TenantId>,
    /// Only in this state.
    pub state: Option<AlertState>,
    /// Only of this rule.
    pub rule_id: Option<String>,
    /// Only of this severity or higher.
    pub min_severity: Option<Severity>,
    /// Only with an id below this (the next page after the last id seen).
    pub before: Option<u64>,
    /// At most this many.
    pub limit: usize,
}

/// The severity rank stored for filtering (1 info to 5 critical).
pub(crate) fn severity_rank(severity: Severity) -> i64 {
    i64::from(severity.ocsf_id())
}

/// A severity from its rank.
pub(crate) fn severity_from_rank(rank: i64) -> Option<Severity> {
    [
        Severity::Info,
        Severity::Low,
        Severity::Medium,
        Severity::High,
        Severity::Critical,
    ]
    .into_iter()
    .find(|s| severity_rank(*s) == rank)
}

/// What [`MetaStore::alert_summary`](super::MetaStore::alert_summary) counts: one tenant's
/// alerts raised in `[from, to)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SummaryRequest {
    /// The tenant.
    pub tenant: TenantId,
    /// Start of the period.
    pub from: Timestamp,
    /// End of the period, exclusive.
    pub to: Timestamp,
    /// Length of the histogram's intervals, counted from `from` (at least 1 s).
    pub interval_secs: u64,
    /// How many rules and ATT&CK techniques to list (at most 1000).
    pub top: usize,
}

/// Counts over a tenant's alerts raised in a period: the figures of overviews and reports.
/// Severities are indexed 0 (info) to 4 (critical), states 0 (new), 1 (acknowledged), 2 (closed).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct AlertSummary {
    /// Alerts raised in the period.
    pub total: u64,
    /// Of those, by severity.
    pub by_severity: [u64; 5],
    /// Of those, by their state now.
    pub by_state: [u64; 3],
    /// The tenant's alerts in the state new, raised at any time: the queue not yet handled.
    pub unhandled: u64,
    /// Start of each interval holding alerts, with its counts by severity, in time order.
    pub buckets: Vec<(Timestamp, [u64; 5])>,
    /// The rules that raised the most: rule id, title, alerts.
    pub top_rules: Vec<(String, String, u64)>,
    /// The ATT&CK tags carried by the most alerts, with their counts.
    pub attack: Vec<(String, u64)>,
}

/// The severities in the order of [`AlertSummary`]'s arrays.
pub const SUMMARY_SEVERITIES: [Severity; 5] = [
    Severity::Info,
    Severity::Low,
    Severity::Medium,
    Severity::High,
    Severity::Critical,
];

/// The states in the order of [`AlertSummary::by_state`].
pub const SUMMARY_STATES: [AlertState; 3] = [
    AlertState::New,
    AlertState::Acknowledged,
    AlertState::Closed,
];
