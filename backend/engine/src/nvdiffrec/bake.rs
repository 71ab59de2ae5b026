//! From pass 1's surface to a textured mesh: a UV atlas (uvunwrap, a maintained pure-Rust
//! xatlas-style unwrapper, where the issue measured xatlas running for minutes), then the
//! material field baked into base-colour, occlusion/roughness/metallic and tangent-space normal
//! textures by rasterizing the mesh in UV space.
//!
//! Pass-1 surfaces are crumpled at the scale of a grid cell (on Suzanne a fifth of the edges
//! fold by more than 90°), which shatters chart segmentation into ~44k charts that fit no single
//! page, and uvunwrap's shape packer then spends minutes per attempt. So the charts are cut on a
//! smoothed copy (10 rounds of umbrella smoothing: ~2k charts) and packed with the fast packer;
//! the atlas's UVs stay flip-free for the original positions. Measured on the H200's 212k-triangle
//! Suzanne: over 500 s before, 1.6 s after (bench/RESULTS.md).

use tch::{Device, Kind, Tensor};

use super::NvdiffrecError;
use super::material::{MaterialField, perturbed_normals};
use crate::geometry::laplacian::smooth;
use crate::geometry::rows::normalize;
use crate::geometry::tangents::{vertex_tangents, world_to_tangent};
use crate::geometry::{TriangleMesh, vertex_normals};
use crate::ops::raster::{interpolate, rasterize};

/// A mesh with one UV per (split) vertex.
#[derive(Debug)]
pub struct Unwrapped {
    /// `[U, 3]` positions, vertices on chart seams duplicated.
    pub positions: Tensor,
    /// `[F, 3]` int32 triangles over the split vertices (same order as the input triangles).
    pub triangles: Tensor,
    /// `[U, 2]` texture coordinates in [0, 1]; (0, 0) is the corner of texel row 0, column 0,
    /// v grows with the row (glTF's convention).
    pub uvs: Tensor,
    /// `[U]` int64: the input vertex each split vertex came from.
    pub source: Tensor,
    /// Atlas width and height in texels.
    pub size: (i64, i64),
}

/// Baked textures `[H, W, 3]` each, rows in atlas order.
#[derive(Debug)]
pub struct Baked {
    /// Base colour, linear.
    pub kd: Tensor,
    /// Occlusion, roughness, metallic.
    pub ks: Tensor,
    /// Perturbed normals in the atlas's tangent frames ([`vertex_tangents`]), components in
    /// [−1, 1]; (0, 0, 1) where nothing was baked.
    pub normal: Tensor,
}

impl Unwrapped {
    /// `[U, 3]` unit normals of the split vertices: those of the welded surface `welded`, so
    /// that both sides of a seam agree.
    pub fn normals(&self, welded: &TriangleMesh) -> Result<Tensor, NvdiffrecError> {
        let normals = tch::no_grad(|| vertex_normals(&welded.vertices, &welded.triangles))?;
        Ok(normals.f_index_select(0, &self.source)?)
    }

    /// `[U, 4]` glTF tangents of the split vertices (see [`vertex_tangents`]).
    pub fn tangents(&self, welded: &TriangleMesh) -> Result<Tensor, NvdiffrecError> {
        let normals = self.normals(welded)?;
        Ok(tch::no_grad(|| vertex_tangents(&self.positions, &self.uvs, &self.triangles, &normals))?)
    }
}

/// Rounds of smoothing of the copy of the surface that charts are cut on (see the module doc).
const UNWRAP_SMOOTHING_ROUNDS: usize = 10;

