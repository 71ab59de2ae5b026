//! One rendering of the current mesh and materials for a batch of views, as nvdiffrec's
//! `render_mesh`: rasterize, interpolate positions and normals, evaluate the material field
//! only at covered pixels, shade under the split-sum light, composite over the background and
//! antialias (which carries silhouette gradients to the vertices).

use tch::{Kind, Tensor};

use super::NvdiffrecError;
use super::material::MaterialField;
use super::profile::PhaseTimer;
use super::views::ViewBatch;
use crate::geometry::{TriangleMesh, vertex_normals};
use crate::ops::raster::{Topology, antialias, interpolate, rasterize};
use crate::ops::texture::Mipmaps;
use crate::render::{EnvironmentLight, Prefiltered, shade};

/// A rendered batch.
#[derive(Debug)]
pub struct Rendered {
    /// `[B, H, W, 4]` linear RGB composited over the background, then coverage; rows from the
    /// top of the image (as the dataset's images).
    pub rgba: Tensor,
    /// Mean absolute kd change under a small position jitter, per covered pixel (smoothness).
    pub kd_jitter: Tensor,
    /// The same for ks.
    pub ks_jitter: Tensor,
}

/// Everything the render needs besides the views.
#[derive(Debug)]
pub struct Scene<'a> {
    /// The current surface.
    pub mesh: &'a TriangleMesh,
    /// Its edge → opposite-vertex table.
    pub topology: &'a Topology,
    /// The material field.
    pub materials: &'a MaterialField,
    /// The light.
    pub light: &'a EnvironmentLight,
    /// The light's levels for this iteration.
    pub levels: &'a Prefiltered,
    /// The split-sum BRDF table.
    pub lut: &'a Mipmaps,
}

/// Renders `scene` from the views `index` of `views` at `size` (width, height) over
/// `background` (`[B, H, W, 3]`, rows from the top).
pub fn render(
    scene: &Scene<'_>,
    views: &ViewBatch,
    index: &Tensor,
    size: (u32, u32),
    background: &Tensor,
    timer: &mut PhaseTimer,
) -> Result<Rendered, NvdiffrecError> {
    let (w, h) = (i64::from(size.0), i64::from(size.1));
    let b = index.size()[0];
    let mesh = scene.mesh;
    let device = mesh.vertices.device();
    let clip = timer.marker("bwd: up to projection", &views.project(&mesh.vertices, index)?)?;
    let raster = rasterize(&clip, &mesh.triangles, (h, w), false)?;
    timer.mark("rasterize");
    let normals = vertex_normals(&mesh.vertices, &mesh.triangles)?;
    let attributes = Tensor::f_cat(&[mesh.vertices.shallow_clone(), normals], 1)?;
    let gbuffer = interpolate(&attributes, &raster.rast, &mesh.triangles, None)?.out; // [B, H, W, 6]
    let gbuffer = timer.marker("bwd: up to interpolate", &gbuffer)?;
    let flat = gbuffer.f_reshape([-1, 6])?;
    let covered =
        raster.rast.f_select(3, 3)?.f_reshape([-1])?.f_gt(0.0)?.f_nonzero()?.f_squeeze_dim(1)?;
    let points = flat.f_index_select(0, &covered)?;
    let pos = points.f_narrow(1, 0, 3)?;
    let normal = points.f_narrow(1, 3, 3)?;
    let normal = normal
        .f_div(&normal.f_norm_scalaropt_dim(2, [1i64].as_slice(), true)?.f_clamp_min(1e-8)?)?;
    let camera = views
        .positions
        .f_index_select(0, index)?
        .f_repeat_interleave_self_int(h * w, Some(0), None::<i64>)?
        .f_index_select(0, &covered)?;
    timer.mark("g-buffer");
    let pos = timer.marker("bwd: up to g-buffer gather", &pos)?;
    let material = scene.materials.sample(&pos)?;
    let material = crate::render::Material {
        kd: timer.marker("bwd: up to materials", &material.kd)?,
        ks: material.ks,
    };
    let jitter = pos.f_add(&pos.f_randn_like()?.f_mul_scalar(0.01)?)?;
    let jittered = scene.materials.sample(&jitter)?;
    let kd_jitter = material.kd.f_sub(&jittered.kd)?.f_abs()?.f_mean_dim(
        [1i64].as_slice(),
        false,
        Kind::Float,
    )?;
    let ks_jitter = material.ks.f_sub(&jittered.ks)?.f_abs()?.f_mean_dim(
        [1i64].as_slice(),
        false,
        Kind::Float,
    )?;
    timer.mark("materials");
    let shaded = shade(scene.light, scene.levels, scene.lut, &pos, &normal, &camera, &material)?;
    let shaded = timer.marker("bwd: up to shading", &shaded)?;
    timer.mark("shading");
    let colour = Tensor::f_zeros([b * h * w, 3], (Kind::Float, device))?
        .f_index_copy(0, &covered, &shaded)?;
    let alpha = raster.rast.f_narrow(3, 3, 1)?.f_gt(0.0)?.f_to_kind(Kind::Float)?;
    // The raster's rows run bottom-up; the background is given top-down like the images.
    let background = background.f_flip([1i64].as_slice())?;
    let rgb = colour
        .f_reshape([b, h, w, 3])?
        .f_add(&background.f_mul(&alpha.f_neg()?.f_add_scalar(1.0)?)?)?;
    let rgba = Tensor::f_cat(&[rgb, alpha], 3)?;
    let rgba = antialias(&rgba, &raster.rast, &clip, &mesh.triangles, scene.topology)?;
    let rgba = timer.marker("bwd: loss + antialias", &rgba)?;
    timer.mark("antialias");
    Ok(Rendered { rgba: rgba.f_flip([1i64].as_slice())?, kd_jitter, ks_jitter })
}
