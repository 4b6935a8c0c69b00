-- Schema version 3: the notification outbox.
-- Released migrations are never edited: change the schema with a new file.

-- One row per (alert, channel) to notify, written in the transaction that raises the alert, so
-- that no alert is raised without its notifications queued. Delivered and failed rows stay, for
-- the record.
CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant          TEXT    NOT NULL,
    alert_id        INTEGER NOT NULL REFERENCES alerts (id),
    channel         TEXT    NOT NULL CHECK (channel <> ''),
    state           TEXT    NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at TEXT    NOT NULL,
    last_error      TEXT,
    created_at      TEXT    NOT NULL,
    done_at         TEXT
) STRICT;

CREATE INDEX outbox_due ON outbox (next_attempt_at, id) WHERE state = 'pending';
CREATE INDEX outbox_by_alert ON outbox (alert_id, id);