/// Unwraps `mesh` into one atlas page of at most `page_size`² texels.
pub fn unwrap(mesh: &TriangleMesh, page_size: u32) -> Result<Unwrapped, NvdiffrecError> {
    let device = mesh.vertices.device();
    let smoothed =
        tch::no_grad(|| smooth(&mesh.vertices, &mesh.triangles, UNWRAP_SMOOTHING_ROUNDS))?;
    let positions = Vec::<f32>::try_from(
        smoothed.f_to_kind(Kind::Float)?.f_to_device(Device::Cpu)?.f_reshape([-1])?,
    )?;
    let indices = Vec::<i64>::try_from(
        mesh.triangles.f_to_kind(Kind::Int64)?.f_to_device(Device::Cpu)?.f_reshape([-1])?,
    )?;
    let indices: Vec<u32> = indices.iter().map(|&i| i as u32).collect();
    let positions: &[[f32; 3]] = positions.as_chunks::<3>().0;
    let input = uvunwrap::MeshInput::new(positions, &indices);
    // Should the charts still not fit one page at any density, grow the page (up to 8192²)
    // rather than fail or spread over several textures.
    let mut page = page_size;
    let atlas = loop {
        let options = uvunwrap::Options {
            density: uvunwrap::Density::Auto { page_size: page },
            // The shape packer is serial and scans the page per chart per trial.
            packing: uvunwrap::Packing::Fast,
            ..Default::default()
        };
        let atlas = uvunwrap::generate(std::slice::from_ref(&input), &options)
            .map_err(|e| NvdiffrecError::Unwrap(e.to_string()))?;
        if atlas.page_count <= 1 {
            break atlas;
        }
        if page >= 8192 {
            return Err(NvdiffrecError::Unwrap(format!(
                "{} triangles need {} atlas pages even at 8192²",
                indices.len() / 3,
                atlas.page_count
            )));
        }
        tracing::warn!(
            page,
            pages = atlas.page_count,
            charts = atlas.chart_count,
            "UV atlas does not fit one page; doubling it"
        );
        page *= 2;
    };
    let Some(out) = atlas.meshes.first() else {
        return Err(NvdiffrecError::Unwrap("the unwrapper returned no mesh".into()));
    };
    let source: Vec<i64> = out.vertices.iter().map(|v| i64::from(v.xref)).collect();
    let uvs: Vec<f32> = out.vertices.iter().flat_map(|v| v.uv).collect();
    let triangles: Vec<i32> = out.indices.iter().map(|&i| i as i32).collect();
    let source = Tensor::from_slice(&source).f_to_device(device)?;
    Ok(Unwrapped {
        positions: mesh.vertices.f_detach()?.f_index_select(0, &source)?,
        triangles: Tensor::from_slice(&triangles).f_reshape([-1, 3])?.f_to_device(device)?,
        uvs: Tensor::from_slice(&uvs).f_reshape([-1, 2])?.f_to_device(device)?,
        source,
        size: (i64::from(atlas.width), i64::from(atlas.height)),
    })
}

