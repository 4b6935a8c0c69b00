//! The alert methods of [`SqliteMetaStore`](super::SqliteMetaStore): raising (with merges of
//! repeats) in one transaction per batch, listing, changing with history.

use std::collections::BTreeMap;

use jiff::Timestamp;
use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior, params};
use shieldwall_core::{RecordId, TenantId};

use super::alerts::{
    AlertChange, AlertFilter, AlertHistoryEntry, AlertOutcome, AlertSource, MAX_ALERT_EVENTS,
    NewAlert, StoredAlert, name, parse_state, severity_from_rank, severity_rank,
};
use super::outbox::{DeliveryOutcome, DeliveryState, OutboxItem};
use super::sqlite::{format_time, parse_time};
use super::{MetaError, SqliteMetaStore};

/// The actor the history names for what the pipeline does.
pub const PIPELINE_ACTOR: &str = "shieldwall";

const COLUMNS: &str = "id, tenant, source, rule_id, title, author, license, level, severity, \
    attack, controls, group_values, events, event_count, first_seen, last_seen, state, assignee, \
    resolution, created_at, updated_at";

/// An alert row as SQLite gives it, before checking.
struct RawAlert {
    id: i64,
    tenant: String,
    source: String,
    rule_id: String,
    title: String,
    author: Option<String>,
    license: Option<String>,
    level: String,
    severity: i64,
    attack: String,
    controls: String,
    group: String,
    events: String,
    count: i64,
    first_seen: String,
    last_seen: String,
    state: String,
    assignee: Option<String>,
    resolution: Option<String>,
    created_at: String,
    updated_at: String,
}

impl RawAlert {
    fn from_row(row: &Row<'_>) -> rusqlite::Result<RawAlert> {
        Ok(RawAlert {
            id: row.get(0)?,
            tenant: row.get(1)?,
            source: row.get(2)?,
            rule_id: row.get(3)?,
            title: row.get(4)?,
            author: row.get(5)?,
            license: row.get(6)?,
            level: row.get(7)?,
            severity: row.get(8)?,
            attack: row.get(9)?,
            controls: row.get(10)?,
            group: row.get(11)?,
            events: row.get(12)?,
            count: row.get(13)?,
            first_seen: row.get(14)?,
            last_seen: row.get(15)?,
            state: row.get(16)?,
            assignee: row.get(17)?,
            resolution: row.get(18)?,
            created_at: row.get(19)?,
            updated_at: row.get(20)?,
        })
    }
}

fn json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "null".to_owned())
}

impl SqliteMetaStore {
    fn decode_alert(&self, raw: RawAlert) -> Result<StoredAlert, MetaError> {
        let row = raw.id;
        let bad = |detail: String| self.corrupt("alerts", row, detail);
        let time = |column: &str, text: &str| self.time_column("alerts", row, column, text);
        let list = |column: &str, text: &str| -> Result<Vec<String>, MetaError> {
            serde_json::from_str(text).map_err(|e| bad(format!("{column}: {e}")))
        };
        Ok(StoredAlert {
            id: u64::try_from(raw.id).map_err(|_| bad("negative id".into()))?,
            tenant: TenantId::new(raw.tenant).map_err(|e| bad(e.to_string()))?,
            source: AlertSource::parse(&raw.source)
                .ok_or_else(|| bad(format!("source {:?}", raw.source)))?,
            rule_id: raw.rule_id,
            title: raw.title,
            author: raw.author,
            license: raw.license,
            level: raw.level,
            severity: severity_from_rank(raw.severity)
                .ok_or_else(|| bad(format!("severity {}", raw.severity)))?,
            attack: list("attack", &raw.attack)?,
            controls: list("controls", &raw.controls)?,
            group: serde_json::from_str(&raw.group)
                .map_err(|e| bad(format!("group_values: {e}")))?,
            events: serde_json::from_str::<Vec<RecordId>>(&raw.events)
                .map_err(|e| bad(format!("events: {e}")))?,
            count: u64::try_from(raw.count).map_err(|_| bad("negative event_count".into()))?,
            first_seen: time("first_seen", &raw.first_seen)?,
            last_seen: time("last_seen", &raw.last_seen)?,
            state: parse_state(&raw.state).ok_or_else(|| bad(format!("state {:?}", raw.state)))?,
            assignee: raw.assignee,
            resolution: raw.resolution,
            created_at: time("created_at", &raw.created_at)?,
            updated_at: time("updated_at", &raw.updated_at)?,
        })
    }

