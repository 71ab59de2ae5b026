//! nvdiffrec as a job: options are the CLI's (`preset` plus any config key), progress and mesh
//! snapshots become live messages. Plain photos (no poses) first get poses from COLMAP and
//! estimated masks (stages `poses` and `masks`), in `out/poses`.

use std::path::Path;
use std::time::Instant;

use meshcast_engine::dataset::colmap::solve::Colmap;
use meshcast_engine::dataset::mask::BorderColourModel;
use meshcast_engine::dataset::photos::{self, PhotoOptions, PhotoStage};
use meshcast_engine::dataset::{LoadOptions, is_posed, load};
use meshcast_engine::nvdiffrec::{
    Config, MeshSnapshot, NvdiffrecError, Observer, Preset, Progress, RunFiles, Stage, reconstruct,
};
use meshcast_engine::ops::color::linear_to_srgb_scalar;
use meshcast_engine::tch;
use meshcast_shared::{ProgressPoint, frame};

use super::reconstructor::{JobEvents, Reconstructor, RunRequest, RunSummary, relative_to_upload};

/// The folder of `out` where photos get their poses and masks.
pub const POSES_DIR: &str = "poses";

/// Runs nvdiffrec on the worker's device.
#[derive(Debug, Default)]
pub struct NvdiffrecJob;

/// The preset a job gets when its options name none: `tiny` on the CPU, `default` on a GPU.
fn default_preset(device: tch::Device) -> Preset {
    if device.is_cuda() { Preset::Default } else { Preset::Tiny }
}

/// Options → engine settings: `preset` picks the base, every other key overrides it.
pub fn settings(options: &serde_json::Value, device: tch::Device) -> Result<Config, String> {
    let Some(object) = options.as_object() else {
        return Err("config must be a JSON object, e.g. {\"preset\":\"tiny\"}".to_owned());
    };
    let mut overrides = object.clone();
    let preset = match overrides.remove("preset") {
        None => default_preset(device),
        Some(serde_json::Value::String(name)) => {
            Preset::parse(&name).map_err(|e| format!("config: {e}"))?
        }
        Some(other) => return Err(format!("config: preset must be a string, not {other}")),
    };
    Config::from_preset_and_json(preset, Some(&serde_json::Value::Object(overrides)))
        .map_err(|e| e.to_string())
}

impl Reconstructor for NvdiffrecJob {
    fn availability(&self) -> Result<(), String> {
        Ok(())
    }

    fn check(
        &self,
        input: &Path,
        options: &serde_json::Value,
        device: tch::Device,
    ) -> Result<(), String> {
        let config = settings(options, device)?;
        let plain = |e: &dyn std::fmt::Display| relative_to_upload(input, e);
        if is_posed(input) {
            load(input, LoadOptions { max_side: config.image_size }).map_err(|e| plain(&e))?;
        } else {
            let count = photos::check(input, &PhotoOptions::default()).map_err(|e| plain(&e))?;
            Colmap::default().version().map_err(|e| {
                format!(
                    "{count} photos without camera poses, and this server cannot compute them: {e}"
                )
            })?;
        }
        Ok(())
    }

    fn run(
        &self,
        request: RunRequest<'_>,
        events: &mut dyn JobEvents,
    ) -> Result<RunSummary, String> {
        let config = settings(request.options, request.device)?;
        let source = if is_posed(request.input) {
            request.input.to_owned()
        } else {
            let mut stage = None;
            let solved = photos::prepare(
                request.input,
                &request.out.join(POSES_DIR),
                &PhotoOptions::default(),
                &Colmap::default(),
                &BorderColourModel::default(),
                request.cancel,
                |s, fraction| {
                    let name = if matches!(s, PhotoStage::Masks | PhotoStage::UploadedMasks) {
                        "masks"
                    } else {
                        "poses"
                    };
                    if stage != Some(name) {
                        stage = Some(name);
                        events.stage(name);
                    }
                    events.stage_progress(fraction, s.label());
                },
            );
            match solved {
                Ok(solved) => {
                    tracing::info!(
                        registered = solved.registered,
                        total = solved.total,
                        "poses from COLMAP"
                    );
                    solved.dir
                }
                Err(photos::PhotosError::Poses(
                    meshcast_engine::dataset::colmap::solve::SolveError::Cancelled { .. },
                )) => {
                    return Ok(RunSummary {
                        triangles: 0,
                        vertices: 0,
                        psnr: None,
                        cancelled: true,
                    });
                }
                Err(e) => return Err(relative_to_upload(request.input, &e)),
            }
        };
        let dataset = load(&source, LoadOptions { max_side: config.image_size })
            .map_err(|e| e.to_string())?;
        let mut observer = Forward { events, started: Instant::now(), psnr: None };
        let files = RunFiles { out: request.out, resume: true, mesh_on_cancel: false };
        let metrics = match reconstruct(
            &dataset,
            &config,
            request.device,
            &mut observer,
            request.cancel,
            files,
        ) {
            Ok(metrics) => metrics,
            Err(NvdiffrecError::Cancelled) => {
                return Ok(RunSummary { triangles: 0, vertices: 0, psnr: None, cancelled: true });
            }
            Err(e) => return Err(e.to_string()),
        };
        Ok(RunSummary {
            triangles: metrics.triangles,
            vertices: metrics.vertices,
            psnr: metrics.test.map(|t| t.psnr),
            cancelled: metrics.stopped_early,
        })
    }
}

/// Engine reports → job events.
struct Forward<'a> {
    events: &'a mut dyn JobEvents,
    started: Instant,
    psnr: Option<f64>,
}

impl Observer for Forward<'_> {
    fn progress(&mut self, p: &Progress) {
        self.psnr = p.psnr.or(self.psnr);
        let left = p.iterations.saturating_sub(p.iteration);
        let eta_s =
            (p.iterations_per_second > 0.0).then(|| f64::from(left) / p.iterations_per_second);
        self.events.progress(ProgressPoint {
            pass: p.pass,
            iteration: p.iteration,
            iterations: p.iterations,
            loss: p.losses.total,
            psnr: p.psnr,
            iterations_per_second: p.iterations_per_second,
            triangles: p.triangles,
            elapsed_s: self.started.elapsed().as_secs_f64(),
            eta_s,
        });
    }

    fn snapshot(&mut self, s: &MeshSnapshot) {
        let colours: Vec<[u8; 3]> = s
            .colors
            .iter()
            .map(|c| c.map(|v| (linear_to_srgb_scalar(v) * 255.0).round().clamp(0.0, 255.0) as u8))
            .collect();
        self.events.frame(frame::encode(
            s.pass,
            s.iteration,
            &s.positions,
            &s.triangles,
            Some(&colours),
        ));
    }

    fn stage(&mut self, stage: Stage) {
        self.events.stage(match stage {
            Stage::Pass1 => "pass1",
            Stage::UnwrapBake => "unwrap_bake",
            Stage::Pass2 => "pass2",
            Stage::Export => "export",
        });
    }
}
