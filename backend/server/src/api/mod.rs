//! The JSON API under `/api` (contract in DESIGN.md).

mod error;
mod health;
mod jobs;

use axum::Router;
use axum::routing::get;

pub use error::ApiError;

use crate::AppState;

/// Routes under `/api`; anything else there is a JSON 404 or 405.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/health", get(health::get_health))
        .route("/jobs", get(jobs::list_jobs))
        .fallback(error::no_route)
        .method_not_allowed_fallback(error::method_not_allowed)
}