/// Samples `materials` at every texel the atlas covers of `unwrapped` (the split copy of
/// `welded`); uncovered texels take the mean of their covered neighbours, grown outwards
/// `padding` times, so bilinear and mip taps across chart borders do not pull in black.
///
/// The field's normal offsets were learned against the normals of `learned_on` (`[V, 3]`, the
/// welded surface's positions before any smoothing): the perturbed normal is formed with those
/// and then written in the tangent frames of the final surface, so that smoothing the geometry
/// does not reapply the learned corrections to a surface that no longer needs them.
pub fn bake(
    welded: &TriangleMesh,
    learned_on: &Tensor,
    unwrapped: &Unwrapped,
    materials: &MaterialField,
    padding: usize,
) -> Result<Baked, NvdiffrecError> {
    let normals = unwrapped.normals(welded)?;
    let tangents = unwrapped.tangents(welded)?;
    let learned = TriangleMesh {
        vertices: learned_on.shallow_clone(),
        triangles: welded.triangles.shallow_clone(),
    };
    let learned_normals = unwrapped.normals(&learned)?;
    tch::no_grad(|| {
        let (w, h) = unwrapped.size;
        let uv = &unwrapped.uvs;
        let ones = uv.f_ones_like()?;
        // Clip space over the atlas: x = 2u − 1, y = 2v − 1, so raster row r is texel row r.
        let clip = Tensor::f_cat(
            &[
                uv.f_mul_scalar(2.0)?.f_sub_scalar(1.0)?,
                ones.f_narrow(1, 0, 1)?.f_mul_scalar(0.0)?,
                ones.f_narrow(1, 0, 1)?,
            ],
            1,
        )?;
        let raster = rasterize(&clip, &unwrapped.triangles, (h, w), false)?;
        let attributes =
            Tensor::f_cat(&[&unwrapped.positions, &normals, &tangents, &learned_normals], 1)?;
        let texels = interpolate(&attributes, &raster.rast, &unwrapped.triangles, None)?
            .out
            .f_reshape([-1, 13])?;
        let covered_mask = raster.rast.f_select(3, 3)?.f_reshape([-1])?.f_gt(0.0)?;
        let covered = covered_mask.f_nonzero()?.f_squeeze_dim(1)?;
        let texels = texels.f_index_select(0, &covered)?;
        let (points, normal, tangent) =
            (texels.f_narrow(1, 0, 3)?, texels.f_narrow(1, 3, 3)?, texels.f_narrow(1, 6, 4)?);
        let learned_normal = texels.f_narrow(1, 10, 3)?;
        let (material, offset) = materials.sample_all(&points)?;
        let unit = normalize(&learned_normal)?;
        let local = world_to_tangent(&perturbed_normals(&unit, &offset)?, &tangent, &normal)?;
        let device = points.device();
        let scatter = |values: &Tensor, empty: [f32; 3]| -> Result<Tensor, tch::TchError> {
            Tensor::from_slice(&empty)
                .f_to_device(device)?
                .f_repeat([h * w, 1])?
                .f_index_copy(0, &covered, &values.f_to_kind(Kind::Float)?)?
                .f_reshape([h, w, 3])
        };
        let mask = covered_mask.f_reshape([h, w])?.f_to_kind(Kind::Float)?;
        let kd = dilate(&scatter(&material.kd, [0.0; 3])?, &mask, padding)?;
        let ks = dilate(&scatter(&material.ks, [0.0; 3])?, &mask, padding)?;
        let normal = dilate(&scatter(&local, [0.0, 0.0, 1.0])?, &mask, padding)?;
        Ok(Baked { kd, ks, normal })
    })
}

/// Grows `image` (`[H, W, C]`) into texels where `mask` (`[H, W]`, 1 = valid) is 0, one ring per
/// step, each new texel the mean of its valid 3×3 neighbours.
pub(crate) fn dilate(
    image: &Tensor,
    mask: &Tensor,
    steps: usize,
) -> Result<Tensor, NvdiffrecError> {
    let mut image = image.f_permute([2, 0, 1])?.f_unsqueeze(0)?; // [1, C, H, W]
    let mut mask = mask.f_unsqueeze(0)?.f_unsqueeze(0)?; // [1, 1, H, W]
    let c = image.size()[1];
    let kernel = Tensor::f_ones([1, 1, 3, 3], (Kind::Float, image.device()))?;
    for _ in 0..steps {
        let weight = mask.f_conv2d(&kernel, None::<Tensor>, [1, 1], [1, 1], [1, 1], 1)?;
        let sum = image.f_mul(&mask)?.f_conv2d(
            &kernel.f_expand([c, 1, 3, 3], false)?,
            None::<Tensor>,
            [1, 1],
            [1, 1],
            [1, 1],
            c,
        )?;
        let grown = sum.f_div(&weight.f_clamp_min(1e-8)?)?;
        let new = weight.f_gt(0.0)?.f_logical_and(&mask.f_eq(0.0)?)?;
        image = grown.f_where_self(&new, &image)?;
        mask = mask.f_maximum(&new.f_to_kind(Kind::Float)?)?;
    }
    Ok(image.f_squeeze_dim(0)?.f_permute([1, 2, 0])?)
}
