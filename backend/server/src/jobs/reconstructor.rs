//! The one seam between jobs and models (DESIGN.md): the worker runs any model through
//! [`Reconstructor`] and hears back through [`JobEvents`].

use std::path::Path;
use std::sync::atomic::AtomicBool;

use meshcast_engine::tch;
use meshcast_shared::ProgressPoint;

/// `error`'s text with the upload folder `input` taken out of its paths: paths inside the
/// server's data folder mean nothing to the person uploading.
pub fn relative_to_upload(input: &Path, error: &dyn std::fmt::Display) -> String {
    error.to_string().replace(&format!("{}/", input.display()), "")
}

/// What a run needs.
#[derive(Debug, Clone, Copy)]
pub struct RunRequest<'a> {
    /// The uploaded dataset folder.
    pub input: &'a Path,
    /// Where the meshes, metrics and checkpoints go.
    pub out: &'a Path,
    /// The job's JSON options (checked at upload).
    pub options: &'a serde_json::Value,
    /// The worker's device.
    pub device: tch::Device,
    /// Set when the job is cancelled; the run stops within an iteration.
    pub cancel: &'a AtomicBool,
}

/// What a finished run produced.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RunSummary {
    /// Triangles of the final mesh.
    pub triangles: i64,
    /// Vertices of the final mesh.
    pub vertices: i64,
    /// Test-view PSNR of the final mesh.
    pub psnr: Option<f64>,
    /// True when the run stopped on request.
    pub cancelled: bool,
}

/// What a run reports while it works; called on the run's thread, so implementations only
/// hand values over.
pub trait JobEvents {
    /// A stage began (`pass1`, `unwrap_bake`, `pass2`, `export`, …).
    fn stage(&mut self, stage: &str);
    /// Progress inside the current stage (0 to 1) and what it is doing; for stages that have
    /// no iterations. Calls may be frequent: the receiver thins them.
    fn stage_progress(&mut self, fraction: f64, detail: &str);
    /// One iteration finished.
    fn progress(&mut self, point: ProgressPoint);
    /// A new mesh frame (see `meshcast_shared::frame`).
    fn frame(&mut self, frame: Vec<u8>);
}

/// A reconstruction model as the server runs it.
pub trait Reconstructor: Send + Sync + std::fmt::Debug {
    /// `Err(reason)` when this server cannot run the model (shown by `/api/health` and given
    /// as the reason an upload is refused).
    fn availability(&self) -> Result<(), String>;
    /// Checks options and dataset at upload time, before anything is queued; the error is
    /// shown to the person as is.
    fn check(
        &self,
        input: &Path,
        options: &serde_json::Value,
        device: tch::Device,
    ) -> Result<(), String>;
    /// Runs a job to its end (or cancellation).
    fn run(
        &self,
        request: RunRequest<'_>,
        events: &mut dyn JobEvents,
    ) -> Result<RunSummary, String>;
}
