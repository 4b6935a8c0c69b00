//! Makes and mails scheduled reports (`[[report]]`, docs/console.md). Every [`TICK`], each
//! schedule's latest due time is queued in the report outbox, one mailing per channel, and the
//! mailings due are made and sent. A due time from before the server started is queued only
//! when the schedule has been queued before: a restart catches up the report it missed, while a
//! new schedule starts with its next due time. Only the latest missed report is caught up.
//! Failures are retried with the notifier's backoff and given up after its attempts; they stay
//! in the outbox with their error. Each report made is recorded in its tenant's audit trail.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use serde_json::json;
use shieldwall_core::Scope;
use shieldwall_notify::email::{Attachment, Mail};
use shieldwall_report::{Block, Report};
use shieldwall_store::meta::{
    AuditKind, AuditOutcome, DeliveryOutcome, NewReportDelivery, ReportDelivery,
};
use shieldwall_store::{EventStore, MetaStore};
use tokio_util::sync::CancellationToken;

use crate::access::{Origin, record};
use crate::notifier::{self, Channels, MAX_ATTEMPTS};
use crate::report_schedule::{Every, Format, Schedule};
use crate::reports::{self, ReportRequest};

/// How often schedules and the outbox are looked at.
pub const TICK: Duration = Duration::from_secs(30);
/// Mailings taken per round.
const BATCH: usize = 20;
/// How long an attempt holds its mailing: the longest a channel may take, and a margin.
const LEASE: Duration = Duration::from_secs(360);

/// Whether a schedule's latest due time `due` is to be queued now.
pub fn should_queue(due: Timestamp, last_queued: Option<Timestamp>, started: Timestamp) -> bool {
    match last_queued {
        Some(last) => last < due,
        None => due >= started,
    }
}

/// The scheduled reports of a server, with what they need to be made and sent.
pub struct Mailer {
    meta: Arc<dyn MetaStore>,
    events: Arc<dyn EventStore>,
    data_dir: PathBuf,
    channels: Arc<Channels>,
    schedules: Arc<Vec<Schedule>>,
    started: Timestamp,
}

/// What one round did, for the log and the tests.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct RoundOutcome {
    /// Mailings queued.
    pub queued: usize,
    /// Mailings sent.
    pub delivered: usize,
    /// Attempts that failed and will be retried.
    pub retried: usize,
    /// Mailings given up.
    pub failed: usize,
}

impl Mailer {
    /// A mailer for `schedules`, started now.
    pub fn new(
        meta: Arc<dyn MetaStore>,
        events: Arc<dyn EventStore>,
        data_dir: PathBuf,
        channels: Arc<Channels>,
        schedules: Arc<Vec<Schedule>>,
    ) -> Mailer {
        Mailer {
            meta,
            events,
            data_dir,
            channels,
            schedules,
            started: Timestamp::now(),
        }
    }

    /// When the mailer started: due times before it are not queued for a new schedule.
    pub fn started(&self) -> Timestamp {
        self.started
    }

    /// The schedules.
    pub fn schedules(&self) -> &[Schedule] {
        &self.schedules
    }