    pub(crate) fn raise_alerts_impl(
        &self,
        alerts: &[NewAlert],
    ) -> Result<Vec<AlertOutcome>, MetaError> {
        for alert in alerts {
            alert.validate()?;
        }
        let mut conn = self.lock()?;
        let err = |e| super::sqlite::classify(self.path(), e);
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(err)?;
        let mut out = Vec::with_capacity(alerts.len());
        for alert in alerts {
            out.push(raise_one(&tx, alert).map_err(err)?);
        }
        tx.commit().map_err(err)?;
        Ok(out)
    }

    pub(crate) fn alert_impl(
        &self,
        tenant: &TenantId,
        id: u64,
    ) -> Result<Option<StoredAlert>, MetaError> {
        let Ok(id) = i64::try_from(id) else {
            return Ok(None);
        };
        let raw = self.with_conn(|conn| {
            conn.prepare_cached(&format!(
                "SELECT {COLUMNS} FROM alerts WHERE tenant = ?1 AND id = ?2"
            ))?
            .query_row(params![tenant.as_str(), id], RawAlert::from_row)
            .optional()
        })?;
        raw.map(|r| self.decode_alert(r)).transpose()
    }

    pub(crate) fn alerts_impl(&self, filter: &AlertFilter) -> Result<Vec<StoredAlert>, MetaError> {
        let before = filter
            .before
            .map_or(i64::MAX, |b| i64::try_from(b).unwrap_or(i64::MAX));
        let limit = i64::try_from(filter.limit).unwrap_or(i64::MAX);
        let raws = self.with_conn(|conn| {
            let mut statement = conn.prepare_cached(&format!(
                "SELECT {COLUMNS} FROM alerts \
                 WHERE (?1 IS NULL OR tenant = ?1) AND (?2 IS NULL OR state = ?2) \
                 AND (?3 IS NULL OR rule_id = ?3) AND severity >= ?4 AND id < ?5 \
                 ORDER BY id DESC LIMIT ?6"
            ))?;
            let rows = statement.query_map(
                params![
                    filter.tenant.as_ref().map(TenantId::as_str),
                    filter.state.map(name),
                    filter.rule_id,
                    filter.min_severity.map_or(0, severity_rank),
                    before,
                    limit
                ],
                RawAlert::from_row,
            )?;
            rows.collect::<rusqlite::Result<Vec<_>>>()
        })?;
        raws.into_iter().map(|r| self.decode_alert(r)).collect()
    }

    pub(crate) fn change_alert_impl(
        &self,
        tenant: &TenantId,
        id: u64,
        change: &AlertChange,
        audit: Option<&super::audit::NewAuditRecord>,
    ) -> Result<StoredAlert, MetaError> {
        change.validate()?;
        // Checked before anything is written, so that a record too large to keep refuses the
        // change rather than letting it through unrecorded.
        if let Some(audit) = audit {
            audit.stored_fields()?;
        }
        let missing = || MetaError::NoSuchAlert {
            tenant: tenant.as_str().to_owned(),
            id,
        };
        let row_id = i64::try_from(id).map_err(|_| missing())?;
        {
            let mut conn = self.lock()?;
            let err = |e| super::sqlite::classify(self.path(), e);
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(err)?;
            let state: Option<String> = tx
                .query_row(
                    "SELECT state FROM alerts WHERE tenant = ?1 AND id = ?2",
                    params![tenant.as_str(), row_id],
                    |r| r.get(0),
                )
                .optional()
                .map_err(err)?;
            let state = state.ok_or_else(missing)?;
            let state = parse_state(&state)
                .ok_or_else(|| self.corrupt("alerts", row_id, format!("state {state:?}")))?;
            let next = change
                .action
                .next_state(state)
                .map_err(|reason| MetaError::AlertState { id, reason })?;
            let at = format_time(change.at);
            use super::alerts::AlertAction;
            match &change.action {
                AlertAction::Close { resolution } => tx.execute(
                    "UPDATE alerts SET state = ?1, resolution = ?2, updated_at = ?3 WHERE id = ?4",
                    params![name(next), resolution, at, row_id],
                ),
                AlertAction::Reopen => tx.execute(
                    "UPDATE alerts SET state = ?1, resolution = NULL, updated_at = ?2 WHERE id = ?3",
                    params![name(next), at, row_id],
                ),
                AlertAction::Assign { assignee } => tx.execute(
                    "UPDATE alerts SET assignee = ?1, updated_at = ?2 WHERE id = ?3",
                    params![assignee, at, row_id],
                ),
                AlertAction::Acknowledge => tx.execute(
                    "UPDATE alerts SET state = ?1, updated_at = ?2 WHERE id = ?3",
                    params![name(next), at, row_id],
                ),
                AlertAction::Comment { .. } => tx.execute(
                    "UPDATE alerts SET updated_at = ?1 WHERE id = ?2",
                    params![at, row_id],
                ),
            }
            .map_err(err)?;
            history(
                &tx,
                row_id,
                tenant.as_str(),
                &at,
                &change.actor,
                change.action.name(),
                change.action.detail(),
            )
            .map_err(err)?;
            if let Some(audit) = audit {
                self.audit_in(&tx, audit)?;
            }
            tx.commit().map_err(err)?;
        }
        self.alert_impl(tenant, id)?.ok_or_else(missing)
    }

