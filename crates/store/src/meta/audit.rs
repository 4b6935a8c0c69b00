//! The audit trail ([`AuditTrail`]): who did what, to what, when, from where and with what
//! result (the fields the guideline asks for in 3.2.8.7), one hash chain per tenant and one for
//! the system.
//!
//! # The chain
//!
//! Record `n` of a chain stores `hash_n = SHA-256(domain ‖ hash_{n-1} ‖ fields_n)`, with 32 zero
//! bytes before the first record and every field length-prefixed (see [`record_hash`]). Changing,
//! removing, inserting or reordering a record breaks the recomputation at that record. Someone who
//! can write the database could recompute every later hash, so the heads of the chains are signed
//! from time to time with a key kept outside the database ([`SignedHead`]; the signing itself is
//! `shieldwall-auth`'s) and may be exported elsewhere; a chain that no longer reaches a signed head
//! with the signed hash was rewritten or truncated. Records appended after the latest signed head
//! are protected only by the chain until the next signing.
//!
//! [`ChainVerifier`] walks one chain and names the first bad record; it is pure, so every
//! implementation verifies the same way.

use std::collections::BTreeMap;
use std::fmt;

use jiff::Timestamp;
use ring::digest;
use serde::{Deserialize, Serialize};
use shieldwall_core::Scope;

use super::MetaError;
use super::accounts::{MAX_ADDRESS_BYTES, truncate};

/// The longest detail (compact JSON) of a record, in bytes.
pub const MAX_DETAIL_BYTES: usize = 64 * 1024;
/// The longest actor, object or action, in bytes; longer ones are cut (a login attempt's name is
/// untrusted input and is recorded, cut, rather than refused).
pub const MAX_FIELD_BYTES: usize = 512;
/// How far a moved record is looked for (positions after its own) before it is called modified.
const MAX_SHIFT: u64 = 16;
/// The hash before the first record of a chain.
pub const GENESIS: [u8; 32] = [0; 32];

/// The type of a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditKind {
    /// A login attempt, successful or not.
    Login,
    /// A logout.
    Logout,
    /// An administrative change (accounts, bindings, tokens, tenants, rules, alerts, ...).
    Change,
    /// An event search.
    Search,
    /// A refused request (authentication or authorisation).
    Denied,
    /// A read of the audit trail itself.
    AuditRead,
}

impl AuditKind {
    /// Every kind.
    pub const ALL: [AuditKind; 6] = [
        AuditKind::Login,
        AuditKind::Logout,
        AuditKind::Change,
        AuditKind::Search,
        AuditKind::Denied,
        AuditKind::AuditRead,
    ];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            AuditKind::Login => "login",
            AuditKind::Logout => "logout",
            AuditKind::Change => "change",
            AuditKind::Search => "search",
            AuditKind::Denied => "denied",
            AuditKind::AuditRead => "audit_read",
        }
    }

    /// The kind of a stored name.
    pub fn parse(text: &str) -> Option<AuditKind> {
        AuditKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == text)
    }
}

/// The result of the recorded action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditOutcome {
    /// It was done.
    Success,
    /// It was tried and failed (a wrong password, an invalid request).
    Failure,
    /// It was refused by authorisation.
    Denied,
}

impl AuditOutcome {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            AuditOutcome::Success => "success",
            AuditOutcome::Failure => "failure",
            AuditOutcome::Denied => "denied",
        }
    }

    /// The outcome of a stored name.
    pub fn parse(text: &str) -> Option<AuditOutcome> {
        [
            AuditOutcome::Success,
            AuditOutcome::Failure,
            AuditOutcome::Denied,
        ]
        .into_iter()
        .find(|outcome| outcome.as_str() == text)
    }
}

/// A record to append. The store assigns its sequence number and hashes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewAuditRecord {
    /// The chain: the tenant acted on, or `*` for system-wide actions.
    pub chain: Scope,
    /// When.
    pub at: Timestamp,
    /// The type.
    #[serde(rename = "type")]
    pub kind: AuditKind,
    /// The subject: the account name (as given, for a login attempt), or `cli` / `server`.
    pub actor: String,
    /// The client address, or `local`.
    pub address: String,
    /// The object: `account:alice`, `alert:42`, `events`, `audit:acme`.
    pub object: String,
    /// What was done: `create`, `bind`, `query`, `acknowledge`, `GET /api/v1/alerts`.
    pub action: String,
    /// The result.
    pub outcome: AuditOutcome,
    /// Anything else worth keeping (the query text, the changed fields, the reason of a failure).
    pub detail: serde_json::Value,
}