    /// Queues what fell due at `now` and sends the mailings due then. `now` is the round's
    /// time (the tests pass their own); leases and retry times count from it plus the time the
    /// round has taken, so that a long round never hands out a lease already over.
    pub async fn round(&self, now: Timestamp) -> RoundOutcome {
        let began = std::time::Instant::now();
        let later = |wait: Duration| now.checked_add(began.elapsed() + wait).unwrap_or(now);
        let mut outcome = RoundOutcome {
            queued: self.queue_due(now).await,
            ..RoundOutcome::default()
        };
        let meta = Arc::clone(&self.meta);
        let due = match blocking(move || meta.due_report_deliveries(now, BATCH)).await {
            Ok(due) => due,
            Err(e) => {
                tracing::error!("report outbox unreadable: {e}");
                return outcome;
            }
        };
        // One report per schedule and due time, whatever the number of channels.
        let mut groups: Vec<((String, Timestamp), Vec<ReportDelivery>)> = Vec::new();
        for delivery in due {
            let key = (delivery.schedule.clone(), delivery.due_at);
            match groups.iter_mut().find(|(k, _)| *k == key) {
                Some((_, list)) => list.push(delivery),
                None => groups.push((key, vec![delivery])),
            }
        }
        for ((schedule, due_at), deliveries) in groups {
            // Claimed first: a report is made (and read from the stores) only for mailings
            // this round holds.
            let mut claimed = Vec::new();
            for delivery in deliveries {
                if self.claim(&delivery, now, later(LEASE)).await {
                    claimed.push(delivery);
                }
            }
            let Some(first) = claimed.first() else {
                continue;
            };
            let made = match self.schedules.iter().find(|s| s.name == schedule) {
                Some(s) if s.tenant == first.tenant => {
                    let channels: Vec<String> = claimed.iter().map(|d| d.channel.clone()).collect();
                    self.make(s, due_at, &channels).await
                }
                Some(s) => Err((
                    false,
                    format!(
                        "report schedule {schedule:?} is now for tenant {}, not {}",
                        s.tenant, first.tenant
                    ),
                )),
                None => Err((
                    false,
                    format!("report schedule {schedule:?} is no longer configured"),
                )),
            };
            for delivery in claimed {
                match self.attempt(&delivery, &made, &later).await {
                    DeliveryOutcome::Delivered => outcome.delivered += 1,
                    DeliveryOutcome::Retry { .. } => outcome.retried += 1,
                    DeliveryOutcome::Failed { .. } => outcome.failed += 1,
                }
            }
        }
        outcome
    }

    /// Takes a mailing due at `now` for this round, until `until`.
    async fn claim(&self, delivery: &ReportDelivery, now: Timestamp, until: Timestamp) -> bool {
        let meta = Arc::clone(&self.meta);
        let id = delivery.id;
        blocking(move || meta.claim_report_delivery(id, now, until))
            .await
            .unwrap_or_else(|e| {
                tracing::error!(mailing = id, "report not sent: cannot claim it: {e}");
                false
            })
    }

    async fn queue_due(&self, now: Timestamp) -> usize {
        let mut queued = 0;
        for schedule in self.schedules.iter() {
            let due = match schedule.latest_due(now) {
                Ok(due) => due,
                Err(e) => {
                    tracing::error!(
                        schedule = schedule.name.as_str(),
                        "no due time for the report: {e}"
                    );
                    continue;
                }
            };
            let (meta, report, started) = (
                Arc::clone(&self.meta),
                NewReportDelivery {
                    schedule: schedule.name.clone(),
                    tenant: schedule.tenant.clone(),
                    due_at: due,
                    channels: schedule.channels.clone(),
                    queued_at: now,
                },
                self.started,
            );
            let result = blocking(move || {
                let last = meta.last_report_due(&report.schedule)?;
                if should_queue(report.due_at, last, started) {
                    meta.queue_report(&report)
                } else {
                    Ok(0)
                }
            })
            .await;
            match result {
                Ok(0) => {}
                Ok(n) => {
                    tracing::info!(
                        schedule = schedule.name.as_str(),
                        due = %due,
                        "report due: {n} mailing(s) queued"
                    );
                    queued += n;
                }
                Err(e) => {
                    tracing::error!(schedule = schedule.name.as_str(), "report not queued: {e}")
                }
            }
        }
        queued
    }

