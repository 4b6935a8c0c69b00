//! Keeping the audit trail honest: signing the chain heads periodically (and exporting each
//! signed head as a JSON line to a file elsewhere), verifying the chains against the signed and
//! exported heads, and the retention purge.

use std::collections::BTreeMap;
use std::fs::OpenOptions;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use serde::Serialize;
use shieldwall_auth::signing::{AuditSigner, AuditVerifier};
use shieldwall_store::meta::{ChainReport, MetaError, MetaStore, SignedHead};
use tokio_util::sync::CancellationToken;

/// The longest line of an export file read back.
const MAX_EXPORT_LINE: usize = 4096;

/// What went wrong.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TrailError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] MetaError),
    /// The export file could not be written or read.
    #[error("{path}: {message}")]
    Export {
        /// The file.
        path: PathBuf,
        /// What happened, with the line for a bad line.
        message: String,
    },
}

/// Signs chain heads with the audit key.
pub struct HeadSigner {
    meta: Arc<dyn MetaStore>,
    signer: AuditSigner,
    export: Option<PathBuf>,
}

impl HeadSigner {
    /// A signer over `meta`; each signed head is also appended to `export` when given.
    pub fn new(meta: Arc<dyn MetaStore>, signer: AuditSigner, export: Option<PathBuf>) -> Self {
        HeadSigner {
            meta,
            signer,
            export,
        }
    }

    /// Signs the head of every chain that moved since its last signed head; returns them.
    pub fn sign_now(&self, now: Timestamp) -> Result<Vec<SignedHead>, TrailError> {
        let latest: BTreeMap<String, u64> = self
            .meta
            .latest_signed()?
            .into_iter()
            .map(|(chain, seq)| (chain.as_str().to_owned(), seq))
            .collect();
        let mut signed = Vec::new();
        for head in self.meta.chain_heads()? {
            if latest.get(head.chain.as_str()) >= Some(&head.seq) {
                continue;
            }
            let signature = self
                .signer
                .sign(head.chain.as_str(), head.seq, &head.hash, now);
            let signed_head = SignedHead {
                head,
                signed_at: now,
                key_id: self.signer.verifier().key_id().to_owned(),
                signature,
            };
            // Exported first: a head in the export but not in the database is harmless, the
            // reverse would leave a gap in the outside copy.
            if let Some(path) = &self.export {
                append_export(path, &signed_head)?;
            }
            self.meta.record_signed_head(&signed_head)?;
            signed.push(signed_head);
        }
        Ok(signed)
    }
}

