//! The API's wire types: what requests carry and responses show. Kept apart from the store's
//! records so that the API contract changes only on purpose; each has a JSON schema for the
//! OpenAPI document.

use std::borrow::Cow;
use std::collections::BTreeMap;

use jiff::Timestamp;
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Serialize};
use shieldwall_core::{Role, Severity};
use shieldwall_store::meta::{
    Account, AlertHistoryEntry, ApiToken, AuditRecord, RoleBinding, StoredAlert, Tenant,
};

/// An RFC 3339 timestamp, as schemas show it.
pub struct DateTime;

impl JsonSchema for DateTime {
    fn schema_name() -> Cow<'static, str> {
        "DateTime".into()
    }

    fn inline_schema() -> bool {
        true
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({"type": "string", "format": "date-time"})
    }
}

/// A role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RoleName {
    /// Reads events, alerts, findings and reports; uploads attestations.
    User,
    /// Rules, policies, checks, alert handling, parsers, manifests.
    SecurityAdmin,
    /// Accounts, tenants, sources, configuration.
    SystemAdmin,
    /// The audit trail, nothing else.
    AuditAdmin,
}

impl From<Role> for RoleName {
    fn from(role: Role) -> Self {
        match role {
            Role::User => RoleName::User,
            Role::SecurityAdmin => RoleName::SecurityAdmin,
            Role::SystemAdmin => RoleName::SystemAdmin,
            Role::AuditAdmin => RoleName::AuditAdmin,
        }
    }
}

impl From<RoleName> for Role {
    fn from(role: RoleName) -> Self {
        match role {
            RoleName::User => Role::User,
            RoleName::SecurityAdmin => Role::SecurityAdmin,
            RoleName::SystemAdmin => Role::SystemAdmin,
            RoleName::AuditAdmin => Role::AuditAdmin,
        }
    }
}

/// A role binding.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct BindingView {
    /// Its id.
    pub id: u64,
    /// The account.
    pub account_id: u64,
    /// A tenant id, or `*` for the whole system.
    pub scope: String,
    /// The role.
    pub role: RoleName,
    /// When it was made.
    #[schemars(with = "DateTime")]
    pub created_at: Timestamp,
}

impl From<&RoleBinding> for BindingView {
    fn from(b: &RoleBinding) -> Self {
        BindingView {
            id: b.id,
            account_id: b.account_id,
            scope: b.scope.as_str().to_owned(),
            role: b.role.into(),
            created_at: b.created_at,
        }
    }
}

/// An account (no secrets).
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct AccountView {
    /// Its id.
    pub id: u64,
    /// The login name.
    pub name: String,
    /// Disabled accounts cannot sign in.
    pub disabled: bool,
    /// When it was made.
    #[schemars(with = "DateTime")]
    pub created_at: Timestamp,
    /// Its role bindings.
    pub bindings: Vec<BindingView>,
}

impl From<&Account> for AccountView {
    fn from(a: &Account) -> Self {
        AccountView {
            id: a.id,
            name: a.name.clone(),
            disabled: a.disabled,
            created_at: a.created_at,
            bindings: a.bindings.iter().map(BindingView::from).collect(),
        }
    }
}

/// A tenant.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct TenantView {
    /// Its id.
    pub id: String,
    /// Its display name.
    pub name: String,
    /// When it was made.
    #[schemars(with = "DateTime")]
    pub created_at: Timestamp,
}

impl From<&Tenant> for TenantView {
    fn from(t: &Tenant) -> Self {
        TenantView {
            id: t.id.as_str().to_owned(),
            name: t.name.clone(),
            created_at: t.created_at,
        }
    }
}

/// An API token (never its text, except once when created).
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct TokenView {
    /// Its id.
    pub id: u64,
    /// Its label.
    pub name: String,
    /// The binding it acts under.
    pub binding: BindingView,
    /// The account of the binding.
    pub account: String,
    /// When it was made.
    #[schemars(with = "DateTime")]
    pub created_at: Timestamp,
    /// When it stops working.
    #[schemars(with = "DateTime")]
    pub expires_at: Timestamp,
    /// When it was revoked.
    #[schemars(with = "Option<DateTime>")]
    pub revoked_at: Option<Timestamp>,
    /// When it was last used (to the minute).
    #[schemars(with = "Option<DateTime>")]
    pub last_used_at: Option<Timestamp>,
}

