-- Schema version 1: deletion records (append-only) and retention policies.
-- Released migrations are never edited: change the schema with a new file.

-- One row per deletion by query. Timestamps are RFC 3339 in UTC with nine fractional digits
-- (fixed width, so they sort as text and read as dates in the sqlite3 shell).
CREATE TABLE deletions (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant         TEXT    NOT NULL,
    query          TEXT    NOT NULL,
    range_from     TEXT,
    range_to       TEXT,
    deleted_events INTEGER NOT NULL CHECK (deleted_events >= 0),
    requested_by   TEXT    NOT NULL CHECK (requested_by <> ''),
    requested_at   TEXT    NOT NULL
) STRICT;

CREATE INDEX deletions_by_tenant ON deletions (tenant, id);

-- The audit trail depends on these rows: nothing may change or remove them.
CREATE TRIGGER deletions_are_append_only_update
BEFORE UPDATE ON deletions
BEGIN
    SELECT RAISE(ABORT, 'deletion records are append-only');
END;

CREATE TRIGGER deletions_are_append_only_delete
BEFORE DELETE ON deletions
BEGIN
    SELECT RAISE(ABORT, 'deletion records are append-only');
END;

-- At most one policy per tenant; at least one limit set.
CREATE TABLE retention_policies (
    tenant       TEXT    NOT NULL PRIMARY KEY,
    max_age_days INTEGER CHECK (max_age_days >= 1),
    max_bytes    INTEGER CHECK (max_bytes >= 0),
    CHECK (max_age_days IS NOT NULL OR max_bytes IS NOT NULL)
) STRICT, WITHOUT ROWID;
