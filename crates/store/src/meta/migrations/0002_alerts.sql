-- Schema version 2: alerts and their append-only history.
-- Released migrations are never edited: change the schema with a new file.

-- One row per alert; merges of repeats update count, events, first_seen, last_seen and
-- updated_at. Lists are JSON arrays, group values a JSON object; times as in version 1.
CREATE TABLE alerts (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant        TEXT    NOT NULL,
    dedup_key     TEXT    NOT NULL,
    source        TEXT    NOT NULL CHECK (source IN ('detection', 'correlation')),
    rule_id       TEXT    NOT NULL,
    title         TEXT    NOT NULL,
    author        TEXT,
    license       TEXT,
    level         TEXT    NOT NULL,
    severity      INTEGER NOT NULL CHECK (severity BETWEEN 1 AND 5),
    attack        TEXT    NOT NULL,
    controls      TEXT    NOT NULL,
    group_values  TEXT    NOT NULL,
    events        TEXT    NOT NULL,
    event_count   INTEGER NOT NULL CHECK (event_count >= 1),
    first_seen    TEXT    NOT NULL,
    last_seen     TEXT    NOT NULL,
    state         TEXT    NOT NULL CHECK (state IN ('new', 'acknowledged', 'closed')),
    assignee      TEXT,
    resolution    TEXT,
    created_at    TEXT    NOT NULL,
    updated_at    TEXT    NOT NULL
) STRICT;

CREATE INDEX alerts_by_tenant ON alerts (tenant, id);
-- The open alert a repeat merges into.
CREATE INDEX alerts_open_by_key ON alerts (tenant, dedup_key, id) WHERE state <> 'closed';

-- Every change of an alert: who, when, what. Nothing may change or remove these rows.
CREATE TABLE alert_history (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    alert_id  INTEGER NOT NULL REFERENCES alerts (id),
    tenant    TEXT    NOT NULL,
    at        TEXT    NOT NULL,
    actor     TEXT    NOT NULL CHECK (actor <> ''),
    action    TEXT    NOT NULL,
    detail    TEXT
) STRICT;

CREATE INDEX alert_history_by_alert ON alert_history (alert_id, id);

CREATE TRIGGER alert_history_is_append_only_update
BEFORE UPDATE ON alert_history
BEGIN
    SELECT RAISE(ABORT, 'alert history is append-only');
END;

CREATE TRIGGER alert_history_is_append_only_delete
BEFORE DELETE ON alert_history
BEGIN
    SELECT RAISE(ABORT, 'alert history is append-only');
END;