impl NewAuditRecord {
    /// The same record with `detail`.
    #[must_use]
    pub fn with_detail(mut self, detail: serde_json::Value) -> Self {
        self.detail = detail;
        self
    }

    /// The fields as stored: text fields cut to their limits, the detail as compact JSON
    /// (refused when longer than [`MAX_DETAIL_BYTES`]).
    pub fn stored_fields(&self) -> Result<StoredFields, MetaError> {
        let detail = self.detail.to_string();
        if detail.len() > MAX_DETAIL_BYTES {
            return Err(MetaError::Invalid {
                reason: format!(
                    "audit detail has {} bytes, more than the limit of {MAX_DETAIL_BYTES}",
                    detail.len()
                ),
            });
        }
        Ok(StoredFields {
            chain: self.chain.as_str().to_owned(),
            at: super::sqlite::format_time(self.at),
            kind: self.kind.as_str().to_owned(),
            actor: truncate(&self.actor, MAX_FIELD_BYTES).to_owned(),
            address: truncate(&self.address, MAX_ADDRESS_BYTES).to_owned(),
            object: truncate(&self.object, MAX_FIELD_BYTES).to_owned(),
            action: truncate(&self.action, MAX_FIELD_BYTES).to_owned(),
            outcome: self.outcome.as_str().to_owned(),
            detail,
        })
    }
}

/// A record's fields exactly as stored, which is what is hashed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredFields {
    /// `*` or the tenant.
    pub chain: String,
    /// The time as stored.
    pub at: String,
    /// The kind as stored.
    pub kind: String,
    /// The actor.
    pub actor: String,
    /// The address.
    pub address: String,
    /// The object.
    pub object: String,
    /// The action.
    pub action: String,
    /// The outcome as stored.
    pub outcome: String,
    /// The detail as stored (compact JSON).
    pub detail: String,
}

/// The hash of record `seq` of a chain whose previous record hashed to `prev`.
pub fn record_hash(prev: &[u8; 32], seq: u64, fields: &StoredFields) -> [u8; 32] {
    let mut context = digest::Context::new(&digest::SHA256);
    context.update(b"shieldwall-audit-record-v1\0");
    context.update(prev);
    context.update(&seq.to_be_bytes());
    for field in [
        &fields.chain,
        &fields.at,
        &fields.kind,
        &fields.actor,
        &fields.address,
        &fields.object,
        &fields.action,
        &fields.outcome,
        &fields.detail,
    ] {
        context.update(&(field.len() as u64).to_be_bytes());
        context.update(field.as_bytes());
    }
    let mut hash = [0; 32];
    hash.copy_from_slice(context.finish().as_ref());
    hash
}

/// A stored record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// Its place in its chain, from 1.
    pub seq: u64,
    /// What was recorded.
    #[serde(flatten)]
    pub record: NewAuditRecord,
    /// The hash of the record before it (hex in JSON).
    #[serde(with = "hex32")]
    pub prev_hash: [u8; 32],
    /// Its hash (hex in JSON).
    #[serde(with = "hex32")]
    pub hash: [u8; 32],
}

/// The latest record of a chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainHead {
    /// The chain.
    pub chain: Scope,
    /// The latest sequence number.
    pub seq: u64,
    /// Its hash (hex in JSON).
    #[serde(with = "hex32")]
    pub hash: [u8; 32],
}

/// A chain head signed with the audit signing key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedHead {
    /// The head.
    #[serde(flatten)]
    pub head: ChainHead,
    /// When it was signed.
    pub signed_at: Timestamp,
    /// Which key: the hex SHA-256 of its public key, first 16 characters.
    pub key_id: String,
    /// The Ed25519 signature (hex in JSON).
    #[serde(with = "hex_bytes")]
    pub signature: Vec<u8>,
}

