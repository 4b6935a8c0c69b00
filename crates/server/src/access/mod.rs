//! Accounts at the server's edge: the first administrator, logging in with password and TOTP
//! under a backoff, sessions and API tokens turned into a [`Principal`], logging out. Every
//! attempt and change goes into the audit trail.
//!
//! Calls hash passwords (Argon2id, tens of milliseconds); async callers run them on a blocking
//! thread.

mod backoff;

use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};
use serde_json::json;
use shieldwall_auth::keyfile::KeyFileError;
use shieldwall_auth::password::{self, Cost, PasswordError};
use shieldwall_auth::permission::Principal;
use shieldwall_auth::secret_box::SecretBox;
use shieldwall_auth::token::{self, TokenKind};
use shieldwall_auth::totp::{Secret, TotpError};
use shieldwall_core::{Role, Scope};
use shieldwall_store::meta::{
    Account, AuditKind, AuditOutcome, MetaError, MetaStore, NewAccount, NewAuditRecord, NewSession,
};

pub use backoff::{Backoff, delay};

/// The issuer authenticator apps show.
pub const TOTP_ISSUER: &str = "Shieldwall";
/// How far back the backoff looks.
const HISTORY: SignedDuration = SignedDuration::from_hours(24 * 30);
/// A session's last-seen time is written at most this often.
const TOUCH_EVERY: SignedDuration = SignedDuration::from_secs(60);
/// A well-formed Argon2id hash of nothing anyone knows: verified when the account does not
/// exist, so that the answer takes as long as for a wrong password.
const DECOY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c2hpZWxkd2FsbGRlY295$Yp0ovUXUjBRBeiVU06Z1LDtuUWtbmCOJJrE1qE0yhC0";

/// What went wrong.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AccessError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] MetaError),
    /// A key file failed.
    #[error(transparent)]
    Keys(#[from] KeyFileError),
    /// A new password is not acceptable, or hashing failed.
    #[error(transparent)]
    Password(#[from] PasswordError),
    /// `admin init` on a server that has a system administrator.
    #[error(
        "a system administrator exists already ({0}); further accounts are created through the API by a system administrator"
    )]
    AlreadyInitialised(String),
    /// Wrong name, password or code, or a disabled account: one answer for all, so that it
    /// tells nothing.
    #[error("the account name, password or code is wrong, or the account is disabled")]
    InvalidCredentials,
    /// Too many failures: try again later.
    #[error("too many failed attempts: try again in {retry_after_secs} s")]
    TooSoon {
        /// Seconds to wait.
        retry_after_secs: u64,
    },
    /// No valid session or token.
    #[error("not signed in, or the session or token has expired or was revoked")]
    Unauthenticated,
    /// The TOTP secret of an account does not open with this server's secret key.
    #[error("account {0}: its second factor cannot be read with this secret key file")]
    SealBroken(String),
    /// No randomness.
    #[error("the system's random number generator failed")]
    NoRandomness,
}

/// The first system administrator, with what to enrol the authenticator app with (shown once).
#[derive(Debug)]
pub struct Enrolled {
    /// The account.
    pub account: Account,
    /// The `otpauth://` URI.
    pub otpauth_uri: String,
    /// The secret in base32, for typing in by hand.
    pub secret_base32: String,
}

/// A successful login.
#[derive(Debug)]
pub struct LoggedIn {
    /// The account.
    pub account: Account,
    /// The session token (the cookie's value); never stored.
    pub session: String,
    /// The CSRF token the console sends back in a header.
    pub csrf: String,
    /// When the session ends at the latest.
    pub expires_at: Timestamp,
}

/// Session lifetimes.
#[derive(Debug, Clone, Copy)]
pub struct SessionLimits {
    /// Longest life.
    pub lifetime: SignedDuration,
    /// Longest inactivity.
    pub idle: SignedDuration,
}

