//! Why a reconstruction could not run or stopped.

use crate::EngineError;
use crate::dataset::DatasetError;

/// A reconstruction failure; configuration and dataset problems surface before optimization.
#[derive(Debug, thiserror::Error)]
pub enum NvdiffrecError {
    /// An unknown preset or key, or a value out of range.
    #[error("config: {0}")]
    Config(String),
    /// The dataset could not be loaded.
    #[error(transparent)]
    Dataset(#[from] DatasetError),
    /// A tensor op, kernel or device failed (out of memory included).
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// A loss term became NaN or infinite.
    #[error("iteration {iteration}: loss term `{term}` is {value} (the optimization diverged)")]
    NonFinite {
        /// The iteration it happened at.
        iteration: u32,
        /// Which term.
        term: &'static str,
        /// Its value.
        value: f64,
    },
    /// The surface vanished (nothing left inside the grid).
    #[error("iteration {0}: the surface is empty (no SDF sign change left in the grid)")]
    EmptySurface(u32),
    /// The surface could not be UV-unwrapped.
    #[error("UV unwrap: {0}")]
    Unwrap(String),
    /// An output file could not be written.
    #[error(transparent)]
    Export(#[from] crate::export::ExportError),
    /// The run was cancelled and asked not to write a mesh ([`super::RunFiles::mesh_on_cancel`]).
    #[error("cancelled")]
    Cancelled,
    /// A checkpoint could not be written or read.
    #[error("checkpoint {path}: {reason}")]
    Checkpoint {
        /// The file.
        path: std::path::PathBuf,
        /// What went wrong.
        reason: String,
    },
}

impl From<tch::TchError> for NvdiffrecError {
    fn from(e: tch::TchError) -> Self {
        Self::Engine(EngineError::Torch(e))
    }
}
