//! Jobs, results and share links.

use gloo_net::http::Request;
use meshcast_shared::{JobStatus, JobSummary, ShareCreated, SharedResult};

use super::{ApiError, decode, get_json};

/// `GET /api/jobs`.
pub async fn jobs() -> Result<Vec<JobSummary>, ApiError> {
    get_json("/api/jobs").await
}

/// `GET /api/jobs/{id}`.
pub async fn job(id: &str) -> Result<JobStatus, ApiError> {
    get_json(&format!("/api/jobs/{id}")).await
}

/// `DELETE /api/jobs/{id}`: the cancelled job's status, or `None` once a finished job is deleted.
pub async fn cancel_or_delete(id: &str) -> Result<Option<JobStatus>, ApiError> {
    let url = format!("/api/jobs/{id}");
    let response = Request::delete(&url)
        .send()
        .await
        .map_err(|e| ApiError(format!("cannot reach the server: {e}")))?;
    if response.status() == 204 {
        return Ok(None);
    }
    decode(&url, response).await.map(Some)
}

/// `GET /api/jobs/{id}/masks`: the masks estimated for a photo job (empty for posed datasets).
pub async fn job_masks(id: &str) -> Result<Vec<String>, ApiError> {
    get_json(&format!("/api/jobs/{id}/masks")).await
}

/// Where one of a job's estimated masks loads from.
pub fn job_mask_url(id: &str, name: &str) -> String {
    format!("/api/jobs/{id}/masks/{name}")
}

/// Where the result GLB of a job downloads from.
pub fn job_glb_url(id: &str) -> String {
    format!("/api/jobs/{id}/result.glb")
}

/// Where the OBJ zip of a job downloads from.
pub fn job_obj_zip_url(id: &str) -> String {
    format!("/api/jobs/{id}/result.obj.zip")
}

/// Where a shared result's GLB downloads from.
pub fn share_glb_url(token: &str) -> String {
    format!("/api/shares/{token}/result.glb")
}

/// `POST /api/jobs/{id}/share`.
pub async fn create_share(id: &str) -> Result<ShareCreated, ApiError> {
    let url = format!("/api/jobs/{id}/share");
    let response = Request::post(&url)
        .send()
        .await
        .map_err(|e| ApiError(format!("cannot reach the server: {e}")))?;
    decode(&url, response).await
}

/// `DELETE /api/shares/{token}`.
pub async fn revoke_share(token: &str) -> Result<(), ApiError> {
    let url = format!("/api/shares/{token}");
    let response = Request::delete(&url)
        .send()
        .await
        .map_err(|e| ApiError(format!("cannot reach the server: {e}")))?;
    if response.ok() {
        return Ok(());
    }
    decode::<serde_json::Value>(&url, response).await.map(drop)
}

/// `GET /api/shares/{token}`.
pub async fn shared(token: &str) -> Result<SharedResult, ApiError> {
    get_json(&format!("/api/shares/{token}")).await
}

/// The bytes at `url` (result files).
pub async fn fetch_bytes(url: &str) -> Result<Vec<u8>, ApiError> {
    let response = Request::get(url)
        .send()
        .await
        .map_err(|e| ApiError(format!("cannot reach the server ({url}): {e}")))?;
    if !response.ok() {
        return decode::<serde_json::Value>(url, response).await.map(|_| Vec::new());
    }
    response.binary().await.map_err(|e| ApiError(format!("download of {url} failed: {e}")))
}
