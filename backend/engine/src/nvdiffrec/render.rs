//! One rendering of the current mesh and materials for a batch of views, as nvdiffrec's
//! `render_mesh`: rasterize, interpolate positions and normals, evaluate the material field
//! only at covered pixels, shade under the split-sum light, composite over the background and
//! antialias (which carries silhouette gradients to the vertices).

use tch::{Kind, Tensor};

use super::NvdiffrecError;
use super::material::{KS_MAX, KS_MIN, MaterialField, perturbed_normals};
use super::profile::PhaseTimer;
use super::views::ViewBatch;
use crate::geometry::tangents::{tangent_to_world, vertex_tangents};
use crate::geometry::{TriangleMesh, vertex_normals};
use crate::ops::raster::{Topology, antialias, interpolate, rasterize};
use crate::ops::texture::Mipmaps;
use crate::ops::texture::{Boundary, Filter, texture};
use crate::render::{EnvironmentLight, Material, Prefiltered, shade};

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
    /// Where kd and ks come from.
    pub surface: Surface<'a>,
    /// The light.
    pub light: &'a EnvironmentLight,
    /// The light's levels for this iteration.
    pub levels: &'a Prefiltered,
    /// The split-sum BRDF table.
    pub lut: &'a Mipmaps,
}

/// The material source of a render.
#[derive(Debug, Clone, Copy)]
pub enum Surface<'a> {
    /// Pass 1: the material field at each surface point.
    Field(&'a MaterialField),
    /// Pass 2: textures looked up by UV.
    Textures {
        /// Base colour `[1, H, W, 3]`.
        kd: &'a Tensor,
        /// Occlusion/roughness/metallic `[1, H, W, 3]`.
        ks: &'a Tensor,
        /// Tangent-space normal map `[1, H, W, 3]` (components in [−1, 1], z towards the
        /// outside), in the frames of [`vertex_tangents`].
        normal: &'a Tensor,
        /// `[U, 2]` UVs of the split vertices.
        uvs: &'a Tensor,
        /// `[F, 3]` triangles over the split vertices, in the mesh's triangle order.
        triangles: &'a Tensor,
        /// `[U]` int64: the mesh vertex each split vertex came from.
        source: &'a Tensor,
    },
}

/// Bilinear lookups of `[1, H, W, 3]` textures at `uv` `[N, 2]`.
struct Lookup<'a>(&'a Tensor);

impl Lookup<'_> {
    fn at(&self, t: &Tensor) -> Result<Tensor, NvdiffrecError> {
        let uv = self.0;
        let n = uv.size()[0];
        let mips = Mipmaps::build(t, 1)?;
        let out = texture(
            &mips,
            &uv.f_reshape([1, n, 1, 2])?,
            None,
            Filter::Linear,
            Boundary::Clamp,
            0.0,
        )?;
        Ok(out.f_reshape([n, 3])?)
    }
}

/// kd and ks from textures at `uv` `[N, 2]`, clamped to the material field's ranges.
fn sample_textures(kd: &Tensor, ks: &Tensor, uv: &Tensor) -> Result<Material, NvdiffrecError> {
    let lookup = Lookup(uv);
    let kd = lookup.at(kd)?.f_clamp(0.0, 1.0)?;
    let ks = lookup.at(ks)?;
    let device = uv.device();
    let lo = Tensor::from_slice(&KS_MIN).f_to_kind(Kind::Float)?.f_to_device(device)?;
    let hi = Tensor::from_slice(&KS_MAX).f_to_kind(Kind::Float)?.f_to_device(device)?;
    Ok(Material { kd, ks: ks.f_clamp_min_tensor(&lo)?.f_clamp_max_tensor(&hi)? })
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
    let attributes = Tensor::f_cat(&[mesh.vertices.shallow_clone(), normals.shallow_clone()], 1)?;
    let gbuffer = interpolate(&attributes, &raster.rast, &mesh.triangles, None)?.out; // [B, H, W, 6]
    let gbuffer = timer.marker("bwd: up to interpolate", &gbuffer)?;
    let flat = gbuffer.f_reshape([-1, 6])?;
    let covered =
        raster.rast.f_select(3, 3)?.f_reshape([-1])?.f_gt(0.0)?.f_nonzero()?.f_squeeze_dim(1)?;
    let points = flat.f_index_select(0, &covered)?;
    let pos = points.f_narrow(1, 0, 3)?;
    let normal = points.f_narrow(1, 3, 3)?;
    let mut normal = normal
        .f_div(&normal.f_norm_scalaropt_dim(2, [1i64].as_slice(), true)?.f_clamp_min(1e-8)?)?;
    let camera = views
        .positions
        .f_index_select(0, index)?
        .f_repeat_interleave_self_int(h * w, Some(0), None::<i64>)?
        .f_index_select(0, &covered)?;
    timer.mark("g-buffer");
    let pos = timer.marker("bwd: up to g-buffer gather", &pos)?;
    let (material, kd_jitter, ks_jitter) = match scene.surface {
        Surface::Textures { kd, ks, normal: normal_map, uvs, triangles, source } => {
            // UVs and tangent frames live on the split vertices; triangle ids are shared, so
            // the same raster serves both. Frames follow the moving surface but pass no
            // gradient (as a normal map's frame is data, not geometry).
            let tangents = tch::no_grad(|| {
                vertex_tangents(
                    &mesh.vertices.f_detach()?.f_index_select(0, source)?,
                    uvs,
                    triangles,
                    &normals.f_detach()?.f_index_select(0, source)?,
                )
            })?;
            let split = Tensor::f_cat(&[uvs.shallow_clone(), tangents], 1)?;
            let split = interpolate(&split, &raster.rast.f_detach()?, triangles, None)?
                .out
                .f_reshape([-1, 6])?
                .f_index_select(0, &covered)?;
            let uv = split.f_narrow(1, 0, 2)?;
            let local = Lookup(&uv).at(normal_map)?;
            normal = tangent_to_world(&local, &split.f_narrow(1, 2, 4)?, &normal)?;
            let none = Tensor::f_zeros([1], (Kind::Float, device))?;
            (sample_textures(kd, ks, &uv)?, none.shallow_clone(), none)
        }
        Surface::Field(field) => {
            let (material, offset) = field.sample_all(&pos)?;
            normal = perturbed_normals(&normal, &offset)?;
            let material = Material {
                kd: timer.marker("bwd: up to materials", &material.kd)?,
                ks: material.ks,
            };
            let jitter = pos.f_add(&pos.f_randn_like()?.f_mul_scalar(0.01)?)?;
            let jittered = field.sample(&jitter)?;
            let mean_abs = |a: &Tensor, b: &Tensor| {
                a.f_sub(b)?.f_abs()?.f_mean_dim([1i64].as_slice(), false, Kind::Float)
            };
            let kd_jitter = mean_abs(&material.kd, &jittered.kd)?;
            let ks_jitter = mean_abs(&material.ks, &jittered.ks)?;
            (material, kd_jitter, ks_jitter)
        }
    };
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