/// Where a request comes from and who makes it, for the audit trail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// The client address, or `local`.
    pub address: String,
    /// The account, `cli:<user>`, or `anonymous`.
    pub actor: String,
}

/// Sign-in and the credentials behind it.
pub struct Access {
    meta: Arc<dyn MetaStore>,
    secrets: SecretBox,
    cost: Cost,
    limits: SessionLimits,
    /// Logins of one account (by a hash of its name) run one at a time, so that parallel
    /// guesses each see the failures before them and the backoff holds.
    stripes: Vec<std::sync::Mutex<()>>,
}

/// How many login stripes there are.
const STRIPES: usize = 64;

impl std::fmt::Debug for Access {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Access").finish_non_exhaustive()
    }
}

impl Access {
    /// Sign-in over `meta`, sealing TOTP secrets with `secrets`.
    pub fn new(
        meta: Arc<dyn MetaStore>,
        secrets: SecretBox,
        cost: Cost,
        limits: SessionLimits,
    ) -> Access {
        Access {
            meta,
            secrets,
            cost,
            limits,
            stripes: (0..STRIPES).map(|_| std::sync::Mutex::new(())).collect(),
        }
    }

    /// The store.
    pub fn meta(&self) -> &Arc<dyn MetaStore> {
        &self.meta
    }

    /// Hashes a new password and makes and seals a TOTP secret for `name`.
    pub fn new_credentials(
        &self,
        name: &str,
        password: &str,
        now: Timestamp,
    ) -> Result<(NewAccount, Secret), AccessError> {
        let password_hash = password::hash(password, self.cost)?;
        let secret = Secret::generate().map_err(|_| AccessError::NoRandomness)?;
        let totp_sealed = self.secrets.seal(name, secret.as_bytes())?;
        Ok((
            NewAccount {
                name: name.to_owned(),
                password_hash,
                totp_sealed,
                created_at: now,
            },
            secret,
        ))
    }

    /// Creates the first system administrator (refused when one exists).
    pub fn init_admin(
        &self,
        name: &str,
        password: &str,
        origin: &Origin,
        now: Timestamp,
    ) -> Result<Enrolled, AccessError> {
        let existing = self.meta.accounts(Some(&Scope::System), 0, 16)?;
        if let Some(admin) = existing.iter().find(|a| {
            a.bindings
                .iter()
                .any(|b| b.scope == Scope::System && b.role == Role::SystemAdmin)
        }) {
            return Err(AccessError::AlreadyInitialised(admin.name.clone()));
        }
        let (account, secret) = self.new_credentials(name, password, now)?;
        let audit = record(
            Scope::System,
            now,
            AuditKind::Change,
            origin,
            &format!("account:{name}"),
            "init_admin",
            AuditOutcome::Success,
        )
        .with_detail(json!({"role": Role::SystemAdmin, "scope": Scope::System}));
        let account =
            self.meta
                .create_account(&account, &[(Scope::System, Role::SystemAdmin)], &audit)?;
        Ok(Enrolled {
            otpauth_uri: secret.otpauth_uri(TOTP_ISSUER, &account.name),
            secret_base32: secret.to_base32(),
            account,
        })
    }