impl From<&ApiToken> for TokenView {
    fn from(t: &ApiToken) -> Self {
        TokenView {
            id: t.id,
            name: t.name.clone(),
            binding: (&t.binding).into(),
            account: t.account.clone(),
            created_at: t.created_at,
            expires_at: t.expires_at,
            revoked_at: t.revoked_at,
            last_used_at: t.last_used_at,
        }
    }
}

/// A new API token: its text is shown this once.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct NewTokenView {
    /// The bearer token (`swa_...`).
    pub token: String,
    /// The token's details.
    pub details: TokenView,
}

/// A login.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// The account name.
    #[schemars(length(min = 1, max = 128))]
    pub name: String,
    /// The password.
    #[schemars(length(min = 1, max = 1024))]
    pub password: String,
    /// The current TOTP code (6 digits).
    #[schemars(length(min = 6, max = 6), regex(pattern = r"^[0-9]{6}$"))]
    pub code: String,
}

/// A session: the cookie is set; the CSRF token goes into the X-CSRF-Token header of requests
/// that change something.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct SessionView {
    /// Who signed in, with their bindings.
    pub account: AccountView,
    /// The CSRF token of this session.
    pub csrf: String,
    /// When the session ends at the latest.
    #[schemars(with = "DateTime")]
    pub expires_at: Timestamp,
}

/// Who is asking.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct MeView {
    /// The account.
    pub account: String,
    /// The bindings the request acts under (all of the account's for a session, the token's
    /// one for an API token).
    pub bindings: Vec<MeBinding>,
    /// Whether the request came with an API token.
    pub token: bool,
    /// The console session's CSRF token (absent for API tokens), so that a reloaded console
    /// page need not keep it anywhere: a cross-site page cannot read this answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub csrf: Option<String>,
}

/// One binding of the caller.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct MeBinding {
    /// The binding's id.
    pub id: u64,
    /// A tenant, or `*`.
    pub scope: String,
    /// The role.
    pub role: RoleName,
}

/// A token to create for one of the caller's own bindings.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenRequest {
    /// The binding (one of the caller's).
    #[schemars(range(min = 1))]
    pub binding_id: u64,
    /// A label.
    #[schemars(length(min = 1, max = 128))]
    pub name: String,
    /// Days it lives (1 to 366; default `[api] token_days`).
    #[schemars(range(min = 1, max = 366))]
    pub days: Option<u32>,
}

/// A password change.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordRequest {
    /// The current password.
    #[schemars(length(min = 1, max = 1024))]
    pub current: String,
    /// The new one (at least 12 characters).
    #[schemars(length(min = 12, max = 1024))]
    pub new: String,
}

/// A tenant to create.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TenantRequest {
    /// Its id: lower-case letters, digits, '-' and '_', starting with a letter or digit.
    #[schemars(regex(pattern = r"^[a-z0-9][a-z0-9_-]{0,62}$"))]
    pub id: String,
    /// Its display name.
    #[schemars(length(min = 1, max = 128))]
    pub name: String,
}

/// A binding to create in a scope.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BindingRequest {
    /// The account.
    #[schemars(range(min = 1))]
    pub account_id: u64,
    /// The role.
    pub role: RoleName,
}

/// A new account, with its first bindings.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AccountRequest {
    /// The login name: letters, digits, '.', '_', '-' and '@'.
    #[schemars(regex(pattern = r"^[A-Za-z0-9._@-]{1,128}$"))]
    pub name: String,
    /// Its first password (at least 12 characters).
    #[schemars(length(min = 12, max = 1024))]
    pub password: String,
    /// Its bindings, in the scope of the route (a tenant administrator binds in their tenant
    /// only).
    #[serde(default)]
    pub roles: Vec<RoleName>,
}

