//! [`MetaStore::alert_summary`](super::MetaStore::alert_summary) for SQLite: four grouped
//! queries over the `alerts_by_time` index, so an overview never reads the alerts themselves.

use jiff::Timestamp;
use rusqlite::params;

use super::alerts::SUMMARY_SEVERITIES;
use super::alerts::{AlertSummary, SUMMARY_STATES, SummaryRequest, name, severity_rank};
use super::sqlite::format_time;
use super::{MetaError, SqliteMetaStore};

/// The most histogram intervals one summary may ask for.
const MAX_INTERVALS: u64 = 10_000;
/// The most rules or techniques one summary lists.
const MAX_TOP: usize = 1000;

/// The index into the summary's severity arrays of a stored severity rank.
fn severity_index(rank: i64) -> Option<usize> {
    SUMMARY_SEVERITIES
        .iter()
        .position(|s| severity_rank(*s) == rank)
}

/// A `count(*)`, never negative.
fn count(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

impl SqliteMetaStore {
    pub(crate) fn alert_summary_impl(
        &self,
        request: &SummaryRequest,
    ) -> Result<AlertSummary, MetaError> {
        let invalid = |reason: String| MetaError::InvalidAlert { reason };
        let span = request.to.as_second() - request.from.as_second();
        let span = u64::try_from(span)
            .ok()
            .filter(|s| *s > 0)
            .ok_or_else(|| invalid("the summary's period is empty".into()))?;
        if request.interval_secs == 0 || span.div_ceil(request.interval_secs) > MAX_INTERVALS {
            return Err(invalid(format!(
                "the summary's interval must be at least 1 s and give at most {MAX_INTERVALS} \
                 intervals"
            )));
        }
        let interval = i64::try_from(request.interval_secs)
            .map_err(|_| invalid("the interval is too long".into()))?;
        let top = i64::try_from(request.top.min(MAX_TOP)).unwrap_or(0);
        let (tenant, from, to) = (
            request.tenant.as_str(),
            format_time(request.from),
            format_time(request.to),
        );
        let origin = request.from.as_second();
        let mut summary = AlertSummary::default();
        self.with_conn(|conn| {
            let mut counts = conn.prepare_cached(
                "SELECT severity, state, count(*) FROM alerts \
                 WHERE tenant = ?1 AND created_at >= ?2 AND created_at < ?3 \
                 GROUP BY severity, state",
            )?;
            let rows = counts.query_map(params![tenant, from, to], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    count(r.get(2)?),
                ))
            })?;
            for row in rows {
                let (severity, state, count) = row?;
                summary.total += count;
                if let Some(slot) =
                    severity_index(severity).and_then(|i| summary.by_severity.get_mut(i))
                {
                    *slot += count;
                }
                let state = SUMMARY_STATES.iter().position(|s| name(*s) == state);
                if let Some(slot) = state.and_then(|i| summary.by_state.get_mut(i)) {
                    *slot += count;
                }
            }
            let mut buckets = conn.prepare_cached(
                "SELECT (CAST(strftime('%s', created_at) AS INTEGER) - ?4) / ?5 AS bucket, \
                 severity, count(*) FROM alerts \
                 WHERE tenant = ?1 AND created_at >= ?2 AND created_at < ?3 \
                 GROUP BY bucket, severity ORDER BY bucket",
            )?;
            let rows = buckets.query_map(params![tenant, from, to, origin, interval], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?, count(r.get(2)?)))
            })?;
            for row in rows {
                let (bucket, severity, count) = row?;
                let Ok(start) = Timestamp::from_second(origin + bucket * interval) else {
                    continue;
                };
                if summary.buckets.last().is_none_or(|(s, _)| *s != start) {
                    summary.buckets.push((start, [0; 5]));
                }
                let slot = summary.buckets.last_mut().and_then(|(_, counts)| {
                    severity_index(severity).and_then(|i| counts.get_mut(i))
                });
                if let Some(slot) = slot {
                    *slot += count;
                }
            }
            let mut rules = conn.prepare_cached(
                "SELECT rule_id, max(title), count(*) AS n FROM alerts \
                 WHERE tenant = ?1 AND created_at >= ?2 AND created_at < ?3 \
                 GROUP BY rule_id ORDER BY n DESC, rule_id LIMIT ?4",
            )?;
            summary.top_rules = rules
                .query_map(params![tenant, from, to, top], |r| {
                    Ok((r.get(0)?, r.get(1)?, count(r.get(2)?)))
                })?
                .collect::<rusqlite::Result<_>>()?;
            // An alert counts once per tag, however often it lists it; a damaged list is
            // skipped rather than failing the whole summary.
            let mut attack = conn.prepare_cached(
                "SELECT tag.value, count(DISTINCT alerts.id) AS n \
                 FROM alerts, json_each(alerts.attack) AS tag \
                 WHERE alerts.tenant = ?1 AND alerts.created_at >= ?2 AND alerts.created_at < ?3 \
                 AND json_valid(alerts.attack) \
                 GROUP BY tag.value ORDER BY n DESC, tag.value LIMIT ?4",
            )?;
            summary.attack = attack
                .query_map(params![tenant, from, to, top], |r| {
                    Ok((r.get(0)?, count(r.get(1)?)))
                })?
                .collect::<rusqlite::Result<_>>()?;
            summary.unhandled = conn
                .prepare_cached("SELECT count(*) FROM alerts WHERE tenant = ?1 AND state = 'new'")?
                .query_row(params![tenant], |r| r.get(0).map(count))?;
            Ok(())
        })?;
        Ok(summary)
    }
}
