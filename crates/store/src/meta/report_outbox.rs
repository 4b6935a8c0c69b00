//! The report outbox of the [`MetaStore`](super::MetaStore): one row per mailing of a scheduled
//! report (schedule, due time, channel), queued once per due time, then delivered, retried or
//! given up by the server's report scheduler. Rows stay after delivery or failure.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use shieldwall_core::TenantId;

use super::MetaError;
use super::outbox::{DeliveryOutcome, DeliveryState};

/// The longest schedule or channel name a mailing may hold, in bytes.
pub const MAX_REPORT_NAME_BYTES: usize = 256;

/// The mailings of one due report, to queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewReportDelivery {
    /// The schedule's name (`[[report]] name`).
    pub schedule: String,
    /// The tenant the report is of.
    pub tenant: TenantId,
    /// When the report fell due; it covers the period ending then.
    pub due_at: Timestamp,
    /// The channels it goes to, one mailing each.
    pub channels: Vec<String>,
    /// When it is queued (and first due to be sent).
    pub queued_at: Timestamp,
}

impl NewReportDelivery {
    /// Checks the rules every implementation enforces before writing.
    pub fn validate(&self) -> Result<(), MetaError> {
        let invalid = |reason: String| Err(MetaError::Invalid { reason });
        let names = std::iter::once(("schedule", &self.schedule))
            .chain(self.channels.iter().map(|c| ("channel", c)));
        for (field, name) in names {
            if name.is_empty() || name.len() > MAX_REPORT_NAME_BYTES || name.contains('\0') {
                return invalid(format!(
                    "a report mailing's {field} must have 1 to {MAX_REPORT_NAME_BYTES} bytes and no NUL; got {name:?}"
                ));
            }
        }
        if self.channels.is_empty() {
            return invalid(format!(
                "report schedule {:?}: a mailing needs at least one channel",
                self.schedule
            ));
        }
        Ok(())
    }
}

/// One mailing of a scheduled report to one channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportDelivery {
    /// Its id (the delivery id a receiver may use to drop duplicates).
    pub id: u64,
    /// The schedule's name.
    pub schedule: String,
    /// The tenant the report is of.
    pub tenant: TenantId,
    /// When the report fell due.
    pub due_at: Timestamp,
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

/// Where scheduled reports wait to be mailed. Same failure contract as
/// [`MetaStore`](super::MetaStore).
pub trait ReportOutbox {
    /// Queues the mailings of a due report, one per channel, pending from `queued_at`. A
    /// (schedule, due time, channel) queued before is left as it is, so queueing twice is
    /// harmless. Returns how many mailings were new.
    fn queue_report(&self, report: &NewReportDelivery) -> Result<usize, MetaError>;

    /// The latest due time queued for a schedule, if any.
    fn last_report_due(&self, schedule: &str) -> Result<Option<Timestamp>, MetaError>;

    /// Pending mailings due at `now`, earliest first, at most `limit`.
    fn due_report_deliveries(
        &self,
        now: Timestamp,
        limit: usize,
    ) -> Result<Vec<ReportDelivery>, MetaError>;

    /// Takes a pending mailing due at `now` for an attempt: its next attempt moves to `until`.
    /// `false` when it is no longer pending or not due (another claimer took it first).
    fn claim_report_delivery(
        &self,
        id: u64,
        now: Timestamp,
        until: Timestamp,
    ) -> Result<bool, MetaError>;

    /// Records an attempt's outcome for a pending mailing ([`MetaError::ReportDeliveryDone`]
    /// when it is no longer pending) and returns it as changed.
    fn record_report_delivery(
        &self,
        id: u64,
        outcome: &DeliveryOutcome,
        at: Timestamp,
    ) -> Result<ReportDelivery, MetaError>;

    /// Mailings of a tenant (or all), newest first, at most `limit`.
    fn report_deliveries(
        &self,
        tenant: Option<&TenantId>,
        limit: usize,
    ) -> Result<Vec<ReportDelivery>, MetaError>;
}