/// A new account: the TOTP enrolment is shown this once.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct NewAccountView {
    /// The account.
    pub account: AccountView,
    /// The `otpauth://` URI for an authenticator app.
    pub otpauth_uri: String,
}

/// Whether an account may sign in.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DisabledRequest {
    /// True to disable (its sessions end), false to enable.
    pub disabled: bool,
}

/// Paging over a list ordered by id.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PageQuery {
    /// Items with an id above this.
    #[schemars(range(min = 0))]
    pub after: Option<u64>,
    /// At most this many (1 to 1000; default 100).
    #[schemars(range(min = 1, max = 1000))]
    pub limit: Option<usize>,
}

/// The most items one page holds.
pub const MAX_PAGE: usize = 1000;

/// A page size from a request's `limit`: 100 by default, at most [`MAX_PAGE`].
pub fn page_size(limit: Option<usize>) -> Result<usize, super::problem::Problem> {
    match limit {
        None => Ok(100),
        Some(n) if (1..=MAX_PAGE).contains(&n) => Ok(n),
        Some(n) => Err(super::problem::Problem::invalid(format!(
            "limit {n} is out of range: 1 to {MAX_PAGE}"
        ))),
    }
}

/// Alert states.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AlertStateName {
    /// Not handled yet.
    New,
    /// Someone is on it.
    Acknowledged,
    /// Done.
    Closed,
}

/// Severities.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SeverityName {
    /// Informational.
    Info,
    /// Low.
    Low,
    /// Medium.
    Medium,
    /// High.
    High,
    /// Critical.
    Critical,
}

impl From<SeverityName> for Severity {
    fn from(s: SeverityName) -> Self {
        match s {
            SeverityName::Info => Severity::Info,
            SeverityName::Low => Severity::Low,
            SeverityName::Medium => Severity::Medium,
            SeverityName::High => Severity::High,
            SeverityName::Critical => Severity::Critical,
        }
    }
}

/// Which alerts to list.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AlertQuery {
    /// Only alerts in this state.
    pub state: Option<AlertStateName>,
    /// Only alerts at least this severe.
    pub min_severity: Option<SeverityName>,
    /// Only alerts of this rule id.
    #[schemars(length(max = 512))]
    pub rule: Option<String>,
    /// Only alerts with an id below this (the next page: the last id seen).
    #[schemars(range(min = 1))]
    pub before: Option<u64>,
    /// At most this many (1 to 1000; default 100).
    #[schemars(range(min = 1, max = 1000))]
    pub limit: Option<usize>,
}

/// An alert.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct AlertView {
    /// Its id.
    pub id: u64,
    /// The tenant.
    pub tenant: String,
    /// `detection`, `correlation` or `baseline` (a baseline check that newly fails).
    pub source: String,
    /// The rule's id.
    pub rule_id: String,
    /// The rule's title.
    pub title: String,
    /// The rule's author, credited.
    pub author: Option<String>,
    /// The rule's licence.
    pub license: Option<String>,
    /// The rule's level.
    pub level: String,
    /// The severity.
    pub severity: String,
    /// ATT&CK tags.
    pub attack: Vec<String>,
    /// CCM v4.0.13 controls.
    pub controls: Vec<String>,
    /// Group-by values.
    pub group: BTreeMap<String, String>,
    /// Matching events' ids.
    pub events: Vec<String>,
    /// Matches this alert stands for.
    pub count: u64,
    /// First matching event.
    #[schemars(with = "DateTime")]
    pub first_seen: Timestamp,
    /// Last matching event.
    #[schemars(with = "DateTime")]
    pub last_seen: Timestamp,
    /// Handling state.
    pub state: AlertStateName,
    /// Who is on it.
    pub assignee: Option<String>,
    /// How it was closed.
    pub resolution: Option<String>,
    /// When raised.
    #[schemars(with = "DateTime")]
    pub created_at: Timestamp,
    /// When last changed.
    #[schemars(with = "DateTime")]
    pub updated_at: Timestamp,
}

