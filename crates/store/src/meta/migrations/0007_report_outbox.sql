-- Schema version 7: the mailings of scheduled reports.
-- Released migrations are never edited: change the schema with a new file.

-- One row per (schedule, due time, channel). The scheduler queues the rows of a due time once:
-- the unique key makes queueing them again a no-op, also after a restart. Each row is then
-- mailed, retried or given up as the notification outbox's rows are. Rows stay, for the record.
CREATE TABLE report_outbox (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    schedule        TEXT    NOT NULL CHECK (schedule <> ''),
    tenant          TEXT    NOT NULL,
    due_at          TEXT    NOT NULL,
    channel         TEXT    NOT NULL CHECK (channel <> ''),
    state           TEXT    NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at TEXT    NOT NULL,
    last_error      TEXT,
    created_at      TEXT    NOT NULL,
    done_at         TEXT,
    UNIQUE (schedule, due_at, channel)
) STRICT;

CREATE INDEX report_outbox_due ON report_outbox (next_attempt_at, id) WHERE state = 'pending';
CREATE INDEX report_outbox_by_tenant ON report_outbox (tenant, id);