    pub(crate) fn alert_history_impl(
        &self,
        tenant: &TenantId,
        id: u64,
    ) -> Result<Vec<AlertHistoryEntry>, MetaError> {
        let Ok(row_id) = i64::try_from(id) else {
            return Ok(Vec::new());
        };
        type Raw = (i64, i64, String, String, String, Option<String>);
        let raws: Vec<Raw> = self.with_conn(|conn| {
            let mut statement = conn.prepare_cached(
                "SELECT id, alert_id, at, actor, action, detail FROM alert_history \
                 WHERE tenant = ?1 AND alert_id = ?2 ORDER BY id",
            )?;
            let rows = statement.query_map(params![tenant.as_str(), row_id], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                ))
            })?;
            rows.collect()
        })?;
        raws.into_iter()
            .map(|(hid, alert, at, actor, action, detail)| {
                let bad = |detail: String| self.corrupt("alert_history", hid, detail);
                Ok(AlertHistoryEntry {
                    id: u64::try_from(hid).map_err(|_| bad("negative id".into()))?,
                    alert: u64::try_from(alert).map_err(|_| bad("negative alert id".into()))?,
                    at: self.time_column("alert_history", hid, "at", &at)?,
                    actor,
                    action,
                    detail,
                })
            })
            .collect()
    }
}

/// Merges `alert` into the open alert of its key when it falls within the window, else inserts
/// it with a `raised` history entry.
fn raise_one(conn: &Connection, alert: &NewAlert) -> rusqlite::Result<AlertOutcome> {
    let open: Option<(i64, String, i64, String, String)> = conn
        .prepare_cached(
            "SELECT id, events, event_count, first_seen, last_seen FROM alerts \
             WHERE tenant = ?1 AND dedup_key = ?2 AND state <> 'closed' \
             ORDER BY id DESC LIMIT 1",
        )?
        .query_row(params![alert.tenant.as_str(), alert.dedup_key], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })
        .optional()?;
    let window =
        jiff::SignedDuration::from_secs(i64::try_from(alert.dedup_window_secs).unwrap_or(i64::MAX));
    let count = i64::try_from(alert.count).unwrap_or(i64::MAX);
    if let Some((id, events, old_count, first, last)) = open {
        let (first, last) = (parse_time(&first), parse_time(&last));
        let within = match (first, last) {
            (Some(first), Some(last)) => within(alert.time, first, last, window),
            _ => false,
        };
        if let (true, Some(first), Some(last)) = (within, first, last) {
            let times = (
                old_count.saturating_add(count),
                format_time(first.min(alert.time)),
                format_time(last.max(alert.time)),
                format_time(alert.raised_at),
            );
            let mut ids: Vec<RecordId> = serde_json::from_str(&events).unwrap_or_default();
            if ids.len() >= MAX_ALERT_EVENTS {
                // The list is full: a flood's repeats only count.
                conn.prepare_cached(
                    "UPDATE alerts SET event_count = ?1, first_seen = ?2, last_seen = ?3, \
                     updated_at = ?4 WHERE id = ?5",
                )?
                .execute(params![times.0, times.1, times.2, times.3, id])?;
            } else {
                for e in &alert.events {
                    if ids.len() >= MAX_ALERT_EVENTS {
                        break;
                    }
                    if !ids.contains(e) {
                        ids.push(*e);
                    }
                }
                conn.prepare_cached(
                    "UPDATE alerts SET events = ?1, event_count = ?2, first_seen = ?3, \
                     last_seen = ?4, updated_at = ?5 WHERE id = ?6",
                )?
                .execute(params![
                    json(&ids),
                    times.0,
                    times.1,
                    times.2,
                    times.3,
                    id
                ])?;
            }
            return Ok(AlertOutcome {
                id: u64::try_from(id).unwrap_or(0),
                raised: false,
            });
        }
    }
    let events: Vec<&RecordId> = alert.events.iter().take(MAX_ALERT_EVENTS).collect();
    let group: &BTreeMap<String, String> = &alert.group;
    let time = format_time(alert.time);
    let raised = format_time(alert.raised_at);
    let id: i64 = conn
        .prepare_cached(
            "INSERT INTO alerts (tenant, dedup_key, source, rule_id, title, author, license, \
             level, severity, attack, controls, group_values, events, event_count, first_seen, \
             last_seen, state, assignee, resolution, created_at, updated_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?15, \
             'new', NULL, NULL, ?16, ?16) RETURNING id",
        )?
        .query_row(
            params![
                alert.tenant.as_str(),
                alert.dedup_key,
                alert.source.as_str(),
                alert.rule_id,
                alert.title,
                alert.author,
                alert.license,
                alert.level,
                severity_rank(alert.severity),
                json(&alert.attack),
                json(&alert.controls),
                json(group),
                json(&events),
                count,
                time,
                raised,
            ],
            |r| r.get(0),
        )?;
    history(
        conn,
        id,
        alert.tenant.as_str(),
        &raised,
        PIPELINE_ACTOR,
        "raised",
        None,
    )?;
    for channel in &alert.notify {
        conn.prepare_cached(
            "INSERT INTO outbox (tenant, alert_id, channel, state, attempts, next_attempt_at, \
             created_at) VALUES (?1, ?2, ?3, 'pending', 0, ?4, ?4)",
        )?
        .execute(params![alert.tenant.as_str(), id, channel, raised])?;
    }
    Ok(AlertOutcome {
        id: u64::try_from(id).unwrap_or(0),
        raised: true,
    })
}

