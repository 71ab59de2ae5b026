//! Queries on the `jobs` table.

use meshcast_shared::{JobState, JobSummary, ModelName};
use rusqlite::Row;

use super::{Db, DbError};

impl Db {
    /// Every job, newest first.
    pub async fn list_jobs(&self) -> Result<Vec<JobSummary>, DbError> {
        self.call(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT id, model, state, name, created_ms FROM jobs ORDER BY created_ms DESC",
            )?;
            let rows = stmt.query_map([], summary_from_row)?;
            rows.collect()
        })
        .await
    }
}

fn summary_from_row(row: &Row<'_>) -> rusqlite::Result<JobSummary> {
    let model: String = row.get(1)?;
    let state: String = row.get(2)?;
    Ok(JobSummary {
        id: row.get(0)?,
        model: ModelName::parse(&model).ok_or_else(|| invalid_text(1, &model))?,
        state: JobState::parse(&state).ok_or_else(|| invalid_text(2, &state))?,
        name: row.get(3)?,
        created_ms: row.get(4)?,
    })
}

fn invalid_text(column: usize, value: &str) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(
        column,
        rusqlite::types::Type::Text,
        format!("unknown value `{value}`").into(),
    )
}
