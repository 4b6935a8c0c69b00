//! The [`AuditTrail`] of [`SqliteMetaStore`]: appending to a chain inside the caller's
//! transaction, listing, signed heads, verification and the retention purge.

use rusqlite::{Connection, OptionalExtension, Row, params};
use shieldwall_core::Scope;

use super::audit::{
    AuditFilter, AuditKind, AuditOutcome, AuditRecord, AuditTrail, ChainHead, ChainReport,
    ChainVerifier, GENESIS, NewAuditRecord, RawRecord, SignedHead, StoredFields, record_hash,
};
use super::sqlite::{format_time, parse_time};
use super::{MetaError, SqliteMetaStore};

const COLUMNS: &str =
    "chain, seq, at, kind, actor, address, object, action, outcome, detail, prev_hash, hash";

fn raw_record(row: &Row<'_>) -> rusqlite::Result<RawRecord> {
    let seq: i64 = row.get(1)?;
    Ok(RawRecord {
        seq: u64::try_from(seq).unwrap_or(0),
        fields: StoredFields {
            chain: row.get(0)?,
            at: row.get(2)?,
            kind: row.get(3)?,
            actor: row.get(4)?,
            address: row.get(5)?,
            object: row.get(6)?,
            action: row.get(7)?,
            outcome: row.get(8)?,
            detail: row.get(9)?,
        },
        prev_hash: row.get(10)?,
        hash: row.get(11)?,
    })
}

fn hash32(bytes: &[u8]) -> Option<[u8; 32]> {
    <[u8; 32]>::try_from(bytes).ok()
}

