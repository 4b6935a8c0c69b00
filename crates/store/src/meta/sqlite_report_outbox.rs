//! The [`ReportOutbox`] of [`SqliteMetaStore`].

use jiff::Timestamp;
use rusqlite::{OptionalExtension, Row, params};
use shieldwall_core::TenantId;

use super::outbox::{DeliveryOutcome, DeliveryState};
use super::report_outbox::{NewReportDelivery, ReportDelivery, ReportOutbox};
use super::sqlite::format_time;
use super::sqlite_alerts::{claim_pending, record_outcome};
use super::{MetaError, SqliteMetaStore};

const COLUMNS: &str = "id, schedule, tenant, due_at, channel, state, attempts, next_attempt_at, \
     last_error, created_at, done_at";

type Raw = (
    i64,
    String,
    String,
    String,
    String,
    String,
    i64,
    String,
    Option<String>,
    String,
    Option<String>,
);

fn raw(r: &Row<'_>) -> rusqlite::Result<Raw> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
        r.get(7)?,
        r.get(8)?,
        r.get(9)?,
        r.get(10)?,
    ))
}

fn limit_param(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

impl SqliteMetaStore {
    fn decode_report_delivery(&self, raw: Raw) -> Result<ReportDelivery, MetaError> {
        let (id, schedule, tenant, due, channel, state, attempts, next, last_error, created, done) =
            raw;
        let bad = |detail: String| self.corrupt("report_outbox", id, detail);
        let time = |column: &str, text: &str| self.time_column("report_outbox", id, column, text);
        Ok(ReportDelivery {
            id: u64::try_from(id).map_err(|_| bad("negative id".into()))?,
            schedule,
            tenant: TenantId::new(tenant).map_err(|e| bad(e.to_string()))?,
            due_at: time("due_at", &due)?,
            channel,
            state: DeliveryState::parse(&state).ok_or_else(|| bad(format!("state {state:?}")))?,
            attempts: u32::try_from(attempts).map_err(|_| bad(format!("attempts {attempts}")))?,
            next_attempt_at: time("next_attempt_at", &next)?,
            last_error,
            created_at: time("created_at", &created)?,
            done_at: done.map(|d| time("done_at", &d)).transpose()?,
        })
    }

    fn report_delivery_row(&self, row: i64) -> Result<Option<ReportDelivery>, MetaError> {
        let raw = self.with_conn(|conn| {
            conn.prepare_cached(&format!(
                "SELECT {COLUMNS} FROM report_outbox WHERE id = ?1"
            ))?
            .query_row(params![row], raw)
            .optional()
        })?;
        raw.map(|r| self.decode_report_delivery(r)).transpose()
    }
}

impl ReportOutbox for SqliteMetaStore {
    fn queue_report(&self, report: &NewReportDelivery) -> Result<usize, MetaError> {
        report.validate()?;
        let (due, queued) = (format_time(report.due_at), format_time(report.queued_at));
        self.write(|tx| {
            let mut added = 0;
            let mut insert = tx
                .prepare_cached(
                    "INSERT OR IGNORE INTO report_outbox \
                     (schedule, tenant, due_at, channel, state, next_attempt_at, created_at) \
                     VALUES (?1, ?2, ?3, ?4, 'pending', ?5, ?5)",
                )
                .map_err(|e| self.sql(e))?;
            for channel in &report.channels {
                added += insert
                    .execute(params![
                        report.schedule,
                        report.tenant.as_str(),
                        due,
                        channel,
                        queued
                    ])
                    .map_err(|e| self.sql(e))?;
            }
            Ok(added)
        })
    }

    fn last_report_due(&self, schedule: &str) -> Result<Option<Timestamp>, MetaError> {
        let text: Option<String> = self.with_conn(|conn| {
            conn.prepare_cached("SELECT max(due_at) FROM report_outbox WHERE schedule = ?1")?
                .query_row(params![schedule], |r| r.get(0))
        })?;
        text.map(|t| self.time_column("report_outbox", 0, "due_at", &t))
            .transpose()
    }

    fn due_report_deliveries(
        &self,
        now: Timestamp,
        limit: usize,
    ) -> Result<Vec<ReportDelivery>, MetaError> {
        let raws = self.with_conn(|conn| {
            let mut statement = conn.prepare_cached(&format!(
                "SELECT {COLUMNS} FROM report_outbox WHERE state = 'pending' \
                 AND next_attempt_at <= ?1 ORDER BY next_attempt_at, id LIMIT ?2"
            ))?;
            let rows = statement.query_map(params![format_time(now), limit_param(limit)], raw)?;
            rows.collect::<rusqlite::Result<Vec<_>>>()
        })?;
        raws.into_iter()
            .map(|r| self.decode_report_delivery(r))
            .collect()
    }

    fn claim_report_delivery(
        &self,
        id: u64,
        now: Timestamp,
        until: Timestamp,
    ) -> Result<bool, MetaError> {
        let Ok(row) = i64::try_from(id) else {
            return Ok(false);
        };
        let changed =
            self.with_conn(|conn| claim_pending(conn, "report_outbox", row, Some(now), until))?;
        Ok(changed == 1)
    }

    fn record_report_delivery(
        &self,
        id: u64,
        outcome: &DeliveryOutcome,
        at: Timestamp,
    ) -> Result<ReportDelivery, MetaError> {
        let missing = || MetaError::NoSuchReportDelivery { id };
        let row = i64::try_from(id).map_err(|_| missing())?;
        let changed =
            self.with_conn(|conn| record_outcome(conn, "report_outbox", row, outcome, at))?;
        let delivery = self.report_delivery_row(row)?.ok_or_else(missing)?;
        if changed == 0 {
            return Err(MetaError::ReportDeliveryDone {
                id,
                state: delivery.state.as_str().to_owned(),
            });
        }
        Ok(delivery)
    }

    fn report_deliveries(
        &self,
        tenant: Option<&TenantId>,
        limit: usize,
    ) -> Result<Vec<ReportDelivery>, MetaError> {
        let raws = self.with_conn(|conn| {
            let mut statement = conn.prepare_cached(&format!(
                "SELECT {COLUMNS} FROM report_outbox WHERE (?1 IS NULL OR tenant = ?1) \
                 ORDER BY id DESC LIMIT ?2"
            ))?;
            let rows = statement.query_map(
                params![tenant.map(TenantId::as_str), limit_param(limit)],
                raw,
            )?;
            rows.collect::<rusqlite::Result<Vec<_>>>()
        })?;
        raws.into_iter()
            .map(|r| self.decode_report_delivery(r))
            .collect()
    }
}
