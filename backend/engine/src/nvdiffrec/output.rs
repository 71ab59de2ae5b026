//! A run's files: `mesh.glb`, `mesh.obj` + `mesh.mtl` and `metrics.json`, written atomically
//! into the output folder.

use std::path::Path;

use serde::Serialize;
use tch::{Device, Kind, Tensor};

use super::eval::Evaluation;
use super::progress::Losses;
use super::train::PassOutput;
use super::{Config, NvdiffrecError};
use crate::export::atomic::write_atomic;
use crate::export::{ExportError, ExportMesh, write_glb, write_obj};
use crate::geometry::vertex_normals;

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

fn host_rows<const N: usize>(t: &Tensor) -> Result<Vec<[f32; N]>, NvdiffrecError> {
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
        uvs: None,
        colors: Some(host_rows::<3>(&pass.kd)?),
        triangles: triangles.as_chunks::<3>().0.iter().map(|t| t.map(|i| i as u32)).collect(),
        material: None,
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
