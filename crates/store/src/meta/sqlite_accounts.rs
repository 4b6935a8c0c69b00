//! The [`AccountStore`] of [`SqliteMetaStore`]: tenants, accounts, bindings, sessions and API
//! tokens, each change written with its audit record in one transaction.

use jiff::Timestamp;
use rusqlite::{Connection, OptionalExtension, Row, params};
use shieldwall_core::{Role, Scope, TenantId};

use super::accounts::{
    Account, AccountStore, ApiToken, Credentials, FailureStreak, LoginHistory, MAX_ADDRESS_BYTES,
    NewAccount, NewApiToken, NewSession, RoleBinding, Session, Tenant, validate_account_name,
    validate_label,
};
use super::audit::NewAuditRecord;
use super::sqlite::{format_time, parse_time};
use super::{MetaError, SqliteMetaStore};

/// How many recent login records the backoff looks at, per address and per account.
const LOGIN_WINDOW: i64 = 256;

fn id_param(id: u64) -> i64 {
    i64::try_from(id).unwrap_or(i64::MAX)
}

fn not_found(what: String) -> MetaError {
    MetaError::NotFound { what }
}

struct RawBinding {
    id: i64,
    account_id: i64,
    scope: String,
    role: String,
    created_at: String,
}

impl RawBinding {
    const COLUMNS: &str = "id, account_id, scope, role, created_at";

    fn from_row(r: &Row<'_>) -> rusqlite::Result<Self> {
        Ok(RawBinding {
            id: r.get(0)?,
            account_id: r.get(1)?,
            scope: r.get(2)?,
            role: r.get(3)?,
            created_at: r.get(4)?,
        })
    }
}

struct RawAccount {
    id: i64,
    name: String,
    disabled: bool,
    created_at: String,
}

impl RawAccount {
    const COLUMNS: &str = "id, name, disabled, created_at";

    fn from_row(r: &Row<'_>) -> rusqlite::Result<Self> {
        Ok(RawAccount {
            id: r.get(0)?,
            name: r.get(1)?,
            disabled: r.get(2)?,
            created_at: r.get(3)?,
        })
    }
}

impl SqliteMetaStore {
    fn decode_binding(&self, raw: RawBinding) -> Result<RoleBinding, MetaError> {
        let bad = |detail: String| self.corrupt("role_bindings", raw.id, detail);
        Ok(RoleBinding {
            id: u64::try_from(raw.id).map_err(|_| bad("negative id".to_owned()))?,
            account_id: u64::try_from(raw.account_id)
                .map_err(|_| bad("negative account id".to_owned()))?,
            scope: raw.scope.parse().map_err(|e| bad(format!("scope: {e}")))?,
            role: raw.role.parse().map_err(|e| bad(format!("{e}")))?,
            created_at: self.time_column("role_bindings", raw.id, "created_at", &raw.created_at)?,
        })
    }

    fn bindings_of(&self, conn: &Connection, account: i64) -> Result<Vec<RoleBinding>, MetaError> {
        let raws = conn
            .prepare_cached(&format!(
                "SELECT {} FROM role_bindings WHERE account_id = ?1 ORDER BY scope",
                RawBinding::COLUMNS
            ))
            .and_then(|mut s| {
                s.query_map([account], RawBinding::from_row)?
                    .collect::<rusqlite::Result<Vec<_>>>()
            })
            .map_err(|e| self.sql(e))?;
        raws.into_iter().map(|r| self.decode_binding(r)).collect()
    }

    fn decode_account(&self, conn: &Connection, raw: RawAccount) -> Result<Account, MetaError> {
        Ok(Account {
            id: u64::try_from(raw.id)
                .map_err(|_| self.corrupt("accounts", raw.id, "negative id".to_owned()))?,
            bindings: self.bindings_of(conn, raw.id)?,
            created_at: self.time_column("accounts", raw.id, "created_at", &raw.created_at)?,
            name: raw.name,
            disabled: raw.disabled,
        })
    }

    fn account_on(&self, conn: &Connection, id: i64) -> Result<Option<Account>, MetaError> {
        let raw = conn
            .prepare_cached(&format!(
                "SELECT {} FROM accounts WHERE id = ?1",
                RawAccount::COLUMNS
            ))
            .and_then(|mut s| s.query_row([id], RawAccount::from_row).optional())
            .map_err(|e| self.sql(e))?;
        raw.map(|raw| self.decode_account(conn, raw)).transpose()
    }

