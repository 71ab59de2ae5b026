//! Queries on the `jobs` table.

use meshcast_shared::{JobState, JobStatus, JobSummary, ModelName};
use rusqlite::{OptionalExtension, Row, params};

use super::{Db, DbError};

/// A job as the upload handler creates it.
#[derive(Debug, Clone)]
pub struct NewJob {
    /// Unguessable id.
    pub id: String,
    /// Which model runs it.
    pub model: ModelName,
    /// The upload's name.
    pub name: String,
    /// The JSON options, validated.
    pub config: String,
    /// Creation time (ms since the epoch).
    pub created_ms: i64,
}

/// A job row: its status plus the options it runs with.
#[derive(Debug, Clone)]
pub struct JobRecord {
    /// What the API returns.
    pub status: JobStatus,
    /// The JSON options.
    pub config: String,
}

/// How a job ended.
#[derive(Debug, Clone)]
pub struct Finish {
    /// `Done`, `Failed` or `Cancelled`.
    pub state: JobState,
    /// Why it failed.
    pub error: Option<String>,
    /// The result's figures (JSON of `ResultInfo`).
    pub result: Option<String>,
    /// The last progress point (JSON of `ProgressPoint`).
    pub progress: Option<String>,
    /// When it ended.
    pub finished_ms: i64,
}

const COLUMNS: &str = "id, model, state, name, created_ms, started_ms, finished_ms, stage, \
                       progress, error, result, config";

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

    /// Inserts a queued job.
    pub async fn insert_job(&self, job: NewJob) -> Result<(), DbError> {
        self.call(move |conn| {
            conn.execute(
                "INSERT INTO jobs (id, model, name, state, config, created_ms)
                 VALUES (?1, ?2, ?3, 'queued', ?4, ?5)",
                params![job.id, job.model.as_str(), job.name, job.config, job.created_ms],
            )
            .map(drop)
        })
        .await
    }

    /// One job, or `None` when the id is unknown.
    pub async fn job(&self, id: &str) -> Result<Option<JobRecord>, DbError> {
        let id = id.to_owned();
        self.call(move |conn| {
            conn.prepare_cached(&format!("SELECT {COLUMNS} FROM jobs WHERE id = ?1"))?
                .query_row([id], record_from_row)
                .optional()
        })
        .await
    }

    /// Ids of jobs in `state`, oldest first.
    pub async fn job_ids_in_state(&self, state: JobState) -> Result<Vec<String>, DbError> {
        self.call(move |conn| {
            let mut stmt = conn
                .prepare_cached("SELECT id FROM jobs WHERE state = ?1 ORDER BY created_ms ASC")?;
            let rows = stmt.query_map([state.as_str()], |row| row.get(0))?;
            rows.collect()
        })
        .await
    }

    /// Marks a queued job running; false when it is no longer queued (cancelled meanwhile).
    pub async fn start_job(&self, id: &str, started_ms: i64) -> Result<bool, DbError> {
        let id = id.to_owned();
        self.call(move |conn| {
            conn.execute(
                "UPDATE jobs SET state = 'running', started_ms = ?2, error = NULL
                 WHERE id = ?1 AND state = 'queued'",
                params![id, started_ms],
            )
            .map(|n| n == 1)
        })
        .await
    }

    /// Records the stage a running job entered and its latest progress.
    pub async fn set_stage(
        &self,
        id: &str,
        stage: &str,
        progress: Option<String>,
    ) -> Result<(), DbError> {
        let (id, stage) = (id.to_owned(), stage.to_owned());
        self.call(move |conn| {
            conn.execute(
                "UPDATE jobs SET stage = ?2, progress = coalesce(?3, progress)
                 WHERE id = ?1 AND state = 'running'",
                params![id, stage, progress],
            )
            .map(drop)
        })
        .await
    }

    /// Puts a job back in the queue (a restart resuming it).
    pub async fn requeue_job(&self, id: &str) -> Result<(), DbError> {
        let id = id.to_owned();
        self.call(move |conn| {
            conn.execute("UPDATE jobs SET state = 'queued' WHERE id = ?1", [id]).map(drop)
        })
        .await
    }

    /// Ends a job that is queued or running; false when it had already ended.
    pub async fn finish_job(&self, id: &str, finish: Finish) -> Result<bool, DbError> {
        let id = id.to_owned();
        self.call(move |conn| {
            conn.execute(
                "UPDATE jobs SET state = ?2, error = ?3, result = ?4,
                        progress = coalesce(?5, progress), finished_ms = ?6
                 WHERE id = ?1 AND state IN ('queued', 'running')",
                params![
                    id,
                    finish.state.as_str(),
                    finish.error,
                    finish.result,
                    finish.progress,
                    finish.finished_ms
                ],
            )
            .map(|n| n == 1)
        })
        .await
    }

    /// Deletes a finished job and its shares; false when there was no such finished job.
    pub async fn delete_job(&self, id: &str) -> Result<bool, DbError> {
        let id = id.to_owned();
        self.call(move |conn| {
            conn.execute(
                "DELETE FROM jobs WHERE id = ?1 AND state IN ('done', 'failed', 'cancelled')",
                [id],
            )
            .map(|n| n == 1)
        })
        .await
    }
}

fn summary_from_row(row: &Row<'_>) -> rusqlite::Result<JobSummary> {
    Ok(JobSummary {
        id: row.get(0)?,
        model: model_from_row(row, 1)?,
        state: state_from_row(row, 2)?,
        name: row.get(3)?,
        created_ms: row.get(4)?,
    })
}

fn record_from_row(row: &Row<'_>) -> rusqlite::Result<JobRecord> {
    Ok(JobRecord {
        status: JobStatus {
            id: row.get(0)?,
            model: model_from_row(row, 1)?,
            state: state_from_row(row, 2)?,
            name: row.get(3)?,
            created_ms: row.get(4)?,
            started_ms: row.get(5)?,
            finished_ms: row.get(6)?,
            stage: row.get(7)?,
            progress: json_from_row(row, 8)?,
            stage_progress: None,
            error: row.get(9)?,
            result: json_from_row(row, 10)?,
        },
        config: row.get(11)?,
    })
}

fn model_from_row(row: &Row<'_>, column: usize) -> rusqlite::Result<ModelName> {
    let text: String = row.get(column)?;
    ModelName::parse(&text).ok_or_else(|| invalid_text(column, &text))
}

fn state_from_row(row: &Row<'_>, column: usize) -> rusqlite::Result<JobState> {
    let text: String = row.get(column)?;
    JobState::parse(&text).ok_or_else(|| invalid_text(column, &text))
}

fn json_from_row<T: serde::de::DeserializeOwned>(
    row: &Row<'_>,
    column: usize,
) -> rusqlite::Result<Option<T>> {
    let text: Option<String> = row.get(column)?;
    text.map(|t| {
        serde_json::from_str(&t).map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(column, rusqlite::types::Type::Text, e.into())
        })
    })
    .transpose()
}

fn invalid_text(column: usize, value: &str) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(
        column,
        rusqlite::types::Type::Text,
        format!("unknown value `{value}`").into(),
    )
}