    /// Logs in with name, password and TOTP code from `address`. Every attempt is recorded;
    /// failures slow further attempts down ([`backoff`]).
    pub fn login(
        &self,
        name: &str,
        password: &str,
        code: &str,
        address: &str,
        now: Timestamp,
    ) -> Result<LoggedIn, AccessError> {
        let _one_at_a_time = self.stripe(name);
        let origin = Origin {
            address: address.to_owned(),
            actor: name.to_owned(),
        };
        let attempt = |outcome: AuditOutcome, reason: &str| {
            record(
                Scope::System,
                now,
                AuditKind::Login,
                &origin,
                &format!("account:{name}"),
                "login",
                outcome,
            )
            .with_detail(json!({ "reason": reason }))
        };
        let history = self.meta.login_history(name, address, now - HISTORY)?;
        if let Some(wait) = delay(&history, now) {
            self.meta
                .append_audit(&attempt(AuditOutcome::Denied, "backoff"))?;
            return Err(AccessError::TooSoon {
                retry_after_secs: wait.as_secs().max(1).unsigned_abs(),
            });
        }
        let fail = |reason: &str| -> Result<LoggedIn, AccessError> {
            self.meta
                .append_audit(&attempt(AuditOutcome::Failure, reason))?;
            Err(AccessError::InvalidCredentials)
        };
        let Some(credentials) = self.meta.credentials(name)? else {
            // Spend the time a real check would.
            let _ = password::verify(password, DECOY_HASH);
            return fail("no such account");
        };
        let name = credentials.account.name.clone();
        if !password::verify(password, &credentials.password_hash)? {
            return fail("wrong password");
        }
        if credentials.account.disabled {
            return fail("account disabled");
        }
        let secret = self
            .secrets
            .open(&name, &credentials.totp_sealed)
            .map_err(|_| AccessError::SealBroken(name.clone()))?;
        let step = match Secret::from_bytes(secret).verify(code, now, credentials.totp_last_step) {
            Ok(step) => step,
            Err(TotpError::Replayed) => return fail("TOTP code already used"),
            Err(_) => return fail("wrong TOTP code"),
        };
        if !self.meta.accept_totp_step(credentials.account.id, step)? {
            return fail("TOTP code already used");
        }
        let issued = token::issue(TokenKind::Session).map_err(|_| AccessError::NoRandomness)?;
        let expires_at = now + self.limits.lifetime;
        let session = NewSession {
            digest: issued.digest,
            account_id: credentials.account.id,
            address: address.to_owned(),
            created_at: now,
            expires_at,
        };
        let success = Origin {
            address: address.to_owned(),
            actor: name,
        };
        let audit = record(
            Scope::System,
            now,
            AuditKind::Login,
            &success,
            &format!("account:{}", success.actor),
            "login",
            AuditOutcome::Success,
        );
        self.meta.create_session(&session, &audit)?;
        Ok(LoggedIn {
            account: credentials.account,
            csrf: token::csrf_token(&issued.text),
            session: issued.text,
            expires_at,
        })
    }