    fn require_account(&self, conn: &Connection, id: u64) -> Result<Account, MetaError> {
        self.account_on(conn, id_param(id))?
            .ok_or_else(|| not_found(format!("account {id}")))
    }

    /// Inserts a binding after the checks the schema's triggers repeat.
    fn bind(
        &self,
        tx: &Connection,
        account: &Account,
        scope: &Scope,
        role: Role,
        at: Timestamp,
    ) -> Result<RoleBinding, MetaError> {
        if !role.fits(scope) {
            return Err(MetaError::Invalid {
                reason: format!(
                    "role {role} cannot be bound to the whole system: only system_admin and audit_admin can"
                ),
            });
        }
        if let Scope::Tenant(tenant) = scope {
            let known: bool = tx
                .query_row(
                    "SELECT EXISTS (SELECT 1 FROM tenants WHERE id = ?1)",
                    [tenant.as_str()],
                    |r| r.get(0),
                )
                .map_err(|e| self.sql(e))?;
            if !known {
                return Err(not_found(format!("tenant {tenant}")));
            }
        }
        let bindings = self.bindings_of(tx, id_param(account.id))?;
        if let Some(existing) = bindings.iter().find(|b| &b.scope == scope) {
            return Err(MetaError::Exists {
                what: format!(
                    "a binding of account {} in {} (as {})",
                    account.name, scope, existing.role
                ),
            });
        }
        if role.is_admin()
            && let Some(other) = bindings
                .iter()
                .find(|b| b.role.is_admin() && b.role != role)
        {
            return Err(MetaError::SeparationOfDuties {
                account: account.name.clone(),
                held: other.role.to_string(),
                asked: role.to_string(),
            });
        }
        let created = format_time(at);
        tx.execute(
            "INSERT INTO role_bindings (account_id, scope, role, created_at) VALUES (?1, ?2, ?3, ?4)",
            params![id_param(account.id), scope.as_str(), role.as_str(), created],
        )
        .map_err(|e| self.sql(e))?;
        let id = tx.last_insert_rowid();
        Ok(RoleBinding {
            id: u64::try_from(id).unwrap_or(0),
            account_id: account.id,
            scope: scope.clone(),
            role,
            created_at: at,
        })
    }

    fn api_token_where(
        &self,
        conn: &Connection,
        condition: &str,
        params: impl rusqlite::Params,
    ) -> Result<Vec<ApiToken>, MetaError> {
        type Raw = (
            i64,
            String,
            String,
            String,
            Option<String>,
            Option<String>,
            RawBinding,
            String,
            bool,
        );
        let sql = format!(
            "SELECT t.id, t.name, t.created_at, t.expires_at, t.revoked_at, t.last_used_at, \
             b.id, b.account_id, b.scope, b.role, b.created_at, a.name, a.disabled \
             FROM api_tokens t JOIN role_bindings b ON b.id = t.binding_id \
             JOIN accounts a ON a.id = b.account_id WHERE {condition}"
        );
        let raws: Vec<Raw> = conn
            .prepare_cached(&sql)
            .and_then(|mut s| {
                s.query_map(params, |r| {
                    Ok((
                        r.get(0)?,
                        r.get(1)?,
                        r.get(2)?,
                        r.get(3)?,
                        r.get(4)?,
                        r.get(5)?,
                        RawBinding {
                            id: r.get(6)?,
                            account_id: r.get(7)?,
                            scope: r.get(8)?,
                            role: r.get(9)?,
                            created_at: r.get(10)?,
                        },
                        r.get(11)?,
                        r.get(12)?,
                    ))
                })?
                .collect()
            })
            .map_err(|e| self.sql(e))?;
        raws.into_iter()
            .map(
                |(id, name, created, expires, revoked, used, binding, account, disabled)| {
                    let time =
                        |column: &str, text: &str| self.time_column("api_tokens", id, column, text);
                    Ok(ApiToken {
                        id: u64::try_from(id).unwrap_or(0),
                        name,
                        binding: self.decode_binding(binding)?,
                        account,
                        account_disabled: disabled,
                        created_at: time("created_at", &created)?,
                        expires_at: time("expires_at", &expires)?,
                        revoked_at: revoked.map(|t| time("revoked_at", &t)).transpose()?,
                        last_used_at: used.map(|t| time("last_used_at", &t)).transpose()?,
                    })
                },
            )
            .collect()
    }

