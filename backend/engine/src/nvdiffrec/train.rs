//! The optimization loop of pass 1: DMTet geometry, material field and light, trained jointly
//! against the posed images.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use tch::nn::VarStore;
use tch::{Device, Kind, Tensor};

use super::bounds::{GridBox, fit_to_masks};
use super::checkpoint;
use super::cleanup::{Cleanup, Viewpoints, remove_hidden_surface, surrounding_cameras};
use super::dmtet::Dmtet;
use super::eval::{Evaluation, evaluate};
use super::loss::{log_l1, mse};
use super::material::MaterialField;
use super::profile::PhaseTimer;
use super::progress::{Losses, MeshSnapshot, Observer, Progress};
use super::render::{Scene, Surface, render};
use super::views::ViewBatch;
use super::{Config, NvdiffrecError};
use crate::dataset::Dataset;
use crate::geometry::TriangleMesh;
use crate::geometry::laplacian::smooth;
use crate::nn::{Adam, ParamGroup};
use crate::ops::raster::Topology;
use crate::ops::texture::Mipmaps;
use crate::render::EnvironmentLight;
use crate::render::brdf_lut::brdf_lut;

/// Where and how often to checkpoint, and whether to continue from one.
#[derive(Debug, Clone, Copy)]
pub struct Checkpointing<'a> {
    /// Folder of the checkpoint.
    pub dir: &'a Path,
    /// Continue from the checkpoint in `dir` when there is one.
    pub resume: bool,
}

/// The result of pass 1.
#[derive(Debug)]
pub struct PassOutput {
    /// The final surface (detached, on the training device).
    pub mesh: TriangleMesh,
    /// `mesh`'s vertex positions before surface smoothing: the surface the material field's
    /// normal offsets were learned on (the bake needs it).
    pub rough_vertices: Tensor,
    /// Per-vertex kd and ks `[V, 3]` each.
    pub kd: Tensor,
    /// See `kd`.
    pub ks: Tensor,
    /// Iterations run (including resumed ones).
    pub iterations: u32,
    /// Seconds spent in this process.
    pub seconds: f64,
    /// Losses of the last iteration.
    pub losses: Losses,
    /// Test-view figures of the final mesh.
    pub evaluation: Option<Evaluation>,
    /// True when the run stopped on request before its last iteration.
    pub cancelled: bool,
    /// Seconds per training phase when `config.profile` is on.
    pub phase_seconds: Vec<(&'static str, f64)>,
    /// The trained material field, for baking.
    pub materials: MaterialField,
    /// The trained light, which pass 2 keeps refining.
    pub light: EnvironmentLight,
    /// What the hidden-surface cleanup removed from the final mesh, when it ran.
    pub cleanup: Option<Cleanup>,
}

/// The trainable state of a run.
struct Model {
    vs: VarStore,
    dmtet: Dmtet,
    materials: MaterialField,
    light: EnvironmentLight,
}

impl Model {
    fn new(config: &Config, domain: GridBox, device: Device) -> Result<Self, NvdiffrecError> {
        tch::manual_seed(config.seed);
        let vs = VarStore::new(device);
        let root = vs.root();
        let dmtet = Dmtet::new(
            &(&root / "dmtet"),
            config.grid_resolution,
            domain,
            config.sdf_units_per_cell,
            device,
        )?;
        let materials = MaterialField::new(&(&root / "material"), domain, config.hash_table_log2)?;
        let light = EnvironmentLight::new(&(&root / "light"), config.light_resolution)?;
        Ok(Self { vs, dmtet, materials, light })
    }