    /// Makes the report of `schedule` due at `due_at` and its mail for `channels`, and records
    /// it in the tenant's audit trail. An error says whether a retry may help.
    async fn make(
        &self,
        schedule: &Schedule,
        due_at: Timestamp,
        channels: &[String],
    ) -> Result<Mail, (bool, String)> {
        let since = schedule
            .previous_due(due_at)
            .map_err(|e| (false, format!("no previous due time: {e}")))?;
        let request = ReportRequest {
            tenant: schedule.tenant.clone(),
            period: schedule.period(),
            sections: schedule.sections.clone(),
            now: due_at,
            generated_at: Timestamp::now(),
            since: Some(since),
        };
        let (meta, events, data_dir) = (
            Arc::clone(&self.meta),
            Arc::clone(&self.events),
            self.data_dir.clone(),
        );
        let formats = schedule.formats.clone();
        let name = schedule.name.clone();
        let detail = json!({
            "schedule": schedule.name,
            "due_at": due_at,
            "since": since,
            "period": request.period,
            "sections": request.sections,
            "formats": schedule.formats,
            "channels": channels,
        });
        let made = tokio::task::spawn_blocking(move || {
            // A report that cannot be built may be built later (the stores may be busy); one
            // that cannot be rendered never will.
            let files = reports::build(meta.as_ref(), events.as_ref(), &data_dir, &request)
                .map_err(|p| (true, p.detail))
                .and_then(|report| {
                    let tenant = request.tenant.to_string();
                    let files = render(&report, &formats, &name, &tenant, due_at)
                        .map_err(|e| (false, e))?;
                    Ok((report, files))
                });
            let origin = Origin {
                address: "local".to_owned(),
                actor: format!("schedule:{name}"),
            };
            let outcome = match &files {
                Ok(_) => AuditOutcome::Success,
                Err(_) => AuditOutcome::Failure,
            };
            let audit = record(
                Scope::Tenant(request.tenant.clone()),
                Timestamp::now(),
                AuditKind::Search,
                &origin,
                "report",
                "scheduled",
                outcome,
            )
            .with_detail(detail);
            // A report whose reading cannot be recorded is not sent.
            meta.append_audit(&audit)
                .map_err(|e| (true, format!("the audit record could not be kept: {e}")))?;
            files
        })
        .await;
        let (report, files) = match made {
            Ok(made) => made?,
            Err(e) => return Err((true, e.to_string())),
        };
        Ok(Mail {
            delivery: String::new(),
            subject: format!(
                "Shieldwall {} report of {} ({}), due {}",
                match schedule.every {
                    Every::Daily => "daily",
                    Every::Weekly => "weekly",
                },
                schedule.tenant,
                schedule.name,
                due_at.strftime("%Y-%m-%d %H:%M UTC")
            ),
            text: text_of(&report, schedule, &files),
            attachments: files,
        })
    }

    async fn attempt(
        &self,
        delivery: &ReportDelivery,
        made: &Result<Mail, (bool, String)>,
        later: &impl Fn(Duration) -> Timestamp,
    ) -> DeliveryOutcome {
        let result = match (made, self.channels.get(&delivery.channel)) {
            (Err(e), _) => Err(e.clone()),
            (Ok(_), None) => Err((
                false,
                format!("channel {:?} is no longer configured", delivery.channel),
            )),
            (Ok(mail), Some(channel)) => {
                let mail = Mail {
                    delivery: format!("report-{}", delivery.id),
                    ..mail.clone()
                };
                channel
                    .deliver_mail(&mail)
                    .await
                    .map_err(|e| (e.retryable, e.message))
            }
        };
        let attempts = delivery.attempts + 1;
        let outcome = match result {
            Ok(()) => DeliveryOutcome::Delivered,
            Err((true, error)) if attempts < MAX_ATTEMPTS => DeliveryOutcome::Retry {
                error,
                at: later(notifier::backoff(attempts)),
            },
            Err((_, error)) => DeliveryOutcome::Failed {
                error: format!("{error} (after {attempts} attempt(s))"),
            },
        };
        let (schedule, channel) = (delivery.schedule.as_str(), delivery.channel.as_str());
        match &outcome {
            DeliveryOutcome::Delivered => {
                tracing::info!(schedule, channel, mailing = delivery.id, "report mailed");
            }
            DeliveryOutcome::Retry { error, at } => tracing::warn!(
                schedule,
                channel,
                mailing = delivery.id,
                attempts,
                next = %at,
                "report not mailed, will retry: {error}"
            ),
            DeliveryOutcome::Failed { error } => tracing::error!(
                schedule,
                channel,
                mailing = delivery.id,
                "report mailing given up: {error}"
            ),
        }
        let meta = Arc::clone(&self.meta);
        let (id, recorded) = (delivery.id, outcome.clone());
        if let Err(e) =
            blocking(move || meta.record_report_delivery(id, &recorded, Timestamp::now())).await
        {
            tracing::error!("recording report mailing {id} failed: {e}");
        }
        outcome
    }
}