/// Whether `time` falls within `window` of the span `[first, last]`.
fn within(
    time: Timestamp,
    first: Timestamp,
    last: Timestamp,
    window: jiff::SignedDuration,
) -> bool {
    let after_start = first
        .checked_sub(window)
        .map_or(true, |start| time >= start);
    let before_end = last.checked_add(window).map_or(true, |end| time <= end);
    after_start && before_end
}

fn history(
    conn: &Connection,
    alert: i64,
    tenant: &str,
    at: &str,
    actor: &str,
    action: &str,
    detail: Option<&str>,
) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO alert_history (alert_id, tenant, at, actor, action, detail) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![alert, tenant, at, actor, action, detail])?;
    Ok(())
}

const OUTBOX_COLUMNS: &str = "id, tenant, alert_id, channel, state, attempts, next_attempt_at, last_error, created_at, done_at";

type RawOutbox = (
    i64,
    String,
    i64,
    String,
    String,
    i64,
    String,
    Option<String>,
    String,
    Option<String>,
);

fn raw_outbox(r: &Row<'_>) -> rusqlite::Result<RawOutbox> {
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
    ))
}

impl SqliteMetaStore {
    fn decode_outbox(&self, raw: RawOutbox) -> Result<OutboxItem, MetaError> {
        let (id, tenant, alert, channel, state, attempts, next, last_error, created, done) = raw;
        let bad = |detail: String| self.corrupt("outbox", id, detail);
        let time = |column: &str, text: &str| self.time_column("outbox", id, column, text);
        Ok(OutboxItem {
            id: u64::try_from(id).map_err(|_| bad("negative id".into()))?,
            tenant: TenantId::new(tenant).map_err(|e| bad(e.to_string()))?,
            alert: u64::try_from(alert).map_err(|_| bad("negative alert id".into()))?,
            channel,
            state: DeliveryState::parse(&state).ok_or_else(|| bad(format!("state {state:?}")))?,
            attempts: u32::try_from(attempts).map_err(|_| bad(format!("attempts {attempts}")))?,
            next_attempt_at: time("next_attempt_at", &next)?,
            last_error,
            created_at: time("created_at", &created)?,
            done_at: done.map(|d| time("done_at", &d)).transpose()?,
        })
    }