    /// The failure streak in login records (newest first) matching `keep`.
    fn streak(
        &self,
        records: &[(String, String, String)],
        keep: impl Fn(&str, &str) -> bool,
    ) -> FailureStreak {
        let mut streak = FailureStreak::default();
        for (at, address, outcome) in records {
            // Attempts refused by the backoff itself neither extend nor end a streak (the
            // queries leave them out, so that a flood of them cannot push real failures out of
            // the window either).
            if !keep(address, outcome) {
                continue;
            }
            if outcome == "success" {
                break;
            }
            streak.failures += 1;
            if streak.last.is_none() {
                streak.last = parse_time(at);
            }
        }
        streak
    }
}

fn check_address(address: &str) -> Result<(), MetaError> {
    if address.len() > MAX_ADDRESS_BYTES || address.chars().any(char::is_control) {
        return Err(MetaError::Invalid {
            reason: format!("client address {address:?} is not valid"),
        });
    }
    Ok(())
}

impl AccountStore for SqliteMetaStore {
    fn tenants(&self) -> Result<Vec<Tenant>, MetaError> {
        let raws: Vec<(String, String, String)> = self.with_conn(|conn| {
            conn.prepare_cached("SELECT id, name, created_at FROM tenants ORDER BY id")?
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                .collect()
        })?;
        raws.into_iter()
            .map(|(id, name, created)| {
                let bad = |detail: String| self.corrupt("tenants", &id, detail);
                let created_at =
                    parse_time(&created).ok_or_else(|| bad(format!("created_at {created:?}")))?;
                Ok(Tenant {
                    id: TenantId::new(id.clone()).map_err(|e| bad(e.to_string()))?,
                    name,
                    created_at,
                })
            })
            .collect()
    }

    fn create_tenant(&self, tenant: &Tenant, audit: &NewAuditRecord) -> Result<(), MetaError> {
        validate_label("tenant name", &tenant.name)?;
        self.write(|tx| {
            let inserted = tx
                .execute(
                    "INSERT INTO tenants (id, name, created_at) VALUES (?1, ?2, ?3) \
                     ON CONFLICT (id) DO NOTHING",
                    params![
                        tenant.id.as_str(),
                        tenant.name,
                        format_time(tenant.created_at)
                    ],
                )
                .map_err(|e| self.sql(e))?;
            if inserted == 0 {
                return Err(MetaError::Exists {
                    what: format!("tenant {}", tenant.id),
                });
            }
            self.audit_in(tx, audit)?;
            Ok(())
        })
    }

    fn create_account(
        &self,
        account: &NewAccount,
        bindings: &[(Scope, Role)],
        audit: &NewAuditRecord,
    ) -> Result<Account, MetaError> {
        validate_account_name(&account.name)?;
        self.write(|tx| {
            let inserted = tx
                .execute(
                    "INSERT INTO accounts (name, password_hash, totp_sealed, created_at) \
                     VALUES (?1, ?2, ?3, ?4) ON CONFLICT (name) DO NOTHING",
                    params![
                        account.name,
                        account.password_hash,
                        account.totp_sealed,
                        format_time(account.created_at)
                    ],
                )
                .map_err(|e| self.sql(e))?;
            if inserted == 0 {
                return Err(MetaError::Exists {
                    what: format!("account {:?}", account.name),
                });
            }
            let id = tx.last_insert_rowid();
            let mut created = self
                .account_on(tx, id)?
                .ok_or_else(|| not_found(format!("account {id}")))?;
            for (scope, role) in bindings {
                let binding = self.bind(tx, &created, scope, *role, account.created_at)?;
                created.bindings.push(binding);
            }
            self.audit_in(tx, audit)?;
            Ok(created)
        })
    }

    fn account(&self, id: u64) -> Result<Option<Account>, MetaError> {
        let conn = self.lock()?;
        self.account_on(&conn, id_param(id))
    }

