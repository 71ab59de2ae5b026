//! State shared by every request handler.

use std::sync::Arc;

use crate::config::Config;
use crate::db::Db;
use crate::health::HealthService;

/// Cloned into each handler; everything inside is behind `Arc`.
#[derive(Clone, Debug)]
pub struct AppState {
    /// The resolved configuration.
    pub config: Arc<Config>,
    /// Jobs and shares.
    pub db: Db,
    /// Devices and model availability.
    pub health: Arc<HealthService>,
}

impl AppState {
    /// Builds the state from a configuration and an open database.
    pub fn new(config: Config, db: Db) -> Self {
        let health = Arc::new(HealthService::new(config.weights_dir.clone()));
        Self { config: Arc::new(config), db, health }
    }
}
