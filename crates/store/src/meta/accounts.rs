//! Tenants, accounts, role bindings, console sessions and API tokens ([`AccountStore`]).
//!
//! Every change takes the audit record that describes it and writes both in one transaction, so
//! that no change is made without its record and no record claims a change that was rolled back.
//! Secrets are stored only in the form the caller hands over: Argon2id hashes, sealed TOTP
//! secrets, SHA-256 digests of tokens.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use shieldwall_core::{Role, Scope, TenantId};

use super::MetaError;
use super::audit::NewAuditRecord;

/// The longest account, tenant or token name accepted, in bytes.
pub const MAX_NAME_BYTES: usize = 128;
/// The longest client address recorded, in bytes.
pub const MAX_ADDRESS_BYTES: usize = 64;

/// A tenant: whose events, alerts and audit chain a record belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tenant {
    /// Its id.
    pub id: TenantId,
    /// A display name.
    pub name: String,
    /// When it was created.
    pub created_at: Timestamp,
}

/// An account to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAccount {
    /// The login name: 1 to [`MAX_NAME_BYTES`] bytes of letters, digits, `.`, `_`, `-` and `@`;
    /// unique without regard to case.
    pub name: String,
    /// An Argon2id PHC string.
    pub password_hash: String,
    /// The TOTP secret, sealed with the server's secret key.
    pub totp_sealed: Vec<u8>,
    /// When.
    pub created_at: Timestamp,
}

/// An account as the API shows it: no secrets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    /// Its id.
    pub id: u64,
    /// The login name.
    pub name: String,
    /// A disabled account cannot log in and its sessions and tokens stop working.
    pub disabled: bool,
    /// When it was created.
    pub created_at: Timestamp,
    /// Its role bindings, by scope.
    pub bindings: Vec<RoleBinding>,
}

/// An account with what logging in checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The account.
    pub account: Account,
    /// The Argon2id PHC string.
    pub password_hash: String,
    /// The sealed TOTP secret.
    pub totp_sealed: Vec<u8>,
    /// The last TOTP time step accepted, if any.
    pub totp_last_step: Option<u64>,
}

/// A role held by an account in a scope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleBinding {
    /// Its id.
    pub id: u64,
    /// The account.
    pub account_id: u64,
    /// A tenant, or `*` for the whole system.
    pub scope: Scope,
    /// The role.
    pub role: Role,
    /// When it was made.
    pub created_at: Timestamp,
}

/// A console session to record after a successful login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSession {
    /// SHA-256 of the session token.
    pub digest: [u8; 32],
    /// Who logged in.
    pub account_id: u64,
    /// From where.
    pub address: String,
    /// When.
    pub created_at: Timestamp,
    /// When it ends whatever happens.
    pub expires_at: Timestamp,
}

/// A live session as looked up by its digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// The account, with its bindings.
    pub account: Account,
    /// From where it logged in.
    pub address: String,
    /// When.
    pub created_at: Timestamp,
    /// The last request seen (updated at most once a minute).
    pub last_seen_at: Timestamp,
    /// When it ends whatever happens.
    pub expires_at: Timestamp,
}

/// An API token to create, bound to one role binding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewApiToken {
    /// SHA-256 of the token.
    pub digest: [u8; 32],
    /// The binding it acts under.
    pub binding_id: u64,
    /// A label, 1 to [`MAX_NAME_BYTES`] bytes.
    pub name: String,
    /// When.
    pub created_at: Timestamp,
    /// When it stops working (required: tokens do not live for ever).
    pub expires_at: Timestamp,
}

/// An API token as listed: never its text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiToken {
    /// Its id.
    pub id: u64,
    /// The label.
    pub name: String,
    /// The binding it acts under.
    pub binding: RoleBinding,
    /// The account of the binding.
    pub account: String,
    /// Whether that account is disabled (the token then does not work).
    pub account_disabled: bool,
    /// When it was made.
    pub created_at: Timestamp,
    /// When it stops working.
    pub expires_at: Timestamp,
    /// When it was revoked, if it was.
    pub revoked_at: Option<Timestamp>,
    /// When it was last used (updated at most once a minute).
    pub last_used_at: Option<Timestamp>,
}

