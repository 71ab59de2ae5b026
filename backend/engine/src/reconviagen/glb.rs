//! From the decoded mesh to a textured GLB, as TRELLIS's `to_glb` prepares it, with the mesh
//! decoder's own vertex colours as the texture source (the reference bakes a Gaussian render
//! instead; that is a later option): turned from z-up to glTF's y-up, decimated with
//! meshoptimizer's simplifier, UV-unwrapped (the atlas nvdiffrec uses), and the colours
//! rasterized into a base-colour texture in UV space.

use tch::{Device, Kind, Tensor};

use super::flexicubes::Mesh;
use crate::export::{ExportError, ExportMesh, PbrTextures};
use crate::geometry::{TriangleMesh, vertex_normals};
use crate::nvdiffrec::NvdiffrecError;
use crate::nvdiffrec::bake::{dilate, unwrap};
use crate::nvdiffrec::output::{host_rows, to_rgb8};
use crate::ops::raster::{interpolate, rasterize};

/// How the GLB is made.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GlbOptions {
    /// Share of the triangles kept by the simplifier (TRELLIS's `simplify=0.95` keeps 5%).
    pub keep: f64,
    /// Largest simplification error allowed, relative to the mesh's extent.
    pub max_error: f32,
    /// Side of the texture atlas in texels.
    pub texture_size: u32,
}

impl Default for GlbOptions {
    fn default() -> Self {
        Self { keep: 0.05, max_error: 1e-2, texture_size: 1024 }
    }
}

/// Why no GLB was made.
#[derive(Debug, thiserror::Error)]
pub enum GlbError {
    /// The decoder's mesh has no triangles.
    #[error("the decoded mesh is empty: the structured latent describes no surface")]
    Empty,
    /// Unwrapping or baking failed.
    #[error("texturing the mesh: {0}")]
    Texture(#[from] NvdiffrecError),
    /// The result did not export.
    #[error(transparent)]
    Export(#[from] ExportError),
    /// A tensor operation failed.
    #[error(transparent)]
    Torch(#[from] tch::TchError),
}

/// The exportable, textured mesh of `mesh` (vertex colours in its first three channels, sRGB).
pub fn textured(mesh: &Mesh, options: GlbOptions) -> Result<ExportMesh, GlbError> {
    if mesh.faces.size()[0] == 0 {
        return Err(GlbError::Empty);
    }
    let device = mesh.vertices.device();
    // z-up → y-up: (x, y, z) ↦ (x, z, −y), a rotation, so windings stay.
    let v = mesh.vertices.f_to_kind(Kind::Float)?;
    let up =
        Tensor::f_stack(&[v.f_select(1, 0)?, v.f_select(1, 2)?, v.f_select(1, 1)?.f_neg()?], 1)?;
    let positions = host_rows::<3>(&up).map_err(GlbError::Texture)?;
    let indices = Vec::<i64>::try_from(mesh.faces.f_to_device(Device::Cpu)?.f_reshape([-1])?)?;
    let indices: Vec<u32> = indices.iter().map(|&i| i as u32).collect();
    let bytes = meshopt::utilities::typed_to_bytes(&positions);
    let adapter = meshopt::VertexDataAdapter::new(bytes, 12, 0)
        .map_err(|e| ExportError::invalid(format!("vertex data for the simplifier: {e}")))?;
    let target = ((indices.len() / 3) as f64 * options.keep).round().max(1.0) as usize * 3;
    let kept = meshopt::simplify(
        &indices,
        &adapter,
        target,
        options.max_error,
        meshopt::SimplifyOptions::None,
        None,
    );
    if kept.is_empty() {
        return Err(GlbError::Empty);
    }
    // Only the vertices the kept triangles use, in first-use order.
    let mut remap = vec![u32::MAX; positions.len()];
    let mut used = Vec::new();
    let triangles: Vec<i32> = kept
        .iter()
        .map(|&i| {
            let slot = &mut remap[i as usize];
            if *slot == u32::MAX {
                *slot = used.len() as u32;
                used.push(i64::from(i));
            }
            *slot as i32
        })
        .collect();
    let used = Tensor::from_slice(&used).f_to_device(device)?;
    let welded = TriangleMesh {
        vertices: up.f_index_select(0, &used)?,
        triangles: Tensor::from_slice(&triangles).f_reshape([-1, 3])?.f_to_device(device)?,
    };
    let colors = mesh.colors.f_narrow(1, 0, 3)?.f_index_select(0, &used)?;
    let unwrapped = unwrap(&welded, options.texture_size)?;
    let texture = bake_colors(
        &unwrapped.uvs,
        &unwrapped.triangles,
        &colors.f_index_select(0, &unwrapped.source)?,
        unwrapped.size,
    )?;
    let (w, h, rgb) = to_rgb8(&texture, false)?;
    let base_color = image::RgbaImage::from_fn(w, h, |x, y| {
        let i = 3 * (y * w + x) as usize;
        image::Rgba([rgb[i], rgb[i + 1], rgb[i + 2], 255])
    });
    let normals = tch::no_grad(|| vertex_normals(&welded.vertices, &welded.triangles))
        .map_err(NvdiffrecError::from)?
        .f_index_select(0, &unwrapped.source)?;
    let triangles = Vec::<i64>::try_from(
        unwrapped.triangles.f_to_kind(Kind::Int64)?.f_to_device(Device::Cpu)?.f_reshape([-1])?,
    )?;
    Ok(ExportMesh {
        positions: host_rows::<3>(&unwrapped.positions)?,
        normals: Some(host_rows::<3>(&normals)?),
        tangents: None,
        uvs: Some(host_rows::<2>(&unwrapped.uvs)?),
        colors: None,
        triangles: triangles.as_chunks::<3>().0.iter().map(|t| t.map(|i| i as u32)).collect(),
        material: Some(PbrTextures { base_color, orm: None, normal: None }),
    })
}

/// `colors` `[U, 3]` of the split vertices rasterized over the atlas `size` (w, h) by `uvs`,
/// grown 8 texels past chart borders; `[H, W, 3]`.
fn bake_colors(
    uvs: &Tensor,
    triangles: &Tensor,
    colors: &Tensor,
    (w, h): (i64, i64),
) -> Result<Tensor, GlbError> {
    tch::no_grad(|| {
        let ones = uvs.f_ones_like()?;
        // Clip space over the atlas: x = 2u − 1, y = 2v − 1, so raster row r is texel row r.
        let clip = Tensor::f_cat(
            &[
                uvs.f_mul_scalar(2.0)?.f_sub_scalar(1.0)?,
                ones.f_narrow(1, 0, 1)?.f_mul_scalar(0.0)?,
                ones.f_narrow(1, 0, 1)?,
            ],
            1,
        )?;
        let raster = rasterize(&clip, triangles, (h, w), false).map_err(NvdiffrecError::from)?;
        let texels = interpolate(&colors.f_to_kind(Kind::Float)?, &raster.rast, triangles, None)
            .map_err(NvdiffrecError::from)?
            .out
            .f_reshape([h, w, 3])?;
        let mask =
            raster.rast.f_select(3, 3)?.f_reshape([h, w])?.f_gt(0.0)?.f_to_kind(Kind::Float)?;
        Ok(dilate(&texels.f_mul(&mask.f_unsqueeze(2)?)?, &mask, 8)?)
    })
}