/// Which audit records to list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditFilter {
    /// The chain (required: a tenant's trail is read apart from any other).
    pub chain: Scope,
    /// Only records at or after this time.
    pub since: Option<Timestamp>,
    /// Only records before this time.
    pub until: Option<Timestamp>,
    /// Only records of this type.
    pub kind: Option<AuditKind>,
    /// Only records of this actor (exact, any case).
    pub actor: Option<String>,
    /// Only records with a sequence number below this (paging backwards, newest first).
    pub before_seq: Option<u64>,
    /// Only records with a sequence number above this, oldest first (paging forwards, for
    /// exports). Ignored when `before_seq` is set.
    pub after_seq: Option<u64>,
    /// At most this many.
    pub limit: usize,
}

/// The audit trail. Appending never changes or removes a record; the only removal is
/// [`AuditTrail::purge_audit`], up to a signed head.
pub trait AuditTrail {
    /// Appends a record to its chain.
    fn append_audit(&self, record: &NewAuditRecord) -> Result<AuditRecord, MetaError>;

    /// Records matching `filter`, newest first (oldest first with `after_seq`).
    fn audit_records(&self, filter: &AuditFilter) -> Result<Vec<AuditRecord>, MetaError>;

    /// The latest record of every chain that has one.
    fn chain_heads(&self) -> Result<Vec<ChainHead>, MetaError>;

    /// Keeps a signed head (a head signed twice is kept once).
    fn record_signed_head(&self, head: &SignedHead) -> Result<(), MetaError>;

    /// Every signed head, by chain and sequence number.
    fn signed_heads(&self) -> Result<Vec<SignedHead>, MetaError>;

    /// The sequence number of the latest signed head of every chain that has one.
    fn latest_signed(&self) -> Result<Vec<(Scope, u64)>, MetaError>;

    /// Walks every chain in the database against `trusted` heads (whose signatures the caller
    /// checked) and reports each chain, naming the first bad record of any that fails. A
    /// retention purge is accepted only when its anchor is a trusted head with the same hash,
    /// signed no later than `purges_before` (the retention's cut-off); `None` accepts none.
    fn verify_audit(
        &self,
        trusted: &[SignedHead],
        purges_before: Option<Timestamp>,
    ) -> Result<Vec<ChainReport>, MetaError>;

    /// Removes records of `chain` older than `before`, but only up to its latest signed head
    /// (so that what stays can still be verified from a signed anchor). Returns how many went.
    fn purge_audit(
        &self,
        chain: &Scope,
        before: Timestamp,
        at: Timestamp,
    ) -> Result<u64, MetaError>;
}

/// What went wrong at the first bad record of a chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProblemKind {
    /// The record's content does not match its hash: it was edited.
    Modified,
    /// Records are missing from here on (deleted from the middle).
    Missing,
    /// A record was inserted here: the record after it was written at this position.
    Inserted,
    /// The record was written at a later position: records before it were deleted and the
    /// rest renumbered, or records were reordered.
    Moved,
    /// The record does not follow the record before it: inserted, reordered, or its predecessor
    /// replaced.
    BrokenLink,
    /// The chain does not reach the hash a signed head holds for this point: records up to it
    /// were rewritten with recomputed hashes.
    Rewritten,
    /// The chain ends before a signed head: records were cut from its end.
    Truncated,
    /// A retention purge removed the start of the chain, but its anchor is not a signed head.
    UnsignedPurge,
    /// A stored field cannot be read back (not a timestamp, a kind no version wrote).
    Unreadable,
}

/// The first bad record of a chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditProblem {
    /// The chain.
    pub chain: String,
    /// The first record that is (or, for [`ProblemKind::Rewritten`], may be) bad.
    pub seq: u64,
    /// What.
    pub kind: ProblemKind,
    /// In words.
    pub detail: String,
}

impl fmt::Display for AuditProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "chain {}, record {}: {}",
            self.chain, self.seq, self.detail
        )
    }
}

/// The verification of one chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainReport {
    /// The chain.
    pub chain: String,
    /// Records walked.
    pub records: u64,
    /// The first sequence number present (after a purge it is above 1).
    pub first_seq: Option<u64>,
    /// The last sequence number present.
    pub last_seq: Option<u64>,
    /// The latest trusted signed head of the chain, if any.
    pub signed_seq: Option<u64>,
    /// Records after the latest signed head: protected by the chain alone until the next signing.
    pub unsigned: u64,
    /// The first problem, if the chain fails.
    pub problem: Option<AuditProblem>,
}

/// One record as [`ChainVerifier`] sees it: its stored columns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawRecord {
    /// The sequence number.
    pub seq: u64,
    /// The stored fields.
    pub fields: StoredFields,
    /// The stored previous hash.
    pub prev_hash: Vec<u8>,
    /// The stored hash.
    pub hash: Vec<u8>,
}

