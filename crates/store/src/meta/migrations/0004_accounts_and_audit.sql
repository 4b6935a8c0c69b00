-- Schema version 4: tenants, accounts, role bindings, sessions, API tokens and the audit trail.
-- Released migrations are never edited: change the schema with a new file.

CREATE TABLE tenants (
    id         TEXT NOT NULL PRIMARY KEY CHECK (id <> '' AND id <> '*'),
    name       TEXT NOT NULL CHECK (name <> ''),
    created_at TEXT NOT NULL
) STRICT;

-- Events written before this version belong to the default tenant.
INSERT INTO tenants (id, name, created_at) VALUES ('default', 'Default tenant', strftime('%Y-%m-%dT%H:%M:%fZ', 'now'));

-- The TOTP secret is sealed (ChaCha20-Poly1305) with a key kept outside the database; the
-- password is an Argon2id PHC string. totp_last_step is the last accepted time step, so that a
-- code is never accepted twice.
CREATE TABLE accounts (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    name           TEXT    NOT NULL UNIQUE COLLATE NOCASE CHECK (name <> ''),
    password_hash  TEXT    NOT NULL CHECK (password_hash LIKE '$argon2id$%'),
    totp_sealed    BLOB    NOT NULL,
    totp_last_step INTEGER,
    disabled       INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
    created_at     TEXT    NOT NULL
) STRICT;

-- One role per account and scope ('*' is the whole system); at most one administrator role per
-- account over all its bindings (separation of duties, checked by the trigger below as well as
-- by the code, so that no path around the code can break it).
CREATE TABLE role_bindings (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    scope      TEXT    NOT NULL,
    role       TEXT    NOT NULL CHECK (role IN ('user', 'security_admin', 'system_admin', 'audit_admin')),
    created_at TEXT    NOT NULL,
    UNIQUE (account_id, scope),
    CHECK (scope <> '*' OR role IN ('system_admin', 'audit_admin'))
) STRICT;

CREATE TRIGGER role_bindings_known_scope BEFORE INSERT ON role_bindings
WHEN NEW.scope <> '*' AND NOT EXISTS (SELECT 1 FROM tenants WHERE id = NEW.scope)
BEGIN
    SELECT RAISE(ABORT, 'role binding to a tenant that does not exist');
END;

CREATE TRIGGER role_bindings_one_admin_role BEFORE INSERT ON role_bindings
WHEN NEW.role <> 'user' AND EXISTS (
    SELECT 1 FROM role_bindings
    WHERE account_id = NEW.account_id AND role <> 'user' AND role <> NEW.role)
BEGIN
    SELECT RAISE(ABORT, 'separation of duties: an account holds at most one administrator role');
END;

CREATE TRIGGER role_bindings_unchanged BEFORE UPDATE ON role_bindings
BEGIN
    SELECT RAISE(ABORT, 'role bindings are not changed: remove one and add another');
END;

-- Sessions and API tokens are stored as the SHA-256 of their text only.
CREATE TABLE sessions (
    digest       BLOB    NOT NULL PRIMARY KEY CHECK (length(digest) = 32),
    account_id   INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    address      TEXT    NOT NULL,
    created_at   TEXT    NOT NULL,
    last_seen_at TEXT    NOT NULL,
    expires_at   TEXT    NOT NULL
) STRICT, WITHOUT ROWID;

CREATE INDEX sessions_by_account ON sessions (account_id);

CREATE TABLE api_tokens (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    digest       BLOB    NOT NULL UNIQUE CHECK (length(digest) = 32),
    binding_id   INTEGER NOT NULL REFERENCES role_bindings (id) ON DELETE CASCADE,
    name         TEXT    NOT NULL CHECK (name <> ''),
    created_at   TEXT    NOT NULL,
    expires_at   TEXT    NOT NULL,
    revoked_at   TEXT,
    last_used_at TEXT
) STRICT;

CREATE INDEX api_tokens_by_binding ON api_tokens (binding_id);

