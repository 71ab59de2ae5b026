//! The whole nvdiffrec run, shared by the command line and the server's jobs: pass 1, removal
//! of hidden components, unwrap + bake, pass 2, export. One function so both front ends produce
//! the same files and metrics.

use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use tch::Device;

use super::bake::{bake, unwrap};
use super::progress::{Observer, Stage};
use super::{
    Checkpointing, Config, Metrics, NvdiffrecError, PassMetrics, export_mesh, run_pass1, run_pass2,
    textured_mesh, write_meshes, write_metrics,
};
use crate::dataset::Dataset;

/// Where a run writes and whether it continues an earlier one.
#[derive(Debug, Clone, Copy)]
pub struct RunFiles<'a> {
    /// Output folder: `mesh.glb`, `mesh.obj` (+ `.mtl`, textures), `metrics.json`, `checkpoint/`.
    pub out: &'a Path,
    /// Continue from `out/checkpoint` when there is one.
    pub resume: bool,
    /// On cancellation, still unwrap, bake and write the current mesh (the CLI's Ctrl-C);
    /// otherwise stop at once with [`NvdiffrecError::Cancelled`] (a cancelled job).
    pub mesh_on_cancel: bool,
}

/// Runs both passes on a loaded dataset and writes the meshes and `metrics.json` into
/// `files.out`. When `cancel` is set the current mesh is still written and
/// `Metrics::stopped_early` is true.
pub fn reconstruct(
    dataset: &Dataset,
    config: &Config,
    device: Device,
    observer: &mut dyn Observer,
    cancel: &AtomicBool,
    files: RunFiles<'_>,
) -> Result<Metrics, NvdiffrecError> {
    observer.stage(Stage::Pass1);
    let checkpoint_dir = files.out.join("checkpoint");
    let pass = run_pass1(
        dataset,
        config,
        device,
        observer,
        cancel,
        Some(Checkpointing { dir: &checkpoint_dir, resume: files.resume }),
    )?;
    if pass.cancelled && !files.mesh_on_cancel {
        return Err(NvdiffrecError::Cancelled);
    }
    let mut passes = vec![pass_metrics(1, pass.iterations, pass.seconds, pass.losses)];
    let mut evaluation = pass.evaluation;
    let mut stopped_early = pass.cancelled;
    let mut unwrap_bake_seconds = 0.0;
    let mesh = if pass.mesh.triangles.size()[0] == 0 {
        export_mesh(&pass)?
    } else {
        observer.stage(Stage::UnwrapBake);
        let started = Instant::now();
        let unwrapped = unwrap(&pass.mesh, config.texture_size)?;
        let baked = bake(&pass.mesh, &pass.rough_vertices, &unwrapped, &pass.materials, 4)?;
        unwrap_bake_seconds = started.elapsed().as_secs_f64();
        if pass.cancelled || config.pass2_iterations == 0 {
            textured_mesh(&pass.mesh, &unwrapped, &baked)?
        } else {
            observer.stage(Stage::Pass2);
            let refined =
                run_pass2(dataset, config, device, observer, cancel, &pass, &unwrapped, &baked)?;
            if refined.cancelled && !files.mesh_on_cancel {
                return Err(NvdiffrecError::Cancelled);
            }
            passes.push(pass_metrics(2, refined.iterations, refined.seconds, refined.losses));
            evaluation = refined.evaluation.or(evaluation);
            stopped_early |= refined.cancelled;
            textured_mesh(&refined.mesh, &refined.unwrapped, &refined.textures)?
        }
    };
    observer.stage(Stage::Export);
    let started = Instant::now();
    write_meshes(files.out, &mesh)?;
    let metrics = Metrics {
        model: "nvdiffrec",
        device: crate::device_label(device),
        passes,
        unwrap_bake_seconds,
        export_seconds: started.elapsed().as_secs_f64(),
        test: evaluation,
        triangles: mesh.triangles.len() as i64,
        vertices: mesh.positions.len() as i64,
        stopped_early,
        config: config.clone(),
    };
    write_metrics(files.out, &metrics)?;
    Ok(metrics)
}

fn pass_metrics(pass: u8, iterations: u32, seconds: f64, losses: super::Losses) -> PassMetrics {
    PassMetrics {
        pass,
        iterations,
        seconds,
        seconds_per_iteration: seconds / f64::from(iterations.max(1)),
        final_losses: losses,
    }
}