/// Runs store work on the blocking pool; its error, or the task's failure, as text.
async fn blocking<T: Send + 'static, E: std::fmt::Display>(
    work: impl FnOnce() -> Result<T, E> + Send + 'static,
) -> Result<T, String> {
    match tokio::task::spawn_blocking(move || work().map_err(|e| e.to_string())).await {
        Ok(result) => result,
        Err(e) => Err(e.to_string()),
    }
}

/// Runs rounds every [`TICK`] until `stop`, which also ends a round under way (its claimed
/// mailings are retried when their lease ends).
pub async fn run(mailer: Arc<Mailer>, stop: CancellationToken) {
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            _ = mailer.round(Timestamp::now()) => {}
        }
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(TICK) => {}
        }
    }
}

/// The report's files, as the schedule asks.
fn render(
    report: &Report,
    formats: &[Format],
    schedule: &str,
    tenant: &str,
    due_at: Timestamp,
) -> Result<Vec<Attachment>, String> {
    let stem = format!(
        "shieldwall-{tenant}-{schedule}-{}",
        due_at.strftime("%Y%m%d-%H%M")
    );
    formats
        .iter()
        .map(|format| {
            Ok(match format {
                Format::Pdf => Attachment {
                    filename: format!("{stem}.pdf"),
                    content_type: "application/pdf",
                    bytes: shieldwall_report::pdf::render(report)
                        .map_err(|e| format!("the PDF could not be made: {e}"))?,
                },
                Format::Html => Attachment {
                    filename: format!("{stem}.html"),
                    content_type: "text/html",
                    bytes: shieldwall_report::html::render(report).into_bytes(),
                },
            })
        })
        .collect()
}

/// The mail's text: what the report is, its headline figures, and the files.
fn text_of(report: &Report, schedule: &Schedule, files: &[Attachment]) -> String {
    let mut text = format!("{}\n", report.title);
    for line in &report.subtitle {
        text.push_str(line);
        text.push('\n');
    }
    text.push_str(&format!(
        "Schedule {:?}: {}.\n",
        schedule.name,
        schedule.describe()
    ));
    for section in &report.sections {
        for block in &section.blocks {
            if let Block::Figures(figures) = block {
                text.push_str(&format!("\n{}\n", section.heading));
                for figure in figures {
                    text.push_str(&format!(
                        "  {}: {}\n",
                        figure.label,
                        shieldwall_report::number(figure.value)
                    ));
                }
            }
        }
    }
    text.push_str("\nAttached:\n");
    for file in files {
        text.push_str(&format!(
            "  {} ({} bytes)\n",
            file.filename,
            file.bytes.len()
        ));
    }
    text
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn t(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    #[test]
    fn a_new_schedule_starts_with_its_next_due_time_and_a_restart_catches_up() {
        let started = t("2026-11-30T10:00:00Z");
        // Never queued: a due time before the start is not sent, one after it is.
        assert!(!should_queue(t("2026-11-30T06:00:00Z"), None, started));
        assert!(should_queue(t("2026-12-01T06:00:00Z"), None, started));
        // Queued before: the latest due time is caught up, even from before the start.
        assert!(should_queue(
            t("2026-11-30T06:00:00Z"),
            Some(t("2026-11-28T06:00:00Z")),
            started
        ));
        // Never twice, never an older one.
        assert!(!should_queue(
            t("2026-11-30T06:00:00Z"),
            Some(t("2026-11-30T06:00:00Z")),
            started
        ));
        assert!(!should_queue(
            t("2026-11-29T06:00:00Z"),
            Some(t("2026-11-30T06:00:00Z")),
            started
        ));
    }
}