/// Consecutive failed logins (since the last success) of one kind, within the period asked.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FailureStreak {
    /// How many.
    pub failures: u32,
    /// The latest.
    pub last: Option<Timestamp>,
}

/// What the login backoff needs to know about an attempt's account and address, from the audit
/// trail's login records.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LoginHistory {
    /// Failures from this address, whatever account.
    pub address: FailureStreak,
    /// Failures of this account from this address.
    pub account_here: FailureStreak,
    /// Failures of this account from other addresses.
    pub account_elsewhere: FailureStreak,
    /// Whether this account has logged in successfully from this address within the period.
    pub known_address: bool,
}

/// Tenants, accounts, bindings, sessions and tokens. See the module documentation for the
/// transaction rule.
pub trait AccountStore {
    /// Every tenant, by id.
    fn tenants(&self) -> Result<Vec<Tenant>, MetaError>;

    /// Creates a tenant ([`MetaError::Exists`] if its id is taken).
    fn create_tenant(&self, tenant: &Tenant, audit: &NewAuditRecord) -> Result<(), MetaError>;

    /// Creates an account with its first bindings, all or nothing.
    fn create_account(
        &self,
        account: &NewAccount,
        bindings: &[(Scope, Role)],
        audit: &NewAuditRecord,
    ) -> Result<Account, MetaError>;

    /// One account by id.
    fn account(&self, id: u64) -> Result<Option<Account>, MetaError>;

    /// Accounts with an id above `after`, by id, at most `limit`; with `scope`, only accounts
    /// holding a binding there.
    fn accounts(
        &self,
        scope: Option<&Scope>,
        after: u64,
        limit: usize,
    ) -> Result<Vec<Account>, MetaError>;

    /// What logging in as `name` (any case) checks, if the account exists.
    fn credentials(&self, name: &str) -> Result<Option<Credentials>, MetaError>;

    /// Accepts TOTP time `step` for an account only if it is later than every step accepted
    /// before; `false` means the code was already used (a replay) or an older one. Atomic, so
    /// two logins racing with one code cannot both pass.
    fn accept_totp_step(&self, account_id: u64, step: u64) -> Result<bool, MetaError>;

    /// Replaces an account's password hash (its sessions end).
    fn set_password(
        &self,
        account_id: u64,
        password_hash: &str,
        audit: &NewAuditRecord,
    ) -> Result<(), MetaError>;

    /// Disables or enables an account (disabling ends its sessions).
    fn set_disabled(
        &self,
        account_id: u64,
        disabled: bool,
        audit: &NewAuditRecord,
    ) -> Result<(), MetaError>;

    /// Adds a binding. Refused when the role does not fit the scope, the tenant does not exist,
    /// the account already has a role there ([`MetaError::Exists`]), or the account holds
    /// another administrator role ([`MetaError::SeparationOfDuties`]).
    fn add_binding(
        &self,
        account_id: u64,
        scope: &Scope,
        role: Role,
        at: Timestamp,
        audit: &NewAuditRecord,
    ) -> Result<RoleBinding, MetaError>;

    /// One binding by id.
    fn binding(&self, id: u64) -> Result<Option<RoleBinding>, MetaError>;

    /// Removes a binding and the API tokens acting under it.
    fn remove_binding(&self, id: u64, audit: &NewAuditRecord) -> Result<(), MetaError>;

    /// Records a session after a successful login, with the login's audit record.
    fn create_session(&self, session: &NewSession, audit: &NewAuditRecord)
    -> Result<(), MetaError>;