/// Walks one chain, fed its records in ascending sequence order.
#[derive(Debug)]
pub struct ChainVerifier {
    chain: String,
    /// Trusted heads of this chain: seq → (hash, when signed).
    heads: BTreeMap<u64, ([u8; 32], Timestamp)>,
    /// Purges are accepted only at heads signed no later than this.
    purges_before: Option<Timestamp>,
    /// Purge anchors of this chain: up_to_seq → hash of that record.
    anchors: BTreeMap<u64, [u8; 32]>,
    expected_seq: u64,
    expected_prev: [u8; 32],
    /// The latest head the chain matched (0 for none).
    matched_head: u64,
    records: u64,
    first_seq: Option<u64>,
    last_seq: Option<u64>,
    problem: Option<AuditProblem>,
}

impl ChainVerifier {
    /// A walker for `chain`, given its trusted heads (sequence number, hash, signing time), its
    /// purge anchors, and the latest signing time a purge anchor may have.
    pub fn new(
        chain: &str,
        trusted: impl IntoIterator<Item = (u64, [u8; 32], Timestamp)>,
        anchors: impl IntoIterator<Item = (u64, [u8; 32])>,
        purges_before: Option<Timestamp>,
    ) -> Self {
        ChainVerifier {
            chain: chain.to_owned(),
            heads: trusted
                .into_iter()
                .map(|(seq, hash, at)| (seq, (hash, at)))
                .collect(),
            purges_before,
            anchors: anchors.into_iter().collect(),
            expected_seq: 1,
            expected_prev: GENESIS,
            matched_head: 0,
            records: 0,
            first_seq: None,
            last_seq: None,
            problem: None,
        }
    }

    /// Whether a problem was found (later records are then not looked at).
    pub fn failed(&self) -> bool {
        self.problem.is_some()
    }

    fn fail(&mut self, seq: u64, kind: ProblemKind, detail: String) {
        self.problem = Some(AuditProblem {
            chain: self.chain.clone(),
            seq,
            kind,
            detail,
        });
    }

    /// Checks the next record.
    pub fn push(&mut self, record: &RawRecord) {
        if self.failed() {
            return;
        }
        self.records += 1;
        if self.first_seq.is_none() {
            self.first_seq = Some(record.seq);
            if record.seq > 1
                && let Some(anchor) = self.anchors.get(&(record.seq - 1)).copied()
            {
                if let Err(detail) = self.purge_allowed(record.seq - 1, &anchor) {
                    return self.fail(record.seq, ProblemKind::UnsignedPurge, detail);
                }
                self.expected_seq = record.seq;
                self.expected_prev = anchor;
            }
        }
        self.last_seq = Some(record.seq);
        if record.seq != self.expected_seq {
            let detail = format!(
                "missing: the chain goes from record {} to record {} (deleted)",
                self.expected_seq.saturating_sub(1),
                record.seq
            );
            return self.fail(self.expected_seq, ProblemKind::Missing, detail);
        }
        let computed = record_hash(&record.prev_hash_or_zero(), record.seq, &record.fields);
        if record.hash.as_slice() != computed {
            return self.mismatch(record);
        }
        if record.prev_hash.as_slice() != self.expected_prev {
            let detail = format!(
                "broken link: it does not follow record {} (inserted, reordered, or the record before it replaced)",
                record.seq - 1
            );
            return self.fail(record.seq, ProblemKind::BrokenLink, detail);
        }
        if let Some((signed, _)) = self.heads.get(&record.seq) {
            if *signed != computed {
                let from = self.matched_head + 1;
                let detail = format!(
                    "rewritten: the chain does not reach the signed head at record {} with its signed hash; the records from {from} to {} were rewritten and the first of them is the earliest that can be bad",
                    record.seq, record.seq
                );
                return self.fail(from, ProblemKind::Rewritten, detail);
            }
            self.matched_head = record.seq;
        }
        self.expected_prev = computed;
        self.expected_seq = record.seq + 1;
    }

