//! The embedded SQLite database (one file, WAL): jobs and share links.
//!
//! rusqlite is synchronous; every query runs on tokio's blocking pool through [`Db::call`], so a
//! slow disk never stalls the async workers.

mod jobs;
mod migrations;
mod shares;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rusqlite::Connection;

pub use jobs::{Finish, JobRecord, NewJob};
pub use migrations::SCHEMA_VERSION;

/// Why the database could not be opened or queried.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// The file could not be opened or created.
    #[error("cannot open database {path}: {source}")]
    Open {
        /// Database file.
        path: PathBuf,
        /// SQLite's error.
        source: rusqlite::Error,
    },
    /// A schema migration failed.
    #[error("cannot migrate database {path}: {source}")]
    Migrate {
        /// Database file.
        path: PathBuf,
        /// The migration error.
        source: rusqlite_migration::Error,
    },
    /// A query failed.
    #[error("database query failed: {0}")]
    Query(#[from] rusqlite::Error),
    /// The blocking task running the query panicked or was cancelled.
    #[error("database task failed: {0}")]
    Task(String),
}

/// Handle to the database, cheap to clone.
#[derive(Clone)]
pub struct Db {
    conn: Arc<Mutex<Connection>>,
    path: PathBuf,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db").field("path", &self.path).finish()
    }
}

impl Db {
    /// Opens (creating if needed) the database at `path` and brings its schema up to date.
    pub fn open(path: &Path) -> Result<Self, DbError> {
        let open_err = |source| DbError::Open { path: path.to_owned(), source };
        let mut conn = Connection::open(path).map_err(open_err)?;
        conn.pragma_update(None, "journal_mode", "WAL").map_err(open_err)?;
        conn.pragma_update(None, "foreign_keys", "ON").map_err(open_err)?;
        conn.pragma_update(None, "busy_timeout", 5000).map_err(open_err)?;
        migrations::apply(&mut conn)
            .map_err(|source| DbError::Migrate { path: path.to_owned(), source })?;
        Ok(Self { conn: Arc::new(Mutex::new(conn)), path: path.to_owned() })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `f` with the connection on the blocking pool.
    pub async fn call<T, F>(&self, f: F) -> Result<T, DbError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, rusqlite::Error> + Send + 'static,
    {
        let conn = Arc::clone(&self.conn);
        tokio::task::spawn_blocking(move || {
            let mut conn = conn.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            f(&mut conn).map_err(DbError::Query)
        })
        .await
        .map_err(|e| DbError::Task(e.to_string()))?
    }
}