    /// The session of a token digest, if it exists (expired or not: the caller decides).
    fn session(&self, digest: &[u8; 32]) -> Result<Option<Session>, MetaError>;

    /// Moves a session's last-seen time to `now`.
    fn touch_session(&self, digest: &[u8; 32], now: Timestamp) -> Result<(), MetaError>;

    /// Ends a session (logout or expiry); `false` if there was none.
    fn end_session(&self, digest: &[u8; 32], audit: &NewAuditRecord) -> Result<bool, MetaError>;

    /// Removes sessions that expired before `now`; returns how many.
    fn purge_sessions(&self, now: Timestamp) -> Result<u64, MetaError>;

    /// Creates an API token.
    fn create_api_token(
        &self,
        token: &NewApiToken,
        audit: &NewAuditRecord,
    ) -> Result<ApiToken, MetaError>;

    /// The token of a digest, if it exists (revoked and expired ones too: the caller decides).
    fn api_token(&self, digest: &[u8; 32]) -> Result<Option<ApiToken>, MetaError>;

    /// Tokens with an id above `after`, by id, at most `limit`: of one account, or of bindings in
    /// one scope, or all.
    fn api_tokens(
        &self,
        account_id: Option<u64>,
        scope: Option<&Scope>,
        after: u64,
        limit: usize,
    ) -> Result<Vec<ApiToken>, MetaError>;

    /// Moves a token's last-used time to `now`.
    fn touch_api_token(&self, id: u64, now: Timestamp) -> Result<(), MetaError>;

    /// Revokes a token (revoking a revoked token changes nothing and is not an error).
    fn revoke_api_token(
        &self,
        id: u64,
        at: Timestamp,
        audit: &NewAuditRecord,
    ) -> Result<ApiToken, MetaError>;

    /// Failed and successful logins for `account` (any case) and `address` since `since`, from
    /// the audit trail.
    fn login_history(
        &self,
        account: &str,
        address: &str,
        since: Timestamp,
    ) -> Result<LoginHistory, MetaError>;
}

/// Checks an account name: what every implementation accepts.
pub fn validate_account_name(name: &str) -> Result<(), MetaError> {
    let ok = !name.is_empty()
        && name.len() <= MAX_NAME_BYTES
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'));
    if ok {
        Ok(())
    } else {
        Err(MetaError::Invalid {
            reason: format!(
                "account name {:?} is not valid: use 1 to {MAX_NAME_BYTES} letters, digits, '.', '_', '-' or '@'",
                truncate(name, MAX_NAME_BYTES)
            ),
        })
    }
}

/// Checks a display or token name: not blank, at most [`MAX_NAME_BYTES`], no control characters.
pub fn validate_label(field: &str, text: &str) -> Result<(), MetaError> {
    let reason = if text.trim().is_empty() {
        "is empty"
    } else if text.len() > MAX_NAME_BYTES {
        "is too long"
    } else if text.chars().any(char::is_control) {
        "contains a control character"
    } else {
        return Ok(());
    };
    Err(MetaError::Invalid {
        reason: format!("{field} {reason} (1 to {MAX_NAME_BYTES} bytes, no control characters)"),
    })
}

/// At most `max` bytes of `text`, cut at a character boundary.
pub(crate) fn truncate(text: &str, max: usize) -> &str {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.get(..end).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_names_are_restricted() {
        for good in ["alice", "a.b-c_d@example.com", "X1"] {
            assert!(validate_account_name(good).is_ok(), "{good}");
        }
        for bad in ["", "a b", "é", "a\n", &"a".repeat(MAX_NAME_BYTES + 1)] {
            assert!(validate_account_name(bad).is_err(), "{bad:?}");
        }
        assert!(validate_label("token name", "ci deploy").is_ok());
        assert!(validate_label("token name", " ").is_err());
        assert!(validate_label("token name", "a\u{1b}[2J").is_err());
        assert_eq!(truncate("héllo", 2), "h");
    }
}