    /// Whether a purge of records 1 to `up_to` with this anchor is one retention could have
    /// made: its anchor is a trusted head with the same hash, signed before the cut-off.
    fn purge_allowed(&self, up_to: u64, anchor: &[u8; 32]) -> Result<(), String> {
        let Some((hash, signed_at)) = self.heads.get(&up_to) else {
            return Err(format!(
                "records 1 to {up_to} were purged, but the purge's anchor is not a signed head"
            ));
        };
        if hash != anchor {
            return Err(format!(
                "records 1 to {up_to} were purged, but the purge's anchor differs from the signed head"
            ));
        }
        match self.purges_before {
            None => Err(format!(
                "records 1 to {up_to} were purged, but no retention is configured that would purge them"
            )),
            Some(cut) if *signed_at > cut => Err(format!(
                "records 1 to {up_to} were purged, but they are younger than the retention allows (signed {signed_at})"
            )),
            Some(_) => Ok(()),
        }
    }

    /// Names what a record whose content does not match its hash went through: a record hashed
    /// for another position was moved (an insertion before it, a deletion with renumbering, a
    /// reordering); otherwise it was edited.
    fn mismatch(&mut self, record: &RawRecord) {
        let prev = record.prev_hash_or_zero();
        let hashed_at =
            |seq: u64| record.hash.as_slice() == record_hash(&prev, seq, &record.fields);
        let seq = record.seq;
        if seq > 1 && hashed_at(seq - 1) {
            let detail = format!(
                "inserted: the record at {seq} was written at position {}, so the record now at {} was inserted before it",
                seq - 1,
                seq - 1
            );
            return self.fail(seq - 1, ProblemKind::Inserted, detail);
        }
        if let Some(written) = (seq + 1..=seq + MAX_SHIFT).find(|&s| hashed_at(s)) {
            let detail = format!(
                "moved: the record at {seq} was written at position {written} (records before it were deleted and the rest renumbered, or the records reordered)"
            );
            return self.fail(seq, ProblemKind::Moved, detail);
        }
        let detail = "modified: its content does not match its hash".to_owned();
        self.fail(seq, ProblemKind::Modified, detail);
    }

    /// The report, once every record was pushed.
    pub fn finish(mut self) -> ChainReport {
        // A chain purged up to its end (nothing appended since) goes on from its last anchor.
        if !self.failed()
            && self.first_seq.is_none()
            && let Some((&up_to, anchor)) = self.anchors.iter().next_back()
        {
            let anchor = *anchor;
            match self.purge_allowed(up_to, &anchor) {
                Ok(()) => self.expected_seq = up_to + 1,
                Err(detail) => self.fail(up_to + 1, ProblemKind::UnsignedPurge, detail),
            }
        }
        let latest_head = self.heads.keys().next_back().copied();
        if !self.failed()
            && let Some(head) = latest_head
            && head >= self.expected_seq
        {
            let detail = match self.last_seq {
                Some(last) => format!(
                    "truncated: the chain ends at record {last}, but a signed head holds record {head}"
                ),
                None => {
                    format!("truncated: the chain is empty, but a signed head holds record {head}")
                }
            };
            let first = self.expected_seq;
            self.fail(first, ProblemKind::Truncated, detail);
        }
        let unsigned = match self.last_seq {
            Some(last) => last - latest_head.unwrap_or(0).min(last),
            None => 0,
        };
        ChainReport {
            chain: self.chain,
            records: self.records,
            first_seq: self.first_seq,
            last_seq: self.last_seq,
            signed_seq: latest_head,
            unsigned,
            problem: self.problem,
        }
    }

    /// Marks a record whose columns could not be read back.
    pub fn unreadable(&mut self, seq: u64, detail: String) {
        if !self.failed() {
            self.fail(seq, ProblemKind::Unreadable, detail);
        }
    }
}

impl RawRecord {
    fn prev_hash_or_zero(&self) -> [u8; 32] {
        <[u8; 32]>::try_from(self.prev_hash.as_slice()).unwrap_or(GENESIS)
    }
}

pub use shieldwall_core::hex::{from_hex, to_hex};

mod hex32 {
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub(super) fn serialize<S: Serializer>(bytes: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::to_hex(bytes))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 32], D::Error> {
        let text = String::deserialize(d)?;
        super::from_hex(&text)
            .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok())
            .ok_or_else(|| D::Error::custom("expected 64 hex digits"))
    }
}

mod hex_bytes {
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub(super) fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::to_hex(bytes))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        super::from_hex(&text).ok_or_else(|| D::Error::custom("expected hex digits"))
    }
}