-- The audit trail: one hash chain per tenant and one for the system ('*'). hash is the SHA-256
-- of prev_hash and the record's fields (see meta/audit.rs); the first record of a chain has 32
-- zero bytes as prev_hash. Nothing updates a record; records are deleted only by a retention
-- purge, and only up to the sequence number an audit_purges row names.
CREATE TABLE audit_records (
    chain     TEXT    NOT NULL CHECK (chain <> ''),
    seq       INTEGER NOT NULL CHECK (seq >= 1),
    at        TEXT    NOT NULL,
    kind      TEXT    NOT NULL,
    actor     TEXT    NOT NULL,
    address   TEXT    NOT NULL,
    object    TEXT    NOT NULL,
    action    TEXT    NOT NULL,
    outcome   TEXT    NOT NULL CHECK (outcome IN ('success', 'failure', 'denied')),
    detail    TEXT    NOT NULL,
    prev_hash BLOB    NOT NULL CHECK (length(prev_hash) = 32),
    hash      BLOB    NOT NULL CHECK (length(hash) = 32),
    PRIMARY KEY (chain, seq)
) STRICT;

CREATE INDEX audit_by_time ON audit_records (at);
CREATE INDEX audit_logins_by_address ON audit_records (address, at) WHERE kind = 'login';
CREATE INDEX audit_logins_by_actor ON audit_records (actor COLLATE NOCASE, at) WHERE kind = 'login';

-- Each retention purge: records of the chain up to and including up_to_seq may go; anchor is the
-- hash of record up_to_seq, from which verification continues.
CREATE TABLE audit_purges (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    chain     TEXT    NOT NULL,
    up_to_seq INTEGER NOT NULL CHECK (up_to_seq >= 1),
    anchor    BLOB    NOT NULL CHECK (length(anchor) = 32),
    at        TEXT    NOT NULL
) STRICT;

-- Chain heads signed with the audit signing key (Ed25519), which lives outside the database.
CREATE TABLE audit_heads (
    chain     TEXT    NOT NULL,
    seq       INTEGER NOT NULL CHECK (seq >= 1),
    hash      BLOB    NOT NULL CHECK (length(hash) = 32),
    signed_at TEXT    NOT NULL,
    key_id    TEXT    NOT NULL,
    signature BLOB    NOT NULL,
    PRIMARY KEY (chain, seq)
) STRICT;

CREATE TRIGGER audit_records_no_update BEFORE UPDATE ON audit_records
BEGIN
    SELECT RAISE(ABORT, 'audit records are append-only');
END;

CREATE TRIGGER audit_records_purge_only BEFORE DELETE ON audit_records
WHEN OLD.seq > coalesce((SELECT max(up_to_seq) FROM audit_purges WHERE chain = OLD.chain), 0)
BEGIN
    SELECT RAISE(ABORT, 'audit records are append-only (only a retention purge removes old ones)');
END;

CREATE TRIGGER audit_purges_no_update BEFORE UPDATE ON audit_purges
BEGIN
    SELECT RAISE(ABORT, 'audit purges are append-only');
END;

CREATE TRIGGER audit_purges_no_delete BEFORE DELETE ON audit_purges
BEGIN
    SELECT RAISE(ABORT, 'audit purges are append-only');
END;

CREATE TRIGGER audit_heads_no_update BEFORE UPDATE ON audit_heads
BEGIN
    SELECT RAISE(ABORT, 'signed audit heads are append-only');
END;

CREATE TRIGGER audit_heads_no_delete BEFORE DELETE ON audit_heads
BEGIN
    SELECT RAISE(ABORT, 'signed audit heads are append-only');
END;

-- Evidence for the plan's controls: attestations uploaded by people and observations of the
-- check modules. body is the JSON of the core Evidence record.
CREATE TABLE evidence (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    id          TEXT    NOT NULL UNIQUE,
    tenant      TEXT    NOT NULL,
    body        TEXT    NOT NULL,
    recorded_by TEXT    NOT NULL,
    recorded_at TEXT    NOT NULL
) STRICT;

CREATE INDEX evidence_by_tenant ON evidence (tenant, seq);

-- Results of the check modules (baseline, vulnerability scans): body is the JSON of the core
-- Finding record.
CREATE TABLE findings (
    seq      INTEGER PRIMARY KEY AUTOINCREMENT,
    id       TEXT    NOT NULL UNIQUE,
    tenant   TEXT    NOT NULL,
    module   TEXT    NOT NULL,
    status   TEXT    NOT NULL,
    time     TEXT    NOT NULL,
    body     TEXT    NOT NULL
) STRICT;

CREATE INDEX findings_by_tenant ON findings (tenant, seq);
