//! State shared by every request handler.

use std::collections::HashMap;
use std::sync::Arc;

use meshcast_shared::ModelName;

use crate::config::Config;
use crate::db::Db;
use crate::health::HealthService;
use crate::jobs::Jobs;
use crate::jobs::nvdiffrec::NvdiffrecJob;
use crate::jobs::reconstructor::Reconstructor;
use crate::jobs::reconviagen::ReconviagenJob;

/// Cloned into each handler; everything inside is behind `Arc`.
#[derive(Clone, Debug)]
pub struct AppState {
    /// The resolved configuration.
    pub config: Arc<Config>,
    /// Jobs and shares.
    pub db: Db,
    /// Devices and model availability.
    pub health: Arc<HealthService>,
    /// Uploads, the queue, the worker and live state.
    pub jobs: Jobs,
}

impl AppState {
    /// Builds the state from a configuration and an open database; the worker starts with
    /// [`Jobs::start`].
    pub fn new(config: Config, db: Db) -> Self {
        let reconviagen = ReconviagenJob::new(config.weights_dir.clone());
        let models: HashMap<ModelName, Arc<dyn Reconstructor>> = HashMap::from([
            (ModelName::Nvdiffrec, Arc::new(NvdiffrecJob) as Arc<dyn Reconstructor>),
            (ModelName::Reconviagen, Arc::new(reconviagen) as Arc<dyn Reconstructor>),
        ]);
        Self::with_models(config, db, models)
    }

    /// As [`AppState::new`] with a chosen set of models.
    pub fn with_models(
        config: Config,
        db: Db,
        models: HashMap<ModelName, Arc<dyn Reconstructor>>,
    ) -> Self {
        // `serve` has already refused a device that does not resolve.
        let device = config.device.resolve().unwrap_or(meshcast_engine::tch::Device::Cpu);
        let jobs =
            Jobs::new(db.clone(), config.data_dir.clone(), device, config.queue_capacity, models);
        let health = Arc::new(HealthService::new(jobs.clone()));
        Self { config: Arc::new(config), db, health, jobs }
    }
}