fn append_export(path: &Path, head: &SignedHead) -> Result<(), TrailError> {
    let fail = |e: std::io::Error| TrailError::Export {
        path: path.to_path_buf(),
        message: e.to_string(),
    };
    let mut line = serde_json::to_string(head).map_err(|e| TrailError::Export {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    line.push('\n');
    let mut file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(fail)?;
    file.write_all(line.as_bytes()).map_err(fail)?;
    file.sync_data().map_err(fail)
}

/// Reads an export file: one signed head per line.
pub fn read_export(path: &Path) -> Result<Vec<SignedHead>, TrailError> {
    let fail = |message: String| TrailError::Export {
        path: path.to_path_buf(),
        message,
    };
    let file = std::fs::File::open(path).map_err(|e| fail(e.to_string()))?;
    let mut heads = Vec::new();
    for (index, line) in BufReader::new(file).lines().enumerate() {
        let line = line.map_err(|e| fail(format!("line {}: {e}", index + 1)))?;
        if line.trim().is_empty() {
            continue;
        }
        if line.len() > MAX_EXPORT_LINE {
            return Err(fail(format!(
                "line {}: longer than {MAX_EXPORT_LINE} bytes",
                index + 1
            )));
        }
        let head: SignedHead = serde_json::from_str(&line)
            .map_err(|e| fail(format!("line {}: not a signed head: {e}", index + 1)))?;
        heads.push(head);
    }
    Ok(heads)
}

/// Signs the heads every `every`, and once more at shutdown.
pub async fn run_signing(signer: Arc<HeadSigner>, every: Duration, shutdown: CancellationToken) {
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let stopping = tokio::select! {
            _ = ticks.tick() => false,
            () = shutdown.cancelled() => true,
        };
        let task = Arc::clone(&signer);
        match tokio::task::spawn_blocking(move || task.sign_now(Timestamp::now())).await {
            Ok(Ok(heads)) if !heads.is_empty() => {
                tracing::debug!("audit trail: signed {} chain head(s)", heads.len());
            }
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::error!("audit trail: signing the chain heads failed: {e}"),
            Err(e) => tracing::error!("audit trail: the signing task failed: {e}"),
        }
        if stopping {
            return;
        }
    }
}

/// Purges records older than `days` from every chain, up to each chain's latest signed head.
pub fn purge(meta: &dyn MetaStore, days: u32, now: Timestamp) -> Result<u64, TrailError> {
    let before = now - SignedDuration::from_hours(24 * i64::from(days));
    let mut removed = 0;
    for head in meta.chain_heads()? {
        removed += meta.purge_audit(&head.chain, before, now)?;
    }
    Ok(removed)
}

/// The outcome of `audit verify`.
#[derive(Debug, Clone, Serialize)]
pub struct Verification {
    /// Each chain.
    pub chains: Vec<ChainReport>,
    /// Signed heads checked (database and export together, each once).
    pub heads_checked: usize,
    /// Problems with the heads themselves: bad signatures, another key, a head in the export
    /// that the database lost or holds differently.
    pub head_problems: Vec<String>,
}

impl Verification {
    /// Whether everything checked out.
    pub fn ok(&self) -> bool {
        self.head_problems.is_empty() && self.chains.iter().all(|c| c.problem.is_none())
    }
}

/// Verifies every chain against the database's signed heads and `exported` ones, checking each
/// head's signature with `verifier`. Purges are accepted only as `[audit] retention_days` could
/// have made them (`retention_days` as configured, judged at `now`).
pub fn verify(
    meta: &dyn MetaStore,
    verifier: &AuditVerifier,
    exported: &[SignedHead],
    retention_days: Option<u32>,
    now: Timestamp,
) -> Result<Verification, TrailError> {
    let stored = meta.signed_heads()?;
    let mut problems = Vec::new();
    let mut heads: BTreeMap<(String, u64), SignedHead> = BTreeMap::new();
    for head in &stored {
        heads.insert(
            (head.head.chain.as_str().to_owned(), head.head.seq),
            head.clone(),
        );
    }
    for head in exported {
        let key = (head.head.chain.as_str().to_owned(), head.head.seq);
        match heads.get(&key) {
            Some(kept) if kept.head.hash != head.head.hash => problems.push(format!(
                "chain {}, record {}: the database's signed head differs from the exported one (altered)",
                key.0, key.1
            )),
            Some(_) => {}
            None => {
                problems.push(format!(
                    "chain {}, record {}: the exported signed head is missing from the database (deleted)",
                    key.0, key.1
                ));
                heads.insert(key, head.clone());
            }
        }
    }
    let mut trusted = Vec::new();
    for ((chain, seq), head) in &heads {
        if head.key_id != verifier.key_id() {
            problems.push(format!(
                "chain {chain}, record {seq}: signed head of key {} but the public key given is {}",
                head.key_id,
                verifier.key_id()
            ));
        } else if verifier.verify(
            chain,
            *seq,
            &head.head.hash,
            head.signed_at,
            &head.signature,
        ) {
            trusted.push(head.clone());
        } else {
            problems.push(format!(
                "chain {chain}, record {seq}: the signature of the signed head does not verify (forged or altered)"
            ));
        }
    }
    // A day of slack: a head is signed up to a signing interval after the records it covers.
    let purges_before =
        retention_days.map(|days| now - SignedDuration::from_hours(24 * i64::from(days) - 24));
    let chains = meta.verify_audit(&trusted, purges_before)?;
    Ok(Verification {
        chains,
        heads_checked: heads.len(),
        head_problems: problems,
    })
}
