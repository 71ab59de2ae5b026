//! `/api/shares/{token}`: what a share link may read (one job's result) and its revocation.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use meshcast_shared::SharedResult;

use super::ApiError;
use super::jobs::{finished, send_file, stem};
use crate::AppState;
use crate::jobs::token::is_token;

/// The job a live token reads, or 404 (unknown, malformed and revoked tokens look the same).
async fn shared_job(state: &AppState, token: &str) -> Result<String, ApiError> {
    let not_found = || ApiError::NotFound("this share link does not exist or was revoked".into());
    if !is_token(token) {
        return Err(not_found());
    }
    state.db.shared_job(token).await?.ok_or_else(not_found)
}

/// `GET /api/shares/{token}`: the shared result's name and figures.
pub(super) async fn get_share(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> Result<Json<SharedResult>, ApiError> {
    let id = shared_job(&state, &token).await?;
    let status = finished(&state, &id).await?;
    let Some(result) = status.result else {
        return Err(ApiError::NotFound("the shared result is missing".into()));
    };
    Ok(Json(SharedResult { token, name: status.name, model: status.model, result }))
}

/// `GET /api/shares/{token}/result.glb`.
pub(super) async fn shared_glb(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> Result<Response, ApiError> {
    let id = shared_job(&state, &token).await?;
    let status = finished(&state, &id).await?;
    let name = format!("{}.glb", stem(&status.name));
    send_file(&state.jobs.dir(&id).glb(), "model/gltf-binary", &name).await
}

/// `DELETE /api/shares/{token}`: revokes at once (204); unknown or revoked tokens are 404.
pub(super) async fn revoke_share(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> Result<StatusCode, ApiError> {
    let now = crate::jobs::now_ms();
    if is_token(&token) && state.db.revoke_share(&token, now).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound("this share link does not exist or was revoked".into()))
    }
}
