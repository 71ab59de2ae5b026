//! Pass 2 (nvdiffrec's mesh pass): the topology is fixed to pass 1's surface; per-vertex
//! offsets, the baked textures and the light are refined against the images, with a Laplacian
//! regularizer keeping the offsets smooth (its weight fades out over the pass).

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use tch::{Device, Kind, Tensor};

use super::bake::{Baked, Unwrapped};
use super::eval::{Evaluation, evaluate};
use super::loss::{log_l1, mse};
use super::profile::PhaseTimer;
use super::progress::{Losses, Observer, Progress};
use super::render::{Scene, Surface, render};
use super::train::{PassOutput, check_finite};
use super::views::ViewBatch;
use super::{Config, NvdiffrecError};
use crate::dataset::Dataset;
use crate::geometry::TriangleMesh;
use crate::geometry::laplacian::umbrella;
use crate::nn::{Adam, ParamGroup};
use crate::ops::raster::Topology;
use crate::ops::texture::Mipmaps;
use crate::render::brdf_lut::brdf_lut;

/// The refined, textured mesh.
#[derive(Debug)]
pub struct Pass2Output {
    /// The welded surface with refined positions.
    pub mesh: TriangleMesh,
    /// The atlas, its positions refined too.
    pub unwrapped: Unwrapped,
    /// The refined textures.
    pub textures: Baked,
    /// Iterations run.
    pub iterations: u32,
    /// Wall seconds.
    pub seconds: f64,
    /// Losses of the last iteration.
    pub losses: Losses,
    /// Test-view figures of the final textured mesh.
    pub evaluation: Option<Evaluation>,
    /// True when stopped on request.
    pub cancelled: bool,
}

/// The umbrella-operator Laplacian of `values` `[V, 3]` over `triangles`, squared and averaged
/// (nvdiffrec's `laplace_regularizer_const`): each vertex against the mean of its triangles'
/// other corners.
pub fn laplacian_loss(values: &Tensor, triangles: &Tensor) -> Result<Tensor, NvdiffrecError> {
    Ok(umbrella(values, triangles)?.f_square()?.f_mean(Kind::Float)?)
}

/// Clamps a tangent-space normal map `[.., 3]` in place to x, y ∈ [−1, 1], z ∈ [0, 1] (the
/// reference's normal-texture bounds: never facing into the surface).
fn keep_in_hemisphere(normal_map: &Tensor) -> Result<(), NvdiffrecError> {
    tch::no_grad(|| -> Result<(), tch::TchError> {
        let mut xy = normal_map.f_narrow(-1, 0, 2)?;
        let _ = xy.f_clamp_(-1.0, 1.0)?;
        let mut z = normal_map.f_narrow(-1, 2, 1)?;
        let _ = z.f_clamp_(0.0, 1.0)?;
        Ok(())
    })?;
    Ok(())
}

/// `[H, W, 3]` vectors scaled to unit length; (0, 0, 1) where one has none.
fn unit_vectors(map: &Tensor) -> Result<Tensor, NvdiffrecError> {
    let length = map.f_norm_scalaropt_dim(2, [-1i64].as_slice(), true)?;
    let up = Tensor::from_slice(&[0.0f32, 0.0, 1.0]).f_to_device(map.device())?.f_expand_as(map)?;
    Ok(map.f_div(&length.f_clamp_min(1e-6)?)?.f_where_self(&length.f_gt(1e-6)?, &up)?)
}

