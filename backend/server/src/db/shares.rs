//! Queries on the `shares` table.

use rusqlite::{OptionalExtension, params};

use super::{Db, DbError};

impl Db {
    /// Stores a new share token for a job.
    pub async fn insert_share(
        &self,
        token: &str,
        job_id: &str,
        created_ms: i64,
    ) -> Result<(), DbError> {
        let (token, job_id) = (token.to_owned(), job_id.to_owned());
        self.call(move |conn| {
            conn.execute(
                "INSERT INTO shares (token, job_id, created_ms) VALUES (?1, ?2, ?3)",
                params![token, job_id, created_ms],
            )
            .map(drop)
        })
        .await
    }

    /// The job a live (not revoked) token reads.
    pub async fn shared_job(&self, token: &str) -> Result<Option<String>, DbError> {
        let token = token.to_owned();
        self.call(move |conn| {
            conn.prepare_cached(
                "SELECT job_id FROM shares WHERE token = ?1 AND revoked_ms IS NULL",
            )?
            .query_row([token], |row| row.get(0))
            .optional()
        })
        .await
    }

    /// Revokes a token; false when it was unknown or already revoked.
    pub async fn revoke_share(&self, token: &str, revoked_ms: i64) -> Result<bool, DbError> {
        let token = token.to_owned();
        self.call(move |conn| {
            conn.execute(
                "UPDATE shares SET revoked_ms = ?2 WHERE token = ?1 AND revoked_ms IS NULL",
                params![token, revoked_ms],
            )
            .map(|n| n == 1)
        })
        .await
    }
}