    /// The stripe of an account name (any case), held for the whole of a login. (There is always
    /// one: the index is below [`STRIPES`].)
    fn stripe(&self, name: &str) -> Option<std::sync::MutexGuard<'_, ()>> {
        let digest =
            ring::digest::digest(&ring::digest::SHA256, name.to_ascii_lowercase().as_bytes());
        let index = usize::from(digest.as_ref().first().copied().unwrap_or(0)) % STRIPES;
        self.stripes.get(index).map(|stripe| {
            stripe
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
        })
    }

    /// Checks the password of a signed-in account before a change (a password change), under the
    /// login backoff, recording a failure as a failed login.
    pub fn recheck_password(
        &self,
        name: &str,
        password: &str,
        address: &str,
        now: Timestamp,
    ) -> Result<(), AccessError> {
        let _one_at_a_time = self.stripe(name);
        let history = self.meta.login_history(name, address, now - HISTORY)?;
        if let Some(wait) = delay(&history, now) {
            return Err(AccessError::TooSoon {
                retry_after_secs: wait.as_secs().max(1).unsigned_abs(),
            });
        }
        let credentials = self
            .meta
            .credentials(name)?
            .ok_or(AccessError::Unauthenticated)?;
        if password::verify(password, &credentials.password_hash)? {
            return Ok(());
        }
        let origin = Origin {
            address: address.to_owned(),
            actor: name.to_owned(),
        };
        let failure = record(
            Scope::System,
            now,
            AuditKind::Login,
            &origin,
            &format!("account:{name}"),
            "recheck_password",
            AuditOutcome::Failure,
        )
        .with_detail(json!({ "reason": "wrong password" }));
        self.meta.append_audit(&failure)?;
        Err(AccessError::InvalidCredentials)
    }

    /// The principal of a console session token, with all its bindings.
    pub fn session(&self, presented: &str, now: Timestamp) -> Result<Principal, AccessError> {
        let digest =
            token::digest(TokenKind::Session, presented).ok_or(AccessError::Unauthenticated)?;
        let session = self
            .meta
            .session(&digest)?
            .ok_or(AccessError::Unauthenticated)?;
        if now >= session.expires_at
            || now >= session.last_seen_at + self.limits.idle
            || session.account.disabled
        {
            let origin = Origin {
                address: session.address.clone(),
                actor: session.account.name.clone(),
            };
            let audit = record(
                Scope::System,
                now,
                AuditKind::Logout,
                &origin,
                &format!("account:{}", session.account.name),
                "session_expired",
                AuditOutcome::Success,
            );
            self.meta.end_session(&digest, &audit)?;
            return Err(AccessError::Unauthenticated);
        }
        if now >= session.last_seen_at + TOUCH_EVERY {
            self.meta.touch_session(&digest, now)?;
        }
        Ok(Principal {
            account_id: session.account.id,
            bindings: session
                .account
                .bindings
                .iter()
                .map(|b| (b.id, b.scope.clone(), b.role))
                .collect(),
            account: session.account.name,
            token_id: None,
        })
    }

    /// The principal of an API token: its one binding.
    pub fn api_token(&self, presented: &str, now: Timestamp) -> Result<Principal, AccessError> {
        let digest =
            token::digest(TokenKind::Api, presented).ok_or(AccessError::Unauthenticated)?;
        let found = self
            .meta
            .api_token(&digest)?
            .ok_or(AccessError::Unauthenticated)?;
        if found.revoked_at.is_some() || now >= found.expires_at || found.account_disabled {
            return Err(AccessError::Unauthenticated);
        }
        if found
            .last_used_at
            .is_none_or(|used| now >= used + TOUCH_EVERY)
        {
            self.meta.touch_api_token(found.id, now)?;
        }
        Ok(Principal {
            account_id: found.binding.account_id,
            account: found.account,
            bindings: vec![(found.binding.id, found.binding.scope, found.binding.role)],
            token_id: Some(found.id),
        })
    }

    /// Ends a console session.
    pub fn logout(
        &self,
        presented: &str,
        origin: &Origin,
        now: Timestamp,
    ) -> Result<(), AccessError> {
        let digest =
            token::digest(TokenKind::Session, presented).ok_or(AccessError::Unauthenticated)?;
        let audit = record(
            Scope::System,
            now,
            AuditKind::Logout,
            origin,
            &format!("account:{}", origin.actor),
            "logout",
            AuditOutcome::Success,
        );
        self.meta.end_session(&digest, &audit)?;
        Ok(())
    }

    /// The password cost in use.
    pub fn cost(&self) -> Cost {
        self.cost
    }
}

/// The SHA-256 of an uploaded text, in hex, as audit records name what was written or run.
pub fn sha256_hex(text: &str) -> String {
    shieldwall_store::meta::audit::to_hex(
        ring::digest::digest(&ring::digest::SHA256, text.as_bytes()).as_ref(),
    )
}

/// An audit record from its parts.
pub fn record(
    chain: Scope,
    at: Timestamp,
    kind: AuditKind,
    origin: &Origin,
    object: &str,
    action: &str,
    outcome: AuditOutcome,
) -> NewAuditRecord {
    NewAuditRecord {
        chain,
        at,
        kind,
        actor: origin.actor.clone(),
        address: origin.address.clone(),
        object: object.to_owned(),
        action: action.to_owned(),
        outcome,
        detail: serde_json::Value::Null,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_decoy_hash_costs_a_real_verification() {
        assert_eq!(password::verify("anything at all", DECOY_HASH), Ok(false));
        assert!(!password::needs_rehash(DECOY_HASH, Cost::OWASP));
    }
}
