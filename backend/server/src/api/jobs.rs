//! `/api/jobs`: create (multipart upload), list, get, cancel/delete, result files, share.

use axum::Json;
use axum::body::Body;
use axum::extract::{Multipart, Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use meshcast_shared::{JobState, JobStatus, JobSummary, ShareCreated};

use super::ApiError;
use crate::AppState;
use crate::jobs::token::{is_token, random_token};
use crate::jobs::upload;

/// Every job, newest first.
pub(super) async fn list_jobs(
    State(state): State<AppState>,
) -> Result<Json<Vec<JobSummary>>, ApiError> {
    Ok(Json(state.db.list_jobs().await?))
}

/// `POST /api/jobs`: stores and checks the upload, then queues it (201 with its status).
pub(super) async fn create_job(
    State(state): State<AppState>,
    multipart: Multipart,
) -> Result<(StatusCode, Json<JobStatus>), ApiError> {
    // Refuse before reading a possibly large body.
    if let Some(waiting) = state.jobs.queue_full() {
        return Err(crate::jobs::JobError::QueueFull(waiting).into());
    }
    let (id, staging) = state.jobs.stage()?;
    let read = upload::read(multipart, &staging).await;
    let upload = match read {
        Ok(upload) => upload,
        Err(e) => {
            let _ = tokio::fs::remove_dir_all(&staging).await;
            return Err(crate::jobs::JobError::from(e).into());
        }
    };
    let status = state.jobs.submit(id, staging, upload).await?;
    tracing::info!(job = %status.id, name = %status.name, "job queued");
    Ok((StatusCode::CREATED, Json(status)))
}

/// Ids are checked for shape first, so nothing else reaches the database or a path.
pub(super) fn job_id(id: &str) -> Result<&str, ApiError> {
    if is_token(id) { Ok(id) } else { Err(ApiError::NotFound(format!("no job {id}"))) }
}

/// `GET /api/jobs/{id}`.
pub(super) async fn get_job(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<JobStatus>, ApiError> {
    Ok(Json(state.jobs.status(job_id(&id)?).await?))
}

/// `DELETE /api/jobs/{id}`: cancels a queued or running job (200 with its status) or deletes a
/// finished one (204).
pub(super) async fn delete_job(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    Ok(match state.jobs.cancel_or_delete(job_id(&id)?).await? {
        Some(status) => Json(status).into_response(),
        None => StatusCode::NO_CONTENT.into_response(),
    })
}

/// The finished job's status, or 404/409 naming why there is no result.
pub(super) async fn finished(state: &AppState, id: &str) -> Result<JobStatus, ApiError> {
    let status = state.jobs.status(id).await?;
    if status.state != JobState::Done {
        return Err(ApiError::Conflict {
            code: "not_finished",
            message: format!("job {id} is {} and has no result", status.state.as_str()),
        });
    }
    Ok(status)
}

/// Sends a result file as a download named after the job.
pub(super) async fn send_file(
    path: &std::path::Path,
    content_type: &'static str,
    download_name: &str,
) -> Result<Response, ApiError> {
    let bytes = tokio::fs::read(path).await.map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            ApiError::NotFound("the result file is missing".into())
        } else {
            ApiError::Storage(format!("{}: {e}", path.display()))
        }
    })?;
    let safe: String = download_name
        .chars()
        .map(
            |c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' { c } else { '_' },
        )
        .collect();
    Ok((
        [
            (header::CONTENT_TYPE, content_type.to_owned()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{safe}\"")),
            (header::CACHE_CONTROL, "private, max-age=3600".to_owned()),
        ],
        Body::from(bytes),
    )
        .into_response())
}

/// The stem of download names: the upload's name without its extension.
pub(super) fn stem(name: &str) -> &str {
    let base = name.strip_suffix(".zip").unwrap_or(name);
    if base.is_empty() { "meshcast" } else { base }
}

/// `GET /api/jobs/{id}/result.glb`.
pub(super) async fn result_glb(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let status = finished(&state, job_id(&id)?).await?;
    let name = format!("{}.glb", stem(&status.name));
    send_file(&state.jobs.dir(&id).glb(), "model/gltf-binary", &name).await
}

/// `GET /api/jobs/{id}/result.obj.zip`.
pub(super) async fn result_obj_zip(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let status = finished(&state, job_id(&id)?).await?;
    let name = format!("{}-obj.zip", stem(&status.name));
    send_file(&state.jobs.dir(&id).obj_zip(), "application/zip", &name).await
}

/// `GET /api/jobs/{id}/masks`: the names of the masks estimated for the job's photos, sorted;
/// empty when it had none (posed datasets, or poses not computed yet).
pub(super) async fn list_masks(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Vec<String>>, ApiError> {
    state.jobs.status(job_id(&id)?).await?;
    let dir = state.jobs.dir(&id).masks();
    let mut names = Vec::new();
    if let Ok(mut entries) = tokio::fs::read_dir(&dir).await {
        while let Ok(Some(entry)) = entries.next_entry().await {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.ends_with(".png") {
                names.push(name);
            }
        }
    }
    names.sort();
    Ok(Json(names))
}

/// `GET /api/jobs/{id}/masks/{name}`: one estimated mask (PNG).
pub(super) async fn get_mask(
    State(state): State<AppState>,
    Path((id, name)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    state.jobs.status(job_id(&id)?).await?;
    let plain = !name.is_empty()
        && name.ends_with(".png")
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && !name.starts_with('.');
    if !plain {
        return Err(ApiError::NotFound(format!("no mask {name}")));
    }
    let path = state.jobs.dir(&id).masks().join(&name);
    if !path.is_file() {
        return Err(ApiError::NotFound(format!("no mask {name}")));
    }
    send_file(&path, "image/png", &name).await
}

/// `POST /api/jobs/{id}/share`: mints a share link for a finished job.
pub(super) async fn create_share(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<ShareCreated>), ApiError> {
    finished(&state, job_id(&id)?).await?;
    let token = random_token().map_err(|e| ApiError::Storage(e.to_string()))?;
    let now = crate::jobs::now_ms();
    state.db.insert_share(&token, &id, now).await?;
    let url = format!("/s/{token}");
    Ok((StatusCode::CREATED, Json(ShareCreated { token, url })))
}
