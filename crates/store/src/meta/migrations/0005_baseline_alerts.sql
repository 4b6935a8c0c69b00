-- Schema version 5: alerts raised by baseline checks that newly fail, and the index that finds
-- what a target's checks said at its last run.
-- Released migrations are never edited: change the schema with a new file.

-- SQLite cannot change a CHECK constraint in place, so the alerts table is rebuilt as its
-- documentation describes. alert_history and outbox refer to alerts by name and keep referring
-- to the new table; the runner turns foreign keys off for this migration and checks them all
-- before it commits (Migration::rebuilds_tables).

CREATE TABLE alerts_v5 (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant        TEXT    NOT NULL,
    dedup_key     TEXT    NOT NULL,
    source        TEXT    NOT NULL CHECK (source IN ('detection', 'correlation', 'baseline')),
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

INSERT INTO alerts_v5 (id, tenant, dedup_key, source, rule_id, title, author, license, level,
                       severity, attack, controls, group_values, events, event_count, first_seen,
                       last_seen, state, assignee, resolution, created_at, updated_at)
SELECT id, tenant, dedup_key, source, rule_id, title, author, license, level, severity, attack,
       controls, group_values, events, event_count, first_seen, last_seen, state, assignee,
       resolution, created_at, updated_at
FROM alerts;

-- Ids are never reused, even those of the newest alerts if they were removed: carry the old
-- table's AUTOINCREMENT counter over when it is ahead of the copied rows.
INSERT INTO sqlite_sequence (name, seq)
SELECT 'alerts_v5', 0
WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'alerts_v5');
UPDATE sqlite_sequence
SET seq = max(seq, coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'alerts'), 0))
WHERE name = 'alerts_v5';

DROP TABLE alerts;
ALTER TABLE alerts_v5 RENAME TO alerts;

CREATE INDEX alerts_by_tenant ON alerts (tenant, id);
CREATE INDEX alerts_open_by_key ON alerts (tenant, dedup_key, id) WHERE state <> 'closed';

-- The findings of a target's newest run (MetaStore::latest_findings): a run's findings share
-- their time, so the newest time is the last entry of this index and the run's rows follow it.
CREATE INDEX findings_by_target ON findings (tenant, module, json_extract(body, '$.target'), time);