    pub(crate) fn due_notifications_impl(
        &self,
        channel: &str,
        now: Timestamp,
        limit: usize,
    ) -> Result<Vec<OutboxItem>, MetaError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let raws = self.with_conn(|conn| {
            let mut statement = conn.prepare_cached(&format!(
                "SELECT {OUTBOX_COLUMNS} FROM outbox WHERE state = 'pending' AND channel = ?1 \
                 AND next_attempt_at <= ?2 ORDER BY next_attempt_at, id LIMIT ?3"
            ))?;
            let rows =
                statement.query_map(params![channel, format_time(now), limit], raw_outbox)?;
            rows.collect::<rusqlite::Result<Vec<_>>>()
        })?;
        raws.into_iter().map(|r| self.decode_outbox(r)).collect()
    }

    pub(crate) fn claim_notification_impl(
        &self,
        id: u64,
        until: Timestamp,
    ) -> Result<bool, MetaError> {
        let Ok(row) = i64::try_from(id) else {
            return Ok(false);
        };
        let changed = self.with_conn(|conn| claim_pending(conn, "outbox", row, None, until))?;
        Ok(changed == 1)
    }

    pub(crate) fn record_delivery_impl(
        &self,
        id: u64,
        outcome: &DeliveryOutcome,
        at: Timestamp,
    ) -> Result<OutboxItem, MetaError> {
        let missing = || MetaError::NoSuchNotification { id };
        let row = i64::try_from(id).map_err(|_| missing())?;
        let changed = self.with_conn(|conn| record_outcome(conn, "outbox", row, outcome, at))?;
        let raw = self.with_conn(|conn| {
            conn.prepare_cached(&format!(
                "SELECT {OUTBOX_COLUMNS} FROM outbox WHERE id = ?1"
            ))?
            .query_row(params![row], raw_outbox)
            .optional()
        })?;
        let item = self.decode_outbox(raw.ok_or_else(missing)?)?;
        if changed == 0 {
            return Err(MetaError::NotificationDone {
                id,
                state: item.state.as_str().to_owned(),
            });
        }
        Ok(item)
    }

    pub(crate) fn notifications_impl(
        &self,
        tenant: Option<&TenantId>,
        state: Option<DeliveryState>,
        limit: usize,
    ) -> Result<Vec<OutboxItem>, MetaError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let raws = self.with_conn(|conn| {
            let mut statement = conn.prepare_cached(&format!(
                "SELECT {OUTBOX_COLUMNS} FROM outbox WHERE (?1 IS NULL OR tenant = ?1) \
                 AND (?2 IS NULL OR state = ?2) ORDER BY id DESC LIMIT ?3"
            ))?;
            let rows = statement.query_map(
                params![
                    tenant.map(TenantId::as_str),
                    state.map(DeliveryState::as_str),
                    limit
                ],
                raw_outbox,
            )?;
            rows.collect::<rusqlite::Result<Vec<_>>>()
        })?;
        raws.into_iter().map(|r| self.decode_outbox(r)).collect()
    }
}

/// Takes a pending row of an outbox table (`outbox` or `report_outbox`) for an attempt: its next
/// attempt moves to `until`. With `due_by`, only a row due by then is taken, so that of two
/// claimers only the first gets it. The number of rows changed (0 when it is not taken).
pub(crate) fn claim_pending(
    conn: &Connection,
    table: &'static str,
    row: i64,
    due_by: Option<Timestamp>,
    until: Timestamp,
) -> rusqlite::Result<usize> {
    conn.execute(
        &format!(
            "UPDATE {table} SET next_attempt_at = ?1 WHERE id = ?2 AND state = 'pending' \
             AND (?3 IS NULL OR next_attempt_at <= ?3)"
        ),
        params![format_time(until), row, due_by.map(format_time)],
    )
}

/// Records an attempt's outcome on a pending row of an outbox table (`outbox` or
/// `report_outbox`). The number of rows changed (0 when it is no longer pending).
pub(crate) fn record_outcome(
    conn: &Connection,
    table: &'static str,
    row: i64,
    outcome: &DeliveryOutcome,
    at: Timestamp,
) -> rusqlite::Result<usize> {
    let at = format_time(at);
    match outcome {
        DeliveryOutcome::Delivered => conn.execute(
            &format!(
                "UPDATE {table} SET state = 'delivered', attempts = attempts + 1, \
                 last_error = NULL, done_at = ?1 WHERE id = ?2 AND state = 'pending'"
            ),
            params![at, row],
        ),
        DeliveryOutcome::Retry { error, at: next } => conn.execute(
            &format!(
                "UPDATE {table} SET attempts = attempts + 1, last_error = ?1, \
                 next_attempt_at = ?2 WHERE id = ?3 AND state = 'pending'"
            ),
            params![error, format_time(*next), row],
        ),
        DeliveryOutcome::Failed { error } => conn.execute(
            &format!(
                "UPDATE {table} SET state = 'failed', attempts = attempts + 1, \
                 last_error = ?1, done_at = ?2 WHERE id = ?3 AND state = 'pending'"
            ),
            params![error, at, row],
        ),
    }
}