    fn accounts(
        &self,
        scope: Option<&Scope>,
        after: u64,
        limit: usize,
    ) -> Result<Vec<Account>, MetaError> {
        let conn = self.lock()?;
        let raws = conn
            .prepare_cached(&format!(
                "SELECT {} FROM accounts a WHERE id > ?1 AND (?2 IS NULL OR EXISTS \
                 (SELECT 1 FROM role_bindings b WHERE b.account_id = a.id AND b.scope = ?2)) \
                 ORDER BY id LIMIT ?3",
                RawAccount::COLUMNS
            ))
            .and_then(|mut s| {
                s.query_map(
                    params![
                        id_param(after),
                        scope.map(Scope::as_str),
                        i64::try_from(limit).unwrap_or(i64::MAX)
                    ],
                    RawAccount::from_row,
                )?
                .collect::<rusqlite::Result<Vec<_>>>()
            })
            .map_err(|e| self.sql(e))?;
        raws.into_iter()
            .map(|raw| self.decode_account(&conn, raw))
            .collect()
    }

    fn credentials(&self, name: &str) -> Result<Option<Credentials>, MetaError> {
        let conn = self.lock()?;
        type Raw = (i64, String, Vec<u8>, Option<i64>);
        let found: Option<Raw> = conn
            .prepare_cached(
                "SELECT id, password_hash, totp_sealed, totp_last_step FROM accounts \
                 WHERE name = ?1",
            )
            .and_then(|mut s| {
                s.query_row([name], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
                    .optional()
            })
            .map_err(|e| self.sql(e))?;
        let Some((id, password_hash, totp_sealed, last_step)) = found else {
            return Ok(None);
        };
        let account = self
            .account_on(&conn, id)?
            .ok_or_else(|| not_found(format!("account {id}")))?;
        Ok(Some(Credentials {
            account,
            password_hash,
            totp_sealed,
            totp_last_step: last_step.and_then(|s| u64::try_from(s).ok()),
        }))
    }

    fn accept_totp_step(&self, account_id: u64, step: u64) -> Result<bool, MetaError> {
        let changed = self.with_conn(|conn| {
            conn.prepare_cached(
                "UPDATE accounts SET totp_last_step = ?2 WHERE id = ?1 \
                 AND (totp_last_step IS NULL OR totp_last_step < ?2)",
            )?
            .execute(params![id_param(account_id), id_param(step)])
        })?;
        Ok(changed == 1)
    }

    fn set_password(
        &self,
        account_id: u64,
        password_hash: &str,
        audit: &NewAuditRecord,
    ) -> Result<(), MetaError> {
        self.write(|tx| {
            let sql = |e| self.sql(e);
            let changed = tx
                .execute(
                    "UPDATE accounts SET password_hash = ?2 WHERE id = ?1",
                    params![id_param(account_id), password_hash],
                )
                .map_err(sql)?;
            if changed == 0 {
                return Err(not_found(format!("account {account_id}")));
            }
            tx.execute(
                "DELETE FROM sessions WHERE account_id = ?1",
                [id_param(account_id)],
            )
            .map_err(sql)?;
            self.audit_in(tx, audit)?;
            Ok(())
        })
    }

    fn set_disabled(
        &self,
        account_id: u64,
        disabled: bool,
        audit: &NewAuditRecord,
    ) -> Result<(), MetaError> {
        self.write(|tx| {
            let sql = |e| self.sql(e);
            let changed = tx
                .execute(
                    "UPDATE accounts SET disabled = ?2 WHERE id = ?1",
                    params![id_param(account_id), disabled],
                )
                .map_err(sql)?;
            if changed == 0 {
                return Err(not_found(format!("account {account_id}")));
            }
            if disabled {
                tx.execute(
                    "DELETE FROM sessions WHERE account_id = ?1",
                    [id_param(account_id)],
                )
                .map_err(sql)?;
            }
            self.audit_in(tx, audit)?;
            Ok(())
        })
    }

    fn add_binding(
        &self,
        account_id: u64,
        scope: &Scope,
        role: Role,
        at: Timestamp,
        audit: &NewAuditRecord,
    ) -> Result<RoleBinding, MetaError> {
        self.write(|tx| {
            let account = self.require_account(tx, account_id)?;
            let binding = self.bind(tx, &account, scope, role, at)?;
            self.audit_in(tx, audit)?;
            Ok(binding)
        })
    }

    fn binding(&self, id: u64) -> Result<Option<RoleBinding>, MetaError> {
        let raw = self.with_conn(|conn| {
            conn.prepare_cached(&format!(
                "SELECT {} FROM role_bindings WHERE id = ?1",
                RawBinding::COLUMNS
            ))?
            .query_row([id_param(id)], RawBinding::from_row)
            .optional()
        })?;
        raw.map(|raw| self.decode_binding(raw)).transpose()
    }

    fn remove_binding(&self, id: u64, audit: &NewAuditRecord) -> Result<(), MetaError> {
        self.write(|tx| {
            let removed = tx
                .execute("DELETE FROM role_bindings WHERE id = ?1", [id_param(id)])
                .map_err(|e| self.sql(e))?;
            if removed == 0 {
                return Err(not_found(format!("role binding {id}")));
            }
            self.audit_in(tx, audit)?;
            Ok(())
        })
    }

    fn create_session(
        &self,
        session: &NewSession,
        audit: &NewAuditRecord,
    ) -> Result<(), MetaError> {
        check_address(&session.address)?;
        self.write(|tx| {
            let created = format_time(session.created_at);
            tx.execute(
                "INSERT INTO sessions (digest, account_id, address, created_at, last_seen_at, expires_at) \
                 VALUES (?1, ?2, ?3, ?4, ?4, ?5)",
                params![
                    session.digest.as_slice(),
                    id_param(session.account_id),
                    session.address,
                    created,
                    format_time(session.expires_at)
                ],
            )
            .map_err(|e| self.sql(e))?;
            self.audit_in(tx, audit)?;
            Ok(())
        })
    }

    fn session(&self, digest: &[u8; 32]) -> Result<Option<Session>, MetaError> {
        let conn = self.lock()?;
        type Raw = (i64, String, String, String, String);
        let raw: Option<Raw> = conn
            .prepare_cached(
                "SELECT account_id, address, created_at, last_seen_at, expires_at \
                 FROM sessions WHERE digest = ?1",
            )
            .and_then(|mut s| {
                s.query_row([digest.as_slice()], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
                })
                .optional()
            })
            .map_err(|e| self.sql(e))?;
        let Some((account_id, address, created, seen, expires)) = raw else {
            return Ok(None);
        };
        let account = self
            .account_on(&conn, account_id)?
            .ok_or_else(|| not_found(format!("account {account_id}")))?;
        let time = |column: &str, text: &str| {
            parse_time(text)
                .ok_or_else(|| self.corrupt("sessions", account_id, format!("{column} {text:?}")))
        };
        Ok(Some(Session {
            account,
            address,
            created_at: time("created_at", &created)?,
            last_seen_at: time("last_seen_at", &seen)?,
            expires_at: time("expires_at", &expires)?,
        }))
    }

