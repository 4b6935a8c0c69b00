//! The notification outbox of the [`MetaStore`](super::MetaStore): one row per alert and
//! channel, queued in the transaction that raises the alert, then delivered, retried or given up
//! by the notifier. Rows stay after delivery or failure, so that nothing is lost silently.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use shieldwall_core::TenantId;

/// Where a notification is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryState {
    /// Waiting for its next attempt.
    Pending,
    /// Delivered.
    Delivered,
    /// Given up after its attempts; `last_error` says why.
    Failed,
}

impl DeliveryState {
    /// Its name: `pending`, `delivered` or `failed`.
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Pending => "pending",
            DeliveryState::Delivered => "delivered",
            DeliveryState::Failed => "failed",
        }
    }

    pub(crate) fn parse(text: &str) -> Option<DeliveryState> {
        match text {
            "pending" => Some(DeliveryState::Pending),
            "delivered" => Some(DeliveryState::Delivered),
            "failed" => Some(DeliveryState::Failed),
            _ => None,
        }
    }
}

/// One notification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxItem {
    /// Its id (the delivery id channels may use to drop duplicates).
    pub id: u64,
    /// The alert's tenant.
    pub tenant: TenantId,
    /// The alert.
    pub alert: u64,
    /// The channel's name.
    pub channel: String,
    /// Where it is.
    pub state: DeliveryState,
    /// Attempts made.
    pub attempts: u32,
    /// When the next attempt is due (pending).
    pub next_attempt_at: Timestamp,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    /// When it was queued.
    pub created_at: Timestamp,
    /// When it was delivered or given up.
    pub done_at: Option<Timestamp>,
}

/// What an attempt gave.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum DeliveryOutcome {
    /// Delivered.
    Delivered,
    /// Failed; try again at `at`.
    Retry {
        /// Why it failed.
        error: String,
        /// When to try again.
        at: Timestamp,
    },
    /// Failed for good.
    Failed {
        /// Why.
        error: String,
    },
}
