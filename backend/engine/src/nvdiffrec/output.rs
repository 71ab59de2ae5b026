//! A run's files: `mesh.glb`, `mesh.obj` + `mesh.mtl` and `metrics.json`, written atomically
//! into the output folder.

use std::path::Path;

use serde::Serialize;
use tch::{Device, Kind, Tensor};

use super::bake::{Baked, Unwrapped};
use super::eval::Evaluation;
use super::progress::Losses;
use super::train::PassOutput;
use super::{Config, NvdiffrecError};
use crate::export::atomic::write_atomic;
use crate::export::{ExportError, ExportMesh, PbrTextures, write_glb, write_obj};
use crate::geometry::TriangleMesh;
use crate::geometry::vertex_normals;
use crate::ops::color::linear_to_srgb;

/// Figures of one pass for `metrics.json`.
#[derive(Debug, Clone, Serialize)]
pub struct PassMetrics {
    /// 1 or 2.
    pub pass: u8,
    /// Iterations run.
    pub iterations: u32,
    /// Wall seconds in this process.
    pub seconds: f64,
    /// Seconds per iteration.
    pub seconds_per_iteration: f64,
    /// Losses of the last iteration.
    pub final_losses: Losses,
}

/// The contents of `metrics.json`.
#[derive(Debug, Clone, Serialize)]
pub struct Metrics {
    /// Always `nvdiffrec`.
    pub model: &'static str,
    /// The device it ran on, e.g. `cpu` or `cuda:0 (NVIDIA H200)`.
    pub device: String,
    /// Per pass.
    pub passes: Vec<PassMetrics>,
    /// Seconds of UV unwrapping and texture baking.
    pub unwrap_bake_seconds: f64,
    /// Seconds of the export stage.
    pub export_seconds: f64,
    /// Test-view figures of the final mesh, when the dataset has test views.
    pub test: Option<Evaluation>,
    /// Triangles of the output mesh.
    pub triangles: i64,
    /// Vertices of the output mesh.
    pub vertices: i64,
    /// True when the run was stopped before its last iteration.
    pub stopped_early: bool,
    /// The settings of the run.
    pub config: Config,
}

pub(crate) fn host_rows<const N: usize>(t: &Tensor) -> Result<Vec<[f32; N]>, NvdiffrecError> {
    let flat = Vec::<f32>::try_from(
        t.f_to_kind(Kind::Float)?.f_to_device(Device::Cpu)?.f_contiguous()?.f_reshape([-1])?,
    )?;
    Ok(flat.as_chunks::<N>().0.to_vec())
}

/// The pass's mesh as an exportable mesh with per-vertex base colour and normals.
pub fn export_mesh(pass: &PassOutput) -> Result<ExportMesh, NvdiffrecError> {
    let normals = tch::no_grad(|| vertex_normals(&pass.mesh.vertices, &pass.mesh.triangles))?;
    let triangles = Vec::<i64>::try_from(
        pass.mesh.triangles.f_to_kind(Kind::Int64)?.f_to_device(Device::Cpu)?.f_reshape([-1])?,
    )?;
    Ok(ExportMesh {
        positions: host_rows::<3>(&pass.mesh.vertices)?,
        normals: Some(host_rows::<3>(&normals)?),
        tangents: None,
        uvs: None,
        colors: Some(host_rows::<3>(&pass.kd)?),
        triangles: triangles.as_chunks::<3>().0.iter().map(|t| t.map(|i| i as u32)).collect(),
        material: None,
    })
}

/// `[H, W, 3]` values in [0, 1] → 8-bit rows (linear to sRGB first when `srgb`).
pub(crate) fn to_rgb8(image: &Tensor, srgb: bool) -> Result<(u32, u32, Vec<u8>), NvdiffrecError> {
    let (h, w) = (image.size()[0], image.size()[1]);
    let encoded = if srgb { linear_to_srgb(image)? } else { image.f_clamp(0.0, 1.0)? };
    let bytes = Vec::<u8>::try_from(
        encoded
            .f_mul_scalar(255.0)?
            .f_round()?
            .f_to_kind(Kind::Uint8)?
            .f_to_device(Device::Cpu)?
            .f_reshape([-1])?,
    )?;
    Ok((w as u32, h as u32, bytes))
}

/// The unwrapped mesh with its baked textures: base colour (sRGB), glTF's ORM packing
/// (occlusion 1 = unoccluded, since nvdiffrec does not learn occlusion; roughness; metallic) and
/// the normal map, with the tangent frames it was baked in.
pub fn textured_mesh(
    welded: &TriangleMesh,
    unwrapped: &Unwrapped,
    baked: &Baked,
) -> Result<ExportMesh, NvdiffrecError> {
    let normals = unwrapped.normals(welded)?;
    let tangents = unwrapped.tangents(welded)?;
    let triangles = Vec::<i64>::try_from(
        unwrapped.triangles.f_to_kind(Kind::Int64)?.f_to_device(Device::Cpu)?.f_reshape([-1])?,
    )?;
    let (w, h, kd) = to_rgb8(&baked.kd, true)?;
    let base_color = image::RgbaImage::from_fn(w, h, |x, y| {
        let i = 3 * (y * w + x) as usize;
        image::Rgba([kd[i], kd[i + 1], kd[i + 2], 255])
    });
    let occlusion = baked.ks.f_narrow(2, 0, 1)?.f_ones_like()?;
    let orm = Tensor::f_cat(&[occlusion, baked.ks.f_narrow(2, 1, 2)?], 2)?;
    let (_, _, orm) = to_rgb8(&orm, false)?;
    let orm = image::RgbImage::from_raw(w, h, orm)
        .ok_or_else(|| NvdiffrecError::Config("ORM texture has the wrong size".into()))?;
    let (_, _, normal) = to_rgb8(&baked.normal.f_mul_scalar(0.5)?.f_add_scalar(0.5)?, false)?;
    let normal = image::RgbImage::from_raw(w, h, normal)
        .ok_or_else(|| NvdiffrecError::Config("normal texture has the wrong size".into()))?;
    Ok(ExportMesh {
        positions: host_rows::<3>(&unwrapped.positions)?,
        normals: Some(host_rows::<3>(&normals)?),
        tangents: Some(host_rows::<4>(&tangents)?),
        uvs: Some(host_rows::<2>(&unwrapped.uvs)?),
        colors: None,
        triangles: triangles.as_chunks::<3>().0.iter().map(|t| t.map(|i| i as u32)).collect(),
        material: Some(PbrTextures { base_color, orm: Some(orm), normal: Some(normal) }),
    })
}

/// Writes `mesh.glb` and `mesh.obj`/`mesh.mtl` into `dir` (nothing for an empty surface).
pub fn write_meshes(dir: &Path, mesh: &ExportMesh) -> Result<(), NvdiffrecError> {
    std::fs::create_dir_all(dir)
        .map_err(|source| ExportError::Io { path: dir.to_owned(), source })?;
    if !mesh.triangles.is_empty() {
        write_glb(mesh, &dir.join("mesh.glb"))?;
        write_obj(mesh, dir, "mesh")?;
    }
    Ok(())
}

/// Writes `metrics.json` into `dir`.
pub fn write_metrics(dir: &Path, metrics: &Metrics) -> Result<(), NvdiffrecError> {
    let json = serde_json::to_vec_pretty(metrics).map_err(ExportError::Json)?;
    write_atomic(&dir.join("metrics.json"), |out| out.write_all(&json))?;
    Ok(())
}