    fn touch_session(&self, digest: &[u8; 32], now: Timestamp) -> Result<(), MetaError> {
        self.with_conn(|conn| {
            conn.prepare_cached("UPDATE sessions SET last_seen_at = ?2 WHERE digest = ?1")?
                .execute(params![digest.as_slice(), format_time(now)])
        })?;
        Ok(())
    }

    fn end_session(&self, digest: &[u8; 32], audit: &NewAuditRecord) -> Result<bool, MetaError> {
        self.write(|tx| {
            let removed = tx
                .execute(
                    "DELETE FROM sessions WHERE digest = ?1",
                    [digest.as_slice()],
                )
                .map_err(|e| self.sql(e))?;
            self.audit_in(tx, audit)?;
            Ok(removed == 1)
        })
    }

    fn purge_sessions(&self, now: Timestamp) -> Result<u64, MetaError> {
        let removed = self.with_conn(|conn| {
            conn.execute(
                "DELETE FROM sessions WHERE expires_at < ?1",
                [format_time(now)],
            )
        })?;
        Ok(removed as u64)
    }

    fn create_api_token(
        &self,
        token: &NewApiToken,
        audit: &NewAuditRecord,
    ) -> Result<ApiToken, MetaError> {
        validate_label("token name", &token.name)?;
        if token.expires_at <= token.created_at {
            return Err(MetaError::Invalid {
                reason: "the token's expiry is not after its creation".to_owned(),
            });
        }
        self.write(|tx| {
            let sql = |e| self.sql(e);
            let binding_known: bool = tx
                .query_row(
                    "SELECT EXISTS (SELECT 1 FROM role_bindings WHERE id = ?1)",
                    [id_param(token.binding_id)],
                    |r| r.get(0),
                )
                .map_err(sql)?;
            if !binding_known {
                return Err(not_found(format!("role binding {}", token.binding_id)));
            }
            tx.execute(
                "INSERT INTO api_tokens (digest, binding_id, name, created_at, expires_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    token.digest.as_slice(),
                    id_param(token.binding_id),
                    token.name,
                    format_time(token.created_at),
                    format_time(token.expires_at)
                ],
            )
            .map_err(sql)?;
            let id = tx.last_insert_rowid();
            self.audit_in(tx, audit)?;
            self.api_token_where(tx, "t.id = ?1", [id])?
                .pop()
                .ok_or_else(|| not_found(format!("API token {id}")))
        })
    }

    fn api_token(&self, digest: &[u8; 32]) -> Result<Option<ApiToken>, MetaError> {
        let conn = self.lock()?;
        Ok(self
            .api_token_where(&conn, "t.digest = ?1", [digest.as_slice()])?
            .pop())
    }

    fn api_tokens(
        &self,
        account_id: Option<u64>,
        scope: Option<&Scope>,
        after: u64,
        limit: usize,
    ) -> Result<Vec<ApiToken>, MetaError> {
        let conn = self.lock()?;
        self.api_token_where(
            &conn,
            "(?1 IS NULL OR b.account_id = ?1) AND (?2 IS NULL OR b.scope = ?2) AND t.id > ?3 \
             ORDER BY t.id LIMIT ?4",
            params![
                account_id.map(id_param),
                scope.map(Scope::as_str),
                id_param(after),
                i64::try_from(limit).unwrap_or(i64::MAX)
            ],
        )
    }

    fn touch_api_token(&self, id: u64, now: Timestamp) -> Result<(), MetaError> {
        self.with_conn(|conn| {
            conn.prepare_cached("UPDATE api_tokens SET last_used_at = ?2 WHERE id = ?1")?
                .execute(params![id_param(id), format_time(now)])
        })?;
        Ok(())
    }

    fn revoke_api_token(
        &self,
        id: u64,
        at: Timestamp,
        audit: &NewAuditRecord,
    ) -> Result<ApiToken, MetaError> {
        self.write(|tx| {
            let changed = tx
                .execute(
                    "UPDATE api_tokens SET revoked_at = coalesce(revoked_at, ?2) WHERE id = ?1",
                    params![id_param(id), format_time(at)],
                )
                .map_err(|e| self.sql(e))?;
            if changed == 0 {
                return Err(not_found(format!("API token {id}")));
            }
            self.audit_in(tx, audit)?;
            self.api_token_where(tx, "t.id = ?1", [id_param(id)])?
                .pop()
                .ok_or_else(|| not_found(format!("API token {id}")))
        })
    }

    fn login_history(
        &self,
        account: &str,
        address: &str,
        since: Timestamp,
    ) -> Result<LoginHistory, MetaError> {
        let since = format_time(since);
        let (by_address, by_account, known): (Vec<_>, Vec<_>, bool) = self.with_conn(|conn| {
            let rows = |sql: &str, key: &str| -> rusqlite::Result<Vec<(String, String, String)>> {
                conn.prepare_cached(sql)?
                    .query_map(params![key, since, LOGIN_WINDOW], |r| {
                        Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                    })?
                    .collect()
            };
            let by_address = rows(
                "SELECT at, address, outcome FROM audit_records WHERE kind = 'login' \
                 AND outcome <> 'denied' AND address = ?1 AND at >= ?2 ORDER BY at DESC LIMIT ?3",
                address,
            )?;
            let by_account = rows(
                "SELECT at, address, outcome FROM audit_records WHERE kind = 'login' \
                 AND outcome <> 'denied' AND actor = ?1 COLLATE NOCASE AND at >= ?2 \
                 ORDER BY at DESC LIMIT ?3",
                account,
            )?;
            let known = conn
                .prepare_cached(
                    "SELECT EXISTS (SELECT 1 FROM audit_records WHERE kind = 'login' \
                     AND actor = ?1 COLLATE NOCASE AND address = ?2 AND at >= ?3 \
                     AND outcome = 'success')",
                )?
                .query_row(params![account, address, since], |r| r.get(0))?;
            Ok((by_address, by_account, known))
        })?;
        Ok(LoginHistory {
            address: self.streak(&by_address, |_, _| true),
            account_here: self.streak(&by_account, |a, _| a == address),
            account_elsewhere: self.streak(&by_account, |a, _| a != address),
            known_address: known,
        })
    }
}
