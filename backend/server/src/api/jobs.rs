//! `GET /api/jobs`.

use axum::Json;
use axum::extract::State;
use meshcast_shared::JobSummary;

use super::ApiError;
use crate::AppState;

/// Every job, newest first.
pub(super) async fn list_jobs(
    State(state): State<AppState>,
) -> Result<Json<Vec<JobSummary>>, ApiError> {
    Ok(Json(state.db.list_jobs().await?))
}
