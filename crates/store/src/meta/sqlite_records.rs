//! The [`RecordStore`] of [`SqliteMetaStore`].

use jiff::Timestamp;
use rusqlite::params;
use shieldwall_core::{Evidence, Finding, FindingStatus, TenantId};

use super::audit::NewAuditRecord;
use super::records::{RecordStore, StoredEvidence, StoredFinding, status_name};
use super::sqlite::{format_time, parse_time};
use super::{MetaError, SqliteMetaStore};

fn before_param(before: Option<u64>) -> i64 {
    before.map_or(i64::MAX, |b| i64::try_from(b).unwrap_or(i64::MAX))
}

fn limit_param(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

impl RecordStore for SqliteMetaStore {
    fn record_evidence(
        &self,
        evidence: &Evidence,
        recorded_by: &str,
        at: Timestamp,
        audit: &NewAuditRecord,
    ) -> Result<StoredEvidence, MetaError> {
        let body = serde_json::to_string(evidence).map_err(|e| MetaError::Invalid {
            reason: format!("evidence does not serialise: {e}"),
        })?;
        self.write(|tx| {
            let inserted = tx
                .execute(
                    "INSERT INTO evidence (id, tenant, body, recorded_by, recorded_at) \
                     VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (id) DO NOTHING",
                    params![
                        evidence.id.to_string(),
                        evidence.tenant.as_str(),
                        body,
                        recorded_by,
                        format_time(at)
                    ],
                )
                .map_err(|e| self.sql(e))?;
            if inserted == 0 {
                return Err(MetaError::Exists {
                    what: format!("evidence {}", evidence.id),
                });
            }
            let seq = tx.last_insert_rowid();
            self.audit_in(tx, audit)?;
            Ok(StoredEvidence {
                seq: u64::try_from(seq).unwrap_or(0),
                evidence: evidence.clone(),
                recorded_by: recorded_by.to_owned(),
                recorded_at: at,
            })
        })
    }

    fn evidence(
        &self,
        tenant: &TenantId,
        before: Option<u64>,
        limit: usize,
    ) -> Result<Vec<StoredEvidence>, MetaError> {
        let rows: Vec<(i64, String, String, String)> = self.with_conn(|conn| {
            conn.prepare_cached(
                "SELECT seq, body, recorded_by, recorded_at FROM evidence \
                 WHERE tenant = ?1 AND seq < ?2 ORDER BY seq DESC LIMIT ?3",
            )?
            .query_map(
                params![tenant.as_str(), before_param(before), limit_param(limit)],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )?
            .collect()
        })?;
        rows.into_iter()
            .map(|(seq, body, by, at)| {
                let bad = |detail: String| self.corrupt("evidence", seq, detail);
                Ok(StoredEvidence {
                    seq: u64::try_from(seq).map_err(|_| bad("negative seq".to_owned()))?,
                    evidence: serde_json::from_str(&body).map_err(|e| bad(e.to_string()))?,
                    recorded_by: by,
                    recorded_at: parse_time(&at)
                        .ok_or_else(|| bad(format!("recorded_at {at:?}")))?,
                })
            })
            .collect()
    }

    fn record_findings(&self, findings: &[Finding]) -> Result<u64, MetaError> {
        self.write(|tx| {
            let mut added = 0;
            for finding in findings {
                let body = serde_json::to_string(finding).map_err(|e| MetaError::Invalid {
                    reason: format!("finding does not serialise: {e}"),
                })?;
                added += tx
                    .prepare_cached(
                        "INSERT INTO findings (id, tenant, module, status, time, body) \
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (id) DO NOTHING",
                    )
                    .and_then(|mut s| {
                        s.execute(params![
                            finding.id.to_string(),
                            finding.tenant.as_str(),
                            finding.module,
                            status_name(finding.status),
                            format_time(finding.time),
                            body
                        ])
                    })
                    .map_err(|e| self.sql(e))? as u64;
            }
            Ok(added)
        })
    }

    fn findings(
        &self,
        tenant: &TenantId,
        module: Option<&str>,
        status: Option<FindingStatus>,
        before: Option<u64>,
        limit: usize,
    ) -> Result<Vec<StoredFinding>, MetaError> {
        let rows: Vec<(i64, String)> = self.with_conn(|conn| {
            conn.prepare_cached(
                "SELECT seq, body FROM findings WHERE tenant = ?1 AND seq < ?2 \
                 AND (?3 IS NULL OR module = ?3) AND (?4 IS NULL OR status = ?4) \
                 ORDER BY seq DESC LIMIT ?5",
            )?
            .query_map(
                params![
                    tenant.as_str(),
                    before_param(before),
                    module,
                    status.map(status_name),
                    limit_param(limit)
                ],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?
            .collect()
        })?;
        self.stored_findings(rows)
    }

    fn latest_findings(
        &self,
        tenant: &TenantId,
        module: &str,
        target: &str,
        check_prefix: &str,
        limit: usize,
    ) -> Result<Vec<StoredFinding>, MetaError> {
        let pattern = format!("{}%", like_escape(check_prefix));
        let rows: Vec<(i64, String)> = self.with_conn(|conn| {
            // The newest time first (the index's last entry for the target), then that run's
            // rows: neither reads the target's older history.
            let newest: Option<String> = conn
                .prepare_cached(
                    "SELECT time FROM findings \
                     WHERE tenant = ?1 AND module = ?2 AND json_extract(body, '$.target') = ?3 \
                     AND json_extract(body, '$.check_id') LIKE ?4 ESCAPE '\\' \
                     ORDER BY time DESC LIMIT 1",
                )?
                .query_map(params![tenant.as_str(), module, target, pattern], |r| {
                    r.get(0)
                })?
                .next()
                .transpose()?;
            let Some(newest) = newest else {
                return Ok(Vec::new());
            };
            conn.prepare_cached(
                "SELECT seq, body FROM findings \
                 WHERE tenant = ?1 AND module = ?2 AND json_extract(body, '$.target') = ?3 \
                 AND time = ?4 AND json_extract(body, '$.check_id') LIKE ?5 ESCAPE '\\' \
                 ORDER BY seq LIMIT ?6",
            )?
            .query_map(
                params![
                    tenant.as_str(),
                    module,
                    target,
                    newest,
                    pattern,
                    limit_param(limit)
                ],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?
            .collect()
        })?;
        self.stored_findings(rows)
    }
}

/// `text` with LIKE's wildcards and the escape character escaped (by a backslash).
fn like_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

impl SqliteMetaStore {
    fn stored_findings(&self, rows: Vec<(i64, String)>) -> Result<Vec<StoredFinding>, MetaError> {
        rows.into_iter()
            .map(|(seq, body)| {
                let bad = |detail: String| self.corrupt("findings", seq, detail);
                Ok(StoredFinding {
                    seq: u64::try_from(seq).map_err(|_| bad("negative seq".to_owned()))?,
                    finding: serde_json::from_str(&body).map_err(|e| bad(e.to_string()))?,
                })
            })
            .collect()
    }
}
