//! The SQLite schema: created on first open, versioned, and kept across reopenings.

#![allow(clippy::unwrap_used)] // test helpers: a panic is the failure report

use meshcast_server::db::{Db, SCHEMA_VERSION};

#[tokio::test]
async fn first_open_creates_schema_and_reopen_keeps_rows() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("meshcast.sqlite3");
    let db = Db::open(&path).unwrap();
    let version: i64 =
        db.call(|c| c.query_row("PRAGMA user_version", [], |r| r.get(0))).await.unwrap();
    assert_eq!(version, SCHEMA_VERSION as i64);
    let mode: String =
        db.call(|c| c.query_row("PRAGMA journal_mode", [], |r| r.get(0))).await.unwrap();
    assert_eq!(mode, "wal");
    db.call(|c| {
        c.execute(
            "INSERT INTO jobs (id, model, name, state, created_ms) VALUES ('a1', 'nvdiffrec', 'mug.zip', 'done', 5)",
            [],
        )
    })
    .await
    .unwrap();
    drop(db);

    let db = Db::open(&path).unwrap();
    let jobs = db.list_jobs().await.unwrap();
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].name, "mug.zip");
}

#[tokio::test]
async fn schema_rejects_unknown_state() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(&dir.path().join("db.sqlite3")).unwrap();
    let result = db
        .call(|c| {
            c.execute(
                "INSERT INTO jobs (id, model, name, state, created_ms) VALUES ('a', 'nvdiffrec', 'x', 'paused', 1)",
                [],
            )
        })
        .await;
    assert!(result.is_err());
}

#[test]
fn unopenable_path_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("no/such/dir/db.sqlite3");
    let err = Db::open(&path).unwrap_err().to_string();
    assert!(err.contains("no/such/dir/db.sqlite3"), "{err}");
}