/// Appends `record` to its chain on `conn` (inside the caller's transaction).
pub(crate) fn append(
    conn: &Connection,
    record: &NewAuditRecord,
    fields: &StoredFields,
) -> rusqlite::Result<AuditRecord> {
    let last: Option<(i64, Vec<u8>)> = conn
        .prepare_cached(
            "SELECT seq, hash FROM audit_records WHERE chain = ?1 ORDER BY seq DESC LIMIT 1",
        )?
        .query_row([&fields.chain], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let last = match last {
        Some(last) => Some(last),
        // A chain purged up to its end goes on from the purge's anchor.
        None => conn
            .prepare_cached(
                "SELECT up_to_seq, anchor FROM audit_purges WHERE chain = ?1 \
                 ORDER BY up_to_seq DESC LIMIT 1",
            )?
            .query_row([&fields.chain], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?,
    };
    let (prev_seq, prev_hash) = match last {
        Some((seq, hash)) => (
            u64::try_from(seq).unwrap_or(0),
            hash32(&hash).unwrap_or(GENESIS),
        ),
        None => (0, GENESIS),
    };
    let seq = prev_seq + 1;
    let hash = record_hash(&prev_hash, seq, fields);
    conn.prepare_cached(&format!(
        "INSERT INTO audit_records ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"
    ))?
    .execute(params![
        fields.chain,
        i64::try_from(seq).unwrap_or(i64::MAX),
        fields.at,
        fields.kind,
        fields.actor,
        fields.address,
        fields.object,
        fields.action,
        fields.outcome,
        fields.detail,
        prev_hash.as_slice(),
        hash.as_slice(),
    ])?;
    Ok(AuditRecord {
        seq,
        record: NewAuditRecord {
            actor: fields.actor.clone(),
            address: fields.address.clone(),
            object: fields.object.clone(),
            action: fields.action.clone(),
            ..record.clone()
        },
        prev_hash,
        hash,
    })
}

impl SqliteMetaStore {
    /// Appends `record` inside the transaction `tx` of another change.
    pub(crate) fn audit_in(
        &self,
        tx: &Connection,
        record: &NewAuditRecord,
    ) -> Result<AuditRecord, MetaError> {
        let fields = record.stored_fields()?;
        append(tx, record, &fields).map_err(|e| self.sql(e))
    }

    fn decode_record(&self, raw: RawRecord) -> Result<AuditRecord, MetaError> {
        let row = format!("{}/{}", raw.fields.chain, raw.seq);
        let bad = |detail: String| self.corrupt("audit_records", &row, detail);
        let chain: Scope = raw.fields.chain.parse().map_err(|e| bad(format!("{e}")))?;
        let at = parse_time(&raw.fields.at)
            .ok_or_else(|| bad(format!("at {:?} is not a timestamp", raw.fields.at)))?;
        let kind = AuditKind::parse(&raw.fields.kind)
            .ok_or_else(|| bad(format!("unknown kind {:?}", raw.fields.kind)))?;
        let outcome = AuditOutcome::parse(&raw.fields.outcome)
            .ok_or_else(|| bad(format!("unknown outcome {:?}", raw.fields.outcome)))?;
        let detail = serde_json::from_str(&raw.fields.detail)
            .map_err(|e| bad(format!("detail is not JSON: {e}")))?;
        let prev_hash = hash32(&raw.prev_hash).ok_or_else(|| bad("prev_hash".to_owned()))?;
        let hash = hash32(&raw.hash).ok_or_else(|| bad("hash".to_owned()))?;
        Ok(AuditRecord {
            seq: raw.seq,
            record: NewAuditRecord {
                chain,
                at,
                kind,
                actor: raw.fields.actor,
                address: raw.fields.address,
                object: raw.fields.object,
                action: raw.fields.action,
                outcome,
                detail,
            },
            prev_hash,
            hash,
        })
    }

    fn purge_anchors(&self) -> Result<Vec<(String, u64, [u8; 32])>, MetaError> {
        let rows: Vec<(String, i64, Vec<u8>)> = self.with_conn(|conn| {
            conn.prepare_cached("SELECT chain, up_to_seq, anchor FROM audit_purges ORDER BY id")?
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                .collect()
        })?;
        Ok(rows
            .into_iter()
            .filter_map(|(chain, seq, anchor)| {
                Some((chain, u64::try_from(seq).ok()?, hash32(&anchor)?))
            })
            .collect())
    }
}

impl AuditTrail for SqliteMetaStore {
    fn append_audit(&self, record: &NewAuditRecord) -> Result<AuditRecord, MetaError> {
        self.write(|tx| self.audit_in(tx, record))
    }

    fn audit_records(&self, filter: &AuditFilter) -> Result<Vec<AuditRecord>, MetaError> {
        let before = filter
            .before_seq
            .map_or(i64::MAX, |b| i64::try_from(b).unwrap_or(i64::MAX));
        let limit = i64::try_from(filter.limit).unwrap_or(i64::MAX);
        let forwards = filter.before_seq.is_none() && filter.after_seq.is_some();
        let after = filter
            .after_seq
            .map_or(0, |a| i64::try_from(a).unwrap_or(i64::MAX));
        let order = if forwards { "ASC" } else { "DESC" };
        let raws = self.with_conn(|conn| {
            let mut statement = conn.prepare_cached(&format!(
                "SELECT {COLUMNS} FROM audit_records \
                 WHERE chain = ?1 AND seq < ?2 AND seq > ?8 AND (?3 IS NULL OR at >= ?3) \
                 AND (?4 IS NULL OR at < ?4) AND (?5 IS NULL OR kind = ?5) \
                 AND (?6 IS NULL OR actor = ?6 COLLATE NOCASE) \
                 ORDER BY seq {order} LIMIT ?7"
            ))?;
            let rows = statement.query_map(
                params![
                    filter.chain.as_str(),
                    before,
                    filter.since.map(format_time),
                    filter.until.map(format_time),
                    filter.kind.map(AuditKind::as_str),
                    filter.actor,
                    limit,
                    after
                ],
                raw_record,
            )?;
            rows.collect::<rusqlite::Result<Vec<_>>>()
        })?;
        raws.into_iter().map(|r| self.decode_record(r)).collect()
    }

    fn chain_heads(&self) -> Result<Vec<ChainHead>, MetaError> {
        let rows: Vec<(String, i64, Vec<u8>)> = self.with_conn(|conn| {
            conn.prepare_cached(
                "SELECT r.chain, r.seq, r.hash FROM audit_records r \
                 JOIN (SELECT chain, max(seq) AS seq FROM audit_records GROUP BY chain) m \
                 ON r.chain = m.chain AND r.seq = m.seq ORDER BY r.chain",
            )?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect()
        })?;
        rows.into_iter()
            .map(|(chain, seq, hash)| {
                let bad = |detail: &str| self.corrupt("audit_records", &chain, detail.to_owned());
                Ok(ChainHead {
                    chain: chain.parse().map_err(|_| bad("chain"))?,
                    seq: u64::try_from(seq).map_err(|_| bad("seq"))?,
                    hash: hash32(&hash).ok_or_else(|| bad("hash"))?,
                })
            })
            .collect()
    }

    fn record_signed_head(&self, head: &SignedHead) -> Result<(), MetaError> {
        let seq = i64::try_from(head.head.seq).map_err(|_| MetaError::Invalid {
            reason: format!("head sequence number {} is too large", head.head.seq),
        })?;
        self.with_conn(|conn| {
            conn.prepare_cached(
                "INSERT INTO audit_heads (chain, seq, hash, signed_at, key_id, signature) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (chain, seq) DO NOTHING",
            )?
            .execute(params![
                head.head.chain.as_str(),
                seq,
                head.head.hash.as_slice(),
                format_time(head.signed_at),
                head.key_id,
                head.signature
            ])
        })?;
        Ok(())
    }

    fn latest_signed(&self) -> Result<Vec<(Scope, u64)>, MetaError> {
        let rows: Vec<(String, i64)> = self.with_conn(|conn| {
            conn.prepare_cached("SELECT chain, max(seq) FROM audit_heads GROUP BY chain")?
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect()
        })?;
        rows.into_iter()
            .map(|(chain, seq)| {
                let bad = |detail: &str| self.corrupt("audit_heads", &chain, detail.to_owned());
                Ok((
                    chain.parse().map_err(|_| bad("chain"))?,
                    u64::try_from(seq).map_err(|_| bad("seq"))?,
                ))
            })
            .collect()
    }

    fn signed_heads(&self) -> Result<Vec<SignedHead>, MetaError> {
        type Row = (String, i64, Vec<u8>, String, String, Vec<u8>);
        let rows: Vec<Row> = self.with_conn(|conn| {
            conn.prepare_cached(
                "SELECT chain, seq, hash, signed_at, key_id, signature FROM audit_heads \
                 ORDER BY chain, seq",
            )?
            .query_map([], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                ))
            })?
            .collect()
        })?;
        rows.into_iter()
            .map(|(chain, seq, hash, signed_at, key_id, signature)| {
                let row = format!("{chain}/{seq}");
                let bad = |detail: &str| self.corrupt("audit_heads", &row, detail.to_owned());
                Ok(SignedHead {
                    head: ChainHead {
                        chain: chain.parse().map_err(|_| bad("chain"))?,
                        seq: u64::try_from(seq).map_err(|_| bad("seq"))?,
                        hash: hash32(&hash).ok_or_else(|| bad("hash"))?,
                    },
                    signed_at: parse_time(&signed_at).ok_or_else(|| bad("signed_at"))?,
                    key_id,
                    signature,
                })
            })
            .collect()
    }

    fn verify_audit(
        &self,
        trusted: &[SignedHead],
        purges_before: Option<jiff::Timestamp>,
    ) -> Result<Vec<ChainReport>, MetaError> {
        let anchors = self.purge_anchors()?;
        let mut chains: Vec<String> = self.with_conn(|conn| {
            conn.prepare_cached("SELECT DISTINCT chain FROM audit_records ORDER BY chain")?
                .query_map([], |r| r.get(0))?
                .collect()
        })?;
        // A chain whose records were all deleted still has its signed heads.
        for head in trusted {
            let name = head.head.chain.as_str();
            if !chains.iter().any(|c| c == name) {
                chains.push(name.to_owned());
            }
        }
        chains.sort();
        let mut reports = Vec::with_capacity(chains.len());
        for chain in chains {
            let heads = trusted
                .iter()
                .filter(|h| h.head.chain.as_str() == chain)
                .map(|h| (h.head.seq, h.head.hash, h.signed_at));
            let chain_anchors = anchors
                .iter()
                .filter(|(c, _, _)| *c == chain)
                .map(|(_, seq, hash)| (*seq, *hash));
            let mut verifier = ChainVerifier::new(&chain, heads, chain_anchors, purges_before);
            self.with_conn(|conn| {
                let mut statement = conn.prepare_cached(&format!(
                    "SELECT {COLUMNS} FROM audit_records WHERE chain = ?1 ORDER BY seq"
                ))?;
                let mut rows = statement.query([&chain])?;
                while let Some(row) = rows.next()? {
                    match raw_record(row) {
                        Ok(raw) => verifier.push(&raw),
                        Err(e) => {
                            let seq: i64 = row.get(1).unwrap_or(0);
                            verifier.unreadable(
                                u64::try_from(seq).unwrap_or(0),
                                format!("unreadable: {e}"),
                            );
                        }
                    }
                    if verifier.failed() {
                        break;
                    }
                }
                Ok(())
            })?;
            reports.push(verifier.finish());
        }
        Ok(reports)
    }

    fn purge_audit(
        &self,
        chain: &Scope,
        before: jiff::Timestamp,
        at: jiff::Timestamp,
    ) -> Result<u64, MetaError> {
        self.write(|tx| {
            let name = chain.as_str();
            let signed: Option<i64> = tx
                .prepare_cached("SELECT max(seq) FROM audit_heads WHERE chain = ?1")
                .and_then(|mut s| s.query_row([name], |r| r.get(0)))
                .map_err(|e| self.sql(e))?;
            let Some(signed) = signed else {
                return Ok(0);
            };
            // The last record older than `before`, not beyond the latest signed head.
            let up_to: Option<(i64, Vec<u8>)> = tx
                .prepare_cached(
                    "SELECT seq, hash FROM audit_records WHERE chain = ?1 AND at < ?2 \
                     AND seq <= ?3 ORDER BY seq DESC LIMIT 1",
                )
                .and_then(|mut s| {
                    s.query_row(params![name, format_time(before), signed], |r| {
                        Ok((r.get(0)?, r.get(1)?))
                    })
                    .optional()
                })
                .map_err(|e| self.sql(e))?;
            let Some((up_to, anchor)) = up_to else {
                return Ok(0);
            };
            // The anchor must be a signed head, so that verification can start from it.
            let (up_to, anchor): (i64, Vec<u8>) = if up_to == signed {
                (up_to, anchor)
            } else {
                match tx
                    .prepare_cached(
                        "SELECT h.seq, h.hash FROM audit_heads h WHERE h.chain = ?1 \
                         AND h.seq <= ?2 ORDER BY h.seq DESC LIMIT 1",
                    )
                    .and_then(|mut s| {
                        s.query_row(params![name, up_to], |r| Ok((r.get(0)?, r.get(1)?)))
                            .optional()
                    })
                    .map_err(|e| self.sql(e))?
                {
                    Some(head) => head,
                    None => return Ok(0),
                }
            };
            let sql = |e| self.sql(e);
            tx.execute(
                "INSERT INTO audit_purges (chain, up_to_seq, anchor, at) VALUES (?1, ?2, ?3, ?4)",
                params![name, up_to, anchor, format_time(at)],
            )
            .map_err(sql)?;
            let removed = tx
                .execute(
                    "DELETE FROM audit_records WHERE chain = ?1 AND seq <= ?2",
                    params![name, up_to],
                )
                .map_err(sql)?;
            Ok(removed as u64)
        })
    }
}
