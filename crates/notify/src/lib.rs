//! Alert notification channels (`docs/notifications.md`): webhooks (HTTPS POST of the alert as
//! JSON, HMAC-SHA256 signed), e-mail (SMTP submission with STARTTLS), and syslog over TLS
//! (RFC 5425). TLS is required unless a channel explicitly allows plain text, and targets on
//! loopback or private addresses are refused unless a channel explicitly allows them. Delivery
//! and its retries are the caller's (the server's outbox); a channel makes one attempt and says
//! whether another may succeed.

pub mod address;
pub mod email;
pub mod settings;
pub mod syslog;
pub mod tls;
pub mod webhook;

use std::fmt;

use serde_json::Value;
use shieldwall_core::Severity;

pub use settings::{Channel, ChannelKind, ChannelSettings};

/// A channel's settings are wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

/// An attempt failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct DeliveryError {
    /// Whether a later attempt may succeed.
    pub retryable: bool,
    /// What went wrong.
    pub message: String,
}

impl DeliveryError {
    /// A failure worth another attempt.
    pub fn retry(message: String) -> DeliveryError {
        DeliveryError {
            retryable: true,
            message,
        }
    }

    /// A failure no retry can mend (a refused target).
    pub fn permanent(message: String) -> DeliveryError {
        DeliveryError {
            retryable: false,
            message,
        }
    }
}

impl fmt::Display for DeliveryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// Runs one attempt with a time limit; `what` names the target in the error.
pub(crate) async fn within(
    timeout: std::time::Duration,
    what: &str,
    attempt: impl std::future::Future<Output = Result<(), DeliveryError>>,
) -> Result<(), DeliveryError> {
    tokio::time::timeout(timeout, attempt)
        .await
        .unwrap_or_else(|_| {
            Err(DeliveryError::retry(format!(
                "{what}: no answer within {} s",
                timeout.as_secs()
            )))
        })
}

/// What is sent about one alert.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    /// The outbox id: the same on every retry, so that a receiver can drop duplicates.
    pub delivery: u64,
    /// The alert's severity.
    pub severity: Severity,
    /// One line: severity, title, tenant.
    pub subject: String,
    /// The alert, as JSON.
    pub alert: Value,
    /// The alert for people: its fields, one per line.
    pub text: String,
}
