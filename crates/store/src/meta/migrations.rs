//! The ordered schema migrations of the SQLite metadata database, and the numbers in its header.
//!
//! Append-only: add a new `migrations/NNNN_name.sql` file and a [`Migration`] at the end of
//! [`MIGRATIONS`]; never edit, rename, reorder or remove a released one (the test below pins
//! their checksums, so an edit fails it on purpose).

/// The `PRAGMA application_id` of a Shieldwall metadata database: `SWMD` in ASCII.
pub const APPLICATION_ID: i32 = 0x5357_4D44;

/// One schema step: applying it to a database at version `version - 1` gives version `version`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Migration {
    /// The version the database has after this migration.
    pub(crate) version: u32,
    /// A short name, used in error messages.
    pub(crate) name: &'static str,
    /// SQL run inside the migration's transaction.
    pub(crate) sql: &'static str,
    /// The SQL drops and recreates a table other tables refer to. SQLite's procedure for that
    /// needs foreign keys off (a dropped parent counts as a violation that no rename undoes), so
    /// the runner turns them off around the transaction and runs `PRAGMA foreign_key_check`
    /// before committing.
    pub(crate) rebuilds_tables: bool,
}

/// Every migration, in order; `MIGRATIONS[i].version == i + 1`.
pub(crate) const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "deletions and retention",
        sql: include_str!("migrations/0001_deletions_and_retention.sql"),
        rebuilds_tables: false,
    },
    Migration {
        version: 2,
        name: "alerts",
        sql: include_str!("migrations/0002_alerts.sql"),
        rebuilds_tables: false,
    },
    Migration {
        version: 3,
        name: "notification outbox",
        sql: include_str!("migrations/0003_outbox.sql"),
        rebuilds_tables: false,
    },
    Migration {
        version: 4,
        name: "accounts and audit trail",
        sql: include_str!("migrations/0004_accounts_and_audit.sql"),
        rebuilds_tables: false,
    },
    Migration {
        version: 5,
        name: "baseline alerts",
        sql: include_str!("migrations/0005_baseline_alerts.sql"),
        rebuilds_tables: true,
    },
    Migration {
        version: 6,
        name: "alerts by time",
        sql: include_str!("migrations/0006_alerts_by_time.sql"),
        rebuilds_tables: false,
    },
    Migration {
        version: 7,
        name: "report outbox",
        sql: include_str!("migrations/0007_report_outbox.sql"),
        rebuilds_tables: false,
    },
];

/// The schema version this build writes and the newest it reads.
// The list is short and fixed at compile time; the conversion cannot truncate.
#[allow(clippy::cast_possible_truncation)]
pub const SCHEMA_VERSION: u32 = MIGRATIONS.len() as u32;

#[cfg(test)]
mod tests {
    use super::*;

    /// FNV-1a, 64 bits, of the text without carriage returns (so a checkout with CRLF line ends
    /// passes): enough to notice an edit, no dependency.
    fn checksum(text: &str) -> u64 {
        text.bytes()
            .filter(|&byte| byte != b'\r')
            .fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
                (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
            })
    }

    #[test]
    fn versions_are_dense_from_one() {
        for (i, migration) in MIGRATIONS.iter().enumerate() {
            assert_eq!(migration.version as usize, i + 1, "{}", migration.name);
        }
        assert_eq!(SCHEMA_VERSION as usize, MIGRATIONS.len());
    }

    /// Released migrations are frozen: databases in the field record only their number. If this
    /// fails, you edited a released migration: undo the edit and add a new migration instead.
    /// Append the checksum of a new migration here when you add it.
    #[test]
    fn released_migrations_are_unchanged() {
        const RELEASED: &[(u32, u64)] = &[
            (1, 0x0e8f_3510_f245_a6a2),
            (2, 0x6fdd_5ba7_0cae_2997),
            (3, 0x7b57_4b61_ccb4_a2a1),
            (4, 0xe740_c4a8_ce6f_ff85),
            (5, 0xd18b_3c84_e0a7_3c1c),
            (6, 0xbf7c_42a8_395b_d9ba),
            (7, 0x40de_e5ed_db8e_a392),
        ];
        let found: Vec<(u32, u64)> = MIGRATIONS
            .iter()
            .map(|m| (m.version, checksum(m.sql)))
            .collect();
        for (released, current) in RELEASED.iter().zip(&found) {
            assert_eq!(
                released, current,
                "released migration {} changed (found checksum {:#x})",
                released.0, current.1
            );
        }
        assert!(
            found.len() >= RELEASED.len(),
            "a released migration was removed"
        );
    }
}