    fn optimizer(&self, config: &Config) -> Result<Adam, NvdiffrecError> {
        let variables = self.vs.variables();
        let group = |prefix: &str| -> Vec<Tensor> {
            let mut named: Vec<(&String, &Tensor)> =
                variables.iter().filter(|(n, _)| n.starts_with(prefix)).collect();
            named.sort_by(|a, b| a.0.cmp(b.0));
            named.into_iter().map(|(_, t)| t.shallow_clone()).collect()
        };
        Ok(Adam::new(vec![
            ParamGroup { name: "geometry", params: group("dmtet."), lr: config.learning_rate },
            ParamGroup { name: "material", params: group("material."), lr: config.learning_rate },
            ParamGroup { name: "light", params: group("light."), lr: config.learning_rate },
        ])?)
    }
}

impl Model {
    /// Test-view figures of `mesh` with the current materials and light (no autograd graph).
    fn evaluate(
        &self,
        mesh: &TriangleMesh,
        lut: &Mipmaps,
        views: &ViewBatch,
        images: &Tensor,
        size: (u32, u32),
        batch: i64,
    ) -> Result<Option<Evaluation>, NvdiffrecError> {
        tch::no_grad(|| {
            let levels = self.light.prefilter()?;
            let topology = Topology::new(&mesh.triangles, mesh.vertices.device())?;
            let scene = Scene {
                mesh,
                topology: &topology,
                surface: Surface::Field(&self.materials),
                light: &self.light,
                levels: &levels,
                lut,
            };
            evaluate(&scene, views, images, size, batch)
        })
    }
}

/// The first non-finite loss term, as the error that stops the run.
pub(super) fn check_finite(
    iteration: u32,
    names: &[&'static str],
    values: &[f64],
) -> Result<(), NvdiffrecError> {
    match names.iter().zip(values).find(|(_, v)| !v.is_finite()) {
        Some((term, value)) => Err(NvdiffrecError::NonFinite { iteration, term, value: *value }),
        None => Ok(()),
    }
}

/// Runs pass 1 on `dataset` (already loaded at the config's image size) on `device`.
///
/// `cancel` is polled every iteration; when set, the run stops and returns the current mesh
/// with `cancelled = true` (without removing hidden components or evaluating it).
pub fn run_pass1(
    dataset: &Dataset,
    config: &Config,
    device: Device,
    observer: &mut dyn Observer,
    cancel: &AtomicBool,
    checkpointing: Option<Checkpointing<'_>>,
) -> Result<PassOutput, NvdiffrecError> {
    config.validate()?;
    let started = Instant::now();
    let domain = if config.fit_grid {
        fit_to_masks(&dataset.train, config.grid_extent)?
    } else {
        GridBox::centered(config.grid_extent)
    };
    tracing::info!(?domain, "tetrahedral grid");
    let mut model = Model::new(config, domain, device)?;
    let mut adam = model.optimizer(config)?;
    let mut first = 0;
    if let Some(c) = checkpointing.filter(|c| c.resume && checkpoint::exists(c.dir)) {
        first = checkpoint::load(c.dir, &mut model.vs, &mut adam, config)?;
        tracing::info!(iteration = first, dir = %c.dir.display(), "resumed from checkpoint");
    }
    let size = dataset.size;
    let (w, h) = (i64::from(size.0), i64::from(size.1));
    let train_views = ViewBatch::new(&dataset.train.cameras, device)?;
    let test_views = ViewBatch::new(&dataset.test.cameras, device)?;
    let train_images = dataset.train.images.f_to_device(device)?;
    let test_images = dataset.test.images.f_to_device(device)?;
    let lut = Mipmaps::build(&brdf_lut(device)?, 1)?;
    let n_train = train_images.size()[0];
    let batch = config.batch.min(n_train);
    let mut order = Tensor::f_randperm(n_train, (Kind::Int64, device))?;
    let mut cursor = 0;
    let mut losses = Losses::default();
    let mut last_tick = (Instant::now(), first);
    let mut speed = 0.0;
    let mut iteration = first;
    let mut cancelled = false;
    let mut timer = PhaseTimer::new(config.profile, device);
    while iteration < config.iterations {
        if cancel.load(Ordering::Relaxed) {
            cancelled = true;
            // Keep the work done so far resumable.
            if let Some(c) = checkpointing
                && iteration > first
            {
                checkpoint::save(c.dir, &model.vs, &adam, iteration, config)?;
            }
            break;
        }
        let lr =
            config.learning_rate * 10f64.powf(-config.learning_rate_decay * f64::from(iteration));
        for group in &mut adam.groups {
            group.lr = lr;
        }
        if cursor + batch > n_train {
            order = Tensor::f_randperm(n_train, (Kind::Int64, device))?;
            cursor = 0;
        }
        let index = order.f_narrow(0, cursor, batch)?;
        cursor += batch;

        timer.restart();
        let mesh = model.dmtet.mesh()?;
        let mesh = TriangleMesh {
            vertices: timer.marker("bwd: up to marching tets", &mesh.vertices)?,
            triangles: mesh.triangles,
        };
        timer.mark("marching tets");
        if mesh.triangles.size()[0] == 0 {
            return Err(NvdiffrecError::EmptySurface(iteration));
        }
        let topology = Topology::new(&mesh.triangles, device)?;
        timer.mark("topology");
        let levels = model.light.prefilter()?;
        timer.mark("light prefilter");
        let scene = Scene {
            mesh: &mesh,
            topology: &topology,
            surface: Surface::Field(&model.materials),
            light: &model.light,
            levels: &levels,
            lut: &lut,
        };
        let background = Tensor::f_rand([batch, h, w, 3], (Kind::Float, device))?;
        let rendered = render(&scene, &train_views, &index, size, &background, &mut timer)?;
        let target = train_images.f_index_select(0, &index)?;
        let target_alpha = target.f_narrow(3, 3, 1)?;
        let target_rgb = target
            .f_narrow(3, 0, 3)?
            .f_add(&background.f_mul(&target_alpha.f_neg()?.f_add_scalar(1.0)?)?)?;
        let progress_fraction = f64::from(iteration) / f64::from(config.iterations);
        let sdf_weight = config.sdf_weight
            - (config.sdf_weight - config.sdf_weight_end) * (4.0 * progress_fraction).min(1.0);
        let terms = [
            log_l1(&rendered.rgba.f_narrow(3, 0, 3)?, &target_rgb)?,
            mse(&rendered.rgba.f_narrow(3, 3, 1)?, &target_alpha)?
                .f_mul_scalar(config.mask_weight)?,
            model.dmtet.sdf_regularizer()?.f_mul_scalar(sdf_weight)?,
            rendered.kd_jitter.f_mean(Kind::Float)?.f_mul_scalar(config.kd_smoothness)?.f_add(
                &rendered.ks_jitter.f_mean(Kind::Float)?.f_mul_scalar(config.ks_smoothness)?,
            )?,
            model.light.regularizer()?.f_mul_scalar(config.light_weight)?,
        ];
        let total = terms
            .iter()
            .try_fold(Tensor::f_zeros([], (Kind::Float, device))?, |acc, t| acc.f_add(t))?;
        // One device → host copy for all terms; it also paces the loop for honest timings.
        timer.mark("losses");
        let values = Vec::<f64>::try_from(Tensor::f_stack(&terms, 0)?.f_to_kind(Kind::Double)?)?;
        check_finite(iteration, &["image", "mask", "sdf", "smoothness", "light"], &values)?;
        losses = Losses {
            total: values.iter().sum(),
            image: values[0],
            mask: values[1],
            sdf: values[2],
            smoothness: values[3],
            light: values[4],
        };
        adam.zero_grad();
        timer.mark("zero grad");
        total.f_backward()?;
        timer.mark_backward();
        adam.step()?;
        timer.mark("adam");
        iteration += 1;

        let elapsed = last_tick.0.elapsed().as_secs_f64();
        if elapsed > 0.5 {
            speed = f64::from(iteration - last_tick.1) / elapsed;
            last_tick = (Instant::now(), iteration);
        } else if speed == 0.0 && elapsed > 0.0 {
            speed = f64::from(iteration - last_tick.1) / elapsed;
        }
        let validate = config.validate_every > 0
            && iteration.is_multiple_of(config.validate_every)
            && iteration < config.iterations;
        let psnr = if validate {
            let mesh = tch::no_grad(|| model.dmtet.mesh())?;
            model.evaluate(&mesh, &lut, &test_views, &test_images, size, batch)?.map(|e| e.psnr)
        } else {
            None
        };
        observer.progress(&Progress {
            pass: 1,
            iteration,
            iterations: config.iterations,
            losses,
            psnr,
            iterations_per_second: speed,
            triangles: mesh.triangles.size()[0],
        });
        if config.snapshot_every > 0 && iteration.is_multiple_of(config.snapshot_every) {
            observer.snapshot(&snapshot(&model, iteration)?);
        }
        if let Some(c) = checkpointing
            && config.checkpoint_every > 0
            && iteration.is_multiple_of(config.checkpoint_every)
        {
            checkpoint::save(c.dir, &model.vs, &adam, iteration, config)?;
        }
    }

    let (mesh, rough_vertices, kd, ks, evaluation, cleanup) =
        tch::no_grad(|| -> Result<_, NvdiffrecError> {
            let mesh = model.dmtet.mesh()?;
            let mesh =
                TriangleMesh { vertices: mesh.vertices.f_detach()?, triangles: mesh.triangles };
            // A cancelled run returns at once: no cleanup and no test-view evaluation.
            let (mesh, cleanup) =
                if config.remove_hidden && !cancelled && mesh.triangles.size()[0] > 0 {
                    // Twice the training resolution: small seen triangles are found directly.
                    let at = Viewpoints {
                        views: &train_views,
                        count: n_train,
                        size: (size.0 * 2, size.1 * 2),
                        batch,
                    };
                    // 64 views around the object, 4·G pixels across the bounding sphere's view (about 2
                    // pixels per grid cell at the centre).
                    let side = 4 * config.grid_resolution.clamp(8, 256) as u32;
                    let around_views =
                        ViewBatch::new(&surrounding_cameras(domain, 64, side), device)?;
                    let around =
                        Viewpoints { views: &around_views, count: 64, size: (side, side), batch };
                    let (mesh, cleanup) =
                        remove_hidden_surface(&mesh, at, around, config.visible_margin_rings)?;
                    tracing::info!(?cleanup, "removed surface no training view sees");
                    (mesh, Some(cleanup))
                } else {
                    (mesh, None)
                };
            let rough_vertices = mesh.vertices.shallow_clone();
            let mesh = if config.surface_smoothing > 0 && !cancelled {
                let vertices =
                    smooth(&mesh.vertices, &mesh.triangles, config.surface_smoothing as usize)?;
                TriangleMesh { vertices, triangles: mesh.triangles }
            } else {
                mesh
            };
            let material = model.materials.sample(&mesh.vertices)?;
            let evaluation = if mesh.triangles.size()[0] > 0 && !cancelled {
                model.evaluate(&mesh, &lut, &test_views, &test_images, size, batch)?
            } else {
                None
            };
            Ok((mesh, rough_vertices, material.kd, material.ks, evaluation, cleanup))
        })?;
    Ok(PassOutput {
        mesh,
        rough_vertices,
        kd,
        ks,
        iterations: iteration,
        seconds: started.elapsed().as_secs_f64(),
        losses,
        evaluation,
        cancelled,
        phase_seconds: timer.totals,
        materials: model.materials,
        light: model.light,
        cleanup,
    })
}

/// The current mesh with per-vertex base colour, copied to the host.
fn snapshot(model: &Model, iteration: u32) -> Result<MeshSnapshot, NvdiffrecError> {
    tch::no_grad(|| {
        let mesh = model.dmtet.mesh()?;
        let kd = model.materials.sample(&mesh.vertices)?.kd;
        let floats = |t: &Tensor| -> Result<Vec<f32>, NvdiffrecError> {
            Ok(Vec::<f32>::try_from(
                t.f_to_kind(Kind::Float)?.f_to_device(Device::Cpu)?.f_reshape([-1])?,
            )?)
        };
        let positions = floats(&mesh.vertices)?;
        let colors = floats(&kd)?;
        let triangles = Vec::<i64>::try_from(
            mesh.triangles.f_to_kind(Kind::Int64)?.f_to_device(Device::Cpu)?.f_reshape([-1])?,
        )?;
        Ok(MeshSnapshot {
            pass: 1,
            iteration,
            positions: positions.as_chunks::<3>().0.to_vec(),
            triangles: triangles.as_chunks::<3>().0.iter().map(|t| t.map(|i| i as u32)).collect(),
            colors: colors.as_chunks::<3>().0.to_vec(),
        })
    })
}
