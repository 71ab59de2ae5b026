//! `GET /api/health`.

use axum::Json;
use axum::extract::State;
use meshcast_shared::Health;

use crate::AppState;

/// Devices and model availability.
pub(super) async fn get_health(State(state): State<AppState>) -> Json<Health> {
    Json(state.health.health().await)
}
