//! The JSON API under `/api` (contract in DESIGN.md).

mod error;
mod health;
mod jobs;
mod live;
mod shares;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};

pub use error::ApiError;

use crate::AppState;

/// Routes under `/api`; anything else there is a JSON 404 or 405. `max_upload_bytes` bounds
/// `POST /api/jobs` bodies.
pub fn router(max_upload_bytes: usize) -> Router<AppState> {
    Router::new()
        .route("/health", get(health::get_health))
        .route(
            "/jobs",
            get(jobs::list_jobs)
                .post(jobs::create_job)
                .layer(DefaultBodyLimit::max(max_upload_bytes)),
        )
        .route("/jobs/{id}", get(jobs::get_job).delete(jobs::delete_job))
        .route("/jobs/{id}/live", get(live::live))
        .route("/jobs/{id}/result.glb", get(jobs::result_glb))
        .route("/jobs/{id}/result.obj.zip", get(jobs::result_obj_zip))
        .route("/jobs/{id}/share", post(jobs::create_share))
        .route("/jobs/{id}/masks", get(jobs::list_masks))
        .route("/jobs/{id}/masks/{name}", get(jobs::get_mask))
        .route("/shares/{token}", get(shares::get_share).delete(shares::revoke_share))
        .route("/shares/{token}/result.glb", get(shares::shared_glb))
        .fallback(error::no_route)
        .method_not_allowed_fallback(error::method_not_allowed)
}
