//! Versioned schema migrations; SQLite's `user_version` records which have run.

use rusqlite::Connection;
use rusqlite_migration::{M, Migrations};

/// Migrations in order; append only, never edit one that has shipped.
const MIGRATIONS: &[M<'static>] = &[
    M::up(
        "CREATE TABLE jobs (
        id          TEXT PRIMARY KEY NOT NULL,
        model       TEXT NOT NULL,
        name        TEXT NOT NULL,
        state       TEXT NOT NULL
                    CHECK (state IN ('queued', 'running', 'done', 'failed', 'cancelled')),
        stage       TEXT,
        iteration   INTEGER NOT NULL DEFAULT 0,
        config      TEXT NOT NULL DEFAULT '{}',
        error       TEXT,
        created_ms  INTEGER NOT NULL,
        started_ms  INTEGER,
        finished_ms INTEGER
    ) STRICT;
    CREATE INDEX jobs_by_created ON jobs (created_ms DESC);
    CREATE TABLE shares (
        token       TEXT PRIMARY KEY NOT NULL,
        job_id      TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
        created_ms  INTEGER NOT NULL,
        revoked_ms  INTEGER
    ) STRICT;
    CREATE INDEX shares_by_job ON shares (job_id);",
    ),
    // The latest progress point and the result's figures, as JSON, for finished jobs' pages.
    M::up(
        "ALTER TABLE jobs ADD COLUMN progress TEXT;
        ALTER TABLE jobs ADD COLUMN result TEXT;",
    ),
];

/// The schema version after every migration has run.
pub const SCHEMA_VERSION: usize = MIGRATIONS.len();

/// Runs the migrations the database has not seen yet.
pub(super) fn apply(conn: &mut Connection) -> Result<(), rusqlite_migration::Error> {
    Migrations::from_slice(MIGRATIONS).to_latest(conn)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_valid() {
        Migrations::from_slice(MIGRATIONS).validate().unwrap();
    }
}