impl From<&StoredAlert> for AlertView {
    fn from(a: &StoredAlert) -> Self {
        let value = serde_json::to_value(a).unwrap_or_default();
        let text = |key: &str| {
            value
                .get(key)
                .and_then(serde_json::Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        AlertView {
            id: a.id,
            tenant: a.tenant.as_str().to_owned(),
            source: text("source"),
            rule_id: a.rule_id.clone(),
            title: a.title.clone(),
            author: a.author.clone(),
            license: a.license.clone(),
            level: a.level.clone(),
            severity: text("severity"),
            attack: a.attack.clone(),
            controls: a.controls.clone(),
            group: a.group.clone(),
            events: a.events.iter().map(ToString::to_string).collect(),
            count: a.count,
            first_seen: a.first_seen,
            last_seen: a.last_seen,
            state: match a.state {
                shieldwall_core::AlertState::New => AlertStateName::New,
                shieldwall_core::AlertState::Acknowledged => AlertStateName::Acknowledged,
                shieldwall_core::AlertState::Closed => AlertStateName::Closed,
            },
            assignee: a.assignee.clone(),
            resolution: a.resolution.clone(),
            created_at: a.created_at,
            updated_at: a.updated_at,
        }
    }
}

/// A page of alerts, newest first.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct AlertPage {
    /// The alerts.
    pub items: Vec<AlertView>,
    /// `before` for the next page, when there may be one.
    pub next_before: Option<u64>,
}

/// One change in an alert's history.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct AlertHistoryView {
    /// When.
    #[schemars(with = "DateTime")]
    pub at: Timestamp,
    /// Who.
    pub actor: String,
    /// What.
    pub action: String,
    /// The comment, resolution or assignee.
    pub detail: Option<String>,
}

impl From<&AlertHistoryEntry> for AlertHistoryView {
    fn from(h: &AlertHistoryEntry) -> Self {
        AlertHistoryView {
            at: h.at,
            actor: h.actor.clone(),
            action: h.action.clone(),
            detail: h.detail.clone(),
        }
    }
}

/// An alert with its history.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct AlertDetail {
    /// The alert.
    pub alert: AlertView,
    /// Every change, oldest first.
    pub history: Vec<AlertHistoryView>,
}

/// A change to an alert.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
pub enum AlertActionRequest {
    /// Someone is on it.
    Acknowledge,
    /// Done, with the resolution.
    Close {
        /// How it was resolved.
        #[schemars(length(min = 1, max = 16384))]
        resolution: String,
    },
    /// Not done after all.
    Reopen,
    /// Give it to someone, or to nobody.
    Assign {
        /// The assignee; null for nobody.
        #[schemars(length(min = 1, max = 256))]
        assignee: Option<String>,
    },
    /// Add a comment.
    Comment {
        /// The comment.
        #[schemars(length(min = 1, max = 16384))]
        text: String,
    },
}

/// Which events to search.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EventQuery {
    /// The query (docs/query.md), at most 4096 characters; empty or absent for every event.
    #[schemars(length(max = 4096))]
    pub q: Option<String>,
    /// Earliest event time (RFC 3339, or relative to now: `now-1h`).
    #[schemars(length(max = 64))]
    pub from: Option<String>,
    /// Latest event time, exclusive (the next page: the time of the last event seen).
    #[schemars(length(max = 64))]
    pub to: Option<String>,
    /// At most this many (1 to 1000; default 100).
    #[schemars(range(min = 1, max = 1000))]
    pub limit: Option<usize>,
}

/// A page of events, newest first.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct EventPage {
    /// The events (docs/event-schema.md).
    pub events: Vec<serde_json::Map<String, serde_json::Value>>,
    /// `to` for the next page, when there may be one.
    pub next_to: Option<String>,
    /// Partitions that could not be read: their events are missing from the answer.
    pub unreadable: Vec<String>,
}