/// Runs pass 2 from pass 1's output and its unwrapped, baked atlas.
#[allow(clippy::too_many_arguments)] // the pipeline's stages, each needed
pub fn run_pass2(
    dataset: &Dataset,
    config: &Config,
    device: Device,
    observer: &mut dyn Observer,
    cancel: &AtomicBool,
    pass1: &PassOutput,
    unwrapped: &Unwrapped,
    baked: &Baked,
) -> Result<Pass2Output, NvdiffrecError> {
    let started = Instant::now();
    let welded = &pass1.mesh;
    let offsets = Tensor::f_zeros_like(&welded.vertices)?.f_set_requires_grad(true)?;
    let kd = baked.kd.f_unsqueeze(0)?.f_detach()?.f_contiguous()?.f_set_requires_grad(true)?;
    let ks = baked.ks.f_unsqueeze(0)?.f_detach()?.f_contiguous()?.f_set_requires_grad(true)?;
    let normal_map =
        baked.normal.f_unsqueeze(0)?.f_detach()?.f_contiguous()?.f_set_requires_grad(true)?;
    let light = &pass1.light;
    let mut adam = Adam::new(vec![
        ParamGroup {
            name: "offsets",
            params: vec![offsets.shallow_clone()],
            lr: config.pass2_position_learning_rate,
        },
        ParamGroup {
            name: "textures",
            params: vec![kd.shallow_clone(), ks.shallow_clone(), normal_map.shallow_clone()],
            lr: config.pass2_learning_rate,
        },
        ParamGroup {
            name: "light",
            params: vec![light.base.shallow_clone()],
            lr: config.pass2_learning_rate,
        },
    ])?;
    let size = dataset.size;
    let (w, h) = (i64::from(size.0), i64::from(size.1));
    let train_views = ViewBatch::new(&dataset.train.cameras, device)?;
    let train_images = dataset.train.images.f_to_device(device)?;
    let lut = Mipmaps::build(&brdf_lut(device)?, 1)?;
    let topology = Topology::new(&welded.triangles, device)?;
    let n_train = train_images.size()[0];
    let batch = config.batch.min(n_train);
    let mut order = Tensor::f_randperm(n_train, (Kind::Int64, device))?;
    let mut cursor = 0;
    let mut losses = Losses::default();
    let mut timer = PhaseTimer::new(false, device);
    let mut iteration = 0;
    let mut cancelled = false;
    let mut last_tick = (Instant::now(), 0u32);
    let mut speed = 0.0;
    let triangles = welded.triangles.size()[0];
    let surface = Surface::Textures {
        kd: &kd,
        ks: &ks,
        normal: &normal_map,
        uvs: &unwrapped.uvs,
        triangles: &unwrapped.triangles,
        source: &unwrapped.source,
    };
    while iteration < config.pass2_iterations {
        if cancel.load(Ordering::Relaxed) {
            cancelled = true;
            break;
        }
        let decay = 10f64.powf(-config.learning_rate_decay * f64::from(iteration));
        adam.groups[0].lr = config.pass2_position_learning_rate * decay;
        adam.groups[1].lr = config.pass2_learning_rate * decay;
        adam.groups[2].lr = config.pass2_learning_rate * decay;
        if cursor + batch > n_train {
            order = Tensor::f_randperm(n_train, (Kind::Int64, device))?;
            cursor = 0;
        }
        let index = order.f_narrow(0, cursor, batch)?;
        cursor += batch;
        let mesh = TriangleMesh {
            vertices: welded.vertices.f_add(&offsets)?,
            triangles: welded.triangles.shallow_clone(),
        };
        let levels = light.prefilter()?;
        let scene =
            Scene { mesh: &mesh, topology: &topology, surface, light, levels: &levels, lut: &lut };
        let background = Tensor::f_rand([batch, h, w, 3], (Kind::Float, device))?;
        let rendered = render(&scene, &train_views, &index, size, &background, &mut timer)?;
        let target = train_images.f_index_select(0, &index)?;
        let alpha = target.f_narrow(3, 3, 1)?;
        let target_rgb = target
            .f_narrow(3, 0, 3)?
            .f_add(&background.f_mul(&alpha.f_neg()?.f_add_scalar(1.0)?)?)?;
        let fade = 1.0 - f64::from(iteration) / f64::from(config.pass2_iterations);
        let terms = [
            log_l1(&rendered.rgba.f_narrow(3, 0, 3)?, &target_rgb)?,
            mse(&rendered.rgba.f_narrow(3, 3, 1)?, &alpha)?.f_mul_scalar(config.mask_weight)?,
            laplacian_loss(&offsets, &welded.triangles)?
                .f_mul_scalar(config.laplace_weight * fade)?,
            light.regularizer()?.f_mul_scalar(config.light_weight)?,
        ];
        let total = terms
            .iter()
            .try_fold(Tensor::f_zeros([], (Kind::Float, device))?, |acc, t| acc.f_add(t))?;
        let values = Vec::<f64>::try_from(Tensor::f_stack(&terms, 0)?.f_to_kind(Kind::Double)?)?;
        check_finite(iteration, &["image", "mask", "laplacian", "light"], &values)?;
        losses = Losses {
            total: values.iter().sum(),
            image: values[0],
            mask: values[1],
            sdf: 0.0,
            smoothness: values[2],
            light: values[3],
        };
        adam.zero_grad();
        total.f_backward()?;
        adam.step()?;
        keep_in_hemisphere(&normal_map)?;
        iteration += 1;
        let elapsed = last_tick.0.elapsed().as_secs_f64();
        if elapsed > 0.5 || speed == 0.0 {
            speed = f64::from(iteration - last_tick.1) / elapsed.max(1e-9);
            last_tick = (Instant::now(), iteration);
        }
        observer.progress(&Progress {
            pass: 2,
            iteration,
            iterations: config.pass2_iterations,
            losses,
            psnr: None,
            iterations_per_second: speed,
            triangles,
        });
    }
    tch::no_grad(|| {
        let vertices = welded.vertices.f_add(&offsets)?.f_detach()?;
        let mesh = TriangleMesh {
            vertices: vertices.shallow_clone(),
            triangles: welded.triangles.shallow_clone(),
        };
        let test_views = ViewBatch::new(&dataset.test.cameras, device)?;
        let test_images = dataset.test.images.f_to_device(device)?;
        let levels = light.prefilter()?;
        let scene =
            Scene { mesh: &mesh, topology: &topology, surface, light, levels: &levels, lut: &lut };
        let evaluation = if cancelled {
            None
        } else {
            evaluate(&scene, &test_views, &test_images, size, batch)?
        };
        let textures = Baked {
            kd: kd.f_detach()?.f_squeeze_dim(0)?.f_clamp(0.0, 1.0)?,
            ks: ks.f_detach()?.f_squeeze_dim(0)?.f_clamp(0.0, 1.0)?,
            normal: unit_vectors(&normal_map.f_detach()?.f_squeeze_dim(0)?)?,
        };
        let unwrapped = Unwrapped {
            positions: vertices.f_index_select(0, &unwrapped.source)?,
            triangles: unwrapped.triangles.shallow_clone(),
            uvs: unwrapped.uvs.shallow_clone(),
            source: unwrapped.source.shallow_clone(),
            size: unwrapped.size,
        };
        Ok(Pass2Output {
            mesh,
            unwrapped,
            textures,
            iterations: iteration,
            seconds: started.elapsed().as_secs_f64(),
            losses,
            evaluation,
            cancelled,
        })
    })
}