/// What to summarise.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AggregateQuery {
    /// The query; empty or absent for every event.
    #[schemars(length(max = 4096))]
    pub q: Option<String>,
    /// Earliest event time.
    #[schemars(length(max = 64))]
    pub from: Option<String>,
    /// Latest event time, exclusive.
    #[schemars(length(max = 64))]
    pub to: Option<String>,
    /// Fields to count values of, comma-separated.
    #[schemars(length(max = 1024))]
    pub count_by: Option<String>,
    /// Values per field (1 to 1000; default 10).
    #[schemars(range(min = 1, max = 1000))]
    pub top: Option<usize>,
    /// Histogram interval (`1m`, `1h`, `1d`).
    #[schemars(length(max = 16))]
    pub interval: Option<String>,
    /// Fields to count distinct values of, comma-separated.
    #[schemars(length(max = 1024))]
    pub distinct: Option<String>,
}

/// Summaries of the matching events.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct AggregateView {
    /// Matching events.
    pub total: u64,
    /// One result per aggregation asked for: `count_by` (buckets of [value, count], other,
    /// error_bound), `histogram` (buckets of [start, count]) or `distinct` (count).
    pub results: Vec<serde_json::Map<String, serde_json::Value>>,
}

/// Which audit records to list.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// Only records at or after this time (RFC 3339).
    #[schemars(length(max = 64))]
    pub since: Option<String>,
    /// Only records before this time.
    #[schemars(length(max = 64))]
    pub until: Option<String>,
    /// Only records of this type.
    #[serde(rename = "type")]
    pub kind: Option<AuditKindName>,
    /// Only records of this actor.
    #[schemars(length(max = 512))]
    pub actor: Option<String>,
    /// Only records with a sequence number below this (the next page).
    #[schemars(range(min = 1))]
    pub before: Option<u64>,
    /// At most this many (1 to 1000; default 100).
    #[schemars(range(min = 1, max = 1000))]
    pub limit: Option<usize>,
}

/// Audit record types.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AuditKindName {
    /// Login attempts.
    Login,
    /// Logouts.
    Logout,
    /// Administrative changes.
    Change,
    /// Event searches.
    Search,
    /// Refused requests.
    Denied,
    /// Reads of the audit trail.
    AuditRead,
}

/// An audit record.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct AuditRecordView {
    /// Its place in its chain.
    pub seq: u64,
    /// The chain: a tenant, or `*`.
    pub chain: String,
    /// When.
    #[schemars(with = "DateTime")]
    pub at: Timestamp,
    /// The type.
    #[serde(rename = "type")]
    pub kind: String,
    /// The subject.
    pub actor: String,
    /// From where.
    pub address: String,
    /// The object.
    pub object: String,
    /// What was done.
    pub action: String,
    /// `success`, `failure` or `denied`.
    pub outcome: String,
    /// Details.
    pub detail: serde_json::Value,
    /// The record's hash (hex).
    pub hash: String,
}

impl From<&AuditRecord> for AuditRecordView {
    fn from(r: &AuditRecord) -> Self {
        AuditRecordView {
            seq: r.seq,
            chain: r.record.chain.as_str().to_owned(),
            at: r.record.at,
            kind: r.record.kind.as_str().to_owned(),
            actor: r.record.actor.clone(),
            address: r.record.address.clone(),
            object: r.record.object.clone(),
            action: r.record.action.clone(),
            outcome: r.record.outcome.as_str().to_owned(),
            detail: r.record.detail.clone(),
            hash: shieldwall_store::meta::audit::to_hex(&r.hash),
        }
    }
}

/// A page of audit records, newest first.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct AuditPage {
    /// The records.
    pub items: Vec<AuditRecordView>,
    /// `before` for the next page, when there may be one.
    pub next_before: Option<u64>,
}

/// A source and its health.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct SourceView {
    /// Its name.
    pub name: String,
    /// Its kind.
    pub kind: String,
    /// Messages accepted since start.
    pub accepted: u64,
    /// Messages dropped since start.
    pub dropped: u64,
    /// Messages per second at the last check.
    pub rate: f64,
    /// Silent for longer than expected.
    pub silent: bool,
    /// When it last delivered.
    #[schemars(with = "Option<DateTime>")]
    pub last_seen: Option<Timestamp>,
}

/// Liveness and readiness.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct HealthView {
    /// `ok`, or what is wrong.
    pub status: String,
}
